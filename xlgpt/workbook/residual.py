"""The residual stream's tabs (templates/residual.toml): h.N.resid_pre (the block's input plus its steering),
h.N.resid_mid and h.N.resid_post (a stream plus what a sub-block adds)."""

from ..sheet import refs
from ..sheet.book import Book
from .grid import FIRST_COL, HEADER_ROWS, Area, GridTab, grid_area
from .templates import stage


def out_area(tab: str, n_ctx: int, n_embd: int) -> Area:
    return grid_area(tab, n_ctx, FIRST_COL, n_embd)


def residual_tab(book: Book, tab: str, x: Area, a: Area, token_text: Area) -> Area:
    t = stage("residual")["add"]
    g = GridTab(book, tab, x.nrows, token_text)
    g.header(t, tab=tab, equation=f"{tab} = {x.sheet} + {a.sheet}  (the block's input plus what it adds)")
    g.column_labels(FIRST_COL, x.ncols, [(0, "dimension")])
    return g.formulas(t, out_area(tab, x.nrows, x.ncols), x=x.first(), a=a.first())


def resid_pre_tab(book: Book, layer: int, x: Area, token_text: Area, surgery) -> Area:
    """The residual stream entering block `layer`: its input plus the layer's steering (Surgery)."""
    t = stage("residual")["steer"]
    tab = f"h.{layer}.resid_pre"
    g = GridTab(book, tab, x.nrows, token_text)
    g.header(t, tab=tab, layer=layer, source=x.sheet)
    g.column_labels(FIRST_COL, x.ncols, [(0, "dimension")])
    pos = refs.cell(HEADER_ROWS, 0, abs_col=True)
    return g.formulas(t, out_area(tab, x.nrows, x.ncols), x=x.first(), coef=surgery.steer(layer, "coef"),
                      vec=surgery.steer_vector_first(layer), pos=pos, first=surgery.steer(layer, "from"),
                      last=surgery.steer(layer, "to"))
