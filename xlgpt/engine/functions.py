"""The function table: every function the engine knows, declared once, by family, and run_function, the one
place where a call's arity, argument modes and error propagation are handled (as HyperFormula's runFunction).

Each entry says how its arguments are evaluated: "value" (outside an array formula a range is intersected
with the formula's cell), "array" (a reference passes whole; an expression is evaluated as the formula is),
or "force" (the whole argument is evaluated as an array formula, as SUMPRODUCT and MMULT do in Excel).
And how errors in its arguments propagate: "each" (element by element: where an argument holds an error, the
first such argument's error is the result there, as for ABS or MID), "any" (an error anywhere in the
arguments is the whole result, as for SUM), or "own" (the function decides: IF, IFERROR, ISNUMBER, INDEX,
MATCH, COUNT...). For "each" and "any" the implementation never sees an error: run_function puts an empty
cell in its place and the error over the result.
Implementations take and return 4-D arrays [R, C, h, w] (see evaluator.py).
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from ..sheet import refs
from .evaluator import CellByCell, Context, RangeVal, evaluate, range_parts, value
from .parser import Name, Ref
from .operators import elementwise, numbers, to_number, to_text
from ..sheet.cells import DIV0, NA, NUM, REF, VALUE, XlError, too_long
from .values import broadcast_inner, finish, is_error
from .values import constant as _const
from .values import numeric_if_possible as _compact_obj


class UnsupportedFunction(Exception):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Function:
    impl: object
    modes: tuple  # per argument; the last repeats for variadic functions
    min_args: int
    max_args: int | None  # None: any number
    errors: str  # "each", "any" or "own" (see above)


FUNCTIONS: dict[str, Function] = {}


def register(name, modes, min_args, max_args=-1, errors="each"):
    def wrap(fn):
        FUNCTIONS[name] = Function(fn, tuple(modes), min_args, min_args if max_args == -1 else max_args, errors)
        return fn
    return wrap


def run_function(node, ctx: Context):
    fn = FUNCTIONS.get(node.name)
    if fn is None:
        raise UnsupportedFunction(node.name)
    if node.name == "SUM" and len(node.args) == 1 and isinstance(node.args[0], Ref):
        running = _running_sum(node.args[0], ctx)
        if running is not None:
            return running
    n = len(node.args)
    if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
        return _const(VALUE)
    args = []
    for i, a in enumerate(node.args):
        mode = fn.modes[min(i, len(fn.modes) - 1)]
        parts = range_parts(_as_ref(a, ctx), ctx) if node.name in BY_PARTS else None
        if parts is not None:
            args.extend(parts)  # a large fixed range: the blocks it holds, as arguments of their own
        elif a is None:
            args.append(None)
        elif mode == "force":
            v = evaluate(a, replace(ctx, array_mode=True))
            args.append(v.data if isinstance(v, RangeVal) else v)
        elif mode == "array":
            v = evaluate(a, ctx)
            args.append(v.data if isinstance(v, RangeVal) else v)
        else:
            args.append(value(evaluate(a, ctx), ctx))
    if fn.errors == "own" or not any(a is not None and a.dtype == object for a in args):
        return fn.impl(*args)  # a float64 block holds no error
    masks = [None if a is None else is_error(a) for a in args]
    if not any(m is not None and m.any() for m in masks):
        return fn.impl(*args)
    clean = [a if m is None or not m.any() else np.where(m, None, a) for a, m in zip(args, masks)]
    result = fn.impl(*clean)
    if fn.errors == "each":
        return _each_error(result, args)
    return _any_error(result, args, masks)


# Reductions whose value over a range is their value over the range's parts taken as separate arguments:
# over a large range they read the blocks that hold cells, never the empty area (evaluator.range_parts)
BY_PARTS = frozenset({"SUM", "COUNT", "AVERAGE", "MAX", "MIN"})


def _as_ref(a, ctx):
    """The reference an argument is, through a defined name; None for anything else."""
    if isinstance(a, Name):
        a = ctx.names.get(a.name) or ctx.names.get(a.name.upper())
    return a if isinstance(a, Ref) else None


def _each_error(result, args):
    """Where an argument holds an error (the first argument that does), that error. The masks are taken
    after broadcasting, which pads arguments of other sizes with #N/A, as the implementation saw them."""
    shaped = broadcast_inner(result, *[a for a in args if a is not None])
    out = np.array(shaped[0], dtype=object)
    taken = np.zeros(out.shape, dtype=bool)
    for a in shaped[1:]:
        m = np.broadcast_to(is_error(a), out.shape) & ~taken
        out[m] = np.broadcast_to(a, out.shape)[m]
        taken |= m
    return out


def _any_error(result, args, masks):
    """Per group cell, the first error of any argument (in order, then row by row) is the whole result."""
    firsts = []
    for a, m in zip(args, masks):
        if a is None or not m.any():
            continue
        first = np.empty(a.shape[:2], dtype=object)
        for i, j in np.ndindex(*a.shape[:2]):
            hits = np.flatnonzero(m[i, j])
            first[i, j] = a[i, j].flat[hits[0]] if hits.size else None
        firsts.append(first)
    shape = np.broadcast_shapes(result.shape[:2], *(f.shape for f in firsts))
    out = np.array(np.broadcast_to(result, shape + result.shape[2:]), dtype=object)
    taken = np.zeros(shape, dtype=bool)
    for f in firsts:
        f = np.broadcast_to(f, shape)
        for i, j in zip(*np.nonzero((f != None) & ~taken)):  # noqa: E711 (elementwise on objects)
            out[i, j] = f[i, j]
            taken[i, j] = True
    return _compact_obj(out)


