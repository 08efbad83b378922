"""A prediction as the commands report it (predict, recalc, sweep: the same shape with --json), read from the
oracle's logits or from a workbook's defined names."""

import json

import numpy as np

from .. import engine
from ..sheet.book import Book
from ..errors import XlgptError
from ..model import tokenizer
from . import names


def prediction_json(token_ids, ids, probs, logits) -> dict:
    """The shape every command that reports a prediction prints with --json."""
    return {"token_ids": [int(i) for i in token_ids],
            "top": [{"id": int(i), "token": tokenizer.token_text(i), "prob": float(p), "logit": float(logits[int(i)])}
                    for i, p in zip(ids, probs)]}


def print_prediction(pred: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(pred, ensure_ascii=False))
        return
    print(f"{len(pred['token_ids'])} tokens: {pred['token_ids']}")
    for rank, t in enumerate(pred["top"], 1):
        print(f"{rank:3d}. {t['prob']:8.4%}  {t['id']:6d}  {t['token']!r}")


def require_tokenizer(book: Book) -> None:
    """One line unless the book is an xlgpt workbook with its tokenizer in formulas (sweep and patch set its
    Prompt cell and read the prediction)."""
    missing = [n for n in names.TOKENIZER + names.PREDICTION if n not in book.names]
    if missing:
        raise XlgptError(f"not an xlgpt workbook with its tokenizer in formulas (no {', '.join(missing)}): "
                         f"build it again with this xlgpt")


def workbook_prediction(book: Book) -> dict:
    """The prediction as the workbook computed it, in predict --json's shape."""
    return prediction_and_logits(book)[0]


def prediction_and_logits(book: Book) -> tuple[dict, np.ndarray]:
    """workbook_prediction, and the workbook's logits over the whole vocabulary it was read from."""
    count = int(numbers(book, names.TOKEN_COUNT)[0])
    ids = numbers(book, names.TOKEN_IDS)[:count]
    top = numbers(book, names.TOP_IDS)
    probs = numbers(book, names.TOP_PROBS)
    logits = numbers(book, names.LOGITS)
    if not (top.size and np.all((top >= 0) & (top < logits.size) & (top == np.round(top)))):
        raise XlgptError(f"the workbook's {names.TOP_IDS} are not token ids ({top.tolist()[:3]}...); "
                         f"its formulas were edited")
    return prediction_json(ids, top, probs, logits), logits


def numbers(book: Book, name: str) -> np.ndarray:
    """A defined name's values as numbers, or one line naming the first cell that holds something else."""
    values = engine.read_range(book, name)
    flat = values.ravel()
    if flat.dtype != np.float64:
        for i, v in enumerate(flat):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                shown = str(v) if isinstance(v, str) and v.startswith("#") else repr(v)
                raise XlgptError(f"the workbook's {name} ({book.names.get(name, name)}) holds {shown} at its cell "
                                 f"{i + 1}, not a number: fix the cells it reads, or build the workbook again")
        flat = flat.astype(np.float64)
    return flat
