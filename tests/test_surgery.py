"""Brain surgery and the virtual MRI in the workbook: gates and steering cells change every stage exactly as
the oracle's knobs (and transformers with the same hooks) say; the logit lens is the oracle's; steering
vectors come in from SAELens files, CSV and prompt differences."""

import json

import numpy as np
import pytest

from reference import hf_logits, save_hf_model
from helpers import cli, need_libreoffice, recalc
from workbook_io import area, named, numbers, open_values
from xlgpt import engine
import libreoffice
from xlgpt.sheet import refs
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.model.knobs import Knobs, Steering, keep_only
from xlgpt.workbook import builder, names
from xlgpt.workbook import lens as lens_tabs
from xlgpt.workbook.stages import position_results, stage_name
from xlgpt.errors import XlgptError
from xlgpt.sheet.cells import written_values
from xlgpt.xlsx.packager import write_book

PROMPT = "If today is Monday, tomorrow is"
REL = 1e-9


def knobs_for(cfg, seed=5):
    rng = np.random.default_rng(seed)
    heads = np.ones((cfg.n_layer, cfg.n_head))
    heads[1, 0] = 0
    heads[0, 1] = 0.5
    attn = np.ones(cfg.n_layer)
    attn[0] = 0.75
    mlp = np.ones(cfg.n_layer)
    mlp[1] = 0
    steer = Steering(1, rng.normal(size=cfg.n_embd), 2.5, [2, 3, 4, 5])
    return Knobs(head_gates=heads, attn_gates=attn, mlp_gates=mlp, steering=[steer])


def stages_equal_the_oracle(book, ckpt, knobs, n_ctx):
    """Every stage of the book, found by its defined name, equals the oracle run with the knobs the test set."""
    ids = tokenizer.encode_ordinary(PROMPT)
    ref = oracle.forward(as_written(ckpt), ckpt.config, ids, knobs)
    for tab, _ in position_results(ckpt.config, n_ctx):
        got = np.asarray(engine.read_range(book, stage_name(tab))[:len(ids)], dtype=np.float64)
        assert np.max(np.abs(got - ref[tab])) <= REL * np.max(np.abs(ref[tab])), tab


def as_written(ckpt):
    return {k: written_values(v) for k, v in ckpt.params.items()}


@pytest.fixture(scope="module")
def tiny_cut(tmp_path_factory):
    ckpt = checkpoint.load("random:tiny", seed=3)
    knobs = knobs_for(ckpt.config)
    # 8 positions: the prompt's 7 and one of padding (half the lens that LibreOffice computes at 16)
    book = builder.build_workbook(ckpt, PROMPT, 8, knobs=knobs)
    return ckpt, knobs, book


def test_knobs_change_every_stage_as_the_oracle_says(tiny_cut):
    """The knobs this test set (not read back by the code under test) in the Surgery tab's named cells, and
    every stage, found by its defined name, equal to the oracle run with those knobs."""
    ckpt, knobs, book = tiny_cut
    steer = knobs.steering[0]
    assert engine.read_range(book, names.HEAD_GATES).tolist() == knobs.head_gates.tolist()
    assert engine.read_range(book, names.ATTN_GATES)[:, 0].tolist() == knobs.attn_gates.tolist()
    assert engine.read_range(book, names.MLP_GATES)[:, 0].tolist() == knobs.mlp_gates.tolist()
    assert engine.read_range(book, names.steer(steer.layer))[0].tolist() == steer.vector.tolist()
    assert engine.read_range(book, names.STEER_COEF)[steer.layer, 0] == steer.coeff
    stages_equal_the_oracle(book, ckpt, knobs, 8)
    ids = tokenizer.encode_ordinary(PROMPT)
    plain = oracle.forward(as_written(ckpt), ckpt.config, ids)["logits"][-1]
    got = engine.read_range(book, names.LOGITS)[:, 0]
    assert np.max(np.abs(got - plain)) > 1e-3, "the knobs had no effect: the test proves nothing"


def test_defaults_change_nothing():
    ckpt = checkpoint.load("random:tiny", seed=3)
    book = builder.build_workbook(ckpt, PROMPT, 16)
    ids = tokenizer.encode_ordinary(PROMPT)
    want = oracle.forward(as_written(ckpt), ckpt.config, ids)["logits"][-1]
    got = engine.read_range(book, names.LOGITS)[:, 0]
    assert np.max(np.abs(got - want)) <= REL * np.max(np.abs(want))


