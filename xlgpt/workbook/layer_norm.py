"""A layer norm tab (ln_1, ln_2, ln_f, and each lens's ln_f): mean and std per position, then the normalised,
scaled and shifted row (templates/layer_norm.toml)."""

from ..sheet.book import Book, Texts
from ..model.config import GPT2Config
from .grid import FIRST_COL, Area, GridTab, col_abs, grid_area, num, row_abs, weight_area
from .templates import stage

OUT_COL = FIRST_COL + 3  # mean, std, a spare column, then the output


def out_area(tab: str, cfg: GPT2Config, n_ctx: int) -> Area:
    return grid_area(tab, n_ctx, OUT_COL, cfg.n_embd)


def std_area(tab: str, n_ctx: int) -> Area:
    """Each position's std (the scale the normalised row is divided by)."""
    return grid_area(tab, n_ctx, FIRST_COL + 1, 1)


def layer_norm_tab(book: Book, cfg: GPT2Config, tab: str, name: str, x: Area, token_text: Area) -> Area:
    """name is the weights' prefix (h.0.ln_1, ln_f); x the rows to normalise."""
    t = stage("layer_norm")
    g = GridTab(book, tab, x.nrows, token_text)
    g.header(t["out"], tab=tab, name=name, eps=num(cfg.eps), n_embd=cfg.n_embd, source=x.sheet)
    g.sheet.add(Texts(2, FIRST_COL, [["mean", "std"]], style="bold"))
    mean, std = g.area(FIRST_COL, 1), g.area(FIRST_COL + 1, 1)
    g.formulas(t["mean"], mean, x_row=x.row_of_first())
    g.formulas(t["std"], std, x_row=x.row_of_first(), eps=num(cfg.eps))
    g.column_labels(OUT_COL, cfg.n_embd, [(0, "dimension")])
    gain = weight_area(f"{name}.weight", (cfg.n_embd,))
    bias = weight_area(f"{name}.bias", (cfg.n_embd,))
    return g.formulas(t["out"], out_area(tab, cfg, x.nrows), x=x.first(), mean=col_abs(mean), std=col_abs(std),
                      g=row_abs(gain), b=row_abs(bias))
