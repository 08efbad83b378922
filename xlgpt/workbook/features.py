"""A sparse autoencoder on one residual stream (templates/features.toml): the tabs sae.in (the stream minus
b_dec), sae.pre and sae.acts (features down the rows, positions across), and the Features tab: per position
the K most active features, their activations and descriptions, and one watched feature's activation at
every position. The SAE's tensors go in with the weights: W_enc.T and b_enc.T (features down the rows; an SAE
has more features than a sheet has columns) and b_dec.
"""

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, ColorScale, Sheet, Texts, Values
from ..model.config import GPT2Config
from . import names, residual
from .grid import (FIRST_COL, HEADER_ROWS, Area, GridTab, col_abs, grey_columns, place, row_abs, titled,
                   token_headers, weight_area)
from .templates import stage

TAB = "Features"
INPUT, PRE, ACTS, LABELS = "sae.in", "sae.pre", "sae.acts", "sae.labels"
LABELS_HELP = ("descriptions: pass --sae-labels FILE (Neuronpedia's export of this SAE's explanations, JSON or "
               "CSV of index -> description; neuronpedia.org lists them per SAE)")


def sae_tensors(sae) -> dict[str, np.ndarray]:
    """The SAE's weight tabs: W_enc and b_enc with features down the rows, b_dec a row."""
    return {"W_enc.T": np.ascontiguousarray(sae.W_enc.T), "b_enc.T": sae.b_enc[:, None], "b_dec": sae.b_dec}


def acts_area(d_sae: int, n_ctx: int) -> Area:
    """sae.acts's data: a row per feature, a column per position."""
    return Area(ACTS, HEADER_ROWS, FIRST_COL, d_sae, n_ctx)


def features_tabs(book: Book, cfg: GPT2Config, n_ctx: int, sae, token_text: Area, top: int,
                  watch: int | None = None) -> dict[str, str]:
    """The SAE's tabs and the Features tab; returns their defined names. watch: the feature the Features tab
    follows at every position to begin with (the steered one), else the top feature at the last position."""
    t = stage("features")
    d, f = cfg.n_embd, sae.d_sae
    x = residual.out_area(sae.tab, n_ctx, d)
    g = GridTab(book, INPUT, n_ctx, token_text)
    which = "input" if sae.apply_b_dec else "input_plain"
    g.header(t[which], source=sae.tab)
    g.column_labels(FIRST_COL, d, [(0, "dimension")])
    fill = dict(x=x.first()) | (dict(b_dec=row_abs(weight_area("b_dec", (d,)))) if sae.apply_b_dec else {})
    sae_in = g.formulas(t[which], Area(INPUT, HEADER_ROWS, FIRST_COL, n_ctx, d), **fill)

    pre = _by_feature(book, t["pre"], PRE, f, n_ctx, token_text)
    place(book.sheet(PRE), t["pre"], pre, w=weight_area("W_enc.T", (f, d)).ref(), x=sae_in.ref(),
          b=weight_area("b_enc.T", (f, 1)).ref())
    acts = _by_feature(book, t["acts"], ACTS, f, n_ctx, token_text)
    place(book.sheet(ACTS), t["acts"], acts, pre=pre.first())
    labels = _labels(book, sae.labels, f) if sae.labels else None
    out = _features(book, t, sae, n_ctx, top, acts, token_text, labels, watch)
    book.sheets.insert(book.sheets.index(book.sheet(INPUT)), book.sheets.pop())  # Features before its workings
    return out


def _by_feature(book: Book, template, tab: str, d_sae: int, n_ctx: int, token_text: Area) -> Area:
    """A tab with a row per feature (from row 5, its index in column A) and a column per position (from C),
    the positions and their tokens on rows 3 and 4."""
    s = book.add(Sheet(tab, col_widths={0: 9, 1: 4}, freeze=(HEADER_ROWS, FIRST_COL)))
    titled(s, template)
    s.add(Texts(2, 0, [["feature", None]], style="bold"))
    s.add(Values(2, FIRST_COL, np.arange(n_ctx, dtype=float)[None, :], style="bold"))
    s.add(Texts(3, 0, [["token"]], style="bold"))
    token_headers(s, 3, FIRST_COL, n_ctx, token_text, 2)
    s.add(Values(HEADER_ROWS, 0, np.arange(d_sae, dtype=float)[:, None]))
    grey_columns(s, Area(tab, 2, FIRST_COL, d_sae + 2, n_ctx))
    return Area(tab, HEADER_ROWS, FIRST_COL, d_sae, n_ctx)


