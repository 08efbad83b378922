"""The logits tab (templates/logits.toml): ln_f's row at the last prompt position times the unembedding, over
the whole vocabulary, and the softmax."""

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, Sheet, Texts, Values
from ..model.config import GPT2Config
from .grid import HEADER_ROWS, Area, place, titled, weight_area
from .templates import stage

TAB = "logits"


def logits_tab(book: Book, cfg: GPT2Config, ln_f: Area, token_count: str) -> tuple[Area, Area]:
    """The logits column over the vocabulary at the last prompt position, and its softmax."""
    t = stage("logits")
    v, d = cfg.n_vocab, cfg.n_embd
    s = book.add(Sheet(TAB, col_widths={0: 9, 1: 14, 2: 14, 4: 11, 5: 14, 7: 12, 8: 14}, freeze=(HEADER_ROWS, 0)))
    titled(s, t["logits"])
    s.add(Texts(2, 0, [["id", "logit", "prob", None, "dimension", "ln_f, last", None, "max logit", "sum exp"]],
                style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(v, dtype=float)[:, None]))
    s.add(Values(HEADER_ROWS, 4, np.arange(d, dtype=float)[:, None]))
    last = place(s, t["last"], Area(TAB, HEADER_ROWS, 5, d, 1), ln_f=ln_f.ref(), token_count=token_count,
                 dim=refs.cell(HEADER_ROWS, 4, abs_col=True))
    logits = place(s, t["logits"], Area(TAB, HEADER_ROWS, 1, v, 1), wte=weight_area("wte.weight", (v, d)).ref(),
                   last=last.ref(other_sheet=False))
    mx, sm = Area(TAB, HEADER_ROWS, 7, 1, 1), Area(TAB, HEADER_ROWS, 8, 1, 1)
    place(s, t["max"], mx, logits=logits.ref(False))
    place(s, t["sum"], sm, logits=logits.ref(False), max=mx.ref(False))
    probs = place(s, t["prob"], Area(TAB, HEADER_ROWS, 2, v, 1), style="percent", logit=logits.first(False),
                  max=mx.ref(False), sum=sm.ref(False))
    return logits, probs
