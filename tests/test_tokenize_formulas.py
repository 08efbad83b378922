"""GPT-2's tokenizer as the workbook's formulas: for every prompt of the corpus (tests/data), the TokenIds the
formulas compute equal tiktoken's ids, or the prompt does not fit and TokenError says what to change.

The reference is tiktoken with its own GPT-2 pattern (tiktoken_ext's r50k_pat_str) over the shipped ranks,
and the `regex` module for the pattern's words (to know which prompts fit); never xlgpt's code.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import regex
from tiktoken_ext.openai_public import r50k_pat_str

from helpers import cli, need_gnumeric, need_libreoffice
from helpers import recalc as recalc_cli
from workbook_io import area, named, numbers, open_values
from xlgpt.workbook import names
from xlgpt import engine
from xlgpt.sheet.edits import apply, parse_set
import libreoffice
from xlgpt.sheet import refs
from xlgpt.model import oracle, tokenizer
from xlgpt.workbook import start
from xlgpt.workbook import tokenize as tokenize_tabs
from xlgpt.sheet.book import Book, Sheet, Texts
from xlgpt.workbook.vocab import vocab_area, vocab_tab
from xlgpt.sheet.cells import written_values
from xlgpt.xlsx.packager import write_book

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "data" / "tokenizer_prompts.jsonl")
          .read_text(encoding="utf-8").split("\n") if line]  # not splitlines: U+2028 is inside a prompt
N_CTX, WORD_BYTES = 16, 24
from helpers import REFERENCE  # noqa: E402 (tiktoken with GPT-2's own pattern and ranks, offline)


def expected(prompt: str):
    """(ids, the options a message may name for a prompt that does not fit: None when it fits)."""
    ids = REFERENCE.encode_ordinary(prompt)
    long_word = any(len(w.encode("utf-8")) > WORD_BYTES for w in regex.findall(r50k_pat_str, prompt))
    if not prompt:
        return ids, {"empty"}
    if len(prompt) > N_CTX * WORD_BYTES:
        return ids, {"--context"}
    if long_word:  # its BPE is cut at WORD_BYTES, so the token count the workbook sees is a lower bound
        return ids, {"--word-bytes", "--context"} if len(ids) > N_CTX else {"--word-bytes"}
    return ids, {"--context"} if len(ids) > N_CTX else None


def test_xlgpt_tokenizer_is_tiktokens_gpt2():
    """xlgpt's own encoder (its pattern) gives the reference's ids on the whole corpus."""
    assert all(tokenizer.encode_ordinary(p) == REFERENCE.encode_ordinary(p) for p in CORPUS)


def test_the_corpus_covers_what_it_should():
    kinds = [expected(p)[1] for p in CORPUS]
    assert len(CORPUS) >= 500
    assert kinds.count(None) >= 450 and kinds.count({"--context"}) >= 5 and kinds.count({"--word-bytes"}) >= 5
    assert any(ord(c) > 0xFFFF for p in CORPUS for c in p), "no character outside the BMP"


@pytest.fixture(scope="module")
def book():
    return tokenize_tabs.tokenizer_book("x", N_CTX, WORD_BYTES)


def tokenize(book: Book, prompt: str):
    """Set the prompt as `xlgpt recalc --set Prompt=...` does, recalculate, read the tokenizer's results."""
    apply(book, parse_set(book, f"{names.PROMPT}={prompt}"))
    engine.recalculate(book)
    count = engine.read_range(book, names.TOKEN_COUNT)[0, 0]
    error = engine.read_range(book, names.TOKEN_ERROR)[0, 0]
    ids = engine.read_range(book, names.TOKEN_IDS)[:, 0]
    return ids, count, error


def check(prompt, ids, count, error):
    want, over = expected(prompt)
    if over is None:
        assert error == "", (prompt, error)
        assert count == len(want), (prompt, count, want)
        assert [int(i) for i in ids[:len(want)]] == want, prompt
        assert all(i == tokenizer.END_OF_TEXT_ID for i in ids[len(want):]), prompt  # padding
    else:
        assert error, (prompt, "over capacity without an error")
        if over != {"empty"}:
            assert any(option in error for option in over), (prompt, error)
        if "--context" in error and len(prompt) <= N_CTX * WORD_BYTES:
            assert N_CTX < count <= len(want)  # at least this many: a lower bound when words are cut
            assert f"{int(count)} tokens" in error


CORPUS_PARTS = 4  # the corpus in a few batches, so that the workers of `make test` share it


@pytest.mark.parametrize("part", range(CORPUS_PARTS))
def test_every_prompt_of_the_corpus(part):
    """Every prompt of the corpus, a quarter of it per batch: one workbook tokenizing its prompts side by side,
    one recalculation by the engine."""
    prompts = CORPUS[part::CORPUS_PARTS]
    batch, results = batch_book(prompts)
    engine.recalculate(batch)
    for prompt, r in zip(prompts, results):
        ids = engine.read_range(batch, r.ids.ref())[:, 0]
        check(prompt, ids, engine.read_range(batch, r.count)[0, 0], engine.read_range(batch, r.error)[0, 0])


def utf16_units(text: str) -> str:
    """The prompt as Excel's text functions see it: one character per UTF-16 code unit (surrogate pairs)."""
    data = text.encode("utf-16-le")
    return "".join(chr(int.from_bytes(data[i:i + 2], "little")) for i in range(0, len(data), 2))


def test_characters_outside_the_bmp_as_excel_sees_them(book):
    """Excel's MID and UNICODE see an emoji as two surrogates; the formulas put them back together."""
    wide = [p for p in CORPUS if any(ord(c) > 0xFFFF for c in p)]
    assert len(wide) >= 10
    for prompt in wide:
        ids, count, error = tokenize(book, utf16_units(prompt))
        want, over = expected(prompt)
        if over is None and len(utf16_units(prompt)) <= N_CTX * WORD_BYTES:
            assert error == "" and [int(i) for i in ids[:int(count)]] == want, prompt


