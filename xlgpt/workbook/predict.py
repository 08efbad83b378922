"""The predict tab (templates/predict.toml): the top k tokens, their probabilities, ids, text and logits."""

import numpy as np

from ..sheet.book import Book, Sheet, Texts, Values
from .grid import HEADER_ROWS, Area, place, titled
from .templates import stage

TAB = "predict"
TOP_K = 10  # the top tokens the predict tab lists
COLUMNS = ["rank", "prob", "id", "token", "logit"]


def columns(k: int) -> dict[str, Area]:
    """Each column of the top-k table, by name."""
    return {name: Area(TAB, HEADER_ROWS, c, k, 1) for c, name in enumerate(COLUMNS)}


def predict_tab(book: Book, logits: Area, probs: Area, vocab: Area, k: int) -> dict[str, Area]:
    t = stage("predict")
    s = book.add(Sheet(TAB, col_widths={0: 7, 1: 12, 2: 9, 3: 20, 4: 12}, freeze=(HEADER_ROWS, 0)))
    titled(s, t["prob"])
    s.add(Texts(2, 0, [COLUMNS], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(1, k + 1, dtype=float)[:, None]))
    col = columns(k)
    fill = dict(probs=probs.ref(), rank=col["rank"].first(False), prob=col["prob"].first(False),
                id=col["id"].first(False), vocab=vocab.ref(), logits=logits.ref())
    for name in COLUMNS[1:]:
        place(s, t[name], col[name], style="percent" if name == "prob" else None, **fill)
    return col
