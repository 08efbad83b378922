"""The engine's scheduler: a Book's formula blocks as groups of cells, ordered so that each group comes after
every group it reads. A block that reads its own cells row by row (a running total) stays one group evaluated
a row at a time; one that reads them every which way is split into single cells; a cycle is an error.
"""

from functools import lru_cache

from ..sheet import refs
from ..sheet.book import Book, Formulas
from ..errors import XlgptError
from .functions import FUNCTIONS
from .names import lookup
from .parser import Call, FormulaError, Name, Ref, parse, walk as _walk


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

    def in_rows(self, rows: int) -> "Group":
        """The same cells, evaluated a row at a time (rows = +1 top down, -1 bottom up)."""
        return Group(self.sheet, self.block, self.tree, self.di, self.dj, self.nrows, self.ncols, rows)

    def output(self):
        return self.row, self.col, self.row + self.nrows, self.col + self.ncols


def formula_groups(book: Book, names: dict | None = None) -> list[Group]:
    """One group per formula block, each formula parsed once, and every function it calls (through the
    defined names it uses too) checked against the function table: the one check, before anything runs."""
    trees, out = {}, []
    checked = set()
    for sheet in book.sheets:
        for b in sheet.blocks:
            if not isinstance(b, Formulas):
                continue
            if b.text not in trees:
                try:
                    trees[b.text] = _parse(b.text)
                except FormulaError as e:
                    raise XlgptError(f"{refs.qualified(sheet.name, b.ref)}: {e}") from None
            if b.text not in checked:
                _check_functions(_with_names(trees[b.text], names or {}), sheet.name, b)
                checked.add(b.text)
            out.append(Group(sheet.name, b, trees[b.text]))
    return out


@lru_cache(maxsize=1 << 14)
def _parse(text: str):
    """A formula's tree; the same text parses to the same tree, which evaluation never changes."""
    return parse(text)


def _check_functions(nodes, sheet, block):
    for node in nodes:
        if isinstance(node, Call) and node.name not in FUNCTIONS:
            raise XlgptError(f"{refs.qualified(sheet, refs.cell(block.row, block.col))}: the function {node.name} "
                             f"is not in xlgpt's dialect (docs/ENGINE.md lists the functions)")


def _reads(g: Group, names: dict):
    """(sheet, r0, c0, r1, c1) rectangles, exclusive ends, that any cell of the group reads."""
    out = []
    for node in _with_names(g.tree, names):
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


def _with_names(tree, names: dict):
    """Every node of the tree, a defined name's tree in the name's place (a name may hold a formula)."""
    for node in _walk(tree):
        if isinstance(node, Name):
            target = lookup(names, node.name)
            if target is not None:
                yield from _walk(target)
                continue
        yield node


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def schedule(book: Book, names: dict, needed: list | None = None) -> list[Group]:
    """The book's formula blocks as groups, in an order where each comes after every group it reads.
    needed: rectangles (sheet, r0, c0, r1, c1), exclusive ends; only the groups they depend on, when given."""
    return order(formula_groups(book, names), names, needed)


def order(groups: list[Group], names: dict, needed: list | None = None) -> list[Group]:
    """The groups in an order where each comes after every group it reads (a new list: the groups given are
    not changed); a cycle is an error naming its cells. needed: as for schedule."""
    groups, deps = _settled(list(groups), names)
    if needed is not None:
        groups = [g for g in groups if any(sheet == g.sheet and _overlaps(rect, g.output()) for sheet, *rect in needed)]
    ordered, state = [], {}
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
                ordered.append(node)
            elif state.get(id(nxt)) == 1:
                cycle = [n.cells() for n, _ in stack[[s[0] for s in stack].index(nxt):]]
                raise XlgptError(f"circular reference: {' -> '.join(cycle + [nxt.cells()])}")
            elif not state.get(id(nxt)):
                state[id(nxt)] = 1
                stack.append((nxt, iter(deps[id(nxt)])))
    return ordered


def reads(groups: list[Group], names: dict) -> list[list]:
    """For each group, the (sheet, r0, c0, r1, c1) rectangles, exclusive ends, that its cells read."""
    return [_reads(g, names) for g in groups]


def downstream(groups: list[Group], group_reads: list[list], rects: list) -> list[int]:
    """Indices of the groups (in the order given, a schedule's) whose values change when the cells of `rects`
    (sheet, r0, c0, r1, c1; exclusive ends) change: those that hold such cells, and every group that reads,
    directly or not, a group already found. group_reads: reads(groups, names)."""
    changed = {}  # sheet -> rectangles whose values change: the given cells, then each found group's output
    for sheet, *rect in rects:
        changed.setdefault(sheet, []).append(rect)
    out = []
    for i, g in enumerate(groups):
        own = g.output()
        hit = any(_overlaps(rect, own) for rect in changed.get(g.sheet, ()))
        if not hit:
            hit = any(_overlaps(rect, read) for sheet, *read in group_reads[i] for rect in changed.get(sheet, ()))
        if hit:
            out.append(i)
            changed.setdefault(g.sheet, []).append(own)
    return out


def _settled(groups: list[Group], names: dict):
    """(groups, what each reads): a group that reads its own cells row by row becomes one evaluated a row at a
    time; one that reads them every which way becomes single cells, until every group is settled."""
    while True:
        settled, split, reads = [], [], {}
        for g in groups:
            r = _reads(g, names)
            own = g.output()
            reads_itself = any(sheet == g.sheet and _overlaps(rect, own) for sheet, *rect in r)
            one_result = g.nrows * g.ncols == 1 or g.block.kind == "array"
            if reads_itself and one_result:
                raise XlgptError(f"circular reference: {g.cells()} reads its own value")
            if reads_itself and not g.rows:
                rows = _row_order(g, names)
                if not rows:
                    split.append(g)  # the group reads its own cells every which way: one cell at a time
                    continue
                g = g.in_rows(rows)
            settled.append(g)
            reads[id(g)] = r
        if not split:
            break
        groups = settled + [Group(g.sheet, g.block, g.tree, g.di + i, g.dj + j, 1, 1)
                            for g in split for i in range(g.nrows) for j in range(g.ncols)]
    by_sheet = {}
    for g in settled:
        by_sheet.setdefault(g.sheet, []).append((g, g.output()))
    deps = {id(g): [h for sheet, *rect in reads[id(g)] for h, out in by_sheet.get(sheet, ())
                    if h is not g and _overlaps(rect, out)] for g in settled}
    return settled, deps


def _row_order(g: Group, names: dict) -> int:
    """+1 when every reference of the block to its own cells points to rows above the reading cell, -1 when
    every one points below, 0 otherwise."""
    own = g.output()
    above = below = True
    for node in _with_names(g.tree, names):
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


