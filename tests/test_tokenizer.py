"""The offline tokenizer against the issue's reference ids and tiktoken's own round trip."""

import pytest

from xlgpt.model import tokenizer
from xlgpt.errors import XlgptError


def test_reference_sentence():
    assert tokenizer.encode("Mike is quick. He moves") == [16073, 318, 2068, 13, 679, 6100]


@pytest.mark.parametrize("text", [
    "Hello, world!", "  leading and trailing  ", "tabs\tand\nnewlines\n\n", "I'm we'll they've she'd HE'S",
    "naïve café façade", "Ελληνικά κείμενα", "Русский текст", "日本語のテキスト", "中文", "emoji 😀🚀 ok",
    "numbers 1234567 3.14159", "!!!???...", "mixed\u00a0nbsp", "",
])
def test_decode_inverts_encode(text):
    assert tokenizer.decode(tokenizer.encode(text)) == text


def test_end_of_text_is_special():
    assert tokenizer.encode("<|endoftext|>") == [50256]
    assert tokenizer.encode("a<|endoftext|>b")[1] == 50256
    assert tokenizer.encoding().n_vocab == 50257


def test_merged_token_id_is_its_rank():
    ranks = tokenizer.mergeable_ranks()
    assert len(ranks) == 50256 and ranks[b" the"] == tokenizer.encode(" the")[0]


def test_corrupt_ranks_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "gpt2.tiktoken"
    bad.write_bytes(tokenizer.RANKS_FILE.read_bytes()[:-10])
    monkeypatch.setattr(tokenizer, "RANKS_FILE", bad)
    tokenizer.mergeable_ranks.cache_clear()
    try:
        with pytest.raises(XlgptError, match="corrupt"):
            tokenizer.mergeable_ranks()
    finally:
        tokenizer.mergeable_ranks.cache_clear()
