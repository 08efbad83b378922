"""The formula dialect that Excel 2013+, LibreOffice 7.4+, Gnumeric 1.12.55+ and xlgpt's engine compute alike
(docs/ARCHITECTURE.md).

The workbook may use the engine's functions and no others; a test reads every formula of a built workbook
and fails on anything else. Two rules come from running Gnumeric, which computes some formulas differently:
- A scalar function (EXP, SQRT, ...) applied to a range is an array formula. Outside one, Gnumeric
  intersects the range with the formula's row or column even inside SUMPRODUCT, where Excel and LibreOffice
  evaluate it as an array (`SUMPRODUCT(EXP(range))` gave one term). Operators on ranges inside SUMPRODUCT
  (`SUMPRODUCT((range>=0)*1)`) Gnumeric does evaluate as arrays.
- No `INDEX(range, r, 0)` or `INDEX(range, 0, c)` for a whole row or column: Gnumeric 1.12.55 and
  HyperFormula give #VALUE!.
"""

import re

from .functions import FUNCTIONS as _ENGINE, NEWER, scalar
from .parser import Binary, Call, Num, Ref, Unary, parse, walk

# The engine's function table is the dialect; newer functions appear in files with the _xlfn. prefix.
FUNCTIONS = frozenset(("_xlfn." + name) if name in NEWER else name for name in _ENGINE)
# Functions that must never appear: dynamic-array functions LibreOffice 7.4 lacks, and volatile ones.
FORBIDDEN = frozenset({"LET", "LAMBDA", "FILTER", "SEQUENCE", "XLOOKUP", "XMATCH", "TEXTSPLIT", "UNIQUE", "SORT",
                       "OFFSET", "INDIRECT", "NOW", "TODAY", "RAND", "RANDBETWEEN", "CELL", "INFO"})

_STRING = re.compile(r'"(?:[^"]|"")*"')
_SHEET = re.compile(r"'(?:[^']|'')*'")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\(")


def functions_in(formula: str) -> set[str]:
    """Names of the functions a formula calls (string literals and quoted sheet names skipped)."""
    bare = _SHEET.sub("S", _STRING.sub('""', formula))
    return {m.group(1).upper() if not m.group(1).startswith("_xlfn.") else "_xlfn." + m.group(1)[6:].upper()
            for m in _CALL.finditer(bare)}


def nesting(formula: str) -> int:
    bare = _SHEET.sub("S", _STRING.sub('""', formula))
    depth = deepest = 0
    for ch in bare:
        depth += ch == "("
        depth -= ch == ")"
        deepest = max(deepest, depth)
    return deepest


# Functions of one value per argument: given a range outside an array formula, a spreadsheet intersects it
# (derived from the function table's argument modes)
SCALAR = frozenset(name for name in _ENGINE if scalar(name))


def not_portable(formula: str, array: bool) -> list[str]:
    """What in a formula Gnumeric would compute differently: scalar functions given a range outside an array
    formula, INDEX asked for a whole row or column."""
    problems = []

    def ranges_under(node) -> bool:
        """Whether a range reaches this value other than through a function that takes ranges."""
        if isinstance(node, Ref):
            return not node.is_cell
        if isinstance(node, Unary):
            return ranges_under(node.arg)
        if isinstance(node, Binary):
            return ranges_under(node.left) or ranges_under(node.right)
        if isinstance(node, Call) and node.name in SCALAR:
            return any(a is not None and ranges_under(a) for a in node.args)
        return False

    for node in walk(parse(formula)):
        if isinstance(node, Call):
            if not array and node.name in SCALAR and any(a is not None and ranges_under(a) for a in node.args):
                problems.append(f"{node.name} of a range outside an array formula")
            if node.name == "INDEX" and any(isinstance(a, Num) and a.value == 0 for a in node.args[1:3]):
                problems.append("INDEX of a whole row or column")
    return problems
