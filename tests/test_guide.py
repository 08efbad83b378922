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
        # LogitLens's columns are labelled with the prompt's tokens (padding after it)
        from xlgpt.workbook import lens
        section = lens.section_area("token", ckpt.config.n_layer, 16)
        header = engine.read_range(book, section.rows(-1, 1).ref())[0]
        padded = ids + [50256] * (16 - len(ids))
        assert list(header) == [tokenizer.token_text(i) for i in padded]


def test_position_headers_show_the_tokens_and_padding_is_greyed(tiny):
    """Where positions run across (attention keys, LogitLens, sae.acts) each column's header is its token as
    the workbook computed it, the position number kept beside it; the positions past the prompt are greyed by
    conditional formatting on TokenCount, in every position tab."""
    import re
    import zipfile
    from workbook_io import area, open_values
    from xlgpt.workbook import attention
    wb = open_values(tiny.path)
    n_ctx = tiny.n_ctx
    padded = tiny.ids + [50256] * (n_ctx - len(tiny.ids))  # the prompt's tokens, then <|endoftext|>
    texts = [tokenizer.token_text(i) for i in padded]
    for h in range(tiny.ckpt.config.n_head):
        block = attention.head_area("h.1.attn.probs", h, n_ctx)
        header = list(area(wb, block.sheet, 2, block.col, 1, n_ctx)[0])
        assert header == [f"head {h}: {texts[0]}"] + texts[1:]
        assert list(area(wb, block.sheet, 3, block.col, 1, n_ctx)[0]) == list(range(n_ctx))
    assert list(area(wb, "sae.acts", 3, 2, 1, n_ctx)[0]) == texts
    with zipfile.ZipFile(tiny.path) as z:
        names = dict(re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="rId(\d+)"',
                                z.read("xl/workbook.xml").decode()))
        for tab in ("h.0.resid_pre", "h.1.attn.probs", "sae.acts", "Features"):
            xml = z.read(f"xl/worksheets/sheet{names[tab]}.xml").decode()
            rules = re.findall(r'<cfRule type="expression" dxfId="0"[^>]*><formula>([^<]+)</formula>', xml)
            assert rules and all("TokenCount" in r for r in rules), tab
            # never over all 16,384 columns: LibreOffice then keeps every column of the tab (+0.5 GB on tiny)
            ranges = re.findall(r'<conditionalFormatting sqref="([^"]+)"><cfRule type="expression"', xml)
            assert ranges and not any("XFD" in r for r in ranges), (tab, ranges)