def _labels(book: Book, labels: dict[int, str], d_sae: int) -> Area:
    """The descriptions tab: a row per feature."""
    s = book.add(Sheet(LABELS, col_widths={0: 9, 1: 80}))
    s.add(Texts(0, 0, [["feature", "description (--sae-labels)"]], style="bold"))
    s.add(Values(1, 0, np.arange(d_sae, dtype=float)[:, None]))
    s.add(Texts(1, 1, [[labels.get(i, "")] for i in range(d_sae)]))
    return Area(LABELS, 1, 1, d_sae, 1)


def _features(book: Book, t: dict, sae, n_ctx: int, k: int, acts: Area, token_text: Area, labels: Area | None,
              watch: int | None) -> dict[str, str]:
    g = GridTab(book, TAB, n_ctx, token_text)
    s = g.sheet
    g.header(t["features"], source=sae.tab, k=k,
             labels="their descriptions" if labels is not None else "descriptions with --sae-labels")
    ids, values = g.area(FIRST_COL, k), g.area(FIRST_COL + k, k)
    groups = [(0, "most active features (id)"), (k, "their activations")]
    for start in (0, k) + ((2 * k,) if labels is not None else ()):
        s.add(Values(3, FIRST_COL + start, np.arange(1, k + 1, dtype=float)[None, :], style="bold"))
    if labels is not None:
        groups.append((2 * k, "their descriptions"))
    for offset, label in groups:
        s.add(Texts(2, FIRST_COL + offset, [[label]], style="bold"))
    for p in range(n_ctx):
        col = acts.cols(p, 1).ref()
        place(s, t["features"], values.rows(p, 1), col=col, k=refs.cell(3, values.col, abs_row=True))
        place(s, t["feature_id"], ids.rows(p, 1), col=col, act=refs.cell(values.row + p, values.col))
        if labels is not None:
            place(s, t["description"], Area(TAB, values.row + p, FIRST_COL + 2 * k, 1, k), labels=labels.ref(),
                  id=refs.cell(ids.row + p, ids.col))
    s.color_scales.append(ColorScale(values.ref(other_sheet=False).replace("$", "")))
    right = FIRST_COL + (3 if labels is not None else 2) * k + 1
    if labels is None:
        s.add(Texts(1, right, [[LABELS_HELP]], style="note"))
    # one feature at every position: the steered one, or any id typed over it
    s.add(Texts(2, right, [["watch feature (type an id; empty: the top one at the last position)", "watched",
                            "SAE reads block", "stream"]], style="bold"))
    typed = Area(TAB, 3, right, 1, 1)
    s.add(Texts(typed.row, typed.col, [[None if watch is None else float(watch)]], style="input"))
    watched = place(s, t["watched"], Area(TAB, 3, right + 1, 1, 1), typed=typed.ref(False), ids=ids.ref(),
                    token_count=names.TOKEN_COUNT)
    layer = Area(TAB, 3, right + 2, 1, 1)
    s.add(Values(layer.row, layer.col, np.array([[float(sae.layer)]])))
    s.add(Texts(3, right + 3, [[sae.tab]]))
    watching = place(s, t["watch"], Area(TAB, HEADER_ROWS, right, n_ctx, 1), acts=acts.ref(),
                     id=watched.ref(False), pos=col_abs(Area(TAB, HEADER_ROWS, 0, n_ctx, 1)))
    s.color_scales.append(ColorScale(watching.ref(other_sheet=False).replace("$", "")))
    s.col_widths.update({right: 16, right + 1: 9, right + 2: 9, right + 3: 14})
    return {names.FEATURE_IDS: ids.ref(), names.FEATURE_ACTS: values.ref(), names.FEATURE_LAYER: layer.ref(),
            names.FEATURE_WATCH: typed.ref(), names.FEATURE_WATCHED: watching.ref(),
            names.SAE_ACTIVATIONS: acts.ref()}
