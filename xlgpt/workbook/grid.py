"""Where things sit: the grid every formula tab shares, areas that render as the references formulas use, and
the helpers every stage module writes its tab with.

A formula tab whose rows are positions looks the same everywhere: row 1 its title, row 2 its equation,
row 3 column-group labels (head, q/k/v), row 4 column indices; from row 5 one row per position, with the
position in column A, its token in column B and the data from column C. Weight tabs hold the tensor alone
from A1, so that row i+1, column j+1 is element [i, j].
"""

from dataclasses import dataclass

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, Formulas, Greyed, Sheet, Texts, Values
from .templates import Template, stage

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

    def cell(self, i: int = 0, j: int = 0, absolute: bool = True) -> str:
        """One cell of the area, 'sheet'!$D$7 (absolute) or 'sheet'!D7."""
        return refs.qualified(self.sheet, refs.cell(self.row + i, self.col + j, absolute, absolute))


def titled(sheet: Sheet, template: Template, **values) -> None:
    """The tab's first two rows: its title and its equation (or note), from the template."""
    title, equation = template.header(**values)
    sheet.add(Texts(0, 0, [[title]], style="title"))
    if equation:
        sheet.add(Texts(1, 0, [[equation]], style="note"))


def place(sheet: Sheet, template: Template, area: Area, style: str | None = None, **values) -> Area:
    """The template's formula over the area, in the kind (shared, array, cell) the template gives."""
    sheet.add(Formulas(area.row, area.col, area.nrows, area.ncols, template.fill(**values), template.kind,
                       style=style))
    return area


class GridTab:
    """A formula tab whose rows are the context's positions (see above)."""

    def __init__(self, book: Book, name: str, n_ctx: int, token_text: Area):
        self.sheet = book.add(Sheet(name, col_widths={0: 9, 1: 14}, freeze=(HEADER_ROWS, FIRST_COL)))
        self.name, self.n_ctx = name, n_ctx
        self.sheet.add(Texts(2, 0, [["position", "token"]], style="bold"))
        self.sheet.add(Values(HEADER_ROWS, 0, np.arange(n_ctx, dtype=float)[:, None]))
        place(self.sheet, stage("grid")["label"], self.area(1, 1), token_text=token_text.first())
        grey_rows(self.sheet, HEADER_ROWS, n_ctx)

    def header(self, template: Template, **values) -> None:
        titled(self.sheet, template, **values)

    def column_labels(self, col: int, n: int, groups: list[tuple[int, str]] = ()) -> None:
        """Indices 0..n-1 on row 4 from column `col`, and group labels on row 3 at the given offsets."""
        self.sheet.add(Values(3, col, np.arange(n, dtype=float)[None, :], style="bold"))
        for offset, label in groups:
            self.sheet.add(Texts(2, col + offset, [[label]], style="bold"))

    def area(self, col: int, ncols: int) -> Area:
        return grid_area(self.name, self.n_ctx, col, ncols)

    def formulas(self, template: Template, area: Area, **values) -> Area:
        return place(self.sheet, template, area, **values)


# Padding positions (past TokenCount) are greyed by conditional formatting, so the grey follows a new prompt.
# The formulas count positions from ROW() or COLUMN() of the cell the spreadsheet program formats.
_WHOLE_WIDTH = "XFD"  # a greyed range's last column until fit_greyed gives it the tab's


def grey_rows(sheet: Sheet, first_row: int, n_ctx: int) -> None:
    """Rows first_row.. of a tab whose rows are positions, every column the tab uses (fit_greyed sets the
    width once the tab is laid out)."""
    sheet.greyed.append(Greyed(f"A{first_row + 1}:{_WHOLE_WIDTH}{first_row + n_ctx}",
                               f"ROW()-{first_row + 1}>=TokenCount"))


def fit_greyed(sheet: Sheet) -> None:
    """The tab's greyed rows end at its last used column: a range over all 16,384 columns would make
    LibreOffice keep every column of every such tab (gigabytes over GPT-2 small's tabs)."""
    if not any(_WHOLE_WIDTH in g.ref for g in sheet.greyed):
        return
    last = max((b.col + b.shape[1] for b in sheet.blocks), default=1)
    end = refs.cell(0, last - 1).rstrip("0123456789")
    sheet.greyed = [Greyed(g.ref.replace(_WHOLE_WIDTH, end), g.formula) for g in sheet.greyed]


def grey_columns(sheet: Sheet, area: "Area") -> None:
    """The columns of `area` whose position (its first column is position 0) is past the prompt."""
    sheet.greyed.append(Greyed(area.ref(other_sheet=False).replace("$", ""), f"COLUMN()-{area.col + 1}>=TokenCount"))


def token_headers(sheet: Sheet, row: int, col: int, n: int, token_text: "Area", pos_row: int,
                  head: int | None = None) -> None:
    """On `row`, over the n position columns from `col`: each position's token text, read with the position
    number on `pos_row` (which stays numbered). With `head`, the first says which head's block starts there."""
    t = stage("grid")
    pos = refs.cell(pos_row, col, abs_row=True)
    start = col
    if head is not None:
        place(sheet, t["head_token"], Area(sheet.name, row, col, 1, 1), head=head, tokens=token_text.ref(), pos=pos)
        start, n, pos = col + 1, n - 1, refs.cell(pos_row, col + 1, abs_row=True)
    if n > 0:
        place(sheet, t["column_token"], Area(sheet.name, row, start, 1, n), tokens=token_text.ref(), pos=pos)


def grid_area(tab: str, n_ctx: int, col: int, ncols: int) -> Area:
    """Columns col.. of a position tab's data rows."""
    return Area(tab, HEADER_ROWS, col, n_ctx, ncols)


def weight_area(name: str, shape: tuple[int, ...]) -> Area:
    """A weight tab: the tensor from A1; a vector is one row."""
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape
    return Area(name, 0, 0, rows, cols)


def weight_tab(book: Book, name: str, tensor: np.ndarray) -> None:
    data = tensor[None, :] if tensor.ndim == 1 else tensor
    book.add(Sheet(name, col_widths={}, blocks=[Values(0, 0, data)]))


def num(x: float) -> str:
    """A number as a formula writes it: 1E-5."""
    return repr(float(x)).replace("e-0", "E-").replace("e", "E")


def row_relative(column: Area) -> str:
    """The first cell of a one-column area, row relative and column absolute: 'Tokens'!$B5."""
    return refs.qualified(column.sheet, refs.cell(column.row, column.col, abs_col=True))


def col_relative(row: Area) -> str:
    """The first cell of a one-row area, column relative and row absolute: C$4."""
    return refs.cell(row.row, row.col, abs_row=True)


def col_abs(column: Area) -> str:
    """A one-column area's first cell with the column fixed, for a formula filled across: $C5."""
    return refs.cell(column.row, column.col, abs_col=True)


def row_abs(row: Area) -> str:
    """A one-row area's first cell with the row fixed, for a formula filled down: 'h.0.ln_1.weight'!A$1."""
    return refs.qualified(row.sheet, refs.cell(row.row, row.col, abs_row=True))
