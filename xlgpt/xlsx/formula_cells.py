"""The cells of a formula block with their cached float64 values, whole rows at a time, no Python per cell.

A recalculated GPT-2 small has about 3.5 million formula cells; written one by one with repr they cost about
a microsecond each, most of a warm recalculation. Here every cell is laid out in a fixed-width record
(`<c r="` column | row number | `">` formula reference `<v>` | number | `</v></c>`) and a mask drops the bytes
a cell does not use, as numbers.py does for the weights.

A number is written with 17 significant digits (`-1.2345678901234567E-05`, trailing zeros dropped; an
integer as its digits), which reads back as the same float64 always; Excel writes its cached values with 17 digits too. The digits
come from scaling in extended precision (80-bit long double, 64-bit mantissa): its error is far below the
margin between a 17-digit decimal and half a float64 unit, so every value round-trips exactly. Where long
double is no wider than double the caller falls back to repr.
"""

import numpy as np

from ..sheet import refs
from ..sheet.cells import exponent_guess as _exponent_guess
from ..sheet.powers import LD_POW10 as _LD_POW10  # index power + 350
from . import speedups
from .numbers import _D1, _D4, ROW_WIDTH as _ROW_WIDTH, _padded, _prefixes

EXTENDED = np.finfo(np.longdouble).nmant >= 63

NUMBER_WIDTH = 24
_NUMBER = np.frombuffer(b"-0.0000000000000000E+000", dtype=np.uint8)
_NUM = np.dtype({"names": ["d0", "a", "b", "c", "d", "exp"], "formats": ["S1", "S4", "S4", "S4", "S4", "S4"],
                 "offsets": [1, 3, 7, 11, 15, 20], "itemsize": NUMBER_WIDTH})
_EXP = np.array([f"{e:+03d}".encode().ljust(4) for e in range(-400, 401)], dtype="S4")  # index e + 400
_EXP_LEN = np.array([len(f"{e:+03d}") for e in range(-400, 401)])
_TRAILING = np.array([4 - len(f"{i:04d}".rstrip("0")) for i in range(10000)])  # of a 4-digit group



def _ld_power(p: np.ndarray) -> np.ndarray:
    """10**p in extended precision, from a table (powl per element is slow)."""
    return _LD_POW10[p + 350]


def number_bytes(x: np.ndarray):
    """(fixed-width number bytes [n, 24], mask of the bytes to keep [n, 24]) for finite float64 x."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = x.size
    buf = np.empty((n, NUMBER_WIDTH), dtype=np.uint8)
    buf[:] = _NUMBER
    keep = np.ones((n, NUMBER_WIDTH), dtype=bool)
    a = np.abs(x)
    zero = a == 0
    a[zero] = 1.0
    e = _exponent_guess(a)
    al = a.astype(np.longdouble)
    m = np.rint(al * _ld_power(16 - e)).astype(np.int64)
    for _ in range(3):  # the guess can be one too small, and rounding can carry into an 18th digit
        off = (m < 10**16) | (m >= 10**17)
        if not off.any():
            break
        e[off] += np.where(m[off] >= 10**17, 1, -1)
        m[off] = np.rint(al[off] * _ld_power(16 - e[off])).astype(np.int64)
    m[zero], e[zero] = 0, 0
    rec = buf.reshape(-1).view(_NUM)
    rec["d0"] = _D1[m // 10**16]
    rest = m % 10**16
    groups = rest // 10**12, rest // 10**8 % 10**4, rest // 10**4 % 10**4, rest % 10**4
    for field, g in zip("abcd", groups):
        rec[field] = _D4[g]
    rec["exp"] = _EXP[e + 400]
    trailing = _TRAILING[groups[3]]  # trailing zeros of the 16 digits after the first, four at a time
    zeros = groups[3] == 0
    for g in groups[2::-1]:
        trailing += zeros * _TRAILING[g]
        zeros &= g == 0
    digits = 17 - trailing  # significant digits, trailing zeros dropped
    keep[:, 0] = np.signbit(x) & ~zero
    keep[:, 2] = digits > 1
    keep[:, 3:19] = np.arange(3, 19)[None, :] < (2 + digits)[:, None]
    keep[:, 20:24] = np.arange(20, 24)[None, :] < (20 + _EXP_LEN[e + 400])[:, None]
    # an integer below 10**17 as plain digits (a token id, a column number): no point, no exponent
    whole = (x == np.rint(x)) & (e >= 0) & (e <= 16) & ~zero
    keep[whole, 2] = False
    keep[whole, 3:19] = np.arange(3, 19)[None, :] < (3 + e[whole])[:, None]
    keep[zero | whole | (e == 0), 19:24] = False  # and no exponent of 0
    return buf, keep


def rows_of_cells(letters: list[str], first_row: int, middle: bytes, values: np.ndarray) -> list[bytes]:
    """Per row of values [rows, cols] (finite float64): `<c r="{letter}{row}{middle}{number}</v></c>` for each
    column, back to back. middle is what comes between the row number and the number, e.g. `"><v>`."""
    rows, cols = values.shape
    compiled = speedups.cells_rows(values, refs.col_index(letters[0]), first_row, middle)  # the same bytes
    if compiled is not None:
        return compiled
    prefix, prefix_keep = _prefixes(tuple(letters))
    number, number_keep = number_bytes(values)
    mid = np.frombuffer(middle, dtype=np.uint8)
    tail = np.frombuffer(b"</v></c>", dtype=np.uint8)
    p, m = prefix.shape[1], len(mid)
    width = p + _ROW_WIDTH + m + NUMBER_WIDTH + len(tail)
    out = np.empty((rows, cols, width), dtype=np.uint8)
    keep = np.ones((rows, cols, width), dtype=bool)
    out[:, :, :p] = prefix[None]
    keep[:, :, :p] = prefix_keep[None]
    row_text, row_keep = _padded([str(r).encode() for r in range(first_row + 1, first_row + rows + 1)],
                                 _ROW_WIDTH)
    out[:, :, p:p + _ROW_WIDTH] = row_text[:, None, :]
    keep[:, :, p:p + _ROW_WIDTH] = row_keep[:, None, :]
    q = p + _ROW_WIDTH
    out[:, :, q:q + m] = mid
    out[:, :, q + m:q + m + NUMBER_WIDTH] = number.reshape(rows, cols, NUMBER_WIDTH)
    keep[:, :, q + m:q + m + NUMBER_WIDTH] = number_keep.reshape(rows, cols, NUMBER_WIDTH)
    out[:, :, -len(tail):] = tail
    data = out[keep].tobytes()
    ends = np.cumsum(keep.reshape(rows, -1).sum(axis=1)).tolist()
    return [data[s:e] for s, e in zip([0] + ends[:-1], ends)]
