"""Lay out each stage of GPT-2 as a tab, from the formulas in templates/.

Each function adds one tab to the book and returns the Area holding its result, which the next stage reads.
"""

import numpy as np

from . import refs
from .book import Book, ColorScale, Formulas, Sheet, Texts, Values
from .layout import FIRST_COL, HEADER_ROWS, Area
from .models import GPT2Config
from .templates import stage


class GridTab:
    """A formula tab whose rows are the context's positions (see layout.py)."""

    def __init__(self, book: Book, name: str, n_ctx: int, token_text: Area):
        self.sheet = book.add(Sheet(name, col_widths={0: 9, 1: 14}, freeze=(HEADER_ROWS, FIRST_COL)))
        self.name, self.n_ctx = name, n_ctx
        self.sheet.add(Texts(2, 0, [["position", "token"]], style="bold"))
        self.sheet.add(Values(HEADER_ROWS, 0, np.arange(n_ctx, dtype=float)[:, None]))
        label = stage("tokens")["label"]
        self.sheet.add(Formulas(HEADER_ROWS, 1, n_ctx, 1, label.fill(token_text=token_text.first()), label.kind))

    def header(self, title: str, equation: str) -> None:
        self.sheet.add(Texts(0, 0, [[title]], style="title"))
        self.sheet.add(Texts(1, 0, [[equation]], style="note"))

    def column_labels(self, col: int, n: int, groups: list[tuple[int, str]] = ()) -> None:
        """Indices 0..n-1 on row 4 from column `col`, and group labels on row 3 at the given offsets."""
        self.sheet.add(Values(3, col, np.arange(n, dtype=float)[None, :], style="bold"))
        for offset, label in groups:
            self.sheet.add(Texts(2, col + offset, [[label]], style="bold"))

    def area(self, col: int, ncols: int) -> Area:
        return Area(self.name, HEADER_ROWS, col, self.n_ctx, ncols)

    def formulas(self, template, area: Area, **values) -> Area:
        self.sheet.add(Formulas(area.row, area.col, area.nrows, area.ncols, template.fill(**values), template.kind))
        return area


def weight_area(name: str, shape: tuple[int, ...]) -> Area:
    """A weight tab: the tensor from A1; a vector is one row."""
    rows, cols = (1, shape[0]) if len(shape) == 1 else shape
    return Area(name, 0, 0, rows, cols)


def weight_tab(book: Book, name: str, tensor: np.ndarray) -> None:
    data = tensor[None, :] if tensor.ndim == 1 else tensor
    book.add(Sheet(name, col_widths={}, blocks=[Values(0, 0, data)]))


def vocab_area(n_vocab: int) -> Area:
    """Where vocab_tab puts the tokens' text: formulas before it refer to it."""
    return Area("vocab", HEADER_ROWS, 1, n_vocab, 1)


