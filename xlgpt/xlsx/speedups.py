"""The compiled loops of _speedups.c, when this install has them (setup.py builds them where a C compiler is
found), else None: the NumPy code in numbers.py and numbers_in.py is the definition, and runs when they are
missing or when XLGPT_NO_SPEEDUPS=1 is set. The results are the same bytes and the same float64s either way
(tests/test_speedups.py); only the time differs.
"""

import os

import numpy as np

from ..sheet.powers import LD_POW10, POW10 as _POW10


def _load():
    if os.environ.get("XLGPT_NO_SPEEDUPS"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    # the C code divides by 10**(7-e) where numbers.py divides by 10**(8-e) / 10: the same float64 for the exact
    # powers of ten (at most 1e22), which this checks of the table both use
    if any(_POW10[300 + k] / 10.0 != _POW10[300 + k - 1] for k in range(1, 23)):
        return None
    _speedups.set_powers(np.ascontiguousarray(_POW10, dtype=np.float64).tobytes())
    if np.dtype(np.longdouble).itemsize == 16 and np.finfo(np.longdouble).nmant == 63:  # x87 extended, as C's
        _speedups.set_ld_powers(np.ascontiguousarray(LD_POW10).tobytes())
        _speedups.extended = True
    return _speedups


_c = _load()
CELL_BYTES = 44  # the longest cell format_rows writes: <c r="XFD1048576"><v>-1.23456789E-38</v></c>
FIXED_SLACK = 8  # format_rows copies short pieces as fixed 8 bytes: room past the end for them


def available() -> bool:
    return _c is not None


def format_rows(block: np.ndarray, first_row: int):
    """numbers.rows_bytes of a float32 block (or of float64 values that are its decimals), as a uint8 array; None
    when the compiled loop is missing or the block holds a value it does not take (not finite)."""
    if _c is None:
        return None
    x = np.ascontiguousarray(block, dtype=np.float32)
    rows, cols = x.shape
    out = np.empty(rows * (24 + cols * CELL_BYTES) + FIXED_SLACK, dtype=np.uint8)
    n = _c.format_rows(x, rows, cols, first_row, out)
    return out[:n] if n >= 0 else None


def parse_fixed(body: bytes):
    """numbers_in._fixed_form's (values, offsets) for a body entirely in the writer's form; None otherwise."""
    if _c is None:
        return None
    cap = len(body) // 12 + 1  # the shortest value takes 12 bytes: <v>0E+00</v>
    values, starts = np.empty(cap, dtype=np.float64), np.empty(cap, dtype=np.int64)
    n = _c.parse_fixed(body, values, starts)
    # copies of the used part: a view would keep the whole allocation (some 2x the values) alive with it
    return (values[:n].copy(), starts[:n].copy()) if n >= 0 else None


def parse_rows(piece) -> tuple | None:
    """(values float64, rows, cells a row, first row number) of whole rows exactly in format_rows' form; None
    for anything else (the caller reads such a piece the general way)."""
    if _c is None:
        return None
    values = np.empty(len(piece) // 26 + 1, dtype=np.float64)  # the shortest cell: <c r="A1"><v>0E+00</v></c>
    got = _c.parse_rows(piece, values)
    if got is None:
        return None
    rows, width, first = got
    return values[:rows * width].copy(), rows, width, first  # a copy: the view would keep the whole allocation


def written_values(part: np.ndarray, out: np.ndarray | None = None):
    """cells.written_values of a float32 array (any shape), or None (no compiled loop, or a value not finite).
    out: a C-contiguous float64 array of part's size to write them into (then returned), saving a copy."""
    if _c is None:
        return None
    x = np.ascontiguousarray(part, dtype=np.float32)
    if out is None:
        out = np.empty(x.shape, dtype=np.float64)
    return out if _c.written_values(x, out) == 0 else None


def cells_rows(values: np.ndarray, first_col: int, first_row: int, middle: bytes):
    """formula_cells.rows_of_cells (a list of each row's bytes) of finite float64 values whose columns start at
    first_col; None when the compiled loop is missing, extended precision is not the x87 kind C uses here, or a
    value is not finite."""
    if _c is None or not getattr(_c, "extended", False):
        return None
    x = np.ascontiguousarray(values, dtype=np.float64)
    rows, cols = x.shape
    out = np.empty(rows * cols * (6 + 3 + 8 + len(middle) + 26 + 8), dtype=np.uint8)
    ends = np.empty(rows, dtype=np.int64)
    return _c.cells_rows(x, rows, cols, first_col, first_row, middle, out, ends)
