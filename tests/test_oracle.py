"""The NumPy oracle against Hugging Face transformers, loaded through xlgpt's own loader."""

import numpy as np
import pytest

from reference import hf_logits, save_hf_model
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.model.knobs import Knobs, Steering

IDS = tokenizer.encode("Mike is quick. He moves fast, and the dog sleeps.")
TOL = 1e-5  # relative to the largest logit: transformers runs in float32, whose rounding grows with the values


def _max_diff(a, b):
    """The largest difference between two sets of logits, relative to the largest logit of `b`."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("shape", ["tiny", pytest.param("small-2", marks=pytest.mark.slow)])
@pytest.mark.parametrize("prefix", [True, False], ids=["prefix", "no-prefix"])
def test_logits_match_transformers(shape, prefix, request, tmp_path):
    model = request.getfixturevalue("hf_tiny" if shape == "tiny" else "hf_small2")
    save_hf_model(model, tmp_path, prefix=prefix)
    ckpt = checkpoint.load(str(tmp_path / "model.safetensors"))
    ours = oracle.forward(ckpt.params, ckpt.config, IDS)["logits"]
    theirs = hf_logits(model, IDS)
    assert ours.shape == theirs.shape == (len(IDS), 50257)
    assert _max_diff(ours, theirs) < TOL, f"{shape} logits differ by {_max_diff(ours, theirs):.3g}"


def _hf_ckpt(model, tmp_path):
    save_hf_model(model, tmp_path)
    return checkpoint.load(str(tmp_path))


def test_head_gate_zero_equals_head_output_zeroed(hf_tiny, tmp_path):
    ckpt = _hf_ckpt(hf_tiny, tmp_path)
    cfg = ckpt.config
    gates = np.ones((cfg.n_layer, cfg.n_head))
    gates[1, 0] = 0
    knobs = Knobs(head_gates=gates)
    ours = oracle.forward(ckpt.params, cfg, IDS, knobs)["logits"]
    theirs = hf_logits(hf_tiny, IDS, knobs)
    assert _max_diff(ours, theirs) < TOL
    assert _max_diff(ours, hf_logits(hf_tiny, IDS)) > 1e-3, "the gate had no effect: the test proves nothing"


def test_steering_equals_vector_added_before_block(hf_tiny, tmp_path):
    ckpt = _hf_ckpt(hf_tiny, tmp_path)
    vec = np.random.default_rng(3).normal(size=ckpt.config.n_embd)
    knobs = Knobs(steering=[Steering(layer=1, vector=vec, coeff=2.5, positions=[1, 3, 4])])
    ours = oracle.forward(ckpt.params, ckpt.config, IDS, knobs)["logits"]
    theirs = hf_logits(hf_tiny, IDS, knobs)
    assert _max_diff(ours, theirs) < TOL
    assert _max_diff(ours, hf_logits(hf_tiny, IDS)) > 1e-3


@pytest.mark.parametrize("block", ["attn", "mlp"])
def test_block_gate_zero_removes_that_block(hf_tiny, tmp_path, block):
    """A layer gate of 0 equals transformers with that block's output (c_proj, bias included) replaced by 0."""
    ckpt = _hf_ckpt(hf_tiny, tmp_path)
    gates = np.ones(ckpt.config.n_layer)
    gates[0] = 0
    knobs = Knobs(attn_gates=gates) if block == "attn" else Knobs(mlp_gates=gates)
    theirs = hf_logits(hf_tiny, IDS, knobs)
    ours = oracle.forward(ckpt.params, ckpt.config, IDS, knobs)["logits"]
    assert _max_diff(ours, theirs) < TOL


def test_logit_lens_last_layer_is_the_prediction(hf_tiny, tmp_path):
    ckpt = _hf_ckpt(hf_tiny, tmp_path)
    out = oracle.forward(ckpt.params, ckpt.config, IDS, lens=True)
    assert out["lens"].shape == (ckpt.config.n_layer, len(IDS), 50257)
    np.testing.assert_allclose(out["lens"][-1], out["logits"], rtol=0, atol=1e-12)
    # layer 0's lens is ln_f then unembedding of block 0's output, computed here by hand
    x = out["h.0.resid_post"]
    ln = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    ln = ln * ckpt.params["ln_f.weight"] + ckpt.params["ln_f.bias"]
    np.testing.assert_allclose(out["lens"][0], ln @ ckpt.params["wte.weight"].T.astype(np.float64), atol=1e-9)


def test_causal_prefix_is_unchanged_by_later_tokens():
    ckpt = checkpoint.load("random:tiny", seed=5)
    full = oracle.forward(ckpt.params, ckpt.config, IDS)["logits"]
    prefix = oracle.forward(ckpt.params, ckpt.config, IDS[:4])["logits"]
    np.testing.assert_allclose(prefix, full[:4], atol=1e-12)