def test_the_logit_lens_is_the_oracles(tiny_cut):
    ckpt, knobs, book = tiny_cut
    ids = tokenizer.encode_ordinary(PROMPT)
    ref = oracle.forward(as_written(ckpt), ckpt.config, ids, knobs, lens=True)
    n, n_layer = len(ids), ckpt.config.n_layer
    n_ctx = engine.read_range(book, names.TOKEN_IDS).shape[0]
    final = int(engine.read_range(book, names.NEXT_TOKEN_ID)[0, 0])
    assert final == int(np.argmax(ref["logits"][-1]))
    for layer in range(n_layer):
        summary = lens_tabs.summary_area(layer, n_ctx)
        top = engine.read_range(book, summary.rows(0, 1).cols(0, n).ref())[0]
        prob = engine.read_range(book, summary.rows(1, 1).cols(0, n).ref())[0]
        p_next = engine.read_range(book, summary.rows(2, 1).cols(0, n).ref())[0]
        want_ids, want_probs = zip(*(oracle.top_k(ref["lens"][layer, p], 1) for p in range(n)))
        assert [int(i) for i in top] == [int(i[0]) for i in want_ids]
        assert np.allclose(np.asarray(prob, dtype=float), [p[0] for p in want_probs], rtol=REL, atol=0)
        want_next = [oracle.softmax(ref["lens"][layer, p])[final] for p in range(n)]
        assert np.allclose(np.asarray(p_next, dtype=float), want_next, rtol=REL, atol=0)
        logits = engine.read_range(book, refs.qualified(summary.sheet, refs.area(lens_tabs.LENS_ROWS, summary.col,
                                                                                   ckpt.config.n_vocab, n)))
        assert np.max(np.abs(logits.T - ref["lens"][layer, :, :])) <= REL * np.max(np.abs(ref["lens"][layer]))
    last = engine.read_range(book, lens_tabs.summary_area(n_layer - 1, n_ctx).rows(0, 1).cols(0, n).ref())[0]
    assert int(last[n - 1]) == final  # the last block's lens predicts
    # per block at the last position: p(final prediction) and the residual norm, which the charts draw
    table = engine.read_range(book, lens_tabs.last_position_area(n_layer, n_ctx).ref())
    assert table[:, 0].tolist() == [f"block {i}" for i in range(n_layer)]
    want = [oracle.softmax(ref["lens"][i, n - 1])[final] for i in range(n_layer)]
    assert np.allclose(table[:, 1].astype(float), want, rtol=REL, atol=0)
    norms = [np.linalg.norm(ref[f"h.{i}.resid_post"][n - 1]) for i in range(n_layer)]
    assert np.allclose(table[:, 2].astype(float), norms, rtol=REL, atol=0)
    assert [c.values for c in book.sheet(lens_tabs.TAB).charts] == [
        lens_tabs.last_position_area(n_layer, n_ctx).cols(k, 1).ref() for k in (1, 2)]


def test_knobs_against_transformers_hooks(hf_tiny, tmp_path):
    """Head 0 of block 1 zeroed before c_proj, and a vector added before block 1: transformers' float32."""
    save_hf_model(hf_tiny, tmp_path)
    ckpt = checkpoint.load(str(tmp_path))
    cfg = ckpt.config
    heads = np.ones((cfg.n_layer, cfg.n_head))
    heads[1, 0] = 0
    vec = np.random.default_rng(3).normal(size=cfg.n_embd)
    knobs = Knobs(head_gates=heads, steering=[Steering(1, vec, 2.5, [1, 2, 3, 4])])
    book = builder.build_workbook(ckpt, PROMPT, 16, knobs=knobs)
    ids = tokenizer.encode_ordinary(PROMPT)
    theirs = hf_logits(hf_tiny, ids, knobs)
    got = engine.read_range(book, names.LOGITS)[:, 0]
    assert np.max(np.abs(got - theirs[len(ids) - 1])) <= 1e-5 * np.max(np.abs(theirs[len(ids) - 1]))
    assert np.max(np.abs(got - hf_logits(hf_tiny, ids)[len(ids) - 1])) > 1e-3, "no effect: the test proves nothing"


