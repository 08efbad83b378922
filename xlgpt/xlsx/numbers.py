"""Whole-block number formatting: a float array -> the <c><v>..</v></c> bytes of its cells, no Python per cell.

Every number is written with 9 significant digits in scientific notation, which round-trips float32 exactly
(8 digits do not). Fixed width lets NumPy build a row as a byte matrix: a positive number is written
`<c> <v>1.23456789E-05</v></c>` (a space between elements, which XML ignores) and a negative one
`<c><v>-1.23456789E-05</v></c>`, so every cell is the same 29 bytes. A float64 beyond 1e+-99 needs a third
exponent digit and keeps 8 significant digits (`1.2345678E-120`); float32 never gets there. Cells carry no `r` attribute: a reader
places them one after another, which the format allows.
"""

import numpy as np

DIGITS = 9
CELL_WIDTH = 29
_TEMPLATE = np.frombuffer(b"<c> <v>0.00000000E+00</v></c>", dtype=np.uint8)
# The varying parts of a cell as fields of one 29-byte record, filled from lookup tables.
_CELL = np.dtype({"names": ["pre", "d0", "hi", "lo", "exp"],
                  "formats": ["S4", "S1", "S4", "S4", "S4"],
                  "offsets": [3, 7, 9, 13, 17], "itemsize": CELL_WIDTH})
_PRE = np.array([b" <v>", b"<v>-"], dtype="S4")  # positive, negative
_D1 = np.array([str(i).encode() for i in range(10)], dtype="S1")
_D4 = np.array([f"{i:04d}".encode() for i in range(10000)], dtype="S4")
_EXP = np.array([f"E{e:+03d}".encode() for e in range(-99, 100)], dtype="S4")  # index exp + 99
_D3E = np.array([f"{i:03d}E".encode() for i in range(1000)], dtype="S4")
_EXP3 = np.array([f"{e:+04d}".encode() for e in range(-330, 330)], dtype="S4")  # index exp + 330
_CHUNK = 1 << 16  # cells per step, so the temporaries stay in cache


def cells_bytes(block: np.ndarray) -> np.ndarray:
    """[rows, cols] finite floats -> [rows, cols * CELL_WIDTH] uint8, the cells of each row back to back."""
    x = np.ascontiguousarray(block, dtype=np.float64)
    rows, cols = x.shape
    out = np.empty(x.size * CELL_WIDTH, dtype=np.uint8)
    flat = x.reshape(-1)
    for start in range(0, flat.size, _CHUNK):
        part = flat[start:start + _CHUNK]
        cells = out[start * CELL_WIDTH:(start + part.size) * CELL_WIDTH]
        cells.reshape(-1, CELL_WIDTH)[:] = _TEMPLATE
        _fill(cells.view(_CELL), part)
    return out.reshape(rows, cols * CELL_WIDTH)


