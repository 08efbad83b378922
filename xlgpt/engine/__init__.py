"""The recalculation engine: parse every formula of a Book, order the groups, evaluate each as one operation.

    parse (parser.py) -> group and order (here) -> evaluate (evaluator.py, operators.py, functions.py)
"""

from functools import lru_cache

import numpy as np

from .. import refs
from ..book import Book, Formulas
from ..errors import XlgptError
from .evaluator import CellByCell, Context, evaluate, value
from .functions import FUNCTIONS, UnsupportedFunction
from .parser import Call, FormulaError, Name, Ref, parse, walk as _walk
from .store import Store
from .values import NA, numeric_if_possible


class Group:
    """Cells of one formula block evaluated together: the whole block, or one cell of it (the fallback).

    A block whose cells read its own cells only in rows above (a running total, a scan down the prompt's
    characters) is one group evaluated a row at a time, top down: rows = +1; only below: bottom up, -1.
    """

    def __init__(self, sheet: str, block: Formulas, tree, di: int = 0, dj: int = 0, nrows=None, ncols=None,
                 rows: int = 0):
        self.sheet, self.block, self.tree = sheet, block, tree
        self.di, self.dj = di, dj  # offset of the group's first cell in the block
        self.nrows = block.nrows if nrows is None else nrows
        self.ncols = block.ncols if ncols is None else ncols
        self.rows = rows

    @property
    def row(self):
        return self.block.row + self.di

    @property
    def col(self):
        return self.block.col + self.dj

    def cells(self) -> str:
        return refs.qualified(self.sheet, refs.area(self.row, self.col, self.nrows, self.ncols, absolute=False))

    def output(self):
        return self.row, self.col, self.row + self.nrows, self.col + self.ncols


def read_range(book: Book, target: str) -> np.ndarray:
    """The current values of a defined name or a reference such as 'Tokens'!$B$5:$B$20, as a 2-D array."""
    text = book.names.get(target, target)
    node = parse(text)
    if isinstance(node, Name):
        raise XlgptError(f"{target} is not a defined name of this workbook")
    if not isinstance(node, Ref) or node.sheet is None:
        raise XlgptError(f"{target} does not name cells of one sheet")
    store = Store(book)
    if not store.has_sheet(node.sheet):
        raise XlgptError(f"{target}: no sheet named {node.sheet}")
    return store.region(node.sheet, node.r0, node.c0, node.r1 - node.r0 + 1, node.c1 - node.c0 + 1)


def recalculate(book: Book, progress=None) -> None:
    """Evaluate every formula block of the book and store the results in its `values`.

    progress(i, n, sheet_name) is called before each group of cells is evaluated."""
    store = Store(book)
    names = {}
    for name, target in book.names.items():
        try:
            names[name] = names[name.upper()] = parse(target)
        except FormulaError:
            pass  # a name the engine cannot read evaluates to #NAME? where it is used
    ordered = _order(_groups(book), names)
    for i, g in enumerate(ordered, 1):
        if progress:
            progress(i, len(ordered), g.sheet)
        _evaluate(g, store, names)
    for sheet in book.sheets:
        for b in sheet.blocks:
            if isinstance(b, Formulas):
                b.values = store.arrays[id(b)]


def _groups(book: Book) -> list[Group]:
    trees, out = {}, []
    for sheet in book.sheets:
        for b in sheet.blocks:
            if not isinstance(b, Formulas):
                continue
            if b.text not in trees:
                try:
                    trees[b.text] = _parse(b.text)
                except FormulaError as e:
                    raise XlgptError(f"{refs.qualified(sheet.name, b.ref)}: {e}") from None
            _check_functions(trees[b.text], sheet.name, b)
            out.append(Group(sheet.name, b, trees[b.text]))
    return out


@lru_cache(maxsize=1 << 14)
def _parse(text: str):
    """A formula's tree; the same text parses to the same tree, which evaluation never changes."""
    return parse(text)


def _check_functions(tree, sheet, block):
    for node in _walk(tree):
        if isinstance(node, Call) and node.name not in FUNCTIONS:
            raise XlgptError(f"{refs.qualified(sheet, refs.cell(block.row, block.col))}: the function {node.name} "
                             f"is not in xlgpt's dialect (see the README's function list)")


