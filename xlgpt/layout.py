"""Where things sit: the grid every formula tab shares, and areas that render as the references formulas use.

A formula tab whose rows are positions looks the same everywhere: row 1 its title, row 2 its equation,
row 3 column-group labels (head, q/k/v), row 4 column indices; from row 5 one row per position, with the
position in column A, its token in column B and the data from column C. Weight tabs hold the tensor alone
from A1, so that row i+1, column j+1 is element [i, j].
"""

from dataclasses import dataclass

from . import refs

HEADER_ROWS = 4  # title, equation, group labels, column indices
FIRST_COL = 2  # A: position, B: token


@dataclass(frozen=True)
class Area:
    """A rectangle of one sheet, as formulas refer to it."""
    sheet: str
    row: int
    col: int
    nrows: int
    ncols: int

    def ref(self, other_sheet: bool = True) -> str:
        """The whole area, absolute: 'sheet'!$C$5:$R$20."""
        a = refs.area(self.row, self.col, self.nrows, self.ncols, absolute=True)
        return refs.qualified(self.sheet, a) if other_sheet else a

    def first(self, other_sheet: bool = True) -> str:
        """The top-left cell, relative, for a formula that shifts with its cell: 'sheet'!C5."""
        c = refs.cell(self.row, self.col)
        return refs.qualified(self.sheet, c) if other_sheet else c

    def row_of_first(self, other_sheet: bool = True) -> str:
        """The first row with absolute columns and a relative row: 'sheet'!$C5:$R5, one row per cell."""
        a = f"{refs.cell(self.row, self.col, abs_col=True)}:{refs.cell(self.row, self.col + self.ncols - 1, abs_col=True)}"
        return refs.qualified(self.sheet, a) if other_sheet else a

    def cols(self, start: int, n: int) -> "Area":
        return Area(self.sheet, self.row, self.col + start, self.nrows, n)

    def rows(self, start: int, n: int) -> "Area":
        return Area(self.sheet, self.row + start, self.col, n, self.ncols)
