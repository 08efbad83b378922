"""The Attribution tab (templates/attribution.toml): direct logit attribution at the prompt's last position.

Two token cells (AttrTarget, AttrVersus; by default the top two predictions) pick a direction u in the residual
stream: ln_f's gain times wte[target] - wte[versus], centred. With ln_f's scale at the last position held
fixed, each part of the stream there (embeddings, every head, every attention bias, every MLP, every steering
term) contributes `part . u / scale` to logit[target] - logit[versus], and these shares plus ln_f's bias term
add up to it exactly: the tab shows the sum beside the difference.

Layout, top to bottom: the two tokens; the difference and the check; a blocks x heads table of head shares
with each block's attention bias, MLP and steering beside it (a heat map); the embeddings; the ten largest
shares with their chart; then every share in one list (what the top ten are read from) and, right of it, the
vectors at the last position, a row per dimension, that the shares are made of.
"""

import numpy as np

from ..sheet import refs
from ..sheet.book import DIVERGING, Book, Chart, ColorScale, Sheet, Texts, Values
from ..model.config import GPT2Config
from . import attention, layer_norm, mlp, names
from .grid import Area, place, titled, weight_area
from .templates import stage

TAB = "Attribution"
TOP = 10  # the largest shares listed and charted
TOKEN_ROWS = {"target": 3, "versus": 4}
DIFF_ROW = 6  # the logit difference; then the sum, the scale, the ln_f bias term
TABLE_ROW = 12  # the first block's row of the shares table (its header above)
EXTRA = ["attn bias", "MLP", "steering"]  # the table's columns after the heads


def table_area(cfg: GPT2Config) -> Area:
    """Blocks (rows) x heads, then the attention bias, MLP and steering of each block."""
    return Area(TAB, TABLE_ROW, 1, cfg.n_layer, cfg.n_head + len(EXTRA))


def embed_area(cfg: GPT2Config) -> Area:
    """The token embedding's share and the position embedding's, one row each."""
    return Area(TAB, TABLE_ROW + cfg.n_layer + 1, 1, 2, 1)


def compared_cells() -> tuple[Area, Area]:
    """The two tokens compared (what is typed in AttrTarget and AttrVersus, else the top two predictions)."""
    return tuple(Area(TAB, TOKEN_ROWS[what], 2, 1, 1) for what in ("target", "versus"))


def top_areas(cfg: GPT2Config) -> tuple[Area, Area]:
    """The largest shares, most first: their components' names and their shares."""
    row, k = embed_area(cfg).row + 3, min(TOP, len(components(cfg)))
    return Area(TAB, row, 0, k, 1), Area(TAB, row, 1, k, 1)


def components(cfg: GPT2Config) -> list[tuple[str, int, int]]:
    """Every part of the residual stream, named as --keep-only names them where it can: (name, row, col) of its
    share on the tab."""
    table, embed = table_area(cfg), embed_area(cfg)
    out = [("embed.token", embed.row, embed.col), ("embed.position", embed.row + 1, embed.col)]
    for layer in range(cfg.n_layer):
        r = table.row + layer
        out += [(f"head{layer}.{h}", r, table.col + h) for h in range(cfg.n_head)]
        out += [(f"attn{layer}.bias", r, table.col + cfg.n_head), (f"mlp{layer}", r, table.col + cfg.n_head + 1),
                (f"steer{layer}", r, table.col + cfg.n_head + 2)]
    return out


