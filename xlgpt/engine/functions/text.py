"""Text: LEN, MID, LEFT, RIGHT, CONCATENATE, UNICODE, UNICHAR (Excel's rules: text in UTF-16 units, a text
result of at most 32,767 characters)."""

import math

import numpy as np

from ...sheet.cells import VALUE, XlError, too_long
from ..operators import to_number, to_text
from ..values import broadcast_inner
from ..values import constant as _const
from ..values import numeric_if_possible as _compact_obj
from .table import register


def _text_fn(fn, nargs):
    """fn over texts and numbers, one element at a time (run_function has taken the errors out)."""
    def impl(*args):
        args = broadcast_inner(*[a.astype(object) if a is not None else _const(None) for a in args])
        return _compact_obj(np.frompyfunc(fn, len(args), 1)(*args))
    return impl


def _num_arg(v):
    n = to_number(v)
    return n if isinstance(n, XlError) else math.trunc(n)


def _mid(text, start, n):
    t, s, k = to_text(text), _num_arg(start), _num_arg(n)
    for v in (t, s, k):
        if isinstance(v, XlError):
            return v
    if s < 1 or k < 0:
        return VALUE
    return t[s - 1:s - 1 + k]


def _left(text, n):
    t, k = to_text(text), _num_arg(n)
    if isinstance(k, XlError):
        return k
    return VALUE if k < 0 else t[:k]


def _right(text, n):
    t, k = to_text(text), _num_arg(n)
    if isinstance(k, XlError):
        return k
    return VALUE if k < 0 else (t[len(t) - k:] if k else "")


def _unicode(text):
    """The code point of the first character. Text whose characters are UTF-16 code units (as Excel's are;
    the tests give the engine such text) follows Microsoft's documentation: a whole surrogate pair at the
    start gives the supplementary code point, a partial surrogate #VALUE!."""
    t = to_text(text)
    if t == "":
        return VALUE
    first = ord(t[0])
    if 0xD800 <= first <= 0xDBFF:
        if len(t) > 1 and 0xDC00 <= ord(t[1]) <= 0xDFFF:
            return float(0x10000 + (first - 0xD800) * 0x400 + ord(t[1]) - 0xDC00)
        return VALUE
    if 0xDC00 <= first <= 0xDFFF:
        return VALUE
    return float(first)


def _unichar(n):
    k = _num_arg(n)
    if isinstance(k, XlError):
        return k
    return chr(k) if 1 <= k <= 0x10FFFF else VALUE


register("LEN", ["value"], 1)(_text_fn(lambda t: float(len(to_text(t))), 1))
register("MID", ["value", "value", "value"], 3)(_text_fn(_mid, 3))
register("LEFT", ["value", "value"], 1, 2, defaults=(1.0,))(_text_fn(_left, 2))
register("RIGHT", ["value", "value"], 1, 2, defaults=(1.0,))(_text_fn(_right, 2))
def _concatenate(*ts):
    joined = "".join(to_text(t) for t in ts)
    return VALUE if too_long(joined) else joined  # Excel: a text result past 32,767 characters


register("CONCATENATE", ["value"], 1, None)(_text_fn(_concatenate, 1))
register("UNICODE", ["value"], 1)(_text_fn(_unicode, 1))
register("UNICHAR", ["value"], 1)(_text_fn(_unichar, 1))
