"""`xlgpt predict`: the top next tokens computed by the NumPy reference (the oracle), no workbook involved."""

import numpy as np

from ..errors import XlgptError
from ..model import checkpoint, oracle, tokenizer
from ..workbook.prediction import prediction_json
from .options import PredictOptions


def prompt_ids(prompt: str) -> list[int]:
    ids = tokenizer.encode(prompt)
    if not ids:
        raise XlgptError("the prompt is empty: give --prompt TEXT with at least one character")
    return ids


def run(o: PredictOptions) -> dict:
    ids = prompt_ids(o.prompt)
    ckpt = checkpoint.load(o.weights.source, seed=o.weights.seed, layers=o.weights.layers)
    if len(ids) > ckpt.config.n_ctx:
        raise XlgptError(f"the prompt is {len(ids)} tokens; this model's context is {ckpt.config.n_ctx}: shorten it")
    logits = oracle.forward(ckpt.params, ckpt.config, ids)["logits"][-1]
    top_ids, probs = oracle.top_k(logits, o.top)
    return prediction_json(ids, top_ids, probs, np.asarray(logits))