def test_a_prompt_that_reads_as_a_number_stays_text(book):
    for prompt in ("007", "1e-5", "42"):
        check(prompt, *tokenize(book, prompt))


def test_recalc_set_prompt_retokenizes_and_repredicts(tiny, tmp_path):
    """The whole workbook: a new prompt through `xlgpt recalc --set`, and the model's logits follow it."""
    params = {k: written_values(v) for k, v in tiny.ckpt.params.items()}
    for k, prompt in enumerate(["If today is Monday, tomorrow is", "naïve café 😀"]):
        out = tmp_path / f"p{k}.xlsx"
        recalc_cli(tiny.path, "--out", out, "--set", f"{names.PROMPT}={prompt}")
        wb = open_values(out)
        want = REFERENCE.encode_ordinary(prompt)
        assert [int(i) for i in numbers(named(wb, names.TOKEN_IDS))[:len(want), 0]] == want
        logits = oracle.forward(params, tiny.ckpt.config, want)["logits"][-1]
        got = numbers(named(wb, names.LOGITS))[:, 0]
        assert np.max(np.abs(got - logits)) <= 1e-9 * np.max(np.abs(logits))


def test_recalc_says_when_the_prompt_does_not_fit(tiny, tmp_path):
    out = tmp_path / "long.xlsx"
    r = cli("recalc", tiny.path, "--out", out, "--set", f"{names.PROMPT}=" + "word " * 30)
    progress = re.compile(r"(reading tab|evaluating|writing tab) \d+/\d+: ")
    said = [line for line in r.stderr.strip().splitlines() if not progress.match(line)]
    assert r.returncode == 1 and len(said) == 1 and said[0].startswith("xlgpt recalc: ") and "--context" in said[0]
    wb = open_values(out)  # the workbook is written, and shows the message where the prediction goes
    shown = start.NEXT_TOKEN
    assert "--context" in str(area(wb, shown.sheet, shown.row, shown.col, 1, 1)[0, 0])


def batch_book(prompts: list[str]) -> tuple[Book, list]:
    """One workbook that tokenizes many prompts side by side (tabs p1.chars ... p1.Tokens, p2.chars ...),
    sharing the tables, so that one LibreOffice run checks them all."""
    book = Book()
    sheet = book.add(Sheet("Prompts"))
    sheet.add(Texts(0, 1, [[p] for p in prompts]))
    results = []
    for k in range(len(prompts)):
        cell = refs.qualified("Prompts", refs.cell(k, 1, True, True))
        results.append(tokenize_tabs.tokenizer_tabs(book, N_CTX, WORD_BYTES, vocab_area(tokenizer.N_VOCAB),
                                                    prompt=cell, prefix=f"p{k + 1}."))
    vocab_tab(book, [tokenizer.token_text(i) for i in range(tokenizer.N_VOCAB)])
    tokenize_tabs.lookup_tabs(book)
    return book, results


LIBREOFFICE_PARTS = 2


@pytest.mark.libreoffice
@pytest.mark.parametrize("part", range(LIBREOFFICE_PARTS))
def test_libreoffice_tokenizes_like_tiktoken(part, tmp_path):
    """LibreOffice computes the same TokenIds from the same formulas, for 60 prompts of the corpus (in two
    workbooks of 30, so that the test's workers share the LibreOffice runs)."""
    need_libreoffice()
    step = len(CORPUS) // 60
    prompts = [p for p in CORPUS[::step] if len(p) <= N_CTX * WORD_BYTES][:60]
    assert len(prompts) >= 50
    prompts = prompts[part::LIBREOFFICE_PARTS]
    book, results = batch_book(prompts)
    src = tmp_path / "prompts.xlsx"
    write_book(book, src)  # no cached values: LibreOffice computes every one
    check_batch(open_values(libreoffice.recalculate(src, tmp_path / "lo")), prompts, results)


def check_batch(wb, prompts, results):
    """Each prompt's TokenIds, TokenCount and TokenError as another program computed them (wb, openpyxl)."""
    for prompt, r in zip(prompts, results):
        ids = [wb[r.ids.sheet].cell(row=r.ids.row + 1 + i, column=r.ids.col + 1).value for i in range(N_CTX)]
        sheet, cell = r.count.rsplit("!", 1)
        count = wb[sheet.strip("'")][cell.replace("$", "")].value
        sheet, cell = r.error.rsplit("!", 1)
        error = wb[sheet.strip("'")][cell.replace("$", "")].value or ""
        check(prompt, np.array(ids, dtype=object), count, error)


def test_gnumeric_tokenizes_like_tiktoken(tmp_path):
    """Gnumeric (code points, like LibreOffice) computes the same TokenIds from the same formulas, for 12 prompts
    of the corpus, emoji among them."""
    import subprocess
    need_gnumeric()
    fits = [p for p in CORPUS if len(p) <= N_CTX * WORD_BYTES]
    wide = [p for p in fits if any(ord(c) > 0xFFFF for c in p)][:3]
    prompts = wide + [p for p in fits[::len(fits) // 9] if p not in wide][:9]
    assert len(wide) == 3 and len(prompts) == 12
    book, results = batch_book(prompts)
    src, out = tmp_path / "prompts.xlsx", tmp_path / "gn.xlsx"
    write_book(book, src)  # no cached values: Gnumeric computes every one
    r = subprocess.run(["ssconvert", "--recalc", str(src), str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and out.exists(), r.stderr
    check_batch(open_values(out), prompts, results)
