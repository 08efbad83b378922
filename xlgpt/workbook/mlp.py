"""Block N's MLP (templates/mlp.toml): h.N.mlp.c_fc (up-projection), .gelu, .c_proj (down-projection, gated)."""

from ..sheet.book import Book
from ..model.config import GPT2Config
from .grid import FIRST_COL, Area, GridTab, grid_area, weight_area
from .templates import stage


def out_area(tab: str, n_ctx: int, width: int) -> Area:
    return grid_area(tab, n_ctx, FIRST_COL, width)


def mlp_tabs(book: Book, cfg: GPT2Config, layer: int, x: Area, token_text: Area, surgery) -> Area:
    t = stage("mlp")
    d, n = cfg.n_embd, x.nrows
    prefix = f"h.{layer}.mlp"
    common = dict(prefix=prefix, n_embd=d, n_inner=4 * d)

    up = GridTab(book, f"{prefix}.c_fc", n, token_text)
    up.header(t["c_fc"], tab=up.name, source=x.sheet, **common)
    up.column_labels(FIRST_COL, 4 * d, [(0, "hidden unit")])
    u = up.formulas(t["c_fc"], out_area(up.name, n, 4 * d), x=x.ref(),
                    w=weight_area(f"{prefix}.c_fc.weight", (d, 4 * d)).ref(),
                    b=weight_area(f"{prefix}.c_fc.bias", (4 * d,)).ref())

    act = GridTab(book, f"{prefix}.gelu", n, token_text)
    act.header(t["gelu"], tab=act.name)
    act.column_labels(FIRST_COL, 4 * d, [(0, "hidden unit")])
    a = act.formulas(t["gelu"], out_area(act.name, n, 4 * d), u=u.first())

    down = GridTab(book, f"{prefix}.c_proj", n, token_text)
    down.header(t["c_proj"], tab=down.name, source=act.name, **common)
    down.column_labels(FIRST_COL, d, [(0, "dimension")])
    return down.formulas(t["c_proj"], out_area(down.name, n, d), x=a.ref(),
                         w=weight_area(f"{prefix}.c_proj.weight", (4 * d, d)).ref(),
                         b=weight_area(f"{prefix}.c_proj.bias", (d,)).ref(), gate=surgery.mlp_gate(layer))
