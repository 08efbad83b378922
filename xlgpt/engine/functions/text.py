"""Text: LEN, MID, LEFT, RIGHT, CONCATENATE, EXACT, UNICODE, UNICHAR (Excel's rules: text in UTF-16 units, a text
result of at most 32,767 characters)."""

import numpy as np

from ...sheet.cells import VALUE, too_long
from ..values import broadcast_inner
from ..values import numeric_if_possible as _compact_obj
from .table import register


def _text_fn(fn):
    """fn over the arguments one element at a time; they arrive as their declared types (run_function has
    converted them and taken the errors out)."""
    def impl(*args):
        args = broadcast_inner(*[a.astype(object) for a in args])
        return _compact_obj(np.frompyfunc(fn, len(args), 1)(*args))
    return impl


def _mid(t: str, s: float, k: float):
    if s < 1 or k < 0:
        return VALUE
    s, k = int(s), int(k)
    return t[s - 1:s - 1 + k]


def _left(t: str, k: float):
    return VALUE if k < 0 else t[:int(k)]


def _right(t: str, k: float):
    k = int(k)
    return VALUE if k < 0 else (t[len(t) - k:] if k else "")


def _unicode(t: str):
    """The code point of the first character. Text whose characters are UTF-16 code units (as Excel's are;
    the tests give the engine such text) follows Microsoft's documentation: a whole surrogate pair at the
    start gives the supplementary code point, a partial surrogate #VALUE!."""
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


def _unichar(k: float):
    return chr(int(k)) if 1 <= k <= 0x10FFFF else VALUE


def _concatenate(*ts: str):
    joined = "".join(ts)
    return VALUE if too_long(joined) else joined  # Excel: a text result past 32,767 characters


register("LEN", ["value"], 1, types=["text"])(_text_fn(lambda t: float(len(t))))
register("MID", ["value", "value", "value"], 3, types=["text", "integer", "integer"])(_text_fn(_mid))
register("LEFT", ["value", "value"], 1, 2, defaults=(1.0,), types=["text", "integer"])(_text_fn(_left))
register("RIGHT", ["value", "value"], 1, 2, defaults=(1.0,), types=["text", "integer"])(_text_fn(_right))
register("CONCATENATE", ["value"], 1, None, types=["text"])(_text_fn(_concatenate))
# case-sensitive, unlike = and MATCH (" Monday" is not " monday"): the Attribution tab finds a token's id with it
register("EXACT", ["value", "value"], 2, types=["text", "text"])(_text_fn(lambda a, b: a == b))
register("UNICODE", ["value"], 1, types=["text"])(_text_fn(_unicode))
register("UNICHAR", ["value"], 1, types=["integer"])(_text_fn(_unichar))
