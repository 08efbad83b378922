"""Cells read one by one, grouped into the Book's blocks: rectangles of cells that share one relative formula
and one style, and rectangles of constants of one kind and style (reader.py's general path)."""

import numpy as np

from ..sheet.book import Formulas, Texts, Values
from ..sheet.formula_text import relative_key


class SharedId(str):
    """A shared formula's si, told apart from formula text."""


def runs(cells: dict, key_of):
    """Rectangles of cells with equal keys: runs along rows, merged down while they line up."""
    by_row = {}
    for (r, c) in cells:
        by_row.setdefault(r, []).append(c)
    open_rects, done = {}, []  # (c0, c1, key) -> [r0, r1]
    for r in sorted(by_row):
        cols = sorted(by_row[r])
        runs, start = [], 0
        for i in range(1, len(cols) + 1):
            if i == len(cols) or cols[i] != cols[i - 1] + 1 or key_of(r, cols[i]) != key_of(r, cols[start]):
                runs.append((cols[start], cols[i - 1], key_of(r, cols[start])))
                start = i
        still = {}
        for run in runs:
            rect = open_rects.pop(run, None)
            if rect is not None and rect[1] == r - 1:
                rect[1] = r
                still[run] = rect
            else:
                if rect is not None:  # the same run after a gap: the earlier rectangle is finished
                    done.append((rect[0], run[0], rect[1] - rect[0] + 1, run[1] - run[0] + 1))
                still[run] = [r, r]
        done += [(rect[0], run[0], rect[1] - rect[0] + 1, run[1] - run[0] + 1) for run, rect in open_rects.items()]
        open_rects = still
    done += [(rect[0], run[0], rect[1] - rect[0] + 1, run[1] - run[0] + 1) for run, rect in open_rects.items()]
    return done


def formula_blocks(formulas, shared, text_at, styles):
    """Rectangles of cells with one relative formula and one cell style."""
    keys = {}

    def key_of(r, c):
        k = keys.get((r, c))
        if k is None:
            f = formulas[r, c]
            k = ("si", str(f)) if isinstance(f, SharedId) else relative_key(f, r, c)
            k = keys[r, c] = (k, styles.get((r, c)))
        return k
    return [Formulas(r, c, nr, nc, text_at(r, c), "shared" if nr * nc > 1 else "cell", style=styles.get((r, c)))
            for r, c, nr, nc in runs(formulas, key_of)]


def constant_blocks(constants, styles):
    """Rectangles of constants of one kind (numbers, or anything else) and one cell style."""
    def key_of(r, c):
        v = constants[r, c]
        return ("number" if type(v) is float else "other", styles.get((r, c)))
    out = []
    for r, c, nr, nc in runs(constants, key_of):
        cells = [[constants[r + i, c + j] for j in range(nc)] for i in range(nr)]
        kind, style = key_of(r, c)
        if kind == "number":
            out.append(Values(r, c, np.array(cells, dtype=np.float64), style=style))
        else:
            out.append(Texts(r, c, cells, style=style))
    return out
