"""The vocab tab: every token's text by id, the table INDEX reads a token's text from (templates/vocab.toml)."""

import numpy as np

from ..sheet.book import Book, Sheet, Texts, Values
from .grid import HEADER_ROWS, Area, titled
from .templates import stage

TAB = "vocab"


def vocab_area(n_vocab: int) -> Area:
    """Where vocab_tab puts the tokens' text: formulas laid out before it refer to it."""
    return Area(TAB, HEADER_ROWS, 1, n_vocab, 1)


def vocab_tab(book: Book, texts: list[str]) -> Area:
    s = book.add(Sheet(TAB, col_widths={0: 9, 1: 20}, freeze=(HEADER_ROWS, 0)))
    titled(s, stage("vocab")["vocab"])
    s.add(Texts(2, 0, [["id", "text"]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(len(texts), dtype=float)[:, None]))
    s.add(Texts(HEADER_ROWS, 1, [[t] for t in texts]))
    return vocab_area(len(texts))
