"""The logit lens (templates/lens.toml): per block, ln_f and the unembedding applied to its output at every
position (tabs h.N.lens_ln, h.N.lens), and the LogitLens tab that sums them up: per block and position the
top token, its probability, its id, and the residual stream's norm; per block at the prompt's last position,
the probability of the final prediction and the residual norm, with a chart of each."""

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, Chart, ColorScale, Sheet, Texts, Values
from ..model.config import GPT2Config
from . import names
from .grid import FIRST_COL, Area, grey_columns, place, titled, token_headers, weight_area
from .layer_norm import layer_norm_tab
from .templates import stage

# a probability axis: percentages, or (random weights: every token about 2e-5) scientific notation
PROBABILITY_FORMAT = "[<0.001]0.0E+00;0.0%"
LENS_ROWS = 7  # the lens tabs' logits start on row 8, under the summary rows
TAB = "LogitLens"
SECTIONS = {"token": "top token", "prob": "its probability", "id": "top id",
            "norm": "residual norm |h.N.resid_post|"}  # the LogitLens tab's tables, top to bottom


def summary_area(layer: int, n_ctx: int) -> Area:
    """The lens tab's summary rows, one column per position: top id, its probability, and the probability of
    the model's final prediction (NextTokenId)."""
    return Area(f"h.{layer}.lens", 3, FIRST_COL, 3, n_ctx)


def last_position_area(n_layer: int, n_ctx: int) -> Area:
    """The LogitLens table at the prompt's last position, at the top left: a row per block, its label, p(next
    token), the residual norm; its two charts beside it, within the first screen."""
    return Area(TAB, 3, 0, n_layer, 3)


CHART_ROWS = 16  # the rows a chart takes (charts.HEIGHT_PX at 20 px a row)


def section_area(what: str, n_layer: int, n_ctx: int) -> Area:
    """One table of the LogitLens tab (a key of SECTIONS), below the last-position table and its charts: a row
    per block, a column per position (numbered, and the token above each column)."""
    first = 3 + max(n_layer, CHART_ROWS) + 2
    row = first + list(SECTIONS).index(what) * (n_layer + 3)
    return Area(TAB, row + 2, FIRST_COL, n_layer, n_ctx)


def lens_tabs(book: Book, cfg: GPT2Config, layer: int, resid_post: Area, token_text: Area) -> Area:
    """ln_f and the unembedding applied to block `layer`'s output at every position: the tab h.N.lens holds
    the logits (vocabulary down the rows, positions across) under the summary rows (top id, prob)."""
    t = stage("lens")
    normed = layer_norm_tab(book, cfg, f"h.{layer}.lens_ln", "ln_f", resid_post, token_text)
    tab, n, v = f"h.{layer}.lens", resid_post.nrows, cfg.n_vocab
    s = book.add(Sheet(tab, col_widths={0: 9, 1: 11}, freeze=(LENS_ROWS, FIRST_COL)))
    titled(s, t["lens"], tab=tab, layer=layer, ln_tab=normed.sheet)
    s.add(Texts(2, 0, [["position"], ["top id"], ["top prob"], ["p(next token)"], ["id"]], style="bold"))
    s.add(Values(2, FIRST_COL, np.arange(n, dtype=float)[None, :], style="bold"))
    logits = Area(tab, LENS_ROWS, FIRST_COL, v, n)
    s.add(Values(LENS_ROWS, 0, np.arange(v, dtype=float)[:, None]))
    place(s, t["lens"], logits, wte=weight_area("wte.weight", (v, cfg.n_embd)).ref(), x=normed.ref())
    summary = summary_area(layer, n)
    # one position's column of logits: rows fixed, the column moving with the formula (C$7:C$50263)
    col = f"{refs.cell(LENS_ROWS, FIRST_COL, abs_row=True)}:{refs.cell(LENS_ROWS + v - 1, FIRST_COL, abs_row=True)}"
    place(s, t["lens_id"], summary.rows(0, 1), col=col)
    for j in range(n):  # a single-cell array formula per position, each over its own column
        place(s, t["lens_prob"], summary.rows(1, 1).cols(j, 1), style="percent", col=logits.cols(j, 1).ref(False))
    place(s, t["lens_next"], summary.rows(2, 1), style="percent", col=col, next_id=names.NEXT_TOKEN_ID,
          top_prob=summary.rows(1, 1).first(False))
    return summary


