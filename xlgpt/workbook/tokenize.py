"""GPT-2's tokenizer as formulas (templates/tokenize.toml): the Prompt cell -> token ids, laid out from templates/tokenize.toml.

    Prompt -> chars (a row per character: code point, UTF-8 bytes, class, the pre-tokenizer's scan)
           -> words (a row per pre-token: its bytes as byte-level tokens)
           -> bpe (per word, merge steps: the adjacent pair with the lowest rank first)
           -> Tokens (the words' tokens one after another, then padding)

Lookup tables are tabs too: bytes (byte -> token id), classes (code point ranges -> letter, number, space,
other) and merges (pair of token ids -> the token they make, sorted by key for a binary-search MATCH).

Capacity is fixed when the workbook is built: n_ctx tokens, and word_bytes bytes per word. A prompt that
needs more shows what to change in TokenError (and the Start tab), never a silently cut prompt.
"""

from dataclasses import dataclass

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, Sheet, Texts, Values
from ..model import tokenizer
from . import names, start
from .grid import HEADER_ROWS, Area, place, titled
from .templates import stage

NO_MERGE = 1e9  # the rank of a pair that makes no token (as the templates write it, 1E+9)


class _Columns:
    """Named columns of a tab whose data starts at row HEADER_ROWS: the placeholders of its formulas."""

    def __init__(self, sheet: str, names: list[str], nrows: int, widths: dict[str, int] = None):
        self.sheet, self.nrows = sheet, nrows
        self.col, c = {}, 0
        self.width = {}
        for name in names:
            self.col[name] = c
            self.width[name] = (widths or {}).get(name, 1)
            c += self.width[name]
        self.ncols = c

    def area(self, name: str) -> Area:
        return Area(self.sheet, HEADER_ROWS, self.col[name], self.nrows, self.width[name])

    def fill(self, other_sheet: bool = False) -> dict[str, str]:
        """{name}, {name_up}, {name_up2}, {name_up3}, {name_down}, {name_down2}, {name_col} at the first data
        row; {name_top} (the empty cell above the data, fixed); {name_all}."""
        out, r = {}, HEADER_ROWS
        q = (lambda ref: refs.qualified(self.sheet, ref)) if other_sheet else (lambda ref: ref)
        for name, c in self.col.items():
            out[name] = q(refs.cell(r, c))
            out[f"{name}_up"] = q(refs.cell(r - 1, c))
            out[f"{name}_up2"] = q(refs.cell(r - 2, c))
            out[f"{name}_up3"] = q(refs.cell(r - 3, c))
            out[f"{name}_top"] = q(refs.cell(r - 1, c, abs_row=True, abs_col=True))
            out[f"{name}_down"] = q(refs.cell(r + 1, c))
            out[f"{name}_down2"] = q(refs.cell(r + 2, c))
            out[f"{name}_col"] = q(refs.cell(r, c, abs_col=True))
            out[f"{name}_all"] = self.area(name).ref()
        return out


@dataclass
class Tokenized:
    ids: Area  # the token ids, one per position
    text: Area  # their text
    count: str  # the TokenCount cell
    error: str  # the TokenError cell


def tokenizer_tabs(book: Book, n_ctx: int, word_bytes: int, vocab: Area, prompt: str = names.PROMPT,
                   prefix: str = "") -> Tokenized:
    """Add the tokenizer's tabs (chars, words, bpe, Tokens) to book; lookup_tabs adds the tables later.

    prompt: the cell the formulas tokenize (the defined name Prompt); prefix: before each tab's name, for a
    book that tokenizes several prompts side by side."""
    if word_bytes < 2:
        raise ValueError("word_bytes must be at least 2")
    t = stage("tokenize")
    common = table_refs() | {"prompt": prompt}
    chars = _chars_tab(book, t, prefix + "chars", n_ctx * word_bytes, common)
    words = _words_tab(book, t, prefix + "words", n_ctx, word_bytes, chars, common)
    bpe = _bpe_tab(book, t, prefix + "bpe", n_ctx, word_bytes, words, common, vocab)
    return _tokens_tab(book, t, prefix + "Tokens", n_ctx, word_bytes, chars, words, bpe, vocab, common)


