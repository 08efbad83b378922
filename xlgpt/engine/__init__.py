"""The recalculation engine: parse every formula of a Book, order the groups, evaluate each as one operation.

    parse (parser.py, names.py) -> group and order (scheduler.py) -> evaluate (here, with evaluator.py,
    operators.py, functions/)

An evaluation may hold chosen formula cells at given values (Override): what reads them sees the values given,
as if the formulas had computed them. `what_if` runs such an evaluation without changing the book, over only
the groups the held cells change (Plan.downstream): the engine's side of activation patching
(workbook/patching.py), which any workbook can use.
"""

from dataclasses import dataclass, field

import numpy as np

from ..sheet.book import Book, Formulas
from ..errors import XlgptError
from .evaluator import Context, evaluate, value
from .names import parse_names
from .parser import Name, Ref, parse
from .scheduler import Group, downstream, reads, schedule
from .store import Store
from ..sheet.cells import NA
from .values import CellByCell, numeric_if_possible


def cells(book: Book, target: str) -> Ref:
    """A defined name's or a reference's rectangle of one sheet (a Ref: sheet, r0, c0, r1, c1, inclusive), or
    one line saying why it is not one."""
    node = parse(book.names.get(target, target))
    if isinstance(node, Name):
        raise XlgptError(f"{target} is not a defined name of this workbook")
    if not isinstance(node, Ref) or node.sheet is None:
        raise XlgptError(f"{target} does not name cells of one sheet")
    return node


def read_range(book: Book, target: str, store: Store | None = None) -> np.ndarray:
    """The current values of a defined name or a reference such as 'Tokens'!$B$5:$B$20, as a 2-D array
    (as a what_if run left them, given its store)."""
    node = cells(book, target)
    store = store or Store(book)
    if not store.has_sheet(node.sheet):
        raise XlgptError(f"{target}: no sheet named {node.sheet}")
    return store.region(node.sheet, node.r0, node.c0, node.r1 - node.r0 + 1, node.c1 - node.c0 + 1)


def _rects(book: Book, targets: list[str]) -> list[tuple]:
    """The cells of defined names or references as the scheduler takes them: (sheet, r0, c0, r1, c1), exclusive
    ends."""
    return [(n.sheet, n.r0, n.c0, n.r1 + 1, n.c1 + 1) for n in (cells(book, t) for t in targets)]


@dataclass
class Plan:
    """What a recalculation evaluates, in order, with the book's defined names parsed: made once and run as
    often as the book's constants change (a sweep over prompts: the formulas stay, the prompt changes)."""
    groups: list[Group]
    names: dict
    blocks: list[tuple[str, Formulas]]  # (sheet, block) of the blocks whose values a run sets
    _reads: list | None = field(default=None, repr=False)

    def downstream(self, book: Book, targets: list[str]) -> "Plan":
        """The part of this plan that the cells of `targets` (defined names or references) change: the groups
        holding them and every group that reads those, directly or not, in this plan's order."""
        if self._reads is None:
            self._reads = reads(self.groups, self.names)
        keep = downstream(self.groups, self._reads, _rects(book, targets))
        groups = [self.groups[i] for i in keep]
        seen = {id(g.block) for g in groups}
        return Plan(groups, self.names, [(sheet, b) for sheet, b in self.blocks if id(b) in seen])


@dataclass(frozen=True)
class Override:
    """Formula cells held at given values for one evaluation: the cells of `target` (a defined name or a
    reference of one sheet), as many rows and columns as it has, take `values` instead of what their formulas
    compute. Cells of the same block that read them (a running total) see the values given too."""
    target: str
    values: np.ndarray  # 2-D, the target's shape


def make_plan(book: Book, needed: list[str] | None = None) -> Plan:
    """The plan of a recalculation of every formula, or only of what the defined names or references in
    `needed` depend on (the other blocks then keep the values they had)."""
    names = parse_names(book.names)  # a name the engine cannot read evaluates to #NAME? where it is used
    groups = schedule(book, names, None if needed is None else _rects(book, needed))
    seen, blocks = set(), []
    for g in groups:
        if id(g.block) not in seen:
            seen.add(id(g.block))
            blocks.append((g.sheet, g.block))
    return Plan(groups, names, blocks)


def what_if(book: Book, plan: Plan, overrides: list[Override]) -> Store:
    """Evaluate `plan` (a Plan.downstream of the overrides' cells, say) with the overrides' cells held at their
    values, leaving the book as it was: the run's values are in the store returned (read_range(book, name,
    store)); the cells the plan does not evaluate keep the book's values."""
    held = _held(book, plan, overrides)
    store = Store(book)
    for g in plan.groups:
        _evaluate(g, store, plan.names, held)
    return store


def _held(book: Book, plan: Plan, overrides: list[Override]) -> dict:
    """id(block) -> [(rows, cols, values)] within the block, for every override; each override's cells must be
    formula cells that the plan evaluates."""
    held = {}
    for o in overrides:
        node = cells(book, o.target)
        shape = (node.r1 - node.r0 + 1, node.c1 - node.c0 + 1)
        values = np.asarray(o.values)
        if values.shape != shape:
            raise XlgptError(f"an override of {o.target}: {values.shape[0]} x {values.shape[1] if values.ndim > 1 else 1} "
                             f"values for {shape[0]} x {shape[1]} cells")
        covered = 0
        for sheet, b in plan.blocks:
            if sheet != node.sheet:
                continue
            r0, c0 = max(node.r0, b.row), max(node.c0, b.col)
            r1, c1 = min(node.r1 + 1, b.row + b.nrows), min(node.c1 + 1, b.col + b.ncols)
            if r0 < r1 and c0 < c1:
                held.setdefault(id(b), []).append((slice(r0 - b.row, r1 - b.row), slice(c0 - b.col, c1 - b.col),
                                                   values[r0 - node.r0:r1 - node.r0, c0 - node.c0:c1 - node.c0]))
                covered += (r1 - r0) * (c1 - c0)
        if covered != shape[0] * shape[1]:
            raise XlgptError(f"an override of {o.target}: it holds cells that are not formulas this evaluation "
                             f"computes (change a constant by editing it)")
    return held


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


def _evaluate(g: Group, store: Store, names: dict, held: dict | None = None) -> None:
    b = g.block
    if g.rows:
        order = range(g.nrows) if g.rows > 0 else range(g.nrows - 1, -1, -1)
        for i in order:
            _evaluate(Group(g.sheet, b, g.tree, g.di + i, g.dj, 1, g.ncols), store, names, held)
        return
    _compute(g, store, names, held)
    if held and id(b) in held:
        _hold(store, b, held[id(b)])


def _hold(store: Store, b: Formulas, held: list) -> None:
    """The block's held cells set to their values, in a copy (a result may be a view of another block)."""
    a = store.arrays[id(b)].copy()
    for rows, cols, values in held:
        if a.dtype != object and np.asarray(values).dtype == object:
            a = a.astype(object)
        a[rows, cols] = values
    store.arrays[id(b)] = a


def _compute(g: Group, store: Store, names: dict, held: dict | None) -> None:
    b = g.block
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
                _evaluate(Group(g.sheet, b, g.tree, g.di + i, g.dj + j, 1, 1), store, names, held)
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
