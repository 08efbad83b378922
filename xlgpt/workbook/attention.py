"""Block N's attention (templates/attention.toml): h.N.attn.c_attn (queries, keys, values), .scores (each
head's scaled dot products, causally masked), .probs (their softmax), .z (each head's weighted values, gated),
.c_proj (the output projection, gated)."""

from ..sheet import refs
from ..sheet.book import Book, ColorScale, Texts
from ..model.config import GPT2Config
from .grid import FIRST_COL, HEADER_ROWS, Area, GridTab, grey_columns, grid_area, place, token_headers, weight_area
from .templates import stage


def head_area(tab: str, head: int, n_ctx: int) -> Area:
    """Head `head`'s n_ctx x n_ctx block (queries down, keys across) of a scores or probs tab; a spare column
    after each head holds the probs' softmax denominators."""
    return grid_area(tab, n_ctx, FIRST_COL + head * (n_ctx + 1), n_ctx)


def out_area(tab: str, cfg: GPT2Config, n_ctx: int, width: int = 1) -> Area:
    """The data of c_attn (width 3: q, k, v), z or c_proj."""
    return grid_area(tab, n_ctx, FIRST_COL, width * cfg.n_embd)


def attention_tabs(book: Book, cfg: GPT2Config, layer: int, x: Area, token_text: Area, surgery) -> Area:
    """c_attn, scores, probs, z and c_proj of block `layer`; returns the projected attention output."""
    t = stage("attention")
    d, hw, n = cfg.n_embd, cfg.head_width, x.nrows
    prefix = f"h.{layer}.attn"
    common = dict(prefix=prefix, hw=hw, hw_1=hw - 1, source=x.sheet)

    g = GridTab(book, f"{prefix}.c_attn", n, token_text)
    g.header(t["c_attn"], tab=g.name, **common)
    g.column_labels(FIRST_COL, 3 * d, [(part * d + h * hw, f"{'qkv'[part]} head {h}")
                                       for part in range(3) for h in range(cfg.n_head)])
    qkv = g.formulas(t["c_attn"], out_area(g.name, cfg, n, 3), x=x.ref(),
                     w=weight_area(f"{prefix}.c_attn.weight", (d, 3 * d)).ref(),
                     b=weight_area(f"{prefix}.c_attn.bias", (3 * d,)).ref())

    def head_blocks(tab_name, template_name):
        gt = GridTab(book, tab_name, n, token_text)
        gt.header(t[template_name], tab=tab_name, **common)
        return gt, [head_area(tab_name, h, n) for h in range(cfg.n_head)]

    sg, scores = head_blocks(f"{prefix}.scores", "scores")
    query_pos = Area(sg.name, HEADER_ROWS, 0, n, 1).ref(other_sheet=False)
    for h, area in enumerate(scores):
        sg.column_labels(area.col, n)  # the keys' positions, which the mask reads
        token_headers(sg.sheet, 2, area.col, n, token_text, 3, head=h)
        grey_columns(sg.sheet, area)
        key_pos = Area(sg.name, 3, area.col, 1, n).ref(other_sheet=False)
        sg.formulas(t["scores"], area, key_pos=key_pos, query_pos=query_pos, hw=hw,
                    q=qkv.cols(h * hw, hw).ref(), k=qkv.cols(d + h * hw, hw).ref())

    pg, probs = head_blocks(f"{prefix}.probs", "probs")
    for h, area in enumerate(probs):
        pg.column_labels(area.col, n)
        token_headers(pg.sheet, 2, area.col, n, token_text, 3, head=h)
        grey_columns(pg.sheet, area)
        den_col = area.col + n  # the column between two heads' blocks
        pg.sheet.add(Texts(3, den_col, [["sum exp"]], style="bold"))
        for i in range(n):
            place(pg.sheet, t["den"], Area(pg.name, area.row + i, den_col, 1, 1), s_row=scores[h].rows(i, 1).ref())
        pg.formulas(t["probs"], area, s=scores[h].first(), s_row=scores[h].row_of_first(),
                    den=refs.cell(area.row, den_col, abs_col=True))
        pg.sheet.color_scales.append(ColorScale(area.ref(other_sheet=False).replace("$", "")))  # a heat map

    zg = GridTab(book, f"{prefix}.z", n, token_text)
    zg.header(t["z"], tab=zg.name, **common)
    zg.column_labels(FIRST_COL, d, [(h * hw, f"head {h}") for h in range(cfg.n_head)])
    z = out_area(zg.name, cfg, n)
    for h in range(cfg.n_head):
        zg.formulas(t["z"], z.cols(h * hw, hw), p=probs[h].ref(), v=qkv.cols(2 * d + h * hw, hw).ref(),
                    gate=surgery.head_gate(layer, h))

    og = GridTab(book, f"{prefix}.c_proj", n, token_text)
    og.header(t["c_proj"], tab=og.name, **common)
    og.column_labels(FIRST_COL, d, [(0, "dimension")])
    return og.formulas(t["c_proj"], out_area(og.name, cfg, n), x=z.ref(),
                       w=weight_area(f"{prefix}.c_proj.weight", (d, d)).ref(),
                       b=weight_area(f"{prefix}.c_proj.bias", (d,)).ref(), gate=surgery.attn_gate(layer))
