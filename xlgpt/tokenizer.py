"""GPT-2's byte-level BPE, built offline from the ranks file shipped in the package."""

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

import tiktoken

from .errors import XlgptError

RANKS_FILE = Path(__file__).parent / "data" / "gpt2.tiktoken"
RANKS_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"
# GPT-2's pre-tokenization: contractions, letters, numbers, other, whitespace not followed by non-space, whitespace.
SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
END_OF_TEXT = "<|endoftext|>"
END_OF_TEXT_ID = 50256
N_VOCAB = 50257


@lru_cache(maxsize=1)
def mergeable_ranks() -> dict[bytes, int]:
    """token bytes -> rank (= token id), checked against the published sha256."""
    raw = RANKS_FILE.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != RANKS_SHA256:
        raise XlgptError(f"{RANKS_FILE} is corrupt (sha256 {digest}, expected {RANKS_SHA256}): reinstall xlgpt")
    ranks = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=SPLIT_PATTERN,
        mergeable_ranks=mergeable_ranks(),
        special_tokens={END_OF_TEXT: END_OF_TEXT_ID},
        explicit_n_vocab=N_VOCAB,
    )


def encode(text: str) -> list[int]:
    """Token ids of text; the literal text <|endoftext|> becomes the special token."""
    return encoding().encode(text, allowed_special="all")


def decode(ids) -> str:
    return encoding().decode([int(i) for i in ids])


def token_bytes(token_id: int) -> bytes:
    return encoding().decode_single_token_bytes(int(token_id))


def token_text(token_id: int) -> str:
    """A token's text; a token that is part of a multi-byte character shows U+FFFD for the missing bytes."""
    return token_bytes(token_id).decode("utf-8", errors="replace")
