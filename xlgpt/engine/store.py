"""The engine's view of a Book's cells: rectangles of values read out of its blocks, results written back."""

from collections import OrderedDict

import numpy as np

from ..sheet.book import Book, Formulas, Texts, Values
from ..sheet.cells import written_values
from .values import block_array


class _Arrays(dict):
    """id(block) -> the block's values as float64 or object, made on first use."""

    def __init__(self, blocks, computed):
        super().__init__()
        self.blocks = blocks
        self.computed = computed  # id(block) -> the values its sheet keeps for it

    def __missing__(self, key):
        b = self.blocks[key]
        if isinstance(b, Values):
            # a float32 block stands for the decimals written for it (xlsx/numbers.py)
            a = written_values(b.data, parallel=True) if b.data.dtype == np.float32 else np.asarray(b.data, dtype=np.float64)
        elif isinstance(b, Texts):
            a = _text_array(b.data)
        elif id(b) in self.computed:
            a = self.computed[id(b)]  # computed earlier: a plan that evaluates only some blocks reads them
        else:
            a = np.full(b.shape, np.nan)  # not yet computed
        self[key] = a
        return a


_TEXT_ARRAYS: "OrderedDict[int, tuple]" = OrderedDict()  # id(list) -> (the list, its array): the vocabulary


def _text_array(data: list) -> np.ndarray:
    """block_array(data), remembered while the list is: a Texts block is never changed in place (an edit
    gives it a new list, see sheet/edits.apply), so the 50,257 words of the vocabulary convert once per process.
    The list is kept with its array, so its id cannot be reused by another list meanwhile."""
    hit = _TEXT_ARRAYS.get(id(data))
    if hit is not None and hit[0] is data:
        _TEXT_ARRAYS.move_to_end(id(data))
        return hit[1]
    a = block_array(data)
    if len(data) >= 1000:  # small blocks convert faster than they are worth remembering
        _TEXT_ARRAYS[id(data)] = (data, a)
        while len(_TEXT_ARRAYS) > 16:
            _TEXT_ARRAYS.popitem(last=False)
    return a


class _Entries(dict):
    """sheet name -> [(r0, c0, r1, c1, block)] with exclusive ends, made for a sheet when first asked: reading one
    defined name out of a book of thousands of tabs looks at one tab."""

    def __init__(self, book: Book, by_id: dict, computed: dict):
        super().__init__()
        self.sheets = {s.name: s for s in book.sheets}
        self.by_id = by_id
        self.computed = computed

    def __missing__(self, name):
        entries = []
        sheet = self.sheets[name]
        for b in sheet.blocks:
            rows, cols = b.shape
            entries.append((b.row, b.col, b.row + rows, b.col + cols, b))
            self.by_id[id(b)] = b
            if isinstance(b, Formulas) and b in sheet.computed:
                self.computed[id(b)] = sheet.computed[b]
        self[name] = entries
        return entries

    def __contains__(self, name):
        return name in self.sheets

    def every_sheet(self):
        return (self[name] for name in self.sheets)


class Store:
    def __init__(self, book: Book):
        self.book = book
        by_id = {}  # id(block) -> block, for the blocks of the sheets looked at so far and of results set
        computed = {}  # id(block) -> values computed before this store, for the sheets looked at so far
        self.blocks = _Entries(book, by_id, computed)  # sheet -> its blocks' rectangles
        self.arrays = _Arrays(by_id, computed)
        self._extent = None

    def extent(self) -> tuple[int, int]:
        """The rows and columns the workbook uses: one past its last used row and column, on any sheet."""
        if self._extent is None:
            entries = [e for sheet in self.blocks.every_sheet() for e in sheet]
            self._extent = (max((e[2] for e in entries), default=0), max((e[3] for e in entries), default=0))
        return self._extent

    def has_sheet(self, name: str) -> bool:
        return name in self.blocks

    def region(self, sheet: str, r0: int, c0: int, nrows: int, ncols: int) -> np.ndarray:
        """Values of a rectangle: a view when one block holds it all, else assembled (empty cells are NaN)."""
        r1, c1 = r0 + nrows, c0 + ncols
        overlapping = [e for e in self.blocks[sheet] if e[0] < r1 and e[2] > r0 and e[1] < c1 and e[3] > c0]
        if len(overlapping) == 1:
            br0, bc0, br1, bc1, b = overlapping[0]
            if br0 <= r0 and bc0 <= c0 and br1 >= r1 and bc1 >= c1:
                return self.arrays[id(b)][r0 - br0:r1 - br0, c0 - bc0:c1 - bc0]
        obj = any(self.arrays[id(e[4])].dtype == object for e in overlapping)
        out = np.full((nrows, ncols), None if obj else np.nan, dtype=object if obj else np.float64)
        for br0, bc0, br1, bc1, b in overlapping:
            a = self.arrays[id(b)]
            lo_r, hi_r, lo_c, hi_c = max(r0, br0), min(r1, br1), max(c0, bc0), min(c1, bc1)
            part = a[lo_r - br0:hi_r - br0, lo_c - bc0:hi_c - bc0]
            if obj and part.dtype != object:
                part = part.astype(object)
                part[np.isnan(part.astype(np.float64))] = None
            out[lo_r - r0:hi_r - r0, lo_c - c0:hi_c - c0] = part
        return out

    def set_result(self, sheet: str, block: Formulas, values: np.ndarray, rows=None, cols=None) -> None:
        """Results of a whole formula block, or of a sub-rectangle of it (cell-by-cell fallback)."""
        self.blocks[sheet]  # the sheet indexed: what was computed for its blocks before is known
        self.arrays.blocks[id(block)] = block
        current = self.arrays[id(block)]
        if rows is None:
            self.arrays[id(block)] = values
            return
        if values.dtype == object and current.dtype != object:
            current = current.astype(object)
            current[np.isnan(current.astype(np.float64))] = None
            self.arrays[id(block)] = current
        current[rows, cols] = values
