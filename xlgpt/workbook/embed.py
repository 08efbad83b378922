"""The embed tab: each position's token embedding plus its position embedding (templates/embed.toml)."""

from ..sheet.book import Book
from ..model.config import GPT2Config
from .grid import FIRST_COL, Area, GridTab, col_relative, grid_area, row_relative, weight_area
from .templates import stage

TAB = "embed"


def out_area(cfg: GPT2Config, n_ctx: int) -> Area:
    return grid_area(TAB, n_ctx, FIRST_COL, cfg.n_embd)


def embed_tab(book: Book, cfg: GPT2Config, n_ctx: int, ids: Area, token_text: Area) -> Area:
    t = stage("embed")["embed"]
    g = GridTab(book, TAB, n_ctx, token_text)
    g.header(t)
    g.column_labels(FIRST_COL, cfg.n_embd, [(0, "dimension")])
    dims = Area(TAB, 3, FIRST_COL, 1, cfg.n_embd)
    wte = weight_area("wte.weight", (cfg.n_vocab, cfg.n_embd))
    wpe = weight_area("wpe.weight", (cfg.n_ctx, cfg.n_embd))
    return g.formulas(t, out_area(cfg, n_ctx), wte=wte.ref(), token_id=row_relative(ids),
                      dim=col_relative(dims), wpe=wpe.first())