def _fill(rec: np.ndarray, x: np.ndarray) -> None:
    a = np.abs(x)
    zero = a == 0
    a[zero] = 1.0
    exp, mant = _decimal(a, _exponent_guess(a), DIGITS)
    mant[zero], exp[zero] = 0, 0
    rec["pre"] = _PRE[(x < 0).view(np.uint8)]
    rec["d0"] = _D1[mant // 10**8]
    rest = mant % 10**8
    rec["hi"] = _D4[rest // 10**4]
    big = np.abs(exp) > 99
    if big.any():  # three exponent digits, eight significant digits
        exp[big], mant[big] = _decimal(a[big], exp[big], DIGITS - 1)
        m = mant[big]
        rec["d0"][big], rec["hi"][big] = _D1[m // 10**7], _D4[(m // 1000) % 10**4]
        rec["lo"][big], rec["exp"][big] = _D3E[m % 1000], _EXP3[exp[big] + 330]
        exp[big] = 0
    rec["lo"][~big] = _D4[rest[~big] % 10**4]
    rec["exp"][~big] = _EXP[exp[~big] + 99]


def _decimal(a, exp, digits):
    """(exponent, mantissa of `digits` digits) of positive a, given log10's guess of the exponent."""
    mant = _scaled(a, digits - 1 - exp)
    # log10 can be off by one next to a power of ten, and rounding can carry into one digit more
    off = (mant < 10 ** (digits - 1)) | (mant >= 10**digits)
    if off.any():
        e = exp[off] + np.where(mant[off] >= 10**digits, 1, -1)
        m = _scaled(a[off], digits - 1 - e)
        carry = m >= 10**digits
        exp[off], mant[off] = e + carry, np.where(carry, m // 10, m)
    return exp, mant


_POW10 = 10.0 ** np.arange(-300, 301)  # index power + 300; as exact as 10.0**power


def _exponent_guess(a):
    """floor(log10(a)) for positive a, at most one too small, from the binary exponent (log10 is slow)."""
    e2 = ((a.view(np.int64) >> 52) & 0x7FF) - 1023
    k = (e2 * 78913) >> 18  # floor(e2 * log10(2))
    k += a >= _POW10[np.clip(k + 301, 0, 600)]
    tiny = e2 < -1000  # subnormal: the binary exponent field does not hold the exponent
    if tiny.any():
        k[tiny] = np.floor(np.log10(a[tiny]))
    return k


def _scaled(a, power):
    """rint(a * 10**power) as int64; beyond the table, in two steps so that 10**power cannot overflow."""
    far = np.abs(power) > 300
    if not far.any():
        return np.rint(a * _POW10[power + 300]).astype(np.int64)
    half = power // 2
    return np.rint(a * 10.0**half * 10.0 ** (power - half)).astype(np.int64)


def written_values(x: np.ndarray) -> np.ndarray:
    """The float64 numbers a spreadsheet reads back from cells_bytes(x): x rounded to 9 significant digits.

    A float32 weight written with 9 digits reads back as the nearest float32, but a spreadsheet keeps the
    decimal as a float64, which differs from the float32 by up to 5e-9 relative. The workbook's model is
    the decimals; a reference computation that must agree to 1e-9 takes its weights from here.
    """
    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    out = np.empty_like(flat)
    for start in range(0, flat.size, _CHUNK):
        a = np.abs(flat[start:start + _CHUNK])
        zero = a == 0
        a[zero] = 1.0
        exp, mant = _decimal(a, _exponent_guess(a), DIGITS)
        power = (DIGITS - 1) - exp
        # an integer below 2**53 divided or multiplied by an exact power of ten (up to 1e22) is correctly
        # rounded, so this equals parsing the decimal text
        exact = np.abs(power) <= 22
        val = np.where(power >= 0, mant / _POW10[np.clip(power, 0, 22) + 300], mant * _POW10[np.clip(-power, 0, 22) + 300])
        for i in np.flatnonzero(~exact & ~zero):
            val[i] = float(f"{mant[i]}e{-power[i]}")
        val[zero] = 0.0
        out[start:start + _CHUNK] = np.copysign(val, flat[start:start + _CHUNK])
    return out.reshape(np.shape(x))


_ROW_TAG = 18  # len('<row r="1048576" >'): a row tag padded with spaces before its '>' to one width


def rows_bytes(block: np.ndarray, first_row: int) -> np.ndarray:
    """Whole <row> elements for a block that fills its rows from column A: [rows, width] uint8, ready to write.

    The row tags are padded to one width with white space inside the tag (`<row r="7"        >`), which XML
    allows, so that the rows of a chunk form one byte matrix and no Python touches a cell.
    """
    rows, cols = block.shape
    out = np.empty((rows, _ROW_TAG + cols * CELL_WIDTH + 6), dtype=np.uint8)
    tags = np.array([f'<row r="{r}"'.ljust(_ROW_TAG - 1).encode() + b">"
                     for r in range(first_row + 1, first_row + rows + 1)], dtype=f"S{_ROW_TAG}")
    out[:, :_ROW_TAG] = tags.view(np.uint8).reshape(rows, _ROW_TAG)
    out[:, _ROW_TAG:-6] = cells_bytes(block)
    out[:, -6:] = np.frombuffer(b"</row>", dtype=np.uint8)
    return out
