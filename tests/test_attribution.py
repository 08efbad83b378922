"""Why the model predicts what it predicts: the Attribution tab (direct logit attribution in formulas) and
`xlgpt patch` (activation patching with the workbook's formulas), each against transformers with hooks
(tests/reference.py: a float64 copy of the model holding the workbook's numbers) and the oracle."""

import json

import numpy as np
import pytest

from helpers import PROMPT, attribution_equal, cli
from reference import as_written_double, hf_attribution, hf_patching, save_hf_model
from xlgpt import engine
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.model.knobs import Knobs, Steering
from xlgpt.sheet.cells import written_values
from xlgpt.sheet.edits import apply, parse_set
from xlgpt.workbook import builder, names
from xlgpt.xlsx.packager import write_book

CLEAN, CORRUPT = "If today is Monday, tomorrow is", "If today is Friday, tomorrow is"


def knobs(cfg, seed=7):
    """Every kind of knob the shares must follow: a head off, a head and a block's attention scaled, an MLP off,
    steering at every position (so at the last)."""
    heads = np.ones((cfg.n_layer, cfg.n_head))
    heads[1, 0], heads[0, 1] = 0, 0.5
    attn, mlps = np.ones(cfg.n_layer), np.ones(cfg.n_layer)
    attn[0], mlps[1] = 0.75, 0
    vector = np.random.default_rng(seed).normal(size=cfg.n_embd)
    return Knobs(head_gates=heads, attn_gates=attn, mlp_gates=mlps, steering=[Steering(1, vector, 2.5, None)])


@pytest.fixture(scope="module")
def hf_book(hf_tiny, tmp_path_factory):
    """The tiny transformers model as a workbook with knobs, computed by the engine."""
    folder = tmp_path_factory.mktemp("attr")
    save_hf_model(hf_tiny, folder)
    ckpt = checkpoint.load(str(folder))
    k = knobs(ckpt.config)
    return ckpt, k, builder.build_workbook(ckpt, PROMPT, 16, knobs=k, lens=False)


def _read(book):
    return lambda name: np.asarray(engine.read_range(book, name), dtype=np.float64)


def _expected(ckpt, k, ids, target, versus):
    as_written = {name: written_values(v) for name, v in ckpt.params.items()}
    return oracle.attribution(as_written, ckpt.config, ids, target, versus, k)


def test_attribution_equals_transformers_and_the_oracle(hf_book, hf_tiny):
    ckpt, k, book = hf_book
    cfg, ids = ckpt.config, tokenizer.encode_ordinary(PROMPT)
    as_written = {name: written_values(v) for name, v in ckpt.params.items()}
    top = oracle.top_k(oracle.forward(as_written, cfg, ids, k)["logits"][-1], 2)[0]
    # the default tokens: the top two predictions
    assert engine.read_range(book, "Attribution!D4:D5")[:, 0].tolist() == top.tolist()
    theirs = hf_attribution(as_written_double(hf_tiny), ids, *top, knobs=k)
    got = attribution_equal(_read(book), cfg, theirs, 1e-6)
    attribution_equal(_read(book), cfg, _expected(ckpt, k, ids, *top), 1e-9)
    # a head and an MLP the gates switch off contribute nothing; the steering term does
    assert got["heads"][1, 0] == 0 and got["mlps"][1] == 0
    assert abs(got["steer"][1]) > 1e-3 * np.max(np.abs(got["heads"])), "no steering share: the test proves nothing"


