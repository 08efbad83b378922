"""Excel's operators on 4-D value arrays: arithmetic, comparison, concatenation, unary minus and percent."""

import math

import numpy as np

from ..sheet.cells import DIV0, NUM, VALUE, XlError, parse_double, too_long
from .values import broadcast_inner, finish
from .values import numeric_if_possible as _compact


def to_number(v):
    """Excel's coercion of one value to a number for arithmetic: empty is 0, TRUE 1, numeric text its number."""
    if v is None:
        return 0.0
    if isinstance(v, XlError):
        return v
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, str):  # numeric text in xsd:double's form: not 1_000, nan, inf or other scripts' digits
        x = parse_double(v)
        return VALUE if x is None else x
    v = float(v)
    return 0.0 if v != v else v  # NaN stands for an empty cell


def convert(a: np.ndarray, kind: str) -> np.ndarray:
    """An argument as a function's declared type wants it (functions/table.py): numbers, whole numbers
    (truncated toward zero, as Excel takes MID's start and LEFT's count), text, or as it is; errors stay."""
    if kind == "number":
        return numbers(a)
    if kind == "integer":
        a = numbers(a)
        if a.dtype == np.float64:
            return np.trunc(a)
        return _compact(np.asarray(np.frompyfunc(lambda v: v if isinstance(v, XlError) else float(math.trunc(v)),
                                                 1, 1)(a), dtype=object))
    if kind == "text":
        return np.asarray(np.frompyfunc(to_text, 1, 1)(a.astype(object)), dtype=object)
    return a


def numbers(a: np.ndarray) -> np.ndarray:
    """A float64 array with empties as 0, or an object array of numbers and errors."""
    if a.dtype == np.float64:
        return np.where(np.isnan(a), 0.0, a) if np.isnan(a).any() else a
    if a.dtype == object and set(map(type, a.flat)) <= {bool, float}:  # comparisons' TRUE/FALSE: 1 and 0
        b = a.astype(np.float64)
        return np.where(np.isnan(b), 0.0, b)
    return _compact(np.asarray(np.frompyfunc(to_number, 1, 1)(a), dtype=object))


def elementwise(fn, *args, error=NUM, div0=None):
    """Apply a float function over numbers, with errors passed through from the first argument that has one.

    div0(*numbers) -> bool mask of the results that are #DIV/0! rather than `error`.
    """
    args = [numbers(a) for a in broadcast_inner(*args)] if len(args) > 1 else [numbers(args[0])]
    if all(a.dtype == np.float64 for a in args):
        with np.errstate(all="ignore"):
            r = np.asarray(fn(*args), dtype=np.float64)
            return finish(r, error, None if div0 is None else div0(*args))

    def one(*xs):
        for x in xs:
            if isinstance(x, XlError):
                return x
        if div0 is not None and div0(*xs):
            return DIV0
        with np.errstate(all="ignore"):
            r = float(fn(*[np.float64(x) for x in xs]))
        return r if np.isfinite(r) else error
    return _compact(np.asarray(np.frompyfunc(one, len(args), 1)(*args), dtype=object))


def unary(op: str, a: np.ndarray) -> np.ndarray:
    if op == "-":
        return elementwise(np.negative, a)
    if op == "+":
        return a
    return elementwise(lambda x: x / 100.0, a)  # %


def _power(a, b):
    r = np.power(a, b)
    return np.where((a == 0) & (b <= 0), np.inf, r)  # 0^0 is #NUM! in Excel, 0^-1 #DIV/0!


_ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply}


def binary(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op in _ARITH:
        return elementwise(_ARITH[op], a, b)
    if op == "/":
        return elementwise(np.divide, a, b, div0=lambda x, y: y == 0)
    if op == "^":
        return elementwise(_power, a, b, div0=lambda x, y: (x == 0) & (y < 0))
    if op == "&":
        return _concat(a, b)
    return _compare(op, a, b)


def to_text(v) -> str | XlError:
    if isinstance(v, XlError):
        return v
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, str):
        return v
    v = float(v)
    if v != v:
        return ""
    return general_format(v)


def general_format(v: float) -> str:
    """A number as Excel's General format shows it in text: up to 15 significant digits."""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    s = f"{v:.15G}"
    if "E" in s:
        mant, exp = s.split("E")
        mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
        return f"{mant}E{exp[0]}{exp[1:].lstrip('0').zfill(2)}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _concat(a, b):
    a, b = broadcast_inner(a, b)

    def one(x, y):
        x, y = to_text(x), to_text(y)
        if isinstance(x, XlError):
            return x
        if isinstance(y, XlError):
            return y
        joined = x + y
        return VALUE if too_long(joined) else joined  # Excel: a text result past 32,767 characters
    return np.frompyfunc(one, 2, 1)(a.astype(object) if a.dtype != object else a,
                                     b.astype(object) if b.dtype != object else b)


def _rank(v):
    """Excel's ordering across types: numbers < text < FALSE < TRUE; text compares case-insensitively."""
    if isinstance(v, bool):
        return (2, int(v))
    if isinstance(v, str):
        return (1, v.lower())
    return (0, v)


_CMP = {"=": lambda x, y: x == y, "<>": lambda x, y: x != y, "<": lambda x, y: x < y, ">": lambda x, y: x > y,
        "<=": lambda x, y: x <= y, ">=": lambda x, y: x >= y}


def _compare(op, a, b):
    a, b = broadcast_inner(a, b)
    if a.dtype == np.float64 and b.dtype == np.float64:
        a = np.where(np.isnan(a), 0.0, a)
        b = np.where(np.isnan(b), 0.0, b)
        return _CMP[op](a, b).astype(object)
    fn = _CMP[op]

    def one(x, y):
        if isinstance(x, XlError):
            return x
        if isinstance(y, XlError):
            return y
        # an empty cell compares as 0 with a number, as "" with text, as FALSE with a boolean
        if x is None or (isinstance(x, float) and x != x):
            x = "" if isinstance(y, str) else (False if isinstance(y, bool) else 0.0)
        if y is None or (isinstance(y, float) and y != y):
            y = "" if isinstance(x, str) else (False if isinstance(x, bool) else 0.0)
        return bool(fn(_rank(x), _rank(y)))
    with np.errstate(invalid="ignore"):  # NaN (an empty cell) tested with x != x
        return np.frompyfunc(one, 2, 1)(a.astype(object), b.astype(object))
