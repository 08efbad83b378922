"""The in-memory workbook that the builder fills, the engine evaluates and the writer streams.

A sheet is a list of rectangular blocks, never a grid of cell objects: a weight tensor is one NumPy array, a
run of cells that share one relative formula is one Formulas block. Rows and columns are 0-based.
"""

from dataclasses import dataclass, field

import numpy as np

from . import refs


@dataclass
class Values:
    """Numbers, one NumPy array: a weight tensor, or constants such as the token ids."""
    row: int
    col: int
    data: np.ndarray  # [nrows, ncols] float
    style: str | None = None

    @property
    def shape(self):
        return self.data.shape


@dataclass
class Texts:
    """Labels and other small constants: a 2-D list of str, numbers or None (an empty cell)."""
    row: int
    col: int
    data: list[list]
    style: str | None = None

    def __post_init__(self):
        self.shape = len(self.data), max((len(r) for r in self.data), default=0)


@dataclass
class Formulas:
    """One formula over a rectangle.

    kind "shared": every cell holds `text` shifted by its offset from the top-left cell (relative references
    move, absolute ones stay), stored as an xlsx shared formula. kind "array": one legacy array formula
    ({=...}) whose result fills the rectangle. kind "cell": a single cell.
    """
    row: int
    col: int
    nrows: int
    ncols: int
    text: str  # without the leading "=", as the top-left cell holds it
    kind: str = "shared"
    style: str | None = None
    values: np.ndarray | None = None  # cached results, [nrows, ncols] float or object, once evaluated

    @property
    def shape(self):
        return self.nrows, self.ncols

    @property
    def ref(self) -> str:
        return refs.area(self.row, self.col, self.nrows, self.ncols, absolute=False)


@dataclass
class ColorScale:
    """A conditional-formatting colour scale (a heat map) over a range of the sheet."""
    ref: str
    colors: tuple[str, ...] = ("FFFFFF", "F8696B")  # low, high (ARGB without alpha)


@dataclass
class Chart:
    """A chart drawn over the sheet, fed by cells of the workbook (so it follows every recalculation).

    kind "bar": horizontal bars, one per category (the top tokens); "line": a line with markers (a value per
    block). The references are absolute, with their sheet: 'Start'!$B$9:$B$18."""
    kind: str
    title: str
    series: str  # the series' name
    categories: str
    values: str
    row: int  # the cell at the chart's top-left corner
    col: int
    x_title: str | None = None
    y_title: str | None = None


@dataclass
class Sheet:
    name: str
    blocks: list = field(default_factory=list)
    col_widths: dict[int, float] = field(default_factory=dict)
    links: list[tuple[int, int, str, str]] = field(default_factory=list)  # (row, col, target "'Sheet'!A1", text)
    color_scales: list[ColorScale] = field(default_factory=list)
    freeze: tuple[int, int] | None = None  # rows and columns kept in view
    charts: list[Chart] = field(default_factory=list)
    fit_to_page: bool = False  # printed (and exported to PDF) landscape, one page wide

    def add(self, block):
        self.blocks.append(block)
        return block

    @property
    def extent(self) -> tuple[int, int]:
        """(rows, cols) up to the last used cell."""
        rows = max((b.row + b.shape[0] for b in self.blocks), default=0)
        cols = max((b.col + b.shape[1] for b in self.blocks), default=0)
        return rows, cols


@dataclass
class Book:
    sheets: list[Sheet] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # defined name -> "'Sheet'!$A$1:$B$2"

    def add(self, sheet: Sheet) -> Sheet:
        if any(s.name == sheet.name for s in self.sheets):
            raise ValueError(f"duplicate sheet name {sheet.name!r}")
        self.sheets.append(sheet)
        return sheet

    def sheet(self, name: str) -> Sheet:
        for s in self.sheets:
            if s.name == name:
                return s
        raise KeyError(name)
