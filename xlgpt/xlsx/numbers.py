"""Whole-block number formatting: a float array -> the <c><v>..</v></c> bytes of its cells, no Python per cell.

A weight is a float32. It is written as a decimal of 8 significant digits when that reads back as the same
float32 (for about 99% of weights), else of 9 (which always does), in scientific notation:
`<c><v>-1.234567E-02</v></c>`. The spreadsheet keeps that decimal as a float64; `cells.written_values` gives
those float64s, which are the workbook's weights. A float64 that is not such a decimal (a value a person typed, say)
is written with repr, which round-trips it exactly; that path is Python per cell and only for the rare chunk
that needs it.

How: each cell is first laid out in a fixed 29-byte template filled from lookup tables, then a mask drops
the bytes a cell does not use (the sign of a positive number, trailing zeros), and the kept bytes are the
output. Every cell carries its `r` address, as Excel writes them: the schema lets a reader place cells one
after another, but Gnumeric drops such cells and ExcelJS, readxl and others cannot open them. The address is
laid out the same way: the column's letters and the row's digits from tables, padded, then masked.
"""

from functools import lru_cache

import numpy as np

from ..sheet import refs
from ..sheet.cells import CHUNK as _CHUNK, decimals, written_values
from . import speedups

CELL_WIDTH = 29
_TEMPLATE = np.frombuffer(b"<c><v>-0.00000000E+00</v></c>", dtype=np.uint8)
assert len(_TEMPLATE) == CELL_WIDTH
# The varying parts of a cell as fields of one 29-byte record, filled from lookup tables.
_CELL = np.dtype({"names": ["d0", "hi", "lo", "exp"], "formats": ["S1", "S4", "S4", "S3"],
                  "offsets": [7, 9, 13, 18], "itemsize": CELL_WIDTH})
_D1 = np.array([str(i).encode() for i in range(10)], dtype="S1")
_D4 = np.array([f"{i:04d}".encode() for i in range(10000)], dtype="S4")
_EXP = np.array([f"{e:+03d}".encode() for e in range(-99, 100)], dtype="S3")  # index exp + 99


ROW_WIDTH = 7  # row numbers up to 1048576


def _padded(items: list[bytes], width: int = 0):
    """Byte strings as rows of one width, and the mask of their own bytes."""
    width = width or max(len(b) for b in items)
    arr = np.frombuffer(b"".join(b.ljust(width) for b in items), dtype=np.uint8).reshape(len(items), width)
    return arr, np.arange(width)[None, :] < np.array([len(b) for b in items])[:, None]


@lru_cache(maxsize=256)
def _prefixes(letters: tuple):
    """`<c r="` and a column's letters, per column: padded rows and their masks."""
    return _padded([b'<c r="' + c.encode() for c in letters])


def rows_bytes(block: np.ndarray, first_row: int):
    """Whole <row> elements for a block that fills its rows from column A, as one buffer."""
    x = np.asarray(block)
    rows, cols = x.shape
    if x.dtype != np.float32 and not _are_decimals(x):
        letters = [refs.col_letters(c).encode() for c in range(cols)]
        return b"".join(b'<row r="%d">%s</row>' % (r, b"".join(b'<c r="%s%d"><v>%s</v></c>' % (c, r, repr(v).encode())
                                                                   for c, v in zip(letters, row)))
                        for r, row in zip(range(first_row + 1, first_row + rows + 1), x.astype(float).tolist()))
    compiled = speedups.format_rows(x, first_row)  # the same bytes, from the compiled loop
    if compiled is not None:
        return compiled
    buf, keep = _layout(x.reshape(-1))
    prefix, prefix_keep = _prefixes(tuple(refs.col_letters(c) for c in range(cols)))
    p = prefix.shape[1]
    digits, digits_keep = _padded([str(r).encode() for r in range(first_row + 1, first_row + rows + 1)], ROW_WIDTH)
    # a cell: <c r=" letters | digits | "> then the number's record without its own "<c>"
    cell = p + ROW_WIDTH + 2 + CELL_WIDTH - 3
    cells = np.empty((rows, cols, cell), dtype=np.uint8)
    cells_keep = np.ones((rows, cols, cell), dtype=bool)
    cells[:, :, :p] = prefix[None]
    cells_keep[:, :, :p] = prefix_keep[None]
    q = p + ROW_WIDTH
    cells[:, :, p:q] = digits[:, None, :]
    cells_keep[:, :, p:q] = digits_keep[:, None, :]
    cells[:, :, q:q + 2] = np.frombuffer(b'">', dtype=np.uint8)
    cells[:, :, q + 2:] = buf.reshape(rows, cols, CELL_WIDTH)[:, :, 3:]
    cells_keep[:, :, q + 2:] = keep.reshape(rows, cols, CELL_WIDTH)[:, :, 3:]
    tag = 18  # '<row r="1048576">' is 17 bytes: each tag is padded to one width, then the padding dropped
    width = tag + cols * cell + 6
    out = np.empty((rows, width), dtype=np.uint8)
    mask = np.ones((rows, width), dtype=bool)
    numbers_ = np.arange(first_row + 1, first_row + rows + 1)
    tags = np.array([f'<row r="{r}">'.encode().ljust(tag) for r in numbers_.tolist()], dtype=f"S{tag}")
    out[:, :tag] = tags.view(np.uint8).reshape(rows, tag)
    tag_len = 10 + np.floor(np.log10(numbers_)).astype(np.int64) + 1
    mask[:, :tag] = np.arange(tag)[None, :] < tag_len[:, None]
    out[:, tag:-6] = cells.reshape(rows, cols * cell)
    mask[:, tag:-6] = cells_keep.reshape(rows, cols * cell)
    out[:, -6:] = np.frombuffer(b"</row>", dtype=np.uint8)
    return out[mask]


def _are_decimals(x: np.ndarray) -> bool:
    """Whether every value is exactly the shortest float32 decimal we would write (so nothing is lost)."""
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    if not np.isfinite(flat).all():
        return False
    return bool(np.array_equal(written_values(flat), flat))


def _layout(flat: np.ndarray):
    """(fixed-width cell bytes [n, 29], mask of the bytes to keep [n, 29])."""
    n = flat.size
    buf = np.empty((n, CELL_WIDTH), dtype=np.uint8)
    keep = np.ones((n, CELL_WIDTH), dtype=bool)
    buf[:] = _TEMPLATE
    positions = np.arange(CELL_WIDTH)
    for start in range(0, n, _CHUNK):
        part = flat[start:start + _CHUNK]
        m, e, digits = decimals(part)
        rec = buf[start:start + part.size].reshape(-1).view(_CELL)
        rec["d0"] = _D1[m // 10**8]
        rest = m % 10**8
        rec["hi"] = _D4[rest // 10**4]
        rec["lo"] = _D4[rest % 10**4]
        rec["exp"] = _EXP[e + 99]
        k = keep[start:start + part.size]
        k[:, 6] = np.signbit(part) & (part != 0)  # the minus sign
        k[:, 8] = digits > 1  # the decimal point
        # digits after the point sit at 9..16; keep digits-1 of them
        k[:, 9:17] = positions[None, 9:17] < (9 + digits - 1)[:, None]
    return buf, keep