def vocab_tab(book: Book, texts: list[str]) -> Area:
    s = book.add(Sheet("vocab", col_widths={0: 9, 1: 20}, freeze=(HEADER_ROWS, 0)))
    s.add(Texts(0, 0, [["vocab: every GPT-2 token's text by id"]], style="title"))
    s.add(Texts(1, 0, [["Byte-level tokens that are part of a multi-byte character show U+FFFD for the missing bytes."]],
                style="note"))
    s.add(Texts(2, 0, [["id", "text"]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(len(texts), dtype=float)[:, None]))
    s.add(Texts(HEADER_ROWS, 1, [[t] for t in texts]))
    return vocab_area(len(texts))


def embed_tab(book: Book, cfg: GPT2Config, n_ctx: int, ids: Area, token_text: Area) -> Area:
    t = stage("embed")["embed"]
    g = GridTab(book, "embed", n_ctx, token_text)
    g.header(*t.header())
    g.column_labels(FIRST_COL, cfg.n_embd, [(0, "dimension")])
    dims = Area("embed", 3, FIRST_COL, 1, cfg.n_embd)
    wte = weight_area("wte.weight", (cfg.n_vocab, cfg.n_embd))
    wpe = weight_area("wpe.weight", (cfg.n_ctx, cfg.n_embd))
    return g.formulas(t, g.area(FIRST_COL, cfg.n_embd), wte=wte.ref(), token_id=_row_relative(ids),
                      dim=_col_relative(dims), wpe=wpe.first())


def layer_norm_tab(book: Book, cfg: GPT2Config, tab: str, name: str, x: Area, source: str, token_text: Area) -> Area:
    """name is the weights' prefix (h.0.ln_1, ln_f)."""
    t = stage("layer_norm")
    g = GridTab(book, tab, x.nrows, token_text)
    g.header(*t["out"].header(tab=tab, name=name, eps=_num(cfg.eps), n_embd=cfg.n_embd, source=source))
    g.sheet.add(Texts(2, FIRST_COL, [["mean", "std"]], style="bold"))
    mean, std = g.area(FIRST_COL, 1), g.area(FIRST_COL + 1, 1)
    g.formulas(t["mean"], mean, x_row=x.row_of_first())
    g.formulas(t["std"], std, x_row=x.row_of_first(), eps=_num(cfg.eps))
    out_col = FIRST_COL + 3
    g.column_labels(out_col, cfg.n_embd, [(0, "dimension")])
    gain = weight_area(f"{name}.weight", (cfg.n_embd,))
    bias = weight_area(f"{name}.bias", (cfg.n_embd,))
    return g.formulas(t["out"], g.area(out_col, cfg.n_embd), x=x.first(), mean=_col_abs(mean), std=_col_abs(std),
                      g=_row_abs(gain), b=_row_abs(bias))


def attention_tabs(book: Book, cfg: GPT2Config, layer: int, x: Area, token_text: Area, surgery) -> Area:
    """c_attn, scores, probs, z and c_proj of block `layer`; returns the projected attention output."""
    t = stage("attention")
    d, hw, n = cfg.n_embd, cfg.head_width, x.nrows
    prefix = f"h.{layer}.attn"
    common = dict(prefix=prefix, hw=hw, hw_1=hw - 1, source=x.sheet)

    g = GridTab(book, f"{prefix}.c_attn", n, token_text)
    g.header(*t["c_attn"].header(tab=g.name, **common))
    g.column_labels(FIRST_COL, 3 * d, [(part * d + h * hw, f"{'qkv'[part]} head {h}")
                                       for part in range(3) for h in range(cfg.n_head)])
    qkv = g.formulas(t["c_attn"], g.area(FIRST_COL, 3 * d), x=x.ref(),
                     w=weight_area(f"{prefix}.c_attn.weight", (d, 3 * d)).ref(),
                     b=weight_area(f"{prefix}.c_attn.bias", (3 * d,)).ref())

    def head_blocks(tab_name, template_name):
        gt = GridTab(book, tab_name, n, token_text)
        gt.header(*t[template_name].header(tab=tab_name, **common))
        return gt, [gt.area(FIRST_COL + h * (n + 1), n) for h in range(cfg.n_head)]

    sg, scores = head_blocks(f"{prefix}.scores", "scores")
    query_pos = Area(sg.name, HEADER_ROWS, 0, n, 1).ref(other_sheet=False)
    for h, area in enumerate(scores):
        sg.column_labels(area.col, n, [(0, f"head {h}: keys")])
        key_pos = Area(sg.name, 3, area.col, 1, n).ref(other_sheet=False)
        sg.formulas(t["scores"], area, key_pos=key_pos, query_pos=query_pos, hw=hw,
                    q=qkv.cols(h * hw, hw).ref(), k=qkv.cols(d + h * hw, hw).ref())

    pg, probs = head_blocks(f"{prefix}.probs", "probs")
    for h, area in enumerate(probs):
        pg.column_labels(area.col, n, [(0, f"head {h}: keys")])
        den_col = area.col + n  # the column between two heads' blocks
        pg.sheet.add(Texts(3, den_col, [["sum exp"]], style="bold"))
        for i in range(n):
            s_row = scores[h].rows(i, 1).ref()
            pg.sheet.add(Formulas(area.row + i, den_col, 1, 1, t["den"].fill(s_row=s_row), t["den"].kind))
        pg.formulas(t["probs"], area, s=scores[h].first(), s_row=scores[h].row_of_first(),
                    den=refs.cell(area.row, den_col, abs_col=True))
        pg.sheet.color_scales.append(ColorScale(area.ref(other_sheet=False).replace("$", "")))  # a heat map

    zg = GridTab(book, f"{prefix}.z", n, token_text)
    zg.header(*t["z"].header(tab=zg.name, **common))
    zg.column_labels(FIRST_COL, d, [(h * hw, f"head {h}") for h in range(cfg.n_head)])
    z = zg.area(FIRST_COL, d)
    for h in range(cfg.n_head):
        zg.formulas(t["z"], z.cols(h * hw, hw), p=probs[h].ref(), v=qkv.cols(2 * d + h * hw, hw).ref(),
                    gate=surgery.head_gate(layer, h))

    og = GridTab(book, f"{prefix}.c_proj", n, token_text)
    og.header(*t["c_proj"].header(tab=og.name, **common))
    og.column_labels(FIRST_COL, d, [(0, "dimension")])
    return og.formulas(t["c_proj"], og.area(FIRST_COL, d), x=z.ref(),
                       w=weight_area(f"{prefix}.c_proj.weight", (d, d)).ref(),
                       b=weight_area(f"{prefix}.c_proj.bias", (d,)).ref(), gate=surgery.attn_gate(layer))


def mlp_tabs(book: Book, cfg: GPT2Config, layer: int, x: Area, token_text: Area, surgery) -> Area:
    t = stage("mlp")
    d, n = cfg.n_embd, x.nrows
    prefix = f"h.{layer}.mlp"
    common = dict(prefix=prefix, n_embd=d, n_inner=4 * d)

    up = GridTab(book, f"{prefix}.c_fc", n, token_text)
    up.header(*t["c_fc"].header(tab=up.name, source=x.sheet, **common))
    up.column_labels(FIRST_COL, 4 * d, [(0, "hidden unit")])
    u = up.formulas(t["c_fc"], up.area(FIRST_COL, 4 * d), x=x.ref(),
                    w=weight_area(f"{prefix}.c_fc.weight", (d, 4 * d)).ref(),
                    b=weight_area(f"{prefix}.c_fc.bias", (4 * d,)).ref())

    act = GridTab(book, f"{prefix}.gelu", n, token_text)
    act.header(*t["gelu"].header(tab=act.name))
    act.column_labels(FIRST_COL, 4 * d, [(0, "hidden unit")])
    a = act.formulas(t["gelu"], act.area(FIRST_COL, 4 * d), u=u.first())

    down = GridTab(book, f"{prefix}.c_proj", n, token_text)
    down.header(*t["c_proj"].header(tab=down.name, source=act.name, **common))
    down.column_labels(FIRST_COL, d, [(0, "dimension")])
    return down.formulas(t["c_proj"], down.area(FIRST_COL, d), x=a.ref(),
                         w=weight_area(f"{prefix}.c_proj.weight", (4 * d, d)).ref(),
                         b=weight_area(f"{prefix}.c_proj.bias", (d,)).ref(), gate=surgery.mlp_gate(layer))


def residual_tab(book: Book, tab: str, x: Area, a: Area, token_text: Area) -> Area:
    t = stage("residual")["add"]
    g = GridTab(book, tab, x.nrows, token_text)
    g.header(*t.header(tab=tab, equation=f"{tab} = {x.sheet} + {a.sheet}  (the block's input plus what it adds)"))
    g.column_labels(FIRST_COL, x.ncols, [(0, "dimension")])
    return g.formulas(t, g.area(FIRST_COL, x.ncols), x=x.first(), a=a.first())


def resid_pre_tab(book: Book, layer: int, x: Area, token_text: Area, surgery) -> Area:
    """The residual stream entering block `layer`: its input plus the layer's steering (Surgery)."""
    t = stage("residual")["steer"]
    tab = f"h.{layer}.resid_pre"
    g = GridTab(book, tab, x.nrows, token_text)
    g.header(*t.header(tab=tab, layer=layer, source=x.sheet))
    g.column_labels(FIRST_COL, x.ncols, [(0, "dimension")])
    pos = refs.cell(HEADER_ROWS, 0, abs_col=True)
    return g.formulas(t, g.area(FIRST_COL, x.ncols), x=x.first(), coef=surgery.steer(layer, "coef"),
                      vec=surgery.steer_vector_first(layer), pos=pos, first=surgery.steer(layer, "from"),
                      last=surgery.steer(layer, "to"))


def logits_tab(book: Book, cfg: GPT2Config, ln_f: Area, token_count: str) -> tuple[Area, Area]:
    """The logits column over the vocabulary at the last prompt position, and its softmax."""
    t = stage("logits")
    v, d = cfg.n_vocab, cfg.n_embd
    s = book.add(Sheet("logits", col_widths={0: 9, 1: 14, 2: 14, 4: 11, 5: 14, 7: 12, 8: 14},
                       freeze=(HEADER_ROWS, 0)))
    title, equation = t["logits"].header()
    s.add(Texts(0, 0, [[title]], style="title"))
    s.add(Texts(1, 0, [[equation]], style="note"))
    s.add(Texts(2, 0, [["id", "logit", "prob", None, "dimension", "ln_f, last", None, "max logit", "sum exp"]],
                style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(v, dtype=float)[:, None]))
    s.add(Values(HEADER_ROWS, 4, np.arange(d, dtype=float)[:, None]))
    last = Area("logits", HEADER_ROWS, 5, d, 1)
    s.add(Formulas(last.row, last.col, d, 1, t["last"].fill(ln_f=ln_f.ref(), token_count=token_count,
                                                             dim=refs.cell(HEADER_ROWS, 4, abs_col=True)), "shared"))
    logits = Area("logits", HEADER_ROWS, 1, v, 1)
    s.add(Formulas(logits.row, logits.col, v, 1, t["logits"].fill(
        wte=weight_area("wte.weight", (v, d)).ref(), last=last.ref(other_sheet=False)), t["logits"].kind))
    mx, sm = refs.cell(HEADER_ROWS, 7, True, True), refs.cell(HEADER_ROWS, 8, True, True)
    s.add(Formulas(HEADER_ROWS, 7, 1, 1, t["max"].fill(logits=logits.ref(False)), "cell"))
    s.add(Formulas(HEADER_ROWS, 8, 1, 1, t["sum"].fill(logits=logits.ref(False), max=mx), t["sum"].kind))
    probs = Area("logits", HEADER_ROWS, 2, v, 1)
    s.add(Formulas(probs.row, probs.col, v, 1, t["prob"].fill(logit=logits.first(False), max=mx, sum=sm),
                   t["prob"].kind, style="percent"))
    return logits, probs


def predict_tab(book: Book, logits: Area, probs: Area, vocab: Area, k: int = 10) -> dict[str, Area]:
    t = stage("predict")
    s = book.add(Sheet("predict", col_widths={0: 7, 1: 12, 2: 9, 3: 20, 4: 12}, freeze=(HEADER_ROWS, 0)))
    title, equation = t["prob"].header()
    s.add(Texts(0, 0, [[title]], style="title"))
    s.add(Texts(1, 0, [[equation]], style="note"))
    s.add(Texts(2, 0, [["rank", "prob", "id", "token", "logit"]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(1, k + 1, dtype=float)[:, None]))
    col = {name: Area("predict", HEADER_ROWS, c, k, 1) for c, name in enumerate(["rank", "prob", "id", "token", "logit"])}
    fill = dict(probs=probs.ref(), rank=col["rank"].first(False), prob=col["prob"].first(False),
                id=col["id"].first(False), vocab=vocab.ref(), logits=logits.ref())
    for name in ("prob", "id", "token", "logit"):
        a = col[name]
        s.add(Formulas(a.row, a.col, k, 1, t[name].fill(**fill), t[name].kind,
                       style="percent" if name == "prob" else None))
    return col


def lens_tabs(book: Book, cfg: GPT2Config, layer: int, resid_post: Area, token_text: Area) -> Area:
    """ln_f and the unembedding applied to block `layer`'s output at every position: the tab h.N.lens holds
    the logits (vocabulary down the rows, positions across) under three summary rows (top id, prob)."""
    t = stage("logits")
    normed = layer_norm_tab(book, cfg, f"h.{layer}.lens_ln", "ln_f", resid_post, resid_post.sheet, token_text)
    tab, n, v = f"h.{layer}.lens", resid_post.nrows, cfg.n_vocab
    s = book.add(Sheet(tab, col_widths={0: 9, 1: 11}, freeze=(LENS_ROWS, FIRST_COL)))
    s.add(Texts(0, 0, [[t["lens"].header(tab=tab, layer=layer, ln_tab=normed.sheet)[0]]], style="title"))
    s.add(Texts(1, 0, [[t["lens"].header(tab=tab, layer=layer, ln_tab=normed.sheet)[1]]], style="note"))
    s.add(Texts(2, 0, [["position"], ["top id"], ["top prob"], ["id"]], style="bold"))
    s.add(Values(2, FIRST_COL, np.arange(n, dtype=float)[None, :], style="bold"))
    logits = Area(tab, LENS_ROWS, FIRST_COL, v, n)
    s.add(Values(LENS_ROWS, 0, np.arange(v, dtype=float)[:, None]))
    s.add(Formulas(logits.row, logits.col, v, n, t["lens"].fill(
        wte=weight_area("wte.weight", (v, cfg.n_embd)).ref(), x=normed.ref()), "array"))
    # one position's column of logits: rows fixed, the column moving with the formula (C$7:C$50263)
    col = f"{refs.cell(LENS_ROWS, FIRST_COL, abs_row=True)}:{refs.cell(LENS_ROWS + v - 1, FIRST_COL, abs_row=True)}"
    s.add(Formulas(3, FIRST_COL, 1, n, t["lens_id"].fill(col=col), t["lens_id"].kind))
    for j in range(n):  # a single-cell array formula per position, each over its own column
        s.add(Formulas(4, FIRST_COL + j, 1, 1, t["lens_prob"].fill(col=logits.cols(j, 1).ref(False)),
                       t["lens_prob"].kind, style="percent"))
    return Area(tab, 3, FIRST_COL, 2, n)  # row 0: top id, row 1: top prob


LENS_ROWS = 6  # the lens tabs' logits start on row 7, under the summary rows


def logit_lens_tab(book: Book, cfg: GPT2Config, lenses: list[Area], residuals: list[Area], vocab: Area) -> dict:
    """LogitLens: per block (rows) and position (columns) the lens's top token, its probability, its id; and
    the residual stream's norm. Heat maps on the probabilities and the norms."""
    t = stage("logits")
    n_layer, n = cfg.n_layer, lenses[0].ncols
    s = book.add(Sheet("LogitLens", col_widths={0: 16, 1: 3}, freeze=(0, FIRST_COL)))
    title, equation = t["lens_top"].header()
    s.add(Texts(0, 0, [[title]], style="title"))
    s.add(Texts(1, 0, [[equation]], style="note"))
    out, row = {}, 3
    for what in ("token", "prob", "id", "norm"):
        label = {"token": "top token", "prob": "its probability", "id": "top id",
                 "norm": "residual norm |h.N.resid_post|"}[what]
        s.add(Texts(row, 0, [[label]], style="bold"))
        s.add(Values(row, FIRST_COL, np.arange(n, dtype=float)[None, :], style="bold"))
        s.add(Texts(row + 1, 0, [[f"block {i}"] for i in range(n_layer)]))
        block = Area("LogitLens", row + 1, FIRST_COL, n_layer, n)
        for i in range(n_layer):
            r = block.row + i
            if what == "id":
                f = t["lens_top"].fill(cell=refs.qualified(lenses[i].sheet, refs.cell(lenses[i].row, FIRST_COL)))
            elif what == "prob":
                f = t["lens_top"].fill(cell=refs.qualified(lenses[i].sheet, refs.cell(lenses[i].row + 1, FIRST_COL)))
            elif what == "token":
                f = t["lens_token"].fill(vocab=vocab.ref(), id=refs.cell(r + 2 * (n_layer + 2), FIRST_COL))
            else:  # the residual stream's row of each position: a formula per cell
                for j in range(n):
                    s.add(Formulas(r, FIRST_COL + j, 1, 1, t["norm"].fill(row=residuals[i].rows(j, 1).ref()),
                                   t["norm"].kind))
                continue
            s.add(Formulas(r, FIRST_COL, 1, n, f, "shared", style="percent" if what == "prob" else None))
        if what in ("prob", "norm"):
            s.color_scales.append(ColorScale(block.ref(other_sheet=False).replace("$", "")))
        out[what] = block
        row += n_layer + 2
    return out


def _num(x: float) -> str:
    return repr(float(x)).replace("e-0", "E-").replace("e", "E")


def _row_relative(column: Area) -> str:
    """The first cell of a one-column area, row relative and column absolute: 'Tokens'!$B5."""
    return refs.qualified(column.sheet, refs.cell(column.row, column.col, abs_col=True))


def _col_relative(row: Area) -> str:
    """The first cell of a one-row area, column relative and row absolute: C$4."""
    return refs.cell(row.row, row.col, abs_row=True)


def _col_abs(column: Area) -> str:
    """A one-column area's first cell with the column fixed, for a formula filled across: $C5."""
    return refs.cell(column.row, column.col, abs_col=True)


def _row_abs(row: Area) -> str:
    """A one-row area's first cell with the row fixed, for a formula filled down: 'h.0.ln_1.weight'!A$1."""
    return refs.qualified(row.sheet, refs.cell(row.row, row.col, abs_row=True))


def position_stages(cfg: GPT2Config):
    """(tab, first data column, width, oracle name) of every tab whose rows are positions, in order."""
    d = cfg.n_embd
    yield "embed", FIRST_COL, d, "embed"
    for i in range(cfg.n_layer):
        h = f"h.{i}"
        yield f"{h}.resid_pre", FIRST_COL, d, f"{h}.resid_pre"
        yield f"{h}.ln_1", FIRST_COL + 3, d, f"{h}.ln_1"
        yield f"{h}.attn.c_attn", FIRST_COL, 3 * d, f"{h}.attn.c_attn"
        yield f"{h}.attn.z", FIRST_COL, d, f"{h}.attn.z"
        yield f"{h}.attn.c_proj", FIRST_COL, d, f"{h}.attn.c_proj"
        yield f"{h}.resid_mid", FIRST_COL, d, f"{h}.resid_mid"
        yield f"{h}.ln_2", FIRST_COL + 3, d, f"{h}.ln_2"
        yield f"{h}.mlp.c_fc", FIRST_COL, 4 * d, f"{h}.mlp.c_fc"
        yield f"{h}.mlp.gelu", FIRST_COL, 4 * d, f"{h}.mlp.gelu"
        yield f"{h}.mlp.c_proj", FIRST_COL, d, f"{h}.mlp.c_proj"
        yield f"{h}.resid_post", FIRST_COL, d, f"{h}.resid_post"
    yield "ln_f", FIRST_COL + 3, d, "ln_f"
