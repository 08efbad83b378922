"""The formula dialect that Excel 2010+, LibreOffice 7.4+ and xlgpt's engine agree on (DESIGN.md).

The workbook may use these functions and no others; a test reads every formula of a built workbook and
fails on anything else.
"""

import re

FUNCTIONS = frozenset({
    # arithmetic and maths
    "ABS", "EXP", "LN", "LOG", "LOG10", "SQRT", "POWER", "TANH", "PI", "ROUND", "INT", "MOD", "SIGN",
    # aggregates over ranges
    "SUM", "SUMPRODUCT", "AVERAGE", "VARP", "MAX", "MIN", "COUNT", "LARGE", "SMALL",
    # matrices and lookup
    "MMULT", "TRANSPOSE", "INDEX", "MATCH",
    # logic and text
    "IF", "AND", "OR", "NOT", "IFERROR", "ISNUMBER", "LEN", "MID", "LEFT", "RIGHT", "CONCATENATE", "_xlfn.UNICODE",
    "_xlfn.UNICHAR",
})
# Functions that must never appear: dynamic-array or post-2010 functions LibreOffice 7.4 lacks, and volatile ones.
FORBIDDEN = frozenset({"LET", "LAMBDA", "FILTER", "SEQUENCE", "XLOOKUP", "XMATCH", "TEXTSPLIT", "UNIQUE", "SORT",
                       "OFFSET", "INDIRECT", "NOW", "TODAY", "RAND", "RANDBETWEEN", "CELL", "INFO"})
MAX_FORMULA_CHARS = 8192
MAX_NESTING = 64

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
