"""The Guide tab (templates/guide.toml): the prompt walked through the model in sentences whose numbers are
formulas, each step linked to the tab that computes it: the tokens, the first token's embedding, what a few
heads look at from the last position, the logit lens's guess after a few blocks (when the lens is built), the
prediction, and the parts that push it hardest (the Attribution tab). It sits right after Start."""

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, Sheet, Texts, Values
from ..model.config import GPT2Config
from . import attention, attribution, embed, lens, names, predict, start
from .grid import Area, place, titled
from .templates import stage

TAB = "Guide"
DATA_COL = 1  # the numbers a sentence is made of sit under it, from column B


def chosen_heads(cfg: GPT2Config) -> list[tuple[int, int]]:
    """A few heads to follow: the first block's first head, one in the middle, the last block's first head."""
    out = []
    for head in ((0, 0), (cfg.n_layer // 2, min(1, cfg.n_head - 1)), (cfg.n_layer - 1, 0)):
        if head not in out:
            out.append(head)
    return out


def lens_blocks(cfg: GPT2Config) -> list[int]:
    """The blocks after which the Guide reads the logit lens: a third and two thirds of the way."""
    return sorted({max(0, cfg.n_layer // 3 - 1), max(0, 2 * cfg.n_layer // 3 - 1)})


class _Writer:
    """The Guide's rows, top to bottom: a heading with a link, a sentence, the numbers, what to look for."""

    def __init__(self, sheet: Sheet):
        self.s, self.row = sheet, 3

    def heading(self, text: str, tab: str) -> None:
        self.s.add(Texts(self.row, 0, [[text]], style="bold"))
        self.s.links.append((self.row, DATA_COL, refs.qualified(tab, "A1"), f"→ tab {tab}"))
        self.row += 1

    def sentence(self, template, **values) -> Area:
        area = place(self.s, template, Area(TAB, self.row, 0, 1, 1), **values)
        self.row += 1
        return area

    def note(self, text: str) -> None:
        self.s.add(Texts(self.row, 0, [[text]], style="note"))
        self.row += 2


def guide_tab(book: Book, cfg: GPT2Config, n_ctx: int, tokens, with_lens: bool) -> None:
    """The tab, placed right after Start. Each number a sentence quotes sits under it, labelled in column A."""
    t = stage("guide")
    s = Sheet(TAB, col_widths={0: 26, **{c: 11 for c in range(1, n_ctx + 2)}})
    book.sheets.insert(1, s)
    titled(s, t["guide"])
    w = _Writer(s)
    count, text, ids = names.TOKEN_COUNT, tokens.text.ref(), tokens.ids.ref()

    # 1. tokens
    w.heading("1. Tokens", "Tokens")
    w.sentence(t["tokens"], prompt=names.PROMPT, count=count)
    positions = Area(TAB, w.row, DATA_COL, 1, n_ctx)
    s.add(Texts(w.row, 0, [["position"]]))
    s.add(Values(w.row, DATA_COL, np.arange(n_ctx, dtype=float)[None, :]))
    j = refs.cell(positions.row, DATA_COL, abs_row=True)
    s.add(Texts(w.row + 1, 0, [["token"], ["id"]]))
    place(s, t["token_at"], positions.rows(1, 1), j=j, count=count, column=text)
    place(s, t["token_at"], positions.rows(2, 1), j=j, count=count, column=ids)
    w.row += 3
    w.note("Look for: where a word becomes several tokens, and the padding (<|endoftext|>) after the prompt.")

    # 2. the embedding
    w.heading("2. Embeddings", embed.TAB)
    first = embed.out_area(cfg, n_ctx).rows(0, 1)
    numbers = Area(TAB, w.row + 1, DATA_COL, 1, 3)
    w.sentence(t["embedding"], width=cfg.n_embd, first=f"INDEX({text},1)", x1=numbers.cell(0, 0),
               x2=numbers.cell(0, 1), x3=numbers.cell(0, 2))
    s.add(Texts(w.row, 0, [["first token's numbers"]]))
    for k in range(3):
        place(s, t["number"], numbers.cols(k, 1), ref=first.cols(k, 1).cell())
    s.links.append((w.row, DATA_COL + 4, first.cell(), "→ its row in embed"))
    w.row += 1
    w.note(f"Look for: row 5 of embed is this token; each of its {cfg.n_embd} columns is one dimension.")

    # 3. attention, a few heads
    w.heading("3. Attention: what the last token looks at", f"h.{chosen_heads(cfg)[0][0]}.attn.probs")
    for layer, head in chosen_heads(cfg):
        tab = f"h.{layer}.attn.probs"
        pattern = attention.head_area(tab, head, n_ctx)
        row = Area(TAB, w.row + 1, DATA_COL, 1, n_ctx)
        mx, pos = Area(TAB, w.row + 2, DATA_COL, 1, 1), Area(TAB, w.row + 2, DATA_COL + 2, 1, 1)
        to = Area(TAB, w.row + 2, DATA_COL + 4, 1, 1)
        w.sentence(t["head"], layer=layer, head=head, last=f"INDEX({text},{count})", to=to.ref(False),
                   pos=pos.ref(False), weight=mx.ref(False))
        s.add(Texts(w.row, 0, [[f"block {layer} head {head}, last row"]]))
        place(s, t["last_row"], row, j=j, count=count, pattern=pattern.ref())
        s.add(Texts(w.row + 1, 0, [["most attention"]]))
        s.add(Texts(w.row + 1, DATA_COL + 1, [["position"]]))
        s.add(Texts(w.row + 1, DATA_COL + 3, [["token"]]))
        place(s, t["max"], mx, row=row.ref(False))
        place(s, t["argmax"], pos, max=mx.ref(False), row=row.ref(False))
        place(s, t["token_of"], to, column=text, pos=pos.ref(False))
        s.links.append((w.row + 1, DATA_COL + 6, refs.qualified(tab, refs.cell(pattern.row, pattern.col)),
                        f"→ {tab}, head {head}"))
        w.row += 2
    w.note("Look for: heads that look at the previous token, at the first token (a resting place), or at the "
           "word the prediction depends on. The heat maps of h.N.attn.probs show every head at every position.")

    # 4. the logit lens
    if with_lens:
        w.heading("4. The logit lens: what the model would say if it stopped early", lens.TAB)
        for layer in lens_blocks(cfg):
            token = Area(TAB, w.row + 1, DATA_COL, 1, 1)
            prob = Area(TAB, w.row + 1, DATA_COL + 2, 1, 1)
            w.sentence(t["lens"], layer=layer, token=token.ref(False), prob=prob.ref(False))
            s.add(Texts(w.row, 0, [[f"after block {layer}"]]))
            s.add(Texts(w.row, DATA_COL + 1, [["prob"]]))
            place(s, t["lens_at"], token, row=lens.section_area("token", cfg.n_layer, n_ctx).rows(layer, 1).ref(),
                  count=count)
            place(s, t["lens_at"], prob, row=lens.section_area("prob", cfg.n_layer, n_ctx).rows(layer, 1).ref(),
                  count=count)
            w.row += 1
        w.note("Look for: the block where the final answer first appears in LogitLens's last column.")

    # 5. the prediction
    w.heading("5. The prediction", predict.TAB)
    w.sentence(t["prediction"], token=names.NEXT_TOKEN, prob=f"INDEX({names.TOP_PROBS},1)",
               second=f"INDEX({names.TOP_TOKENS},2)", prob2=f"INDEX({names.TOP_PROBS},2)")
    w.note("Look for: how sure the model is (the top probability), and the runners-up on Start's chart.")

    # 6. why: the direct contributions
    w.heading("6. Why this token: the parts that push it", attribution.TAB)
    labels, shares = attribution.top_areas(cfg)
    target, versus = attribution.compared_cells()
    w.sentence(t["attribution"], target=target.ref(), versus=versus.ref(),
               c1=labels.cell(0), s1=shares.cell(0), c2=labels.cell(1), s2=shares.cell(1), c3=labels.cell(2),
               s3=shares.cell(2), diff=names.ATTR_LOGIT_DIFF)
    w.note("Look for: the heat map of heads on Attribution (red pushes toward the prediction), then test a "
           "circuit with xlgpt patch and xlgpt sweep --keep-only.")
    s.links.append((2, 0, start.PROMPT.cell(), "→ type a new prompt on Start"))