def logit_lens_tab(book: Book, cfg: GPT2Config, lenses: list[Area], residuals: list[Area], vocab: Area,
                   token_text: Area) -> dict:
    """LogitLens: at the top, per block at the prompt's last position, the final prediction's probability and
    the residual norm with a chart of each; below, per block (rows) and position (columns) the lens's top
    token, its probability, its id, and the residual stream's norm. Heat maps on the probabilities and the
    norms; the positions past the prompt greyed."""
    t = stage("lens")
    n_layer, n = cfg.n_layer, lenses[0].ncols
    s = book.add(Sheet(TAB, col_widths={0: 16, 1: 13, 2: 13}, freeze=(0, 1)))
    titled(s, t["lens_top"])
    out = {what: section_area(what, n_layer, n) for what in SECTIONS}
    for what, label in SECTIONS.items():
        block = out[what]
        s.add(Texts(block.row - 2, 0, [[label], ["position / token"]], style="bold"))
        s.add(Values(block.row - 2, FIRST_COL, np.arange(n, dtype=float)[None, :], style="bold"))
        token_headers(s, block.row - 1, FIRST_COL, n, token_text, block.row - 2)
        s.add(Texts(block.row, 0, [[f"block {i}"] for i in range(n_layer)]))
        for i in range(n_layer):
            row = block.rows(i, 1)
            if what == "id":
                place(s, t["lens_top"], row, cell=lenses[i].rows(0, 1).first())
            elif what == "prob":
                place(s, t["lens_top"], row, style="percent", cell=lenses[i].rows(1, 1).first())
            elif what == "token":
                place(s, t["lens_token"], row, vocab=vocab.ref(), id=out["id"].rows(i, 1).first(False))
            else:  # the residual stream's row of each position: a formula per cell
                for j in range(n):
                    place(s, t["norm"], row.cols(j, 1), row=residuals[i].rows(j, 1).ref())
        grey_columns(s, block)
        if what in ("prob", "norm"):
            s.color_scales.append(ColorScale(block.ref(other_sheet=False).replace("$", "")))
    for col in range(FIRST_COL, FIRST_COL + n):
        s.col_widths.setdefault(col, 11)
    _last_position(s, t, lenses, out["norm"], n_layer, n)
    return out


def _last_position(s: Sheet, t: dict, lenses: list[Area], norms: Area, n_layer: int, n: int) -> None:
    """Per block at the prompt's last position (TokenCount): the final prediction's probability and the
    residual norm, and a line chart of each."""
    table = last_position_area(n_layer, n)
    s.add(Texts(table.row - 1, table.col, [["at the last position", "p(next token)", "residual norm"]], style="bold"))
    s.add(Texts(table.row, table.col, [[f"block {i}"] for i in range(n_layer)]))
    for i in range(n_layer):
        place(s, t["last"], table.rows(i, 1).cols(1, 1), style="percent", row=lenses[i].rows(2, 1).ref(),
              token_count=names.TOKEN_COUNT)
        place(s, t["last"], table.rows(i, 1).cols(2, 1), row=norms.rows(i, 1).ref(), token_count=names.TOKEN_COUNT)
    labels = table.cols(0, 1).ref()
    for k, (template, col, axis) in enumerate(((t["chart_next"], 1, "probability"), (t["chart_norm"], 2, "norm"))):
        title, series = template.header()
        s.charts.append(Chart("line", title, series, labels, table.cols(col, 1).ref(), row=table.row - 1,
                              col=table.col + 4 + 8 * k, x_title="block", y_title=axis,
                              value_format=PROBABILITY_FORMAT if col == 1 else None))
