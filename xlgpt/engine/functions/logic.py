"""Logic: IF, AND, OR, NOT, IFERROR, ISNUMBER."""

import numpy as np

from ...sheet.cells import VALUE, XlError
from ..values import broadcast_inner, is_error
from ..values import constant as _const
from .table import register


def _truth(v):
    if isinstance(v, XlError):
        return v
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        u = v.upper()
        return True if u == "TRUE" else (False if u == "FALSE" else VALUE)
    return float(v) != 0 and v == v


@register("IF", ["value", "value", "value"], 2, 3, errors="own")  # only the chosen branch's error counts
def _if(cond, yes, no=None):
    if no is None:
        no = _const(False)
    cond, yes, no = broadcast_inner(cond, yes, no)
    kinds = set(map(type, cond.flat)) if cond.dtype == object else None
    if cond.dtype == np.float64 or kinds <= {bool, float}:
        c = cond.astype(np.float64)
        truth = (c != 0) & ~np.isnan(c)  # a number is TRUE unless 0; an empty cell is FALSE
        if yes.dtype == no.dtype == np.float64:
            return np.where(truth, yes, no)
        return np.where(truth, yes.astype(object), no.astype(object))
    t = np.frompyfunc(_truth, 1, 1)(cond.astype(object))
    out = np.where(t == True, yes.astype(object), no.astype(object))  # noqa: E712 (elementwise on objects)
    t = np.broadcast_to(t, out.shape)  # a condition of one column for a block of several
    errs = is_error(t)
    out[errs] = t[errs]
    return out


def _logical(combine):
    def impl(*args):
        results = []
        for a in args:
            t = np.frompyfunc(_truth, 1, 1)(a.astype(object))
            results.append(t.reshape(t.shape[:2] + (-1,)))
        shape = np.broadcast_shapes(*(r.shape[:2] for r in results))
        out = np.empty(shape + (1, 1), dtype=object)
        for (i, j) in np.ndindex(*shape):
            flat = [v for r in results for v in r[i if r.shape[0] > 1 else 0, j if r.shape[1] > 1 else 0]]
            err = next((v for v in flat if isinstance(v, XlError)), None)
            out[i, j, 0, 0] = err if err is not None else combine(flat)
        return out
    return impl


register("AND", ["array"], 1, None, "any")(_logical(all))
register("OR", ["array"], 1, None, "any")(_logical(any))


@register("NOT", ["value"], 1)
def _not(x):
    t = np.frompyfunc(_truth, 1, 1)(x.astype(object))
    return np.frompyfunc(lambda v: v if isinstance(v, XlError) else (not v), 1, 1)(t)


@register("IFERROR", ["value", "value"], 2, errors="own")
def _iferror(x, alt):
    x, alt = broadcast_inner(x, alt)
    if x.dtype == np.float64:
        return x
    return np.where(is_error(x), alt.astype(object), x)


@register("ISNUMBER", ["value"], 1, errors="own")
def _isnumber(x):
    if x.dtype == np.float64:
        return (~np.isnan(x)).astype(object)
    return np.frompyfunc(lambda v: type(v) is float and v == v, 1, 1)(x)
