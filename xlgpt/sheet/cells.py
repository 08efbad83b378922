"""What a cell holds, as every part of xlgpt sees it (the engine, the writer, the reader): Excel's error values,
and the decimal a float32 weight is written as.

A weight is a float32. It is written as a decimal of 8 significant digits when that reads back as the same
float32 (for about 99% of weights), else of 9 (which always does). A spreadsheet keeps that decimal as a
float64; `written_values` gives those float64s, which are the workbook's weights: the engine computes with
them, the writer (xlsx/numbers.py) lays out their text, the reader parses it back.
"""

import re

import numpy as np

from .parallel import ordered_map
from .powers import POW10 as _POW10  # index power + 300
from ..xlsx import speedups


class XlError(str):
    """An Excel error value such as #DIV/0!; a str so that it prints and compares as its code."""

    def __repr__(self):
        return f"XlError({str(self)!r})"


NULL, DIV0, VALUE, REF, NAME, NUM, NA = (XlError(c) for c in
                                         ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
ERROR_CODES = {str(e): e for e in (NULL, DIV0, VALUE, REF, NAME, NUM, NA)}

# The most characters a cell holds (Excel's "Total number of characters that a cell can contain", counted in
# UTF-16 units): a longer text result is #VALUE!, a longer text typed in is refused
MAX_TEXT = 32767


def too_long(text: str) -> bool:
    """Whether text passes MAX_TEXT UTF-16 units (a character past U+FFFF is two)."""
    return len(text) > MAX_TEXT // 2 and len(text) + sum(ord(c) > 0xFFFF for c in text) > MAX_TEXT


# xsd:double's lexical form (XML Schema 1.0, 3.2.5), ASCII digits only, surrounding white space collapsed;
# INF and NaN are xsd:doubles but no cell holds them (Excel has no such values), and neither does 1e999
_DOUBLE = re.compile(r"[ \t\r\n]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\r\n]*")


def parse_double(text) -> float | None:
    """The number a cell's <v>, a --set value or a CSV field holds, read as xsd:double strictly: None when the
    text is not one (Python's float() would also take 1_000, Arabic-Indic digits, nan, inf and infinity)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not _DOUBLE.fullmatch(text):
        return None
    x = float(text)
    return x if np.isfinite(x) else None


CHUNK = 1 << 16  # cells per step, so the temporaries stay in cache


def decimals(x: np.ndarray):
    """(mantissa int64 of 9 digits, exponent, significant digits: 8 or 9) of the decimal written per value.

    x: float32 values, or float64 values that are such decimals (what written_values returns).
    """
    f32 = np.asarray(x).astype(np.float32)
    target = np.abs(f32)
    a = target.astype(np.float64)
    zero = a == 0
    a[zero] = 1.0
    m9, e = _decimal(a, exponent_guess(a), 9)
    m9f = m9.astype(np.float64)  # mantissas below 2**53: float arithmetic on them is exact, and faster
    best, digits = m9f, np.full(a.shape, 9, dtype=np.int64)
    power = 8 - e  # m9 * 10**-power is the 9-digit decimal
    if power.min() >= 2 and power.max() <= 22:
        unit = _POW10[power + 300]  # exact powers of ten: m / unit is the correctly rounded decimal
    else:
        unit = None
    for k in (8,):  # 7 digits would save 3% of the file for 10% more formatting time
        # round the 9-digit mantissa to k digits; rounding twice can miss a k-digit form in rare cases,
        # and then the check below keeps 9 digits: the result always reads back as the same float32
        scale = 10.0 ** (9 - k)
        m = np.floor((m9f + scale / 2) / scale)
        value = m / (unit / scale) if unit is not None else decimal_value(m, e, k)
        ok = (m < 10.0**k) & (value.astype(np.float32) == target)
        best = np.where(ok, m * scale, best)
        digits[ok] = k
    best[zero], e[zero], digits[zero] = 0, 0, 1
    best = best.astype(np.int64)
    return best, e, digits


def written_values(x: np.ndarray, parallel: bool = False) -> np.ndarray:
    """The float64 numbers a spreadsheet reads back from the cells of x (the workbook's weights).

    parallel: use the worker threads (never from code that already runs on one: it would wait on itself).
    """
    flat = np.asarray(x).reshape(-1)
    out = np.empty(flat.shape, dtype=np.float64)

    def convert(start):
        part = flat[start:start + CHUNK]
        # the same float64s from the compiled loop, written in place
        if speedups.written_values(part, out[start:start + CHUNK]) is not None:
            return
        m, e, _ = decimals(part)
        out[start:start + CHUNK] = np.copysign(decimal_value(m, e, 9), part.astype(np.float64))
    starts = range(0, flat.size, CHUNK)
    for _ in (ordered_map(convert, starts, ahead=8) if parallel else map(convert, starts)):
        pass
    return out.reshape(np.shape(x))


def decimal_value(mant, exp, digits):
    """The float64 nearest to mant * 10**(exp - digits + 1): an integer below 2**53 divided or multiplied by
    an exact power of ten (at most 1e22) is correctly rounded, as parsing the decimal text would be."""
    power = (digits - 1) - exp
    if power.size and 0 <= power.min() and power.max() <= 22:  # every weight below 1e9 or so: one division
        return mant / _POW10[power + 300]
    p = np.clip(np.abs(power), 0, 22)
    val = np.where(power >= 0, mant / _POW10[p + 300], mant * _POW10[p + 300])
    far = np.abs(power) > 22  # beyond float32's range of decimals; parse these one by one
    if np.any(far):
        for i in np.flatnonzero(far):
            val.flat[i] = float(f"{int(np.asarray(mant).flat[i])}e{-int(np.asarray(power).flat[i])}")
    return val


def exponent_guess(a):
    """floor(log10(a)) for positive a, at most one too small, from the binary exponent (log10 is slow)."""
    e2 = ((a.view(np.int64) >> 52) & 0x7FF) - 1023
    k = (e2 * 78913) >> 18  # floor(e2 * log10(2))
    k += a >= _POW10[np.clip(k + 301, 0, 600)]
    tiny = e2 < -1000  # subnormal: the binary exponent field does not hold the exponent
    if tiny.any():
        k[tiny] = np.floor(np.log10(a[tiny]))
    return k


def _decimal(a, exp, digits):
    """(mantissa of `digits` digits, exponent) of positive a rounded, given a guess of the exponent."""
    mant = _scaled(a, digits - 1 - exp)
    # the guess can be one too small, and rounding can carry into one digit more
    off = (mant < 10 ** (digits - 1)) | (mant >= 10**digits)
    if off.any():
        e = exp[off] + np.where(mant[off] >= 10**digits, 1, -1)
        m = _scaled(a[off], digits - 1 - e)
        carry = m >= 10**digits
        exp[off], mant[off] = e + carry, np.where(carry, m // 10, m)
    return mant, exp


def _scaled(a, power):
    """rint(a * 10**power) as int64; beyond the table, in two steps so that 10**power cannot overflow."""
    if not (np.abs(power) > 300).any():
        return np.rint(a * _POW10[power + 300]).astype(np.int64)
    half = power // 2
    return np.rint(a * 10.0**half * 10.0 ** (power - half)).astype(np.int64)
