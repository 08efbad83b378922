"""The recalculation engine: parse every formula of a Book, order the groups, evaluate each as one operation.

    parse (parser.py, names.py) -> group and order (scheduler.py) -> evaluate (here, with evaluator.py,
    operators.py, functions/)
"""

from dataclasses import dataclass

import numpy as np

from ..sheet.book import Book, Formulas
from ..errors import XlgptError
from .evaluator import Context, evaluate, value
from .names import parse_names
from .parser import Name, Ref, parse
from .scheduler import Group, schedule
from .store import Store
from ..sheet.cells import NA
from .values import CellByCell, numeric_if_possible


def _cells(book: Book, target: str) -> Ref:
    """A defined name's or a reference's rectangle of one sheet, or one line saying why it is not one."""
    node = parse(book.names.get(target, target))
    if isinstance(node, Name):
        raise XlgptError(f"{target} is not a defined name of this workbook")
    if not isinstance(node, Ref) or node.sheet is None:
        raise XlgptError(f"{target} does not name cells of one sheet")
    return node


def read_range(book: Book, target: str) -> np.ndarray:
    """The current values of a defined name or a reference such as 'Tokens'!$B$5:$B$20, as a 2-D array."""
    node = _cells(book, target)
    store = Store(book)
    if not store.has_sheet(node.sheet):
        raise XlgptError(f"{target}: no sheet named {node.sheet}")
    return store.region(node.sheet, node.r0, node.c0, node.r1 - node.r0 + 1, node.c1 - node.c0 + 1)


@dataclass
class Plan:
    """What a recalculation evaluates, in order, with the book's defined names parsed: made once and run as
    often as the book's constants change (a sweep over prompts: the formulas stay, the prompt changes)."""
    groups: list[Group]
    names: dict
    blocks: list[tuple[str, Formulas]]  # (sheet, block) of the blocks whose values a run sets


def make_plan(book: Book, needed: list[str] | None = None) -> Plan:
    """The plan of a recalculation of every formula, or only of what the defined names or references in
    `needed` depend on (the other blocks then keep the values they had)."""
    names = parse_names(book.names)  # a name the engine cannot read evaluates to #NAME? where it is used
    rects = None
    if needed is not None:
        rects = [(n.sheet, n.r0, n.c0, n.r1 + 1, n.c1 + 1) for n in (_cells(book, target) for target in needed)]
    groups = schedule(book, names, rects)
    seen, blocks = set(), []
    for g in groups:
        if id(g.block) not in seen:
            seen.add(id(g.block))
            blocks.append((g.sheet, g.block))
    return Plan(groups, names, blocks)


def recalculate(book: Book, progress=None, plan: Plan | None = None) -> None:
    """Evaluate every formula block of the book (or those of `plan`, made for this book) and keep the results
    in each block's sheet's `computed`.

    progress(i, n, sheet_name) is called before each group of cells is evaluated."""
    todo = plan if plan is not None else make_plan(book)
    store = Store(book)
    for i, g in enumerate(todo.groups, 1):
        if progress:
            progress(i, len(todo.groups), g.sheet)
        _evaluate(g, store, todo.names)
    sheets = {s.name: s for s in book.sheets}
    for name, b in todo.blocks:
        sheets[name].computed[b] = store.arrays[id(b)]


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
            store.set_result(g.sheet, b, _fit(result[0, 0], b.nrows, b.ncols))
            return
        ctx = Context(store, g.sheet, g.row, g.col, g.nrows, g.ncols, g.di, g.dj, False, names)
        result = _scalars(value(evaluate(g.tree, ctx), ctx), g.nrows, g.ncols)
    except CellByCell:
        for i in range(g.nrows):
            for j in range(g.ncols):
                _evaluate(Group(g.sheet, b, g.tree, g.di + i, g.dj + j, 1, 1), store, names)
        return
    if g.nrows == b.nrows and g.ncols == b.ncols:
        store.set_result(g.sheet, b, result)
    else:
        store.set_result(g.sheet, b, result, slice(g.di, g.di + g.nrows), slice(g.dj, g.dj + g.ncols))


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
