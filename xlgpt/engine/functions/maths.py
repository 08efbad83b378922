"""Maths, element by element: ABS, EXP, LN, LOG10, SQRT, TANH, INT, SIGN, PI, POWER, MOD, ROUND, LOG."""

import math

import numpy as np

from ...sheet.cells import NUM
from ..operators import binary, elementwise
from ..values import broadcast_inner
from ..values import numeric_if_possible as _compact_obj
from .table import register


def _unary_math(name, fn, error=NUM, domain=None):
    def impl(x):
        if domain is None:
            return elementwise(fn, x, error=error)
        return elementwise(lambda v: np.where(domain(v), fn(v), np.nan), x, error=error)
    register(name, ["value"], 1)(impl)


_unary_math("ABS", np.abs)
_unary_math("EXP", np.exp)
_unary_math("LN", np.log, domain=lambda v: v > 0)
_unary_math("LOG10", np.log10, domain=lambda v: v > 0)
_unary_math("SQRT", np.sqrt, domain=lambda v: v >= 0)
_unary_math("TANH", np.tanh)
_unary_math("INT", np.floor)
_unary_math("SIGN", np.sign)


@register("PI", [], 0, errors="own")
def _pi():
    return np.full((1, 1, 1, 1), math.pi)


@register("POWER", ["value", "value"], 2)
def _power(a, b):
    return binary("^", a, b)


@register("MOD", ["value", "value"], 2)
def _mod(a, b):
    return elementwise(lambda x, y: x - y * np.floor(x / y), a, b, div0=lambda x, y: y == 0)


@register("ROUND", ["value", "value"], 2, types=["number", "integer"])
def _round(x, digits):
    from decimal import ROUND_HALF_UP, Decimal

    def one(v, d):
        # half away from zero, on the 15 significant digits the number shows, as Excel does
        q = Decimal(1).scaleb(-int(d))
        return float(Decimal(f"{v:.15g}").quantize(q, rounding=ROUND_HALF_UP))
    x, digits = broadcast_inner(x.astype(object), digits.astype(object))
    return _compact_obj(np.frompyfunc(one, 2, 1)(x, digits))


@register("LOG", ["value", "value"], 1, 2, defaults=(10.0,))
def _log(x, base):
    return elementwise(lambda v, b: np.where((v > 0) & (b > 0), np.log(v) / np.log(b), np.nan), x, base,
                       div0=lambda v, b: b == 1)