# ---- lookup tables ------------------------------------------------------------------------------------------

def table_refs() -> dict[str, str]:
    """Where lookup_tabs puts the tables: the tokenizer's formulas refer to them before they are laid out."""
    n_ranges, n_pairs = len(tokenizer.char_class_ranges()[0]), len(tokenizer.merge_pairs()[0])
    return {"byte_token_all": Area("bytes", HEADER_ROWS, 2, 256, 1).ref(),
            "class_start_all": Area("classes", HEADER_ROWS, 0, n_ranges, 1).ref(),
            "class_all": Area("classes", HEADER_ROWS, 1, n_ranges, 1).ref(),
            "merge_token_all": Area("merges", HEADER_ROWS, 2, n_pairs, 1).ref(),
            "merge_key_all": Area("merges", HEADER_ROWS, 3, n_pairs, 1).ref()}


def lookup_tabs(book: Book) -> None:
    """The tables: bytes, classes, merges (after the formula tabs, as the vocabulary is)."""
    s = book.add(Sheet("bytes", col_widths={0: 7, 1: 9, 2: 9}, freeze=(HEADER_ROWS, 0)))
    t = stage("tokenize")
    titled(s, t["bytes"])
    s.add(Texts(2, 0, [["byte", "symbol", "token"]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(256, dtype=float)[:, None]))
    s.add(Texts(HEADER_ROWS, 1, [[c] for c in tokenizer.byte_symbols()]))
    s.add(Values(HEADER_ROWS, 2, np.array(tokenizer.byte_tokens(), dtype=float)[:, None]))

    starts, classes = tokenizer.char_class_ranges()
    s = book.add(Sheet("classes", col_widths={0: 12, 1: 7, 2: 9}, freeze=(HEADER_ROWS, 0)))
    titled(s, t["classes"], unicode_version=tokenizer.UNICODE_VERSION)
    s.add(Texts(2, 0, [["from", "class", "name"]], style="bold"))
    n = len(starts)
    s.add(Values(HEADER_ROWS, 0, np.array(starts, dtype=float)[:, None]))
    s.add(Values(HEADER_ROWS, 1, np.array(classes, dtype=float)[:, None]))
    class_names = {1: "letter", 2: "number", 3: "space", 4: "other"}
    s.add(Texts(HEADER_ROWS, 2, [[class_names[c]] for c in classes]))

    left, right, merged = tokenizer.merge_pairs()
    n = len(left)
    s = book.add(Sheet("merges", col_widths={0: 8, 1: 8, 2: 8, 3: 13}, freeze=(HEADER_ROWS, 0)))
    titled(s, t["merges"], n_vocab=tokenizer.N_VOCAB)
    s.add(Texts(2, 0, [["left", "right", "token", "key"]], style="bold"))
    key = left.astype(np.float64) * tokenizer.N_VOCAB + right
    s.add(Values(HEADER_ROWS, 0, np.stack([left, right, merged], axis=1).astype(np.float64)))
    s.add(Values(HEADER_ROWS, 3, key[:, None]))
    assert table_refs()["merge_key_all"] == Area("merges", HEADER_ROWS, 3, n, 1).ref()


# ---- chars ------------------------------------------------------------------------------------------------

CHAR_COLUMNS = ["i", "char", "unit", "cp", "utf8_length", "nbytes", "skip", "offset", "bytes", "class",
                "contraction", "starts", "word"]
LABELS = {"i": "position", "utf8_length": "utf-8 length", "bytes": "utf-8 bytes"}


def _chars_tab(book: Book, t, name: str, n_chars: int, tables: dict) -> _Columns:
    cols = _Columns(name, CHAR_COLUMNS, n_chars, {"bytes": 4})
    s = book.add(Sheet(name, col_widths={1: 6}, freeze=(HEADER_ROWS, 2)))
    titled(s, t["char"])
    s.add(Texts(2, 0, [[LABELS.get(n, n) for n in CHAR_COLUMNS[:9]]], style="bold"))
    s.add(Texts(2, cols.col["class"], [[LABELS.get(n, n) for n in CHAR_COLUMNS[9:]]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(1, n_chars + 1, dtype=float)[:, None]))
    k = cols.col["bytes"]
    s.add(Values(HEADER_ROWS - 1, k, np.arange(1, 5, dtype=float)[None, :], style="bold"))
    fill = cols.fill() | tables | {"k": refs.cell(HEADER_ROWS - 1, k, abs_row=True)}
    for name in CHAR_COLUMNS[1:]:
        a = cols.area(name)
        template = t["byte" if name == "bytes" else name]
        place(s, template, a, **fill)
    return cols


# ---- words ------------------------------------------------------------------------------------------------

WORD_COLUMNS = ["p", "first", "chars", "text", "byte_start", "byte_count", "slots"]


def _words_tab(book: Book, t, name: str, n_words: int, word_bytes: int, chars: _Columns, tables: dict) -> _Columns:
    cols = _Columns(name, WORD_COLUMNS, n_words, {"slots": word_bytes})
    s = book.add(Sheet(name, col_widths={3: 14}, freeze=(HEADER_ROWS, 4)))
    titled(s, t["first"])
    s.add(Texts(2, 0, [["word", "first char", "chars", "text", "byte start", "bytes", "token of byte j"]],
                style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(1, n_words + 1, dtype=float)[:, None]))
    j = cols.col["slots"]
    s.add(Values(HEADER_ROWS - 1, j, np.arange(1, word_bytes + 1, dtype=float)[None, :], style="bold"))
    fill = (chars.fill(other_sheet=True) | cols.fill() | tables
            | {"j": refs.cell(HEADER_ROWS - 1, j, abs_row=True), "max_chars": chars.nrows})
    for name in WORD_COLUMNS[1:]:
        a = cols.area(name)
        template = t["slot" if name == "slots" else name]
        place(s, template, a, **fill)
    return cols


# ---- bpe --------------------------------------------------------------------------------------------------

@dataclass
class _Bpe:
    final: Area  # the words' tokens after the last step, -1 in unused slots
    count: Area  # tokens per word
    before: Area  # tokens of the words above


def bpe_columns(word_bytes: int) -> int:
    """The bpe tab's width: word and text, then per merge step (word_bytes - 1 of them) the pair ranks
    (w - 1), lowest, place, the merged word's ids (w) and their text (w), then tokens and before."""
    return 2 + (word_bytes - 1) * (3 * word_bytes + 1) + 2


def chars_rows(n_ctx: int, word_bytes: int) -> int:
    """The chars tab's height: a row per character the prompt may hold, below the header."""
    return HEADER_ROWS + n_ctx * word_bytes


def _bpe_tab(book: Book, t, name: str, n_words: int, word_bytes: int, words: _Columns, tables: dict,
             vocab: Area) -> _Bpe:
    w, steps = word_bytes, word_bytes - 1
    s = book.add(Sheet(name, col_widths={1: 14}, freeze=(HEADER_ROWS, 2)))
    titled(s, t["rank"], steps=steps, word_bytes=w)
    s.add(Texts(2, 0, [["word", "text"]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(1, n_words + 1, dtype=float)[:, None]))
    place(s, t["word_text"], Area(name, HEADER_ROWS, 1, n_words, 1), text=words.fill(other_sheet=True)["text"])
    r = HEADER_ROWS
    source = words.area("slots")  # the symbols a step starts from
    col = 2
    for step in range(1, steps + 1):
        ranks = Area(name, r, col, n_words, w - 1)
        lowest, where = Area(name, r, col + w - 1, n_words, 1), Area(name, r, col + w, n_words, 1)
        # the merged word's symbols as text, so a word can be watched merging (" fun" + "ology"), left of their
        # ids: the next step's formulas read the ids and the column right after them, never this text
        symbols = Area(name, r, col + w + 1, n_words, w)
        merged = Area(name, r, symbols.col + w, n_words, w)
        s.add(Texts(2, ranks.col, [[f"step {step}: pair ranks"]], style="bold"))
        s.add(Texts(2, lowest.col, [["lowest", "place", f"after step {step}: as text"]], style="bold"))
        s.add(Texts(2, merged.col, [[f"after step {step}"]], style="bold"))
        s.add(Values(r - 1, merged.col, np.arange(1, w + 1, dtype=float)[None, :], style="bold"))
        left = refs.cell(source.row, source.col)
        right = refs.cell(source.row, source.col + 1)
        if source.sheet != name:
            left, right = refs.qualified(source.sheet, left), refs.qualified(source.sheet, right)
        place(s, t["rank"], ranks, left=left, right=right, **tables)
        row_of_ranks = ranks.row_of_first(other_sheet=False)
        place(s, t["lowest"], lowest, ranks=row_of_ranks)
        place(s, t["place"], where, ranks=row_of_ranks, lowest=lowest.first(False))
        place(s, t["merged"], merged, sym=left, sym_right=right, width=w, j=refs.cell(r - 1, merged.col, abs_row=True),
              place_col=refs.cell(r, where.col, abs_col=True), lowest_col=refs.cell(r, lowest.col, abs_col=True))
        place(s, t["symbol_text"], symbols, sym=merged.first(False), vocab=vocab.ref())
        source, col = merged, merged.col + w
    assert col + 2 == bpe_columns(w)
    count, before = Area(name, r, col, n_words, 1), Area(name, r, col + 1, n_words, 1)
    s.add(Texts(2, col, [["tokens", "before"]], style="bold"))
    place(s, t["count"], count, final=source.row_of_first(other_sheet=False))
    place(s, t["before"], before, before_up=refs.cell(r - 1, before.col), count_up=refs.cell(r - 1, count.col))
    return _Bpe(source, count, before)


# ---- Tokens -----------------------------------------------------------------------------------------------

def _tokens_tab(book: Book, t, name: str, n_ctx: int, word_bytes: int, chars: _Columns, words: _Columns,
                bpe: _Bpe, vocab: Area, common: dict) -> Tokenized:
    s = book.add(Sheet(name, col_widths={0: 9, 1: 9, 2: 16, 3: 3, 4: 12, 5: 60}, freeze=(HEADER_ROWS, 0)))
    titled(s, t["id"])
    s.add(Texts(2, 0, [["position", "id", "text", None, "token count", "fits?"]], style="bold"))
    s.add(Values(HEADER_ROWS, 0, np.arange(n_ctx, dtype=float)[:, None]))
    ids, text = Area(name, HEADER_ROWS, 1, n_ctx, 1), Area(name, HEADER_ROWS, 2, n_ctx, 1)
    count_cell, error_cell = Area(name, HEADER_ROWS, 4, 1, 1), Area(name, HEADER_ROWS, 5, 1, 1)
    count = count_cell.ref(other_sheet=False)
    fill = common | dict(t=refs.cell(HEADER_ROWS, 0), final_all=bpe.final.ref(), before_all=bpe.before.ref(),
                         count_all=bpe.count.ref(), word_all=chars.area("word").ref(), n_ctx=n_ctx,
                         word_bytes=word_bytes, max_chars=n_ctx * word_bytes, token_count=count,
                         byte_count_all=words.area("byte_count").ref(), pad=tokenizer.END_OF_TEXT_ID,
                         vocab=vocab.ref(), id=ids.first(False))
    for template, area in (("id", ids), ("token_text", text), ("token_count", count_cell), ("error", error_cell)):
        place(s, t[template], area, **fill)
    return Tokenized(ids, text, count_cell.ref(), error_cell.ref())


def tokenizer_book(prompt: str, n_ctx: int, word_bytes: int) -> Book:
    """A workbook of the tokenizer alone, laid out as in the full workbook (the prompt in Start's prompt cell,
    the same tabs and names): for checking the tokenizer on many prompts without the model's formulas."""
    from .vocab import vocab_area, vocab_tab
    book = Book()
    book.add(Sheet(start.TAB)).add(Texts(start.PROMPT.row, start.PROMPT.col, [[prompt]]))
    vocab = vocab_area(tokenizer.N_VOCAB)
    tokens = tokenizer_tabs(book, n_ctx, word_bytes, vocab)
    vocab_tab(book, [tokenizer.token_text(i) for i in range(tokenizer.N_VOCAB)])
    lookup_tabs(book)
    book.names.update({names.PROMPT: start.PROMPT.ref(), names.TOKEN_IDS: tokens.ids.ref(),
                       names.TOKEN_COUNT: tokens.count, names.TOKEN_ERROR: tokens.error})
    return book
