"""The formula dialect that Excel 2013+, LibreOffice 7.4+ and xlgpt's engine agree on (docs/ARCHITECTURE.md).

The workbook may use the engine's functions and no others; a test reads every formula of a built workbook
and fails on anything else.
"""

import re

from .engine.functions import FUNCTIONS as _ENGINE, NEWER

# The engine's function table is the dialect; newer functions appear in files with the _xlfn. prefix.
FUNCTIONS = frozenset(("_xlfn." + name) if name in NEWER else name for name in _ENGINE)
# Functions that must never appear: dynamic-array functions LibreOffice 7.4 lacks, and volatile ones.
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
