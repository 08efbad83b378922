"""Aggregates over ranges: SUM, COUNT, AVERAGE, MAX, MIN, VARP, SUMPRODUCT, LARGE, SMALL."""

import math

import numpy as np

from ...sheet.cells import DIV0, NUM, VALUE, XlError
from ..operators import numbers
from ..values import finish
from ..values import constant as _const
from ..values import numeric_if_possible as _compact_obj
from .table import register


def _numbers_only(a: np.ndarray) -> np.ndarray:
    """A float array with NaN wherever a cell is not a number (text, booleans, empty cells, errors)."""
    if a.dtype == np.float64:
        return a
    return np.array([v if type(v) is float else np.nan for v in a.flat], dtype=np.float64).reshape(a.shape)


def _reduce(args, fn, empty=NUM):
    """fn(values [R, C, n]) over all the numbers of all arguments, per group cell; a non-finite result is
    `empty` (#DIV/0! for an average of nothing) or #NUM!."""
    parts = [_numbers_only(a) for a in args if a is not None]
    parts = [p.reshape(p.shape[:2] + (-1,)) for p in parts]
    shape = np.broadcast_shapes(*(p.shape[:2] for p in parts))
    vals = np.concatenate([np.broadcast_to(p, shape + p.shape[2:]) for p in parts], axis=2)
    with np.errstate(all="ignore"):
        out = np.asarray(fn(vals), dtype=np.float64).reshape(shape + (1, 1))
    return finish(out, empty)


def _count(v):
    return np.sum(~np.isnan(v), axis=-1)


register("SUM", ["array"], 1, None, "any")(lambda *a: _reduce(a, lambda v: np.nansum(v, axis=-1)))
# COUNT counts the numbers and passes over everything else, errors included
register("COUNT", ["array"], 1, None, "own")(lambda *a: _reduce(a, lambda v: _count(v).astype(np.float64)))
register("AVERAGE", ["array"], 1, None, "any")(
    lambda *a: _reduce(a, lambda v: np.nansum(v, axis=-1) / _count(v), DIV0))
register("MAX", ["array"], 1, None, "any")(lambda *a: _reduce(a, lambda v: np.where(_count(v) > 0, np.nanmax(
    np.where(np.isnan(v), -np.inf, v), axis=-1), 0.0)))
register("MIN", ["array"], 1, None, "any")(lambda *a: _reduce(a, lambda v: np.where(_count(v) > 0, np.nanmin(
    np.where(np.isnan(v), np.inf, v), axis=-1), 0.0)))


def _varp(v):
    n = _count(v)
    mean = np.nansum(v, axis=-1) / n
    return np.nansum((v - mean[..., None]) ** 2, axis=-1) / n  # two passes, as Excel and LibreOffice


register("VARP", ["array"], 1, None, "any")(lambda *a: _reduce(a, _varp, DIV0))


@register("SUMPRODUCT", ["force"], 1, None, "any")
def _sumproduct(*arrays):
    if any(a.shape[2:] != arrays[0].shape[2:] for a in arrays):
        return _const(VALUE)
    prod = None
    for a in arrays:
        vals = _numbers_only(a)  # text and empty count as 0
        vals = np.where(np.isnan(vals), 0.0, vals)
        prod = vals if prod is None else prod * vals
    return finish(prod.sum(axis=(2, 3), keepdims=True))


def _kth(a, k, largest):
    vals = _numbers_only(a)
    k = numbers(k)
    shape = np.broadcast_shapes(vals.shape[:2], k.shape[:2])
    flat = vals.reshape(vals.shape[:2] + (-1,))
    sorted_ = np.sort(np.where(np.isnan(flat), np.inf if largest else np.inf, flat), axis=-1)  # NaN (not a number) last
    counts = np.sum(~np.isnan(flat), axis=-1)
    out = np.empty(shape + (1, 1), dtype=object)
    for (i, j) in np.ndindex(*shape):
        ii, jj = (i if sorted_.shape[0] > 1 else 0), (j if sorted_.shape[1] > 1 else 0)
        kv = k[i if k.shape[0] > 1 else 0, j if k.shape[1] > 1 else 0, 0, 0]
        if isinstance(kv, XlError):  # text that is no number
            out[i, j, 0, 0] = kv
            continue
        n = counts[ii, jj]
        kk = math.ceil(kv - 1e-12) if kv == kv else 0  # Excel takes the k-th with k rounded up
        if kk < 1 or kk > n:
            out[i, j, 0, 0] = NUM
            continue
        out[i, j, 0, 0] = float(sorted_[ii, jj, n - kk] if largest else sorted_[ii, jj, kk - 1])
    return _compact_obj(out)


register("LARGE", ["array", "value"], 2, errors="any")(lambda a, k: _kth(a, k, True))
register("SMALL", ["array", "value"], 2, errors="any")(lambda a, k: _kth(a, k, False))
