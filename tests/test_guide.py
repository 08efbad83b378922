"""The Guide tab walks the prompt through the model in sentences whose numbers are formulas: every number it
quotes equals the oracle's, with the logit lens built, and again after a new prompt is typed (the engine;
LibreOffice and Gnumeric check the shared tiny workbook's Guide through helpers.check_against_oracle)."""

import numpy as np

from helpers import PROMPT, guide_equal
from xlgpt import engine
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.sheet.cells import written_values
from xlgpt.sheet.edits import apply, parse_set
from xlgpt.workbook import builder, names


def test_guide_follows_the_prompt_with_the_lens():
    ckpt = checkpoint.load("random:tiny", seed=3)
    params = {k: written_values(v) for k, v in ckpt.params.items()}
    book = builder.build_workbook(ckpt, PROMPT, 16, lens=True)
    for prompt in (PROMPT, "The capital of France is Paris, and the capital of Spain is"):
        apply(book, parse_set(book, f"{names.PROMPT}={prompt}"))
        engine.recalculate(book)
        ids = tokenizer.encode_ordinary(prompt)
        ref = oracle.forward(params, ckpt.config, ids, lens=True)
        top = np.argsort(-ref["logits"][-1], kind="stable")[:2]
        attribution = oracle.attribution(params, ckpt.config, ids, int(top[0]), int(top[1]))
        rows = engine.read_range(book, "Guide!A1:R80")
        guide_equal(rows, ckpt.config, ids, ref, attribution)
        assert any(str(r[0]).startswith("Stop after block") for r in rows), "no lens sentence"
        sentence = next(str(r[0]) for r in rows if str(r[0]).startswith("Your prompt"))
        assert f'"{prompt}", is {len(ids)} tokens' in sentence
        predicted = next(str(r[0]) for r in rows if str(r[0]).startswith("After the last block"))
        assert f'predicts "{tokenizer.token_text(int(top[0]))}"' in predicted