def test_recalc_set_gates_and_steering(tmp_path):
    """Knobs edited headlessly, by name and index: --check reads them back and the oracle agrees."""
    ckpt = checkpoint.load("random:tiny", seed=3)
    src = tmp_path / "book.xlsx"
    write_book(builder.build_workbook(ckpt, PROMPT, 16), src)
    out = tmp_path / "cut.xlsx"
    r = recalc(src, "--out", out, "--check", "--set", "HeadGates(1,0)=0", "--set", "MlpGates(0)=0",
               "--set", "Steer1(3)=4.5", "--set", "SteerCoef(1)=2", "--set", "SteerFrom(1)=2")
    assert "check: every stage equals the oracle" in r.stdout
    ids = tokenizer.encode_ordinary(PROMPT)
    heads = np.ones((2, 2))
    heads[1, 0] = 0
    vec = np.zeros(ckpt.config.n_embd)
    vec[3] = 4.5
    knobs = Knobs(head_gates=heads, mlp_gates=np.array([0.0, 1.0]),
                         steering=[Steering(1, vec, 2.0, list(range(2, 16)))])
    want = oracle.forward(as_written(ckpt), ckpt.config, ids, knobs)["logits"][-1]
    got = numbers(named(open_values(out), names.LOGITS))[:, 0]
    assert np.max(np.abs(got - want)) <= REL * np.max(np.abs(want))


@pytest.mark.libreoffice
def test_libreoffice_computes_the_knobs_alike(tiny_cut, tmp_path):
    need_libreoffice()
    ckpt, knobs, book = tiny_cut
    src = tmp_path / "knobs.xlsx"
    write_book(book, src)
    wb = open_values(libreoffice.recalculate(src, tmp_path / "lo"))
    ids = tokenizer.encode_ordinary(PROMPT)
    ref = oracle.forward(as_written(ckpt), ckpt.config, ids, knobs, lens=True)
    got = numbers(named(wb, names.LOGITS))[:, 0]
    assert np.max(np.abs(got - ref["logits"][-1])) <= REL * np.max(np.abs(ref["logits"][-1]))
    n_ctx = engine.read_range(book, names.TOKEN_IDS).shape[0]
    summary = lens_tabs.summary_area(1, n_ctx)
    top = area(wb, summary.sheet, summary.row, summary.col, 1, len(ids))[0].tolist()
    assert top == [int(np.argmax(ref["lens"][1, p])) for p in range(len(ids))]
    table = lens_tabs.last_position_area(ckpt.config.n_layer, n_ctx)
    got = numbers(area(wb, table.sheet, table.row, table.col + 1, table.nrows, 2))
    final = int(np.argmax(ref["logits"][-1]))
    want = [[oracle.softmax(ref["lens"][i, len(ids) - 1])[final],
             np.linalg.norm(ref[f"h.{i}.resid_post"][len(ids) - 1])] for i in range(ckpt.config.n_layer)]
    np.testing.assert_allclose(got, want, rtol=REL, atol=0)


@pytest.mark.slow
def test_gpt2_small_shaped_two_layers(hf_small2, tmp_path):
    """Full width and vocabulary, 2 blocks: the workbook with knobs equals the oracle at every stage and
    transformers with the same edits as hooks (float32: 1e-5 relative)."""
    save_hf_model(hf_small2, tmp_path)
    ckpt = checkpoint.load(str(tmp_path))
    knobs = knobs_for(ckpt.config)
    book = builder.build_workbook(ckpt, PROMPT, 16, knobs=knobs, lens=False)
    stages_equal_the_oracle(book, ckpt, knobs, 16)
    ids = tokenizer.encode_ordinary(PROMPT)
    theirs = hf_logits(hf_small2, ids, knobs)[len(ids) - 1]
    got = engine.read_range(book, names.LOGITS)[:, 0]
    assert np.max(np.abs(got - theirs)) <= 1e-5 * np.max(np.abs(theirs))
    plain = hf_logits(hf_small2, ids)[len(ids) - 1]
    assert np.max(np.abs(got - plain)) > 1e-3 * np.max(np.abs(plain)), "no effect: the test proves nothing"


def saelens_folder(folder, d_in, d_sae=32, layer=1, seed=0):
    """A sparse autoencoder saved as SAELens does: sae_weights.safetensors and cfg.json."""
    from safetensors.numpy import save_file
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {"W_enc": rng.normal(size=(d_in, d_sae)).astype(np.float32),
               "b_enc": np.zeros(d_sae, dtype=np.float32),
               "W_dec": rng.normal(size=(d_sae, d_in)).astype(np.float32),
               "b_dec": np.zeros(d_in, dtype=np.float32)}
    save_file(tensors, str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps({"d_in": d_in, "d_sae": d_sae, "model_name": "gpt2-small",
                                                 "hook_name": f"blocks.{layer}.hook_resid_pre"}))
    return tensors["W_dec"]


