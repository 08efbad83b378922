"""The in-memory workbook that the builder fills, the engine evaluates and the writer streams.

A sheet is a list of rectangular blocks, never a grid of cell objects: a weight tensor is one NumPy array, a
run of cells that share one relative formula is one Formulas block. Rows and columns are 0-based.

The rules that hold it together:
- A block describes cells and is never changed in place: an edit replaces a block's data with a new array or
  list (sheet/edits.py), so what remembers a block's converted data by identity (the engine's text arrays)
  stays right. Blocks compare by identity.
- What the engine computes for a Formulas block is kept apart from it, in its sheet's `computed`
  (block -> values), so a block read from a file or the sheet cache is the same object before and after a
  recalculation, and a formula tab's description can be cached without its values.
- A block's style is one thing: the index of a cell format (xf) in the styles.xml of the package the sheet
  is written to. A workbook xlgpt builds names its own formats (STYLES: the builder writes style="bold"), and
  the block keeps the name's index, the order in which xlsx/styles.py writes them; a sheet read from a package
  keeps that package's indexes, whose styles.xml write-back copies.
"""

from dataclasses import dataclass, field

import numpy as np

from . import refs

# xlgpt's own cell formats, in the order xlsx/styles.py writes them into styles.xml (0 is the default)
STYLES = (None, "bold", "title", "note", "link", "input", "percent")


def style_index(style) -> int | None:
    """A style as a block keeps it: a name of STYLES as its index, an index as it is, no style as None."""
    if style is None or type(style) is int:
        return style or None
    return STYLES.index(style) or None


@dataclass(eq=False)
class Values:
    """Numbers, one NumPy array: a weight tensor, or constants such as the token ids."""
    row: int
    col: int
    data: np.ndarray  # [nrows, ncols] float
    style: str | int | None = None  # given as a name or an index; kept as the index (see above)

    def __post_init__(self):
        self.style = style_index(self.style)

    @property
    def shape(self):
        return self.data.shape


@dataclass(eq=False)
class Texts:
    """Labels and other small constants: a 2-D list of str, numbers or None (an empty cell)."""
    row: int
    col: int
    data: list[list]
    style: str | int | None = None  # given as a name or an index; kept as the index (see above)

    def __post_init__(self):
        self.style = style_index(self.style)
        self.shape = len(self.data), max((len(r) for r in self.data), default=0)


@dataclass(eq=False)
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
    style: str | int | None = None  # given as a name or an index; kept as the index (see above)

    def __post_init__(self):
        self.style = style_index(self.style)

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
    colors: tuple[str, ...] = ("FFFFFF", "F8696B")  # low, high (ARGB without alpha); or low, middle, high
    middle: float | None = None  # with three colours: the value the middle one marks (else the median)


@dataclass
class Greyed:
    """Cells of a range shown grey (font and fill) while a formula is true, written relative to the range's
    top-left cell as conditional formatting: the positions past the prompt, whose formulas compute padding.
    The spreadsheet program evaluates it; it is no cell's value."""
    ref: str
    formula: str


# a heat map of signed values: blue below 0, white at 0, red above
DIVERGING = dict(colors=("5A8AC6", "FFFFFF", "F8696B"), middle=0.0)


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
    value_format: str | None = None  # the value axis's number format (None: the cells')


@dataclass
class Sheet:
    name: str
    blocks: list = field(default_factory=list)
    col_widths: dict[int, float] = field(default_factory=dict)
    links: list[tuple[int, int, str, str]] = field(default_factory=list)  # (row, col, target "'Sheet'!A1", text)
    color_scales: list[ColorScale] = field(default_factory=list)
    greyed: list[Greyed] = field(default_factory=list)  # before the colour scales: grey wins over a heat map
    freeze: tuple[int, int] | None = None  # rows and columns kept in view
    charts: list[Chart] = field(default_factory=list)
    fit_to_page: bool = False  # printed (and exported to PDF) landscape, one page wide
    computed: dict = field(default_factory=dict)  # Formulas block -> its values [nrows, ncols], from the engine

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
