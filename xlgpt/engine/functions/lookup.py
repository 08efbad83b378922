"""Matrices and lookup: MMULT, TRANSPOSE, INDEX, MATCH."""

import numpy as np

from ...sheet.cells import NA, REF, VALUE, XlError
from ..operators import numbers
from ..values import CellByCell, finish, is_error
from ..values import constant as _const
from ..values import numeric_if_possible as _compact_obj
from .table import register


@register("MMULT", ["force", "force"], 2, errors="own")  # any error or text: #VALUE!
def _mmult(a, b):
    if a.shape[3] != b.shape[2] or a.dtype != np.float64 or b.dtype != np.float64:
        return _const(VALUE)
    if _has_nan(a) or _has_nan(b):  # an empty cell in MMULT is #VALUE! in Excel
        return _const(VALUE)
    with np.errstate(all="ignore"):
        out = np.matmul(a, b)
    return finish(out)


def _has_nan(a: np.ndarray) -> bool:
    """Whether a holds a NaN (an empty cell): its sum first, one pass without a temporary (the unembedding is
    38.6 M numbers, checked for each of the 13 MMULTs that read it), which is NaN whenever a NaN is there; only
    then (or when infinities made the sum NaN) cell by cell."""
    with np.errstate(all="ignore"):
        return bool(np.isnan(a.sum())) and bool(np.isnan(a).any())


@register("TRANSPOSE", ["force"], 1, errors="own")  # errors move with their cells
def _transpose(a):
    return np.swapaxes(a, 2, 3)


@register("INDEX", ["array", "value", "value"], 2, 3, errors="own")  # only the chosen cell's error counts
def _index(a, row, col=None):
    h, w = a.shape[2:]
    if col is None:
        if h == 1:  # a single row: the one index counts columns
            row, col = np.ones((1, 1, 1, 1)), row
        else:
            col = np.ones((1, 1, 1, 1))
    r, r_err = _numbers_and_errors(numbers(row))
    c, c_err = _numbers_and_errors(numbers(col))
    if r_err is not None or c_err is not None:  # the cells whose index is an error show that error
        out = _index(a, r, c).astype(object)
        for err in (c_err, r_err):  # the row's error wins, as it is evaluated first
            if err is not None:
                shape = np.broadcast_shapes(out.shape, err.shape)
                out = np.broadcast_to(out, shape).copy()
                bad = is_error(np.broadcast_to(err, shape))
                out[bad] = np.broadcast_to(err, shape)[bad]
        return out
    r, c = np.trunc(r).astype(np.int64), np.trunc(c).astype(np.int64)
    if (r == 0).any() or (c == 0).any():
        return _index_whole(a, r, c)
    shape = np.broadcast_shapes(a.shape[:2], r.shape[:2], c.shape[:2])
    ok = (r >= 1) & (r <= h) & (c >= 1) & (c <= w)
    ri = np.broadcast_to(np.clip(r, 1, h) - 1, shape + (1, 1))[..., 0, 0]
    ci = np.broadcast_to(np.clip(c, 1, w) - 1, shape + (1, 1))[..., 0, 0]
    gi, gj = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    src = np.broadcast_to(a, shape + (h, w))
    out = src[gi, gj, ri, ci][..., None, None]
    if not ok.all():
        out = out.astype(object)
        out[~np.broadcast_to(ok, out.shape)] = REF
    return out


def _numbers_and_errors(x: np.ndarray):
    """(float64 array with 1 where x holds an error, the object array when it holds any error, else None)."""
    if x.dtype == np.float64:
        return x, None
    return np.where(is_error(x), 1.0, x).astype(np.float64), x


def _index_whole(a, r, c):
    """INDEX with a row or column of 0: the whole column or row (one group cell at a time)."""
    if r.shape[:2] != (1, 1) or c.shape[:2] != (1, 1) or a.shape[:2] != (1, 1):
        raise CellByCell  # a group of cells, some asking for a whole row or column: each cell on its own
    ri, ci = int(r[0, 0, 0, 0]), int(c[0, 0, 0, 0])
    h, w = a.shape[2:]
    if ri < 0 or ci < 0 or ri > h or ci > w:
        return _const(REF)
    rows = slice(None) if ri == 0 else slice(ri - 1, ri)
    cols = slice(None) if ci == 0 else slice(ci - 1, ci)
    return a[:, :, rows, cols]


def _first_error(*arrays):
    for a in arrays:
        if a.dtype == object:
            for v in a.flat:
                if isinstance(v, XlError):
                    return _const(v)
    return _const(VALUE)


def _key(v):
    if isinstance(v, str):
        return (1, v.lower())
    if isinstance(v, bool):
        return (2, v)
    return (0, float(v))