def attribution_tab(book: Book, cfg: GPT2Config, n_ctx: int, surgery, vocab: Area, ln_f: str) -> dict[str, str]:
    """The tab; returns its defined names (names.ATTR_*). ln_f: the final layer norm's tab."""
    t = stage("attribution")
    d, hw, n_layer = cfg.n_embd, cfg.head_width, cfg.n_layer
    s = book.add(Sheet(TAB, col_widths={0: 40, 1: 12, 2: 14}, freeze=(0, 1)))
    titled(s, t["attribution"])
    count = names.TOKEN_COUNT

    # the two tokens, their ids, and what the cells mean
    ids = {}
    s.add(Texts(TOKEN_ROWS["target"] - 1, 0, [["compare the logits of", "type a token", "token compared", "id", ""]],
                style="bold"))
    for k, (what, row) in enumerate(TOKEN_ROWS.items(), 1):
        s.add(Texts(row, 0, [[f"{what} (empty: the {'top prediction' if k == 1 else 'second most likely'})"]]))
        s.add(Texts(row, 1, [[None]], style="input"))  # AttrTarget, AttrVersus: typed text, e.g. " Tuesday"
        text = place(s, t["attribution"], Area(TAB, row, 2, 1, 1), typed=refs.cell(row, 1), tokens=names.TOP_TOKENS,
                     rank=k)
        ids[what] = place(s, t["token_id"], Area(TAB, row, 3, 1, 1), tokens=names.TOP_TOKENS,
                          top_ids=names.TOP_IDS, vocab=vocab.ref(), text=text.ref(False))
        place(s, t["token_note"], Area(TAB, row, 4, 1, 1), style="note", id=ids[what].ref(False))
    target, versus = ids["target"].ref(False), ids["versus"].ref(False)

    # the vectors at the last position: below the tables, a row per dimension
    table, embed = table_area(cfg), embed_area(cfg)
    top_row = top_areas(cfg)[0].row
    list_row = top_row + max(TOP, 16) + 3  # under the top ten and their chart
    work = _vectors(s, t, cfg, n_ctx, surgery, list_row, target, versus, ln_f)
    u, scale = work["u"], Area(TAB, DIFF_ROW + 2, 1, 1, 1).ref(False)

    # the difference, the sum of the shares, the check
    s.add(Texts(DIFF_ROW, 0, [["logit[target] - logit[versus] (logits tab)"],
                              ["the shares below + the ln_f bias term"], ["ln_f scale at the last position (held)"],
                              ["ln_f bias term"]]))
    diff = place(s, t["logit_diff"], Area(TAB, DIFF_ROW, 1, 1, 1), logits=names.LOGITS, target=target,
                 versus=versus)
    place(s, t["scale"], Area(TAB, DIFF_ROW + 2, 1, 1, 1),
          std=layer_norm.std_area(ln_f, n_ctx).ref(), token_count=count)
    bias_term = place(s, t["bias_term"], Area(TAB, DIFF_ROW + 3, 1, 1, 1),
                      b=weight_area("ln_f.bias", (d,)).ref(), delta=work["delta"])
    total = place(s, t["sum"], Area(TAB, DIFF_ROW + 1, 1, 1, 1), table=table.ref(False), embed=embed.ref(False),
                  bias_term=bias_term.ref(False))
    s.add(Texts(DIFF_ROW + 1, 2, [["sum - difference"]], style="bold"))
    place(s, t["check"], Area(TAB, DIFF_ROW + 1, 3, 1, 1), sum=total.ref(False), diff=diff.ref(False))

    # the shares: a row per block
    s.add(Texts(table.row - 2, 0, [["direct contribution to the logit difference (blue: toward versus, red: "
                                    "toward target)"]], style="bold"))
    s.add(Texts(table.row - 1, 0, [["block"] + [f"head {h}" for h in range(cfg.n_head)] + EXTRA], style="bold"))
    s.add(Texts(table.row, 0, [[f"block {i}"] for i in range(n_layer)]))
    for layer in range(n_layer):
        r = table.row + layer
        z, wou = work[f"z{layer}"], work[f"w_o_u{layer}"]
        for h in range(cfg.n_head):
            place(s, t["head"], Area(TAB, r, table.col + h, 1, 1), gate=surgery.attn_gate(layer),
                  z=z.rows(h * hw, hw).ref(False), w_o_u=wou.rows(h * hw, hw).ref(False), scale=scale)
        place(s, t["attn_bias"], Area(TAB, r, table.col + cfg.n_head, 1, 1), gate=surgery.attn_gate(layer),
              b=weight_area(f"h.{layer}.attn.c_proj.bias", (d,)).ref(), u=u, scale=scale)
        place(s, t["vector"], Area(TAB, r, table.col + cfg.n_head + 1, 1, 1), x=work[f"mlp{layer}"].ref(False),
              u=u, scale=scale)
        place(s, t["steer"], Area(TAB, r, table.col + cfg.n_head + 2, 1, 1), coef=surgery.steer(layer, "coef"),
              first=surgery.steer(layer, "from"), last=surgery.steer(layer, "to"), token_count=count,
              vec=names.steer(layer), u=u, scale=scale)
    s.color_scales.append(ColorScale(table.ref(other_sheet=False).replace("$", ""), **DIVERGING))
    s.add(Texts(embed.row - 1, 0, [["embeddings at the last position"]], style="bold"))
    s.add(Texts(embed.row, 0, [["token embedding"], ["position embedding"]]))
    for i, what in enumerate(("token", "position")):
        place(s, t["vector"], embed.rows(i, 1), x=work[what].ref(False), u=u, scale=scale)

    _top(s, t, cfg, top_row, list_row)
    for col in range(1, table.col + table.ncols):
        s.col_widths.setdefault(col, 10)
    return {names.ATTR_TARGET: Area(TAB, TOKEN_ROWS["target"], 1, 1, 1).ref(),
            names.ATTR_VERSUS: Area(TAB, TOKEN_ROWS["versus"], 1, 1, 1).ref(),
            names.ATTR_TARGET_ID: ids["target"].ref(), names.ATTR_VERSUS_ID: ids["versus"].ref(),
            names.ATTR_HEADS: table.cols(0, cfg.n_head).ref(), names.ATTR_MLPS: table.cols(cfg.n_head + 1, 1).ref(),
            names.ATTR_EMBED: embed.ref(), names.ATTR_SUM: total.ref(), names.ATTR_LOGIT_DIFF: diff.ref()}


