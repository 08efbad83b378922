"""`xlgpt generate`: the workbook writes on. Each step appends the workbook's next token to its prompt, and its
own formulas tokenize and predict again (the engine, in memory); the file is never written."""

import math
import sys
from pathlib import Path

import numpy as np

from .. import engine
from ..sheet.edits import apply, parse_set
from ..errors import XlgptError
from ..model import tokenizer
from .prediction import numbers
from . import names


def generate(path: Path, n_tokens: int, temperature: float = 0.0, top_k: int = 0, seed: int = 0,
             write=print) -> str:
    """The prompt and n_tokens more, each written as it comes; returns the text."""
    if not (math.isfinite(temperature) and temperature >= 0):
        raise XlgptError(f"--temperature {temperature}: give 0 (greedy) or a positive number")
    if n_tokens < 0 or top_k < 0:
        raise XlgptError("--tokens and --top-k are counts: give 0 or more")
    from ..xlsx.package import Package
    if not path.is_file():
        raise XlgptError(f"{path}: no such workbook")
    book = Package.read(path).book
    if not {names.PROMPT, names.TOKEN_ERROR, names.NEXT_TOKEN_ID} <= book.names.keys():
        raise XlgptError(f"{path}: not an xlgpt workbook with its tokenizer in formulas (no {names.PROMPT}, "
                         f"{names.TOKEN_ERROR} or {names.NEXT_TOKEN_ID}): build it again with this xlgpt")
    engine.recalculate(book)
    rng = np.random.default_rng(seed)
    text = str(engine.read_range(book, names.PROMPT)[0, 0])
    write(text, end="", flush=True)
    for _ in range(n_tokens):
        error = engine.read_range(book, names.TOKEN_ERROR)[0, 0]
        if error:
            write(file=sys.stderr)
            raise XlgptError(str(error))
        nxt = choose(book, temperature, top_k, rng)
        # the token's text goes onto the prompt, and the workbook's formulas tokenize it again
        text += tokenizer.token_text(nxt)
        write(tokenizer.token_text(nxt), end="", flush=True)
        apply(book, parse_set(book, f"{names.PROMPT}={text}"))
        engine.recalculate(book)
    write()
    return text


def choose(book, temperature: float, top_k: int, rng) -> int:
    """The next token from the workbook's values: its top token, or a sample of its logits."""
    if temperature <= 0:
        return int(numbers(book, names.NEXT_TOKEN_ID)[0])
    logits = numbers(book, names.LOGITS)
    top = np.argsort(-logits, kind="stable")[:top_k] if top_k else np.arange(len(logits))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # (logit - max) / T is 0 for the best and at most 0 elsewhere: a tiny T gives -inf there, not NaN
        p = np.exp((logits[top] - logits[top].max()) / temperature)
    p = np.where(np.isfinite(p), p, 0.0)
    return int(rng.choice(top, p=p / p.sum()))