def build(tmp_path, *args):
    out = tmp_path / "steered.xlsx"
    r = cli("build", "--weights", "random:tiny", "--seed", 3, "--prompt", PROMPT, "--out", out, "--force", *args)
    return r, out


def test_sae_row_goes_into_the_residual_stream(tmp_path):
    w_dec = saelens_folder(tmp_path / "sae", 16, layer=1)
    r, out = build(tmp_path, "--steer-sae", tmp_path / "sae", "--feature", 7, "--coeff", 3.0)
    assert r.returncode == 0, r.stderr
    wb = open_values(out)
    assert numbers(named(wb, names.steer(1)))[0].tolist() == w_dec[7].astype(np.float64).tolist()
    assert numbers(named(wb, names.STEER_COEF))[:, 0].tolist() == [1.0, 3.0]
    from xlgpt.workbook import residual
    n, width = len(tokenizer.encode_ordinary(PROMPT)), w_dec.shape[1]

    def stream(tab):
        where = residual.out_area(tab, n, width)
        return numbers(area(wb, where.sheet, where.row, where.col, n, width))
    before, after = stream("h.0.resid_post"), stream("h.1.resid_pre")
    assert np.allclose(after - before, 3.0 * w_dec[7].astype(np.float64), rtol=0, atol=1e-12)


def test_steering_sources_and_their_errors(tmp_path):
    (tmp_path / "v.csv").write_text(",".join(str(x) for x in range(16)))
    r, out = build(tmp_path, "--steer-csv", tmp_path / "v.csv", "--layer", 0, "--coeff", 0.5)
    assert r.returncode == 0, r.stderr
    assert numbers(named(open_values(out), names.steer(0)))[0].tolist() == [float(x) for x in range(16)]
    saelens_folder(tmp_path / "sae", 16)
    (tmp_path / "short.csv").write_text("1,2,3")
    (tmp_path / "underscore.csv").write_text(",".join(["1_0"] + [str(x) for x in range(15)]))
    for args, message in [
        (["--steer-csv", tmp_path / "short.csv", "--layer", 0], "3 numbers"),
        (["--steer-csv", tmp_path / "underscore.csv", "--layer", 0], "'1_0', is not a finite number"),
        (["--steer-sae", tmp_path / "sae"], "--feature"),
        (["--steer-sae", tmp_path / "sae", "--feature", 99], "features 0 to 31"),
        (["--steer-csv", tmp_path / "v.csv", "--layer", 5], "layers 0 to 1"),
        (["--keep-only", "mlp0,head7.1"], "layers 0 to 1"),
        (["--keep-only", "banana"], "not a component"),
    ]:
        r, _ = build(tmp_path, *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


def test_steering_from_two_prompts_is_their_residual_difference(tmp_path):
    r, out = build(tmp_path, "--steer-prompts", "Love", "Hate", "--layer", 1, "--coeff", 5)
    assert r.returncode == 0, r.stderr
    ckpt = checkpoint.load("random:tiny", seed=3)
    params = as_written(ckpt)
    love = oracle.forward(params, ckpt.config, tokenizer.encode_ordinary("Love"))["h.1.resid_pre"][-1]
    hate = oracle.forward(params, ckpt.config, tokenizer.encode_ordinary("Hate"))["h.1.resid_pre"][-1]
    got = numbers(named(open_values(out), names.steer(1)))[0]
    assert np.max(np.abs(got - (love - hate))) <= REL * np.max(np.abs(love - hate))


def test_keep_only_switches_off_everything_else():
    from xlgpt.model.config import FAMILY
    cfg12 = FAMILY["gpt2"]
    knobs = keep_only("mlp0,head9.1,head10.3,mlp9", cfg12)
    assert knobs.head_gates.sum() == 2 and knobs.head_gates[9, 1] == knobs.head_gates[10, 3] == 1
    assert knobs.mlp_gates.tolist() == [1.0] + [0.0] * 8 + [1.0] + [0.0] * 2
    assert knobs.attn_gates.tolist() == [1.0] * 12
    with pytest.raises(XlgptError, match="heads 0 to 11"):
        keep_only("head1.12", cfg12)