def _vectors(s: Sheet, t: dict, cfg: GPT2Config, n_ctx: int, surgery, row: int, target: str, versus: str,
             ln_f: str) -> dict:
    """Columns from F on `row` (a header above): the dimension, wte[target] - wte[versus], times ln_f's gain, u
    (centred), the token and position embeddings at the last position, and per block its heads' weighted values
    there, attn.c_proj.weight times u, and its MLP's output there. Returns the areas (and u's reference)."""
    d, col = cfg.n_embd, 5
    count = names.TOKEN_COUNT
    heads = ["dimension", "wte[target] - wte[versus]", "x ln_f gain", "u (centred)", "token embedding",
             "position embedding"]
    for layer in range(cfg.n_layer):
        heads += [f"h.{layer}.attn.z, last position", f"h.{layer} attn.c_proj.weight x u",
                  f"h.{layer}.mlp.c_proj, last position"]
    s.add(Texts(row - 2, col, [["the vectors at the last position, a row per dimension: the shares are made of "
                                "these"]], style="bold"))
    s.add(Texts(row - 1, col, [heads], style="bold"))
    s.add(Values(row, col, np.arange(d, dtype=float)[:, None]))
    for j in range(1, len(heads)):
        s.col_widths[col + j] = 14
    area = {name: Area(TAB, row, col + j, d, 1) for j, name in enumerate(["dim", "delta", "direction", "u", "token",
                                                                          "position"])}
    dim = refs.cell(row, col, abs_col=True)
    wte = weight_area("wte.weight", (cfg.n_vocab, d)).ref()
    place(s, t["delta"], area["delta"], wte=wte, target=target, versus=versus, dim=dim)
    place(s, t["direction"], area["direction"], gain=weight_area("ln_f.weight", (d,)).ref(),
          delta=area["delta"].first(False), dim=dim)
    place(s, t["centred"], area["u"], direction=area["direction"].first(False),
          direction_all=area["direction"].ref(False))
    place(s, t["token_vector"], area["token"], wte=wte, ids=names.TOKEN_IDS, token_count=count, dim=dim)
    place(s, t["last"], area["position"], rows=weight_area("wpe.weight", (cfg.n_ctx, d)).ref(), token_count=count,
          dim=dim)
    out = {"delta": area["delta"].ref(False), "u": area["u"].ref(False), "token": area["token"],
           "position": area["position"]}
    for layer in range(cfg.n_layer):
        c = col + 6 + 3 * layer
        z = attention.out_area(f"h.{layer}.attn.z", cfg, n_ctx)
        out[f"z{layer}"] = place(s, t["last"], Area(TAB, row, c, d, 1), rows=z.ref(), token_count=count, dim=dim)
        out[f"w_o_u{layer}"] = place(s, t["w_o_u"], Area(TAB, row, c + 1, d, 1), u=out["u"],
                                     w=weight_area(f"h.{layer}.attn.c_proj.weight", (d, d)).ref())
        m = mlp.out_area(f"h.{layer}.mlp.c_proj", n_ctx, d)
        out[f"mlp{layer}"] = place(s, t["last"], Area(TAB, row, c + 2, d, 1), rows=m.ref(), token_count=count,
                                   dim=dim)
    return out


def _top(s: Sheet, t: dict, cfg: GPT2Config, top_row: int, list_row: int) -> None:
    """Every share in one list (component, share, magnitude, rank), and the TOP largest by magnitude above it,
    with a bar chart beside them."""
    parts = components(cfg)
    n = len(parts)
    s.add(Texts(list_row - 2, 0, [["every part's share (the top ten are read from here)"]], style="bold"))
    s.add(Texts(list_row - 1, 0, [["component", "share", "magnitude", "rank"]], style="bold"))
    s.add(Texts(list_row, 0, [[name] for name, _, _ in parts]))
    for i, (_, r, c) in enumerate(parts):
        place(s, t["share"], Area(TAB, list_row + i, 1, 1, 1), cell=refs.cell(r, c))
    share, magnitude, rank = (Area(TAB, list_row, c, n, 1) for c in (1, 2, 3))
    place(s, t["magnitude"], magnitude, share=share.first(False))
    place(s, t["rank"], rank, all=magnitude.ref(False), magnitude=magnitude.first(False),
          above=f"{refs.cell(list_row, 2, True, True)}:{magnitude.first(False)}")
    k = min(TOP, n)
    s.add(Texts(top_row - 1, 0, [[f"the {k} largest shares", "share", "row in the list", None, "rank"]],
                style="bold"))
    s.add(Values(top_row, 4, np.arange(1, k + 1, dtype=float)[:, None]))  # the ranks, beside the table
    rows = place(s, t["top_row"], Area(TAB, top_row, 2, k, 1), k=refs.cell(top_row, 4, abs_col=True),
                 ranks=rank.ref(False))
    labels = place(s, t["top"], Area(TAB, top_row, 0, k, 1), column=Area(TAB, list_row, 0, n, 1).ref(False),
                   row=rows.first(False))
    values = place(s, t["top"], Area(TAB, top_row, 1, k, 1), column=share.ref(False), row=rows.first(False))
    s.charts.append(Chart("bar", f"The {k} largest direct contributions to logit[target] - logit[versus]", "share",
                          labels.ref(), values.ref(), row=top_row - 1, col=6, x_title="component",
                          y_title="share of the logit difference"))
