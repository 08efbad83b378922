"""GPT-2's byte-level BPE, built offline from the ranks file shipped in the package."""

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

import tiktoken

from ..errors import XlgptError

RANKS_FILE = Path(__file__).parent.parent / "data" / "gpt2.tiktoken"
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


def encode_ordinary(text: str) -> list[int]:
    """Token ids of text with nothing special: what the workbook's formulas compute from its prompt."""
    return encoding().encode_ordinary(text)


def decode(ids) -> str:
    return encoding().decode([int(i) for i in ids])


def token_bytes(token_id: int) -> bytes:
    return encoding().decode_single_token_bytes(int(token_id))


def token_text(token_id: int) -> str:
    """A token's text; a token that is part of a multi-byte character shows U+FFFD for the missing bytes."""
    return token_bytes(token_id).decode("utf-8", errors="replace")


# ---- tables for the tokenizer in formulas (tokenize_tabs.py) ----------------------------------------------

UNICODE_VERSION = __import__("unicodedata").unidata_version
# Unicode's White_Space property: what \s matches in the pattern (Rust's regex, which tiktoken uses)
WHITE_SPACE = frozenset([*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
                         0x202F, 0x205F, 0x3000])
LETTER, NUMBER, SPACE, OTHER = 1, 2, 3, 4


def char_class(cp: int) -> int:
    """The pattern's class of a code point: \\p{L}, \\p{N}, \\s, or anything else."""
    import unicodedata
    if cp in WHITE_SPACE:
        return SPACE
    category = unicodedata.category(chr(cp))
    return LETTER if category[0] == "L" else NUMBER if category[0] == "N" else OTHER


@lru_cache(maxsize=1)
def char_class_ranges() -> tuple[list[int], list[int]]:
    """(first code point, class) of each run of code points with one class, over all of Unicode."""
    starts, classes = [], []
    for cp in range(0x110000):
        c = char_class(cp)
        if not classes or classes[-1] != c:
            starts.append(cp)
            classes.append(c)
    return starts, classes


def byte_tokens() -> list[int]:
    """The token id of each single byte 0..255: BPE starts from these."""
    ranks = mergeable_ranks()
    return [ranks[bytes([b])] for b in range(256)]


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-in for each byte (its bytes_to_unicode: a space shows as Ġ)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    out, extra = {}, 0
    for b in range(256):
        if b in printable:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


@lru_cache(maxsize=1)
def merge_pairs():
    """(left, right, token) int arrays of every pair of tokens whose bytes together are a token, sorted by
    left * N_VOCAB + right. BPE (as tiktoken does it) merges adjacent parts whose joined bytes have a rank,
    lowest first; every part is a token, so these pairs are all it can ever look up."""
    import numpy as np
    ranks = mergeable_ranks()
    triples = []
    for token, merged in ranks.items():
        for k in range(1, len(token)):
            a, b = ranks.get(token[:k]), ranks.get(token[k:])
            if a is not None and b is not None:
                triples.append((a, b, merged))
    t = np.array(sorted(triples), dtype=np.int64)
    return t[:, 0], t[:, 1], t[:, 2]