def _reads(g: Group, names: dict):
    """(sheet, r0, c0, r1, c1) rectangles, exclusive ends, that any cell of the group reads."""
    out = []
    for node in _walk(g.tree):
        if isinstance(node, Name):
            node = names.get(node.name) or names.get(node.name.upper())
        if not isinstance(node, Ref):
            continue
        if g.block.kind == "array":
            span_r = span_c = 0
        else:
            span_r, span_c = g.nrows - 1, g.ncols - 1
        r0 = node.r0 + (0 if node.abs_r0 else g.di)
        c0 = node.c0 + (0 if node.abs_c0 else g.dj)
        r1 = node.r1 + (0 if node.abs_r1 else g.di + span_r)
        c1 = node.c1 + (0 if node.abs_c1 else g.dj + span_c)
        out.append((node.sheet if node.sheet is not None else g.sheet, min(r0, r1), min(c0, c1), max(r0, r1) + 1,
                    max(c0, c1) + 1))
    return out


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _order(groups: list[Group], names: dict) -> list[Group]:
    """Groups in an order where each comes after every group it reads; a cycle is an error naming its cells."""
    while True:
        by_sheet = {}
        for g in groups:
            by_sheet.setdefault(g.sheet, []).append((g, g.output()))
        deps, split = {}, []
        for g in groups:
            reads = _reads(g, names)
            own = g.output()
            reads_itself = any(sheet == g.sheet and _overlaps(rect, own) for sheet, *rect in reads)
            one_result = g.nrows * g.ncols == 1 or g.block.kind == "array"
            if reads_itself and one_result:
                raise XlgptError(f"circular reference: {g.cells()} reads its own value")
            if reads_itself and not g.rows:
                g.rows = _row_order(g, names)
                if not g.rows:
                    split.append(g)  # the group reads its own cells every which way: one cell at a time
                    continue
            deps[id(g)] = [h for sheet, *rect in reads for h, out in by_sheet.get(sheet, ())
                           if h is not g and _overlaps(rect, out)]
        if not split:
            break
        for g in split:
            groups.remove(g)
            groups.extend(Group(g.sheet, g.block, g.tree, g.di + i, g.dj + j, 1, 1)
                          for i in range(g.nrows) for j in range(g.ncols))
    order, state = [], {}
    for g in groups:  # depth-first topological sort, iterative so deep chains cannot overflow the stack
        if state.get(id(g)):
            continue
        stack = [(g, iter(deps[id(g)]))]
        state[id(g)] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[id(node)] = 2
                order.append(node)
            elif state.get(id(nxt)) == 1:
                cycle = [n.cells() for n, _ in stack[[s[0] for s in stack].index(nxt):]]
                raise XlgptError(f"circular reference: {' -> '.join(cycle + [nxt.cells()])}")
            elif not state.get(id(nxt)):
                state[id(nxt)] = 1
                stack.append((nxt, iter(deps[id(nxt)])))
    return order


def _row_order(g: Group, names: dict) -> int:
    """+1 when every reference of the block to its own cells points to rows above the reading cell, -1 when
    every one points below, 0 otherwise."""
    own = g.output()
    above = below = True
    for node in _walk(g.tree):
        if isinstance(node, Name):
            node = names.get(node.name) or names.get(node.name.upper())
        if not isinstance(node, Ref) or (node.sheet is not None and node.sheet != g.sheet):
            continue
        whole = Group(g.sheet, g.block, Call("_", [node]))
        if not any(_overlaps(rect, own) for _, *rect in _reads(whole, names)):
            continue
        # for the cell i rows into the block, a relative end reads row r + i, an absolute one row r: rows
        # above the cell for every i, or below it for every i, come down to these tests on r
        ends = (node.r0, node.abs_r0), (node.r1, node.abs_r1)
        above &= all(r < g.row for r, _ in ends)
        below &= all(r >= g.row + g.nrows if absolute else r > g.row for r, absolute in ends)
    return 1 if above else (-1 if below else 0)


def _evaluate(g: Group, store: Store, names: dict) -> None:
    b = g.block
    if g.rows:
        order = range(g.nrows) if g.rows > 0 else range(g.nrows - 1, -1, -1)
        for i in order:
            _evaluate(Group(g.sheet, b, g.tree, g.di + i, g.dj, 1, g.ncols), store, names)
        return
    try:
        if b.kind == "array":
            ctx = Context(store, g.sheet, b.row, b.col, 1, 1, 0, 0, True, names)
            result = value(evaluate(g.tree, ctx), ctx)
            store.set_result(b, _fit(result[0, 0], b.nrows, b.ncols))
            return
        ctx = Context(store, g.sheet, g.row, g.col, g.nrows, g.ncols, g.di, g.dj, False, names)
        result = _scalars(value(evaluate(g.tree, ctx), ctx), g.nrows, g.ncols)
    except CellByCell:
        for i in range(g.nrows):
            for j in range(g.ncols):
                _evaluate(Group(g.sheet, b, g.tree, g.di + i, g.dj + j, 1, 1), store, names)
        return
    except UnsupportedFunction as e:
        raise XlgptError(f"{g.cells()}: the function {e.name} is not in xlgpt's dialect") from None
    if g.nrows == b.nrows and g.ncols == b.ncols:
        store.set_result(b, result)
    else:
        store.set_result(b, result, slice(g.di, g.di + g.nrows), slice(g.dj, g.dj + g.ncols))


def _scalars(v: np.ndarray, nrows: int, ncols: int) -> np.ndarray:
    """A plain formula shows one value: the top-left of an array result; an empty reference shows 0."""
    v = v[:, :, :1, :1][:, :, 0, 0]
    v = np.broadcast_to(v, (nrows, ncols))
    if v.dtype == np.float64:
        return np.where(np.isnan(v), 0.0, v)
    return numeric_if_possible(_empty_as_zero(v.copy()))


def _fit(a: np.ndarray, nrows: int, ncols: int) -> np.ndarray:
    """An array formula's result in its range: one row or column repeats, a smaller result leaves #N/A."""
    h, w = a.shape
    src = np.broadcast_to(a, (nrows if h == 1 else h, ncols if w == 1 else w))
    rr, cc = min(nrows, src.shape[0]), min(ncols, src.shape[1])
    part = src[:rr, :cc]
    part = np.where(np.isnan(part), 0.0, part) if part.dtype == np.float64 else _empty_as_zero(part.copy())
    if rr == nrows and cc == ncols:
        return numeric_if_possible(part)
    out = np.full((nrows, ncols), NA, dtype=object)
    out[:rr, :cc] = part
    return out


def _empty_as_zero(a):
    """An object block with its empty cells (None, or NaN from a float block) as 0, in place."""
    for idx, x in np.ndenumerate(a):
        if x is None or (isinstance(x, float) and x != x):
            a[idx] = 0.0
    return a
