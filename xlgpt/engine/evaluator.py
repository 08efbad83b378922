"""Evaluate one formula tree for a whole group of cells at once.

Every value inside is a 4-D array [R, C, h, w]: R x C are the group's cells (1 where a value is the same for
all), h x w the array each cell sees (1 x 1 for a scalar). A relative reference becomes a sliding window
over the sheet (a strided view, no copy). Outside an array formula, a range where a scalar is wanted is
implicitly intersected with the formula's row or column, as Excel and LibreOffice do.
"""

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import XlgptError
from ..sheet import refs
from .names import lookup
from .parser import ArrayConst, Binary, Bool, Call, Err, Name, Num, Ref, Str, Unary
from ..sheet.cells import NAME, REF, VALUE
from .functions import FUNCTIONS
from .functions.table import NEUTRAL
from .operators import binary, convert, unary
from .values import CellByCell, broadcast_inner, is_error
from .values import constant as _const
from .values import numeric_if_possible as _compact


@dataclass
class RangeVal:
    """A reference's values for every cell of the group, with what implicit intersection needs."""
    data: np.ndarray  # [R or 1, C or 1, h, w]
    top: np.ndarray  # [R or 1] sheet row of the range's first row, per group row
    left: np.ndarray  # [C or 1]


@dataclass
class Context:
    store: object
    sheet: str
    row: int  # sheet row and column of the group's first cell
    col: int
    nrows: int
    ncols: int
    shift_r: int  # the first cell's offset from the anchor whose text the formula is written in
    shift_c: int
    array_mode: bool
    names: dict  # defined name -> parsed tree


def evaluate(node, ctx: Context):
    """-> np.ndarray [R|1, C|1, h, w] or RangeVal."""
    if isinstance(node, Num):
        return np.full((1, 1, 1, 1), node.value)
    if isinstance(node, (Str, Bool, Err)):
        return _const(node.value)
    if isinstance(node, Ref):
        return _ref(node, ctx)
    if isinstance(node, Name):
        target = lookup(ctx.names, node.name)
        # a reference, a constant or a formula (names within it already replaced: engine/names.py)
        return _const(NAME) if target is None else evaluate(target, ctx)
    if isinstance(node, Unary):
        return unary(node.op, value(evaluate(node.arg, ctx), ctx))
    if isinstance(node, Binary):
        return binary(node.op, value(evaluate(node.left, ctx), ctx), value(evaluate(node.right, ctx), ctx))
    if isinstance(node, Call):
        return run_function(node, ctx)
    if isinstance(node, ArrayConst):
        a = np.array(node.rows, dtype=object)
        return _compact(a.reshape(1, 1, *a.shape))
    raise TypeError(node)


def value(v, ctx: Context) -> np.ndarray:
    """A reference used as a value: its array in array mode, its intersection with the cell otherwise."""
    if not isinstance(v, RangeVal):
        return v
    if ctx.array_mode:
        return v.data
    return intersect(v, ctx)


def intersect(v: RangeVal, ctx: Context) -> np.ndarray:
    _, _, h, w = v.data.shape
    if h == 1 and w == 1:
        return v.data
    if w == 1:
        rows = ctx.row + np.arange(ctx.nrows)
        k = rows - v.top  # [R]
        return _pick(v.data, k[:, None, None, None], axis=2, n=h)
    if h == 1:
        cols = ctx.col + np.arange(ctx.ncols)
        k = cols - v.left
        return _pick(v.data, k[None, :, None, None], axis=3, n=w)
    return _const(VALUE)


def _pick(data, k, axis, n):
    """data[..., k, ...] along axis, #VALUE! where k is outside 0..n-1 (the cell is beside the range)."""
    ok = (k >= 0) & (k < n)
    shape = np.broadcast_shapes(data.shape[:2], k.shape[:2])
    full = np.broadcast_to(data, shape + data.shape[2:])
    idx = np.broadcast_to(np.clip(k, 0, n - 1), shape + (1, 1))
    out = np.take_along_axis(full, idx, axis=axis)
    if ok.all():
        return out
    out = out.astype(object)
    out[~np.broadcast_to(ok, out.shape)] = VALUE
    return out


def _ref(node: Ref, ctx: Context):
    sheet = node.sheet if node.sheet is not None else ctx.sheet
    if not ctx.store.has_sheet(sheet):
        return _const(REF)
    if (node.abs_r0 != node.abs_r1 and ctx.nrows > 1) or (node.abs_c0 != node.abs_c1 and ctx.ncols > 1):
        raise CellByCell(f"the range {node} changes size from cell to cell")
    r0, c0, r1, c1 = _corners(node, ctx)
    h, w = r1 - r0 + 1, c1 - c0 + 1
    R = 1 if node.abs_r0 else ctx.nrows
    C = 1 if node.abs_c0 else ctx.ncols
    nr, nc = h + (R - 1), w + (C - 1)
    if r0 < 0 or c0 < 0 or r0 + nr > refs.MAX_ROWS or c0 + nc > refs.MAX_COLS or h < 1 or w < 1:
        return _const(REF)
    if nr * nc > CLIP_FROM:
        h, w = _clipped(ctx, r0, c0, h, w, R, C)
        nr, nc = h + (R - 1), w + (C - 1)
    region = ctx.store.region(sheet, r0, c0, nr, nc)
    if R == 1 and C == 1:  # the same range for every cell: a plain view (as_strided costs ~15 us a call)
        data = region[None, None]
        data.flags.writeable = False
    else:
        st_r, st_c = region.strides
        data = as_strided(region, shape=(R, C, h, w), strides=(st_r if R > 1 else 0, st_c if C > 1 else 0, st_r, st_c),
                          writeable=False)
    return RangeVal(data, r0 + np.arange(R), c0 + np.arange(C))