@register("MATCH", ["value", "array", "value"], 2, 3, errors="own", defaults=(1.0,))  # errors in the lookup range are passed over
def _match(x, lookup, kind):
    h, w = lookup.shape[2:]
    if h != 1 and w != 1:
        return _const(NA)
    kinds = numbers(kind)
    shape = np.broadcast_shapes(x.shape[:2], lookup.shape[:2], kinds.shape[:2])
    if lookup.shape[:2] == (1, 1) and lookup.dtype == np.float64 and kinds.dtype == np.float64 \
            and np.unique(np.sign(kinds)).size == 1 and x.dtype in (np.float64, object):
        fast = _match_numbers(x, lookup.reshape(-1), int(np.sign(kinds.flat[0])), shape)
        if fast is not None:
            return fast
    out = np.empty(shape + (1, 1), dtype=object)
    cache = {}
    for (i, j) in np.ndindex(*shape):
        li, lj = (i if lookup.shape[0] > 1 else 0), (j if lookup.shape[1] > 1 else 0)
        v = x[i if x.shape[0] > 1 else 0, j if x.shape[1] > 1 else 0, 0, 0]
        t = kinds[i if kinds.shape[0] > 1 else 0, j if kinds.shape[1] > 1 else 0, 0, 0]
        if isinstance(v, XlError) or isinstance(t, XlError):
            out[i, j, 0, 0] = v if isinstance(v, XlError) else t
            continue
        if (li, lj) not in cache:
            cache[li, lj] = _lookup_index(lookup[li, lj].reshape(-1))
        out[i, j, 0, 0] = _match_one(cache[li, lj], v, int(np.sign(t)))
    return _compact_obj(out)


def _match_numbers(x, vec: np.ndarray, kind: int, shape):
    """MATCH of many numbers in one numeric vector at once (the same answers as _match_one), or None when
    some x is text or a boolean (compared by type, one by one)."""
    if x.dtype == object:
        if any(type(v) is not float and not isinstance(v, XlError) and v is not None for v in x.flat):
            return None
        errors = is_error(x)
        values = np.array([0.0 if (e or v is None) else v for v, e in zip(x.flat, errors.flat)]).reshape(x.shape)
    else:
        errors, values = None, x
    v = np.where(np.isnan(values), 0.0, values)
    v = np.broadcast_to(v, shape + (1, 1)).reshape(-1)
    if kind == 0:
        order = np.argsort(vec, kind="stable")  # equal values keep their order: the first one is found
        ordered = vec[order]
        pos = np.clip(np.searchsorted(ordered, v, side="left"), 0, len(vec) - 1)
        found = ordered[pos] == v
        result = np.where(found, order[pos] + 1.0, np.nan)
    else:
        clean = np.where(np.isnan(vec), np.inf if kind == 1 else -np.inf, vec)
        if kind == 1:
            pos = np.searchsorted(clean, v, side="right")
        else:
            pos = np.searchsorted(-clean, -v, side="right")
        result = np.where(pos > 0, pos.astype(np.float64), np.nan)
    out = result.reshape(shape + (1, 1))
    if not np.isnan(out).any() and errors is None:
        return out
    out = out.astype(object)
    out[np.isnan(result.reshape(shape + (1, 1)).astype(np.float64))] = NA
    if errors is not None:
        e = np.broadcast_to(errors, shape + (1, 1))
        out[e] = np.broadcast_to(x, shape + (1, 1))[e]
    return _compact_obj(out)


def _lookup_index(vec):
    """Keys of a lookup vector; float64 vectors keep NumPy arrays for fast exact and sorted search."""
    if vec.dtype == np.float64:
        return ("num", vec)
    return ("obj", [(None if v is None or (isinstance(v, float) and v != v) else v) for v in vec])


def _match_one(index, v, kind):
    tag, vec = index
    if v is None or (isinstance(v, float) and v != v):
        v = 0.0
    if tag == "num" and isinstance(v, float) and not isinstance(v, bool):
        if kind == 0:
            hits = np.flatnonzero(vec == v)
            return float(hits[0] + 1) if hits.size else NA
        clean = np.where(np.isnan(vec), np.inf if kind == 1 else -np.inf, vec)
        if kind == 1:  # largest value <= v in an ascending vector: a binary search, as Excel does
            pos = int(np.searchsorted(clean, v, side="right"))
            return float(pos) if pos > 0 else NA
        pos = int(np.searchsorted(-clean, -v, side="right"))  # descending: smallest value >= v
        return float(pos) if pos > 0 else NA
    items = vec if tag == "obj" else [None if x != x else float(x) for x in vec]
    key = _key(v)
    best = NA
    for n, item in enumerate(items, 1):
        if item is None or isinstance(item, XlError) or _key(item)[0] != key[0]:
            continue
        k = _key(item)
        if kind == 0 and k == key:
            return float(n)
        if kind == 1:
            if k <= key:
                best = float(n)
            else:
                break
        if kind == -1:
            if k >= key:
                best = float(n)
            else:
                break
    return best
