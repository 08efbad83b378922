"""The recalculation engine: parse every formula of a Book, order the groups, evaluate each as one operation.

    parse (parser.py) -> group and order (scheduler.py) -> evaluate (here, with evaluator.py, operators.py,
    functions.py)
"""

import numpy as np

from ..book import Book, Formulas
from ..errors import XlgptError
from .evaluator import CellByCell, Context, evaluate, value
from .functions import UnsupportedFunction
from .parser import FormulaError, Name, Ref, parse
from .scheduler import Group, schedule
from .store import Store
from ..cells import NA
from .values import numeric_if_possible


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
    ordered = schedule(book, names)
    for i, g in enumerate(ordered, 1):
        if progress:
            progress(i, len(ordered), g.sheet)
        _evaluate(g, store, names)
    for sheet in book.sheets:
        for b in sheet.blocks:
            if isinstance(b, Formulas):
                b.values = store.arrays[id(b)]


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
