"""A1 references: column letters, cells, ranges and sheet-qualified ranges. Rows and columns are 0-based here."""

import re
from functools import lru_cache

MAX_ROWS, MAX_COLS = 1_048_576, 16_384
# The most cells xlgpt holds as one array (8 bytes a cell: 2 GiB): an array formula's area, or a reference
# spanning cells that hold data. Beyond it, one line naming the cell, not a MemoryError after minutes.
MAX_CELLS = 1 << 28


@lru_cache(maxsize=None)
def col_letters(col: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    s = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        s = chr(65 + r) + s
    return s


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell(row: int, col: int, abs_row: bool = False, abs_col: bool = False) -> str:
    return f"{'$' if abs_col else ''}{col_letters(col)}{'$' if abs_row else ''}{row + 1}"


def area(row: int, col: int, nrows: int = 1, ncols: int = 1, absolute: bool = True) -> str:
    """The range of nrows x ncols starting at (row, col); one cell is written as a cell."""
    first = cell(row, col, absolute, absolute)
    if nrows == 1 and ncols == 1:
        return first
    return f"{first}:{cell(row + nrows - 1, col + ncols - 1, absolute, absolute)}"


def quote_sheet(name: str) -> str:
    """Sheet names are always quoted in formulas: names like `h.0.ln_1` or `LN1` would otherwise be ambiguous."""
    return "'" + name.replace("'", "''") + "'"


def qualified(sheet: str, ref: str) -> str:
    return f"{quote_sheet(sheet)}!{ref}"


_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def parse_cell(ref: str) -> tuple[int, int]:
    """'B7' -> (6, 1); a cell outside the sheet's 1,048,576 rows and 16,384 columns (A0, XFE1) is an error."""
    m = _CELL.match(ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    row, col = int(m.group(2)) - 1, col_index(m.group(1))
    check_cell(row, col, ref)
    return row, col


def check_cell(row: int, col: int, what: str = "") -> None:
    if not (0 <= row < MAX_ROWS and 0 <= col < MAX_COLS):
        raise ValueError(f"{what or cell(max(row, 0), max(col, 0))} is outside a sheet "
                         f"({MAX_ROWS:,} rows, columns A to XFD)")


def parse_area(ref: str) -> tuple[int, int, int, int]:
    """'B2:D5' -> (row, col, nrows, ncols)."""
    first, _, last = ref.partition(":")
    r0, c0 = parse_cell(first)
    r1, c1 = parse_cell(last) if last else (r0, c0)
    return r0, c0, r1 - r0 + 1, c1 - c0 + 1