def _running_sum(ref: Ref, ctx: Context):
    """SUM over a range from a fixed row to a row that moves with the cell ($F$5:F9, a running total) for a
    group of rows at once, by cumulative sums; None when the range is not like that or holds non-numbers."""
    if ref.abs_r0 == ref.abs_r1 or ctx.nrows == 1 or (ctx.ncols > 1 and not (ref.abs_c0 and ref.abs_c1)):
        return None
    sheet = ref.sheet if ref.sheet is not None else ctx.sheet
    if not ctx.store.has_sheet(sheet):
        return None
    i = np.arange(ctx.nrows)
    a = ref.r0 + (0 if ref.abs_r0 else ctx.shift_r) + (0 if ref.abs_r0 else i)
    b = ref.r1 + (0 if ref.abs_r1 else ctx.shift_r) + (0 if ref.abs_r1 else i)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    c0 = ref.c0 + (0 if ref.abs_c0 else ctx.shift_c)
    c1 = ref.c1 + (0 if ref.abs_c1 else ctx.shift_c)
    top, bottom = int(lo.min()), int(hi.max())
    if top < 0 or c0 < 0 or bottom >= refs.MAX_ROWS or c1 >= refs.MAX_COLS:
        return None
    region = ctx.store.region(sheet, top, c0, bottom - top + 1, c1 - c0 + 1)
    if region.dtype != np.float64:
        return None  # text, booleans or errors: SUM's own rules, cell by cell
    totals = np.concatenate([[0.0], np.cumsum(np.nansum(region, axis=1))])
    return (totals[hi - top + 1] - totals[lo - top]).reshape(-1, 1, 1, 1)


# ---- maths, element by element -------------------------------------------------------------------------

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
    from .operators import binary
    return binary("^", a, b)


@register("MOD", ["value", "value"], 2)
def _mod(a, b):
    return elementwise(lambda x, y: x - y * np.floor(x / y), a, b, div0=lambda x, y: y == 0)


@register("ROUND", ["value", "value"], 2)
def _round(x, digits):
    from decimal import ROUND_HALF_UP, Decimal

    def one(v, d):
        v, d = to_number(v), to_number(d)
        if isinstance(v, XlError) or isinstance(d, XlError):
            return v if isinstance(v, XlError) else d
        # half away from zero, on the 15 significant digits the number shows, as Excel does
        q = Decimal(1).scaleb(-math.trunc(d))
        return float(Decimal(f"{v:.15g}").quantize(q, rounding=ROUND_HALF_UP)) if v == v else 0.0
    x, digits = broadcast_inner(x.astype(object), digits.astype(object))
    return _compact_obj(np.frompyfunc(one, 2, 1)(x, digits))


@register("LOG", ["value", "value"], 1, 2)
def _log(x, base=None):
    base = np.full((1, 1, 1, 1), 10.0) if base is None else base
    return elementwise(lambda v, b: np.where((v > 0) & (b > 0), np.log(v) / np.log(b), np.nan), x, base,
                       div0=lambda v, b: b == 1)


# ---- aggregates over ranges ----------------------------------------------------------------------------

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


# ---- matrices and lookup -------------------------------------------------------------------------------

@register("MMULT", ["force", "force"], 2, errors="own")  # any error or text: #VALUE!
def _mmult(a, b):
    if a.shape[3] != b.shape[2] or a.dtype != np.float64 or b.dtype != np.float64:
        return _const(VALUE)
    if np.isnan(a).any() or np.isnan(b).any():  # an empty cell in MMULT is #VALUE! in Excel
        return _const(VALUE)
    with np.errstate(all="ignore"):
        out = np.matmul(a, b)
    return finish(out)


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


@register("MATCH", ["value", "array", "value"], 2, 3, errors="own")  # errors in the lookup range are passed over
def _match(x, lookup, kind=None):
    h, w = lookup.shape[2:]
    if h != 1 and w != 1:
        return _const(NA)
    kinds = numbers(kind) if kind is not None else np.ones((1, 1, 1, 1))
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


# ---- logic ---------------------------------------------------------------------------------------------

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


# ---- text ----------------------------------------------------------------------------------------------

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


def _left(text, n=None):
    t, k = to_text(text), (1 if n is None else _num_arg(n))
    if isinstance(k, XlError):
        return k
    return VALUE if k < 0 else t[:k]


def _right(text, n=None):
    t, k = to_text(text), (1 if n is None else _num_arg(n))
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
register("LEFT", ["value", "value"], 1, 2)(_text_fn(_left, 2))
register("RIGHT", ["value", "value"], 1, 2)(_text_fn(_right, 2))
def _concatenate(*ts):
    joined = "".join(to_text(t) for t in ts)
    return VALUE if too_long(joined) else joined  # Excel: a text result past 32,767 characters


register("CONCATENATE", ["value"], 1, None)(_text_fn(_concatenate, 1))
register("UNICODE", ["value"], 1)(_text_fn(_unicode, 1))
register("UNICHAR", ["value"], 1)(_text_fn(_unichar, 1))

# Functions introduced after Excel 2007, stored in the file with the _xlfn. prefix.
NEWER = frozenset({"UNICODE", "UNICHAR"})
