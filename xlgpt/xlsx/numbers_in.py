"""Reading numbers back: the <v> values of a dense sheet as float64, a whole buffer at a time.

The fast path reads the form numbers.py writes (`-1.2345678E-02`: at most 9 digits, a two-digit exponent)
with NumPy alone, and yields the correctly rounded float64 of each decimal, as a text parser would. Any
other form (a sheet saved by another program) goes to a general path: a regular expression and NumPy's
text parser.
"""

import re

import numpy as np

from .numbers import _value

_SEP = re.compile(rb"</v></c>(?:</row><row[^>]*>)?<c[^>]*><v>")


def parse_values(body: bytes) -> np.ndarray:
    """Every <v>..</v> of a sheetData body, in order, as float64."""
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
    return np.array(text.split(), dtype=np.float64) if b"<" in text else np.fromstring(text, dtype=np.float64, sep=" ")


_WEIGHTS = 10.0 ** np.arange(8, -1, -1)  # the nine mantissa digits, first to last


def _fixed_form(body: bytes):
    buf = np.frombuffer(body, dtype=np.uint8)
    v = np.flatnonzero(buf == ord("v"))  # in <v> and </v>; the tags hold no other v
    v = v[(v > 0) & (v < len(buf) - 1)]
    before = buf[v - 1]
    starts, ends = v[before == ord("<")] + 2, v[before == ord("/")] - 2
    if starts.size != ends.size or starts.size == 0 or np.any(ends < starts) or np.any(ends - starts > 15):
        return None
    e_pos = ends - 4
    if np.any(buf[e_pos] != ord("E")):
        return None
    neg = buf[starts] == ord("-")
    m0 = starts + neg
    width = e_pos - m0  # "d" or "d.ddddddd[d]"
    if np.any((width != 1) & ((width < 3) | (width > 10))):
        return None
    windows = np.lib.stride_tricks.as_strided(buf, shape=(len(buf) - 10, 10), strides=(1, 1), writeable=False)
    chars = windows[np.minimum(m0, len(buf) - 11)]  # ten bytes from each mantissa's first digit
    digits = np.concatenate([chars[:, :1], chars[:, 2:]], axis=1).astype(np.float64) - ord("0")
    present = np.concatenate([np.ones((len(m0), 1), bool), np.arange(2, 10)[None, :] < width[:, None]], axis=1)
    if np.any(present & ((digits < 0) | (digits > 9))) or np.any((width > 1) & (chars[:, 1] != ord("."))):
        return None
    mant = np.where(present, digits, 0.0) @ _WEIGHTS  # nine digits, missing ones 0: an exact integer
    esign = buf[e_pos + 1]
    if np.any((esign != ord("+")) & (esign != ord("-"))):
        return None
    exp = (buf[e_pos + 2].astype(np.int64) - ord("0")) * 10 + (buf[e_pos + 3].astype(np.int64) - ord("0"))
    exp = np.where(esign == ord("-"), -exp, exp)
    value = _value(mant, exp, 9)
    return np.where(neg, -value, value), starts