def test_typed_tokens_are_followed_and_checked(hf_book):
    ckpt, k, book = hf_book
    cfg, ids = ckpt.config, tokenizer.encode_ordinary(PROMPT)
    undo = [apply(book, parse_set(book, f"{names.ATTR_TARGET}= Tuesday")),
            apply(book, parse_set(book, f"{names.ATTR_VERSUS}= Monday"))]
    try:
        engine.recalculate(book)
        t, v = tokenizer.encode_ordinary(" Tuesday")[0], tokenizer.encode_ordinary(" Monday")[0]
        assert engine.read_range(book, "Attribution!D4:D5")[:, 0].tolist() == [t, v]
        attribution_equal(_read(book), cfg, _expected(ckpt, k, ids, t, v), 1e-9)
        # case matters (" THE", " The" and " the" are three tokens; = and MATCH would take them for one), and
        # text that is no single token says so in the cell
        undo.append(apply(book, parse_set(book, f"{names.ATTR_VERSUS}= THE")))
        undo.append(apply(book, parse_set(book, f"{names.ATTR_TARGET}= Tuesdays and")))
        engine.recalculate(book)
        assert engine.read_range(book, "Attribution!D5")[0, 0] == tokenizer.encode_ordinary(" THE")[0]
        assert engine.read_range(book, "Attribution!D4")[0, 0] == -1
        assert str(engine.read_range(book, "Attribution!E4")[0, 0]).startswith("not one token")
    finally:
        for u in reversed(undo):
            u()
        engine.recalculate(book)


@pytest.mark.slow
def test_gpt2_small_shaped(hf_small2, tmp_path):
    """Full width and vocabulary, 2 blocks: with knobs, the shares equal transformers'; without them, every
    head's and MLP's patching score does (one build for both)."""
    save_hf_model(hf_small2, tmp_path)
    ckpt = checkpoint.load(str(tmp_path))
    k = knobs(ckpt.config)
    book = builder.build_workbook(ckpt, PROMPT, 16, knobs=k, lens=False)
    ids = tokenizer.encode_ordinary(PROMPT)
    top = [int(i) for i in engine.read_range(book, "Attribution!D4:D5")[:, 0]]
    twin = as_written_double(hf_small2)
    attribution_equal(_read(book), ckpt.config, hf_attribution(twin, ids, *top, knobs=k), 1e-6)

    # the knobs back to their defaults, the weights as a workbook read from a file holds them (float64)
    for edit in ("HeadGates(1,0)=1", "HeadGates(0,1)=1", "AttnGates(0)=1", "MlpGates(1)=1", "SteerCoef(1)=0"):
        apply(book, parse_set(book, edit))
    for sheet in book.sheets:
        for b in sheet.blocks:
            if getattr(b, "data", None) is not None and getattr(b.data, "dtype", None) == np.float32:
                b.data = written_values(b.data)
    from xlgpt.workbook import patching
    result = patching.patch(book, CLEAN, CORRUPT, ("heads", "mlps"), " Tuesday", " Saturday")
    scores = {c["component"]: c["score"] for c in result["components"]}
    assert len(scores) == 2 * 12 + 2
    t, v = tokenizer.encode_ordinary(" Tuesday")[0], tokenizer.encode_ordinary(" Saturday")[0]
    theirs = hf_patching(twin, tokenizer.encode_ordinary(CLEAN), tokenizer.encode_ordinary(CORRUPT), list(scores),
                         t, v)
    worst = max(abs(scores[n] - theirs[n]) for n in scores)
    assert worst <= 1e-6, f"largest difference from transformers: {worst:.3g}"


# ---- xlgpt patch ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def patch_book(hf_tiny, tmp_path_factory):
    """The tiny transformers model as a workbook on disk (no knobs), and its path."""
    folder = tmp_path_factory.mktemp("patch")
    save_hf_model(hf_tiny, folder)
    ckpt = checkpoint.load(str(folder))
    path = folder / "book.xlsx"
    write_book(builder.build_workbook(ckpt, PROMPT, 16, lens=False), path)
    return path


def _patch(path, *args):
    r = cli("patch", path, "--clean", CLEAN, "--corrupt", CORRUPT, *args)
    assert r.returncode == 0, r.stderr
    return r