# A range of more cells than this that reaches past every cell of the workbook (SUM(A:A), SUM(C3:XFD60000))
# is evaluated only up to the workbook's last used row and column, and the formula's own cells: what lies
# beyond is empty, so every aggregate (SUM, MAX, COUNT, SUMPRODUCT, MATCH of a value) gives Excel's answer in
# no time and no memory. xlgpt's own ranges never reach past the cells they read, so they are never clipped.
CLIP_FROM = 1 << 20
MAX_CELLS = refs.MAX_CELLS  # what one reference may still span after clipping: beyond it, one line


def _corners(node: Ref, ctx: Context) -> tuple[int, int, int, int]:
    """(first row, first column, last row, last column) a reference spans for the group's first cell: its
    relative ends moved by the cell's offset from the formula's anchor."""
    return (node.r0 + (0 if node.abs_r0 else ctx.shift_r), node.c0 + (0 if node.abs_c0 else ctx.shift_c),
            node.r1 + (0 if node.abs_r1 else ctx.shift_r), node.c1 + (0 if node.abs_c1 else ctx.shift_c))


def range_parts(node: Ref, ctx: Context):
    """The values a large fixed range holds, as the parts of the blocks inside it ([1, 1, h, w] arrays, in
    row then column order), for a reduction that treats its arguments' numbers alike (SUM(range) is SUM of
    its parts): memory and time follow the cells, not the area (SUM(A1:IV1048576) over two cells). None when
    the range is small, moves with the cell (a relative end over a group of cells), or names no sheet."""
    if node is None:
        return None
    sheet = node.sheet if node.sheet is not None else ctx.sheet
    moves = ((not (node.abs_r0 and node.abs_r1)) and ctx.nrows > 1) or ((not (node.abs_c0 and node.abs_c1)) and ctx.ncols > 1)
    if moves or not ctx.store.has_sheet(sheet):
        return None
    r0, c0, r1, c1 = _corners(node, ctx)
    r1, c1 = r1 + 1, c1 + 1
    if (r1 - r0) * (c1 - c0) <= CLIP_FROM or r0 < 0 or c0 < 0 or r1 > refs.MAX_ROWS or c1 > refs.MAX_COLS:
        return None
    parts = []
    for br0, bc0, br1, bc1, b in sorted(ctx.store.blocks[sheet], key=lambda e: (e[0], e[1])):
        lo_r, hi_r, lo_c, hi_c = max(r0, br0), min(r1, br1), max(c0, bc0), min(c1, bc1)
        if lo_r < hi_r and lo_c < hi_c:
            a = ctx.store.arrays[id(b)][lo_r - br0:hi_r - br0, lo_c - bc0:hi_c - bc0]
            parts.append(a.reshape(1, 1, *a.shape))
    return parts or [np.full((1, 1, 1, 1), np.nan)]  # nothing there: one empty cell


def _clipped(ctx: Context, r0: int, c0: int, h: int, w: int, R: int, C: int):
    used_r, used_c = ctx.store.extent()
    last_r = max(used_r, ctx.row + ctx.nrows)  # implicit intersection still finds the formula's own row
    last_c = max(used_c, ctx.col + ctx.ncols)
    h = max(1, min(h, last_r - r0))
    w = max(1, min(w, last_c - c0))
    if (h + R - 1) * (w + C - 1) > MAX_CELLS:
        where = refs.qualified(ctx.sheet, refs.cell(ctx.row, ctx.col))
        raise XlgptError(f"{where}: a reference spans {(h + R - 1) * (w + C - 1):,} cells that hold data, more "
                         f"than the {MAX_CELLS:,} xlgpt evaluates at once; narrow the range")
    return h, w


# ---- calls: arity, argument modes, error propagation (the function table is functions/) --------------------

def run_function(node, ctx: Context):
    fn = FUNCTIONS[node.name]  # the scheduler checked every function a formula calls before anything ran
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
    missing = (fn.max_args or 0) - n  # optional arguments left out take their declared defaults
    if fn.defaults and missing > 0:
        args += [np.full((1, 1, 1, 1), float(d)) for d in fn.defaults[len(fn.defaults) - missing:]]
    if fn.types:  # an argument left empty, as in MID(A1,,2), is an empty cell of its type
        args = [convert(_const(None) if a is None else a, fn.type_of(i)) for i, a in enumerate(args)]
    if fn.errors == "own" or not any(a is not None and a.dtype == object for a in args):
        return fn.impl(*args)  # a float64 block holds no error
    masks = [None if a is None else is_error(a) for a in args]
    if not any(m is not None and m.any() for m in masks):
        return fn.impl(*args)
    clean = [a if m is None or not m.any() else np.where(m, NEUTRAL[fn.type_of(i)], a)
             for i, (a, m) in enumerate(zip(args, masks))]
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
        a = lookup(ctx.names, a.name)
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
    return _compact(out)


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
