"""Reading numbers back: the <v> values of a dense sheet as float64, a whole buffer at a time.

The fast path reads the form numbers.py writes (`-1.2345678E-02`: at most 9 digits, a two-digit exponent)
with NumPy alone, and yields the correctly rounded float64 of each decimal, as a text parser would. Any
other form (a sheet saved by another program) goes to a general path: a regular expression and NumPy's
text parser.
"""

import re
import warnings

import numpy as np

from ..sheet.cells import decimal_value as _value
from . import speedups

_SEP = re.compile(rb"</v></c>(?:</row><row[^>]*>)?<c[^>]*><v>")


def parse_values(body: bytes):
    """Every <v>..</v> of a sheetData body, in order, as float64; None when one is not a finite number in
    xsd:double's form (the caller reads the sheet cell by cell and names the cell)."""
    fast = _fixed_form(body)
    return fast[0] if fast is not None else _general_form(body)


def parse_values_at(body: bytes):
    """(values, byte offset of each value in body), or None when the body is not in numbers.py's form."""
    return _fixed_form(body)


def _general_form(body: bytes) -> np.ndarray:
    first, last = body.find(b"<v>"), body.rfind(b"</v>")
    if first < 0:
        return np.empty(0)
    text = _SEP.sub(b" ", body[first + 3:last])
    if _NOT_NUMERIC.search(text):
        return None  # a tag between values, or a character no decimal has (1_000, nan, inf, other digits)
    with warnings.catch_warnings():
        # NumPy's text parser stops at what it cannot read and only warns: that is an error here
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(text, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None  # e.g. "1e" or "--1": not one of xsd:double's forms either
    return values if np.isfinite(values).all() else None


_NOT_NUMERIC = re.compile(rb"[^0-9eE+\-. \t\r\n]")


# the 8 digits after the point, as one little-endian uint64 of ASCII: keep the first k bytes, k = 0..8
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_THREES, _SIXES = np.uint64(0x3030303030303030), np.uint64(0x0606060606060606)


def _eight_digits(x: np.ndarray) -> np.ndarray:
    """Eight ASCII digits packed in a little-endian uint64 (first digit lowest; a zero byte counts as 0) ->
    their value, without a loop over the digits: pairs, then quads, then halves (the classic SWAR reduction;
    the products wrap modulo 2**64 on purpose)."""
    x = ((x & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(2561)) >> np.uint64(8)
    x = ((x & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
    return ((x & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)


def _fixed_form(body: bytes):
    compiled = speedups.parse_fixed(body)  # the same values, from the compiled loop, when it takes the body
    if compiled is not None:
        return compiled
    buf = np.frombuffer(body, dtype=np.uint8)
    v = np.flatnonzero(buf == ord("v"))  # in <v> and </v>; the tags hold no other v
    if v.size == 0 or v.size % 2 or v[0] == 0 or v[-1] >= len(buf) - 1:
        return None
    starts, ends = v[0::2] + 2, v[1::2] - 2  # <v> and </v> alternate
    if np.any(buf[starts - 3] != ord("<")) or np.any(buf[ends + 1] != ord("/")) or np.any(ends - starts > 15):
        return None
    e_pos = ends - 4
    if np.any(buf[e_pos] != ord("E")):
        return None
    neg = buf[starts] == ord("-")
    m0 = starts + neg
    width = e_pos - m0  # "d" or "d.ddddddd[d]"
    if np.any((width != 1) & ((width < 3) | (width > 10))):
        return None
    if m0[-1] + 10 > len(buf):
        return None
    # every byte offset read as a little-endian uint64 (overlapping, unaligned): the eight bytes after each
    # mantissa's point in one gather
    words = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    tail = words[m0 + 2]  # the digits after the point, and the bytes that follow them
    keep = _KEEP[np.maximum(width - 2, 0)]  # the bytes that are digits
    first = buf[m0] - np.uint8(ord("0"))  # a byte below '0' wraps round to a large one
    kept = tail & keep
    threes = _THREES & keep
    # each kept byte is 0x30..0x39: its high nibble is 3, and still is after adding 6 (0x3A..0x3F would not be)
    high = np.uint64(0xF0F0F0F0F0F0F0F0)
    not_digits = (((kept & high) != threes) | (((kept + (_SIXES & keep)) & high) != threes))
    if np.any(first > 9) or np.any((width > 1) & (buf[m0 + 1] != ord("."))) or np.any(not_digits):
        return None
    mant = first.astype(np.float64) * 1e8 + _eight_digits(kept).astype(np.float64)
    esign = buf[e_pos + 1]
    if np.any((esign != ord("+")) & (esign != ord("-"))):
        return None
    tens, ones = buf[e_pos + 2] - np.uint8(ord("0")), buf[e_pos + 3] - np.uint8(ord("0"))
    if np.any(tens > 9) or np.any(ones > 9):
        return None
    exp = tens.astype(np.int64) * 10 + ones
    exp = np.where(esign == ord("-"), -exp, exp)
    value = _value(mant, exp, 9)
    return np.where(neg, -value, value), starts