def test_patching_equals_transformers(patch_book, hf_tiny):
    r = _patch(patch_book, "--target", " Tuesday", "--versus", " Saturday", "--components", "heads,mlps,resid",
               "--json")
    result = json.loads(r.stdout)
    clean, corrupt = tokenizer.encode_ordinary(CLEAN), tokenizer.encode_ordinary(CORRUPT)
    assert result["clean"]["token_ids"] == clean and result["corrupt"]["token_ids"] == corrupt
    t, v = tokenizer.encode_ordinary(" Tuesday")[0], tokenizer.encode_ordinary(" Saturday")[0]
    assert (result["target"]["id"], result["versus"]["id"]) == (t, v)
    scores = {c["component"]: c["score"] for c in result["components"]}
    cfg = hf_tiny.config
    assert set(scores) == ({f"head{i}.{h}" for i in range(cfg.n_layer) for h in range(cfg.n_head)}
                           | {f"mlp{i}" for i in range(cfg.n_layer)}
                           | {f"resid_pre{i}@{p}" for i in range(cfg.n_layer) for p in range(len(clean))})
    theirs = hf_patching(as_written_double(hf_tiny), clean, corrupt, list(scores), t, v)
    worst = max(abs(scores[n] - theirs[n]) for n in scores)
    assert worst <= 1e-6, f"largest difference from transformers: {worst:.3g}"
    assert [abs(c["score"]) for c in result["components"]] == sorted((abs(s) for s in scores.values()), reverse=True)
    # the residual stream entering block 0 differs only where the prompts do: patching it there restores all
    differ = [p for p in range(len(clean)) if clean[p] != corrupt[p]]
    assert abs(scores[f"resid_pre0@{differ[0]}"] - 1) <= 1e-9
    assert max(abs(scores[f"resid_pre0@{p}"]) for p in range(len(clean)) if p not in differ) <= 1e-9


def test_a_switched_off_component_scores_zero(patch_book, tmp_path):
    """A head and an MLP the workbook's gates switch off have nothing to patch: their scores are 0."""
    gated = tmp_path / "gated.xlsx"
    r = cli("recalc", patch_book, "--set", "HeadGates(1,0)=0", "--set", "MlpGates(0)=0", "--out", gated)
    assert r.returncode == 0, r.stderr
    scores = {c["component"]: c["score"] for c in json.loads(_patch(gated, "--target", " Tuesday", "--versus",
                                                                    " Saturday", "--json").stdout)["components"]}
    assert scores["head1.0"] == 0 and scores["mlp0"] == 0
    assert max(abs(s) for s in scores.values()) > 1e-3, "every score 0: the test proves nothing"


def test_patch_table_tab_and_errors(patch_book, tmp_path):
    printed = {c["component"]: c["score"] for c in json.loads(_patch(
        patch_book, "--target", " Tuesday", "--versus", " Saturday", "--json").stdout)["components"]}
    table = _patch(patch_book, "--target", " Tuesday", "--versus", " Saturday").stdout
    circuit = [n for n, s in sorted(printed.items(), key=lambda kv: -abs(kv[1])) if s >= 0.1][:8]
    assert circuit, "no component scores 0.1: the test proves nothing"
    assert f"--keep-only {','.join(circuit)}" in table
    out = tmp_path / "patched.xlsx"
    r = _patch(patch_book, "--target", " Tuesday", "--versus", " Saturday", "--write-tab", "--out", out)
    assert "with the tab Patching" in r.stderr
    from workbook_io import open_values
    wb = open_values(out)
    tab = wb["Patching"]
    assert str(tab["A1"].value).startswith("Patching: computed by `xlgpt patch")
    listed = {}
    for row in tab.iter_rows(values_only=True):
        if row[0] and str(row[0]).startswith(("head", "mlp")) and isinstance(row[1], float):
            listed[row[0]] = row[1]
    assert listed == printed
    # the workbook's own values are kept: the prediction is the one it was read with
    assert wb["Start"] is not None and open_values(patch_book)["predict"]["D5"].value == wb["predict"]["D5"].value
    # prompts of different lengths, a target that is two tokens, the same token twice: one line each
    bad = cli("patch", patch_book, "--clean", CLEAN, "--corrupt", "Today is Friday")
    assert bad.returncode == 2 and "same length in tokens" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = cli("patch", patch_book, "--clean", CLEAN, "--corrupt", CORRUPT, "--target", " Tuesdays and")
    assert bad.returncode == 2 and "give one token" in bad.stderr
    bad = cli("patch", patch_book, "--clean", CLEAN, "--corrupt", CORRUPT, "--target", " Tuesday", "--versus",
              " Tuesday")
    assert bad.returncode == 2 and "both" in bad.stderr
    bad = cli("patch", patch_book, "--clean", CLEAN, "--corrupt", CORRUPT, "--components", "heads,attn")
    assert bad.returncode == 2 and "--components" in bad.stderr
