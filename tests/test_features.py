"""A sparse autoencoder's encoder in formulas (build --sae, the Features tab) and the prompts that light a
feature (sweep --feature, --features): against the oracle's encoder on the oracle's residual stream, and
against the same encoder on transformers' residual stream. LibreOffice and Gnumeric check the shared tiny
workbook's Features tab (conftest.tiny carries an SAE; helpers.check_against_oracle)."""

import json

import numpy as np
import pytest

from helpers import PROMPT, cli, features_equal, sae_oracle
from reference import as_written_double, make_sae, save_hf_model
from workbook_io import named, numbers, open_values
from xlgpt import engine
from xlgpt.model import checkpoint, oracle, sae as sparse, tokenizer
from xlgpt.model.knobs import Knobs, Steering
from xlgpt.sheet.cells import written_values
from xlgpt.workbook import builder, names


def _read(book):
    return lambda name: engine.read_range(book, name)


@pytest.mark.parametrize("hook,apply_b_dec", [("blocks.1.hook_resid_pre", True), ("blocks.0.hook_resid_post", False)])
def test_features_equal_the_oracle_and_transformers(hf_tiny, tmp_path, hook, apply_b_dec):
    save_hf_model(hf_tiny, tmp_path / "model")
    ckpt = checkpoint.load(str(tmp_path / "model"))
    sae = sparse.load(str(make_sae(tmp_path / "sae", 16, hook=hook, apply_b_dec=apply_b_dec)), 16, 2)
    book = builder.build_workbook(ckpt, PROMPT, 16, lens=False, sae=sae, sae_top=6)
    ids = tokenizer.encode_ordinary(PROMPT)
    ref = oracle.forward({k: written_values(v) for k, v in ckpt.params.items()}, ckpt.config, ids)
    want = features_equal(_read(book), sae, ref[sae.tab], 6)
    assert 0 < np.count_nonzero(want) < want.size, "every feature on, or none: the test proves nothing"
    # transformers' residual stream (hidden_states[L] enters block L, [L + 1] leaves it), the same encoder
    import torch
    with torch.no_grad():
        hidden = as_written_double(hf_tiny)(torch.tensor([ids]), output_hidden_states=True).hidden_states
    stream = hidden[sae.layer + (sae.hook == "resid_post")][0].numpy()
    theirs = sae_oracle(sae, stream)
    got = np.asarray(engine.read_range(book, names.SAE_ACTIVATIONS)[:, :len(ids)], dtype=np.float64).T
    assert np.max(np.abs(got - theirs)) <= 1e-6 * np.max(theirs)
    assert engine.read_range(book, names.FEATURE_LAYER)[0, 0] == sae.layer


def test_labels_steering_and_the_watched_feature(tmp_path):
    """--sae-labels puts descriptions beside the ids; with --steer-sae on the same SAE and feature, the Features
    tab follows that feature, and setting the coefficient to 0 moves it and the prediction, each as the oracle
    says."""
    folder = make_sae(tmp_path / "sae", 16)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps([{"index": str(i), "description": f"feature number {i}"} for i in range(0, 48, 2)]))
    out = tmp_path / "steered.xlsx"
    r = cli("build", "--weights", "random:tiny", "--seed", 3, "--prompt", PROMPT, "--out", out, "--sae", folder,
            "--sae-labels", labels, "--steer-sae", folder, "--feature", 5, "--coeff", 4.0, "--sae-top", 4)
    assert r.returncode == 0, r.stderr
    ckpt = checkpoint.load("random:tiny", seed=3)
    sae = sparse.load(str(folder), 16, 2)
    params = {k: written_values(v) for k, v in ckpt.params.items()}
    ids = tokenizer.encode_ordinary(PROMPT)
    from safetensors.numpy import load_file
    # the Surgery tab holds the decoder row as the float32 numbers are (float64, every digit)
    w_dec = load_file(str(folder / "sae_weights.safetensors"))["W_dec"].astype(np.float64)
    wb = open_values(out)
    assert named(wb, names.FEATURE_WATCH)[0, 0] == 5
    seen = {}
    for coeff, book in ((4.0, out), (0.0, tmp_path / "off.xlsx")):
        if coeff == 0.0:
            r = cli("recalc", out, "--set", "SteerCoef(1)=0", "--out", book, "--check")
            assert r.returncode == 0, r.stderr
        wb = open_values(book)
        knobs = Knobs(steering=[Steering(1, w_dec[5], coeff, None)]) if coeff else Knobs()
        ref = oracle.forward(params, ckpt.config, ids, knobs)
        want = features_equal(lambda name: named(wb, name), sae, ref["h.1.resid_pre"], 4)
        watched = numbers(named(wb, names.FEATURE_WATCHED))[:len(ids), 0]
        np.testing.assert_allclose(watched, want[:, 5], rtol=1e-9, atol=1e-9 * np.max(want))
        top = numbers(named(wb, names.TOP_IDS))[:, 0]
        assert top.tolist() == oracle.top_k(ref["logits"][-1], 10)[0].tolist()
        seen[coeff] = (watched, top)
        feature_ids = named(wb, names.FEATURE_IDS)[:len(ids)]
        descriptions = [[wb["Features"].cell(5 + p, 3 + 2 * 4 + j).value for j in range(4)] for p in range(len(ids))]
        for p in range(len(ids)):
            for j, i in enumerate(feature_ids[p]):
                if i not in ("", None):
                    assert descriptions[p][j] == (f"feature number {int(i)}" if int(i) % 2 == 0 else None) or \
                        (int(i) % 2 == 1 and descriptions[p][j] in ("", None))
    assert not np.allclose(seen[4.0][0], seen[0.0][0]), "the steering does not move the feature"


def test_sweep_reports_the_prompts_that_light_a_feature(tiny, tmp_path):
    r = cli("sweep", tiny.path, "--prompts", "days", "--feature", 3, "--features", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["baseline"]
    params = tiny.as_written
    maxima = []
    for row in rows:
        ids = tokenizer.encode_ordinary(row["prompt"])
        ref = oracle.forward(params, tiny.ckpt.config, ids)
        acts = sae_oracle(tiny.sae, ref[tiny.sae.tab])
        p = int(np.argmax(acts[:, 3]))
        f = row["feature"]
        assert (f["id"], f["position"], f["token"]) == (3, p, tokenizer.token_text(ids[p]))
        assert abs(f["max"] - acts[p, 3]) <= 1e-9 * np.max(acts)
        last = acts[-1]
        order = [int(i) for i in np.argsort(-last, kind="stable")[:tiny.sae_top] if last[i] > 0]
        assert [x["id"] for x in row["features"]] == order
        np.testing.assert_allclose([x["activation"] for x in row["features"]], last[order], rtol=1e-9)
        maxima.append(f["max"])
    assert maxima == sorted(maxima, reverse=True) and maxima[0] > 0
    table = cli("sweep", tiny.path, "--prompts", "days", "--feature", 3).stdout
    assert "feature 3: its largest activation" in table


def test_sae_errors_are_one_line(tmp_path):
    def build(*args):
        return cli("build", "--weights", "random:tiny", "--out", tmp_path / "x.xlsx", "--force", *args)
    cases = [
        (make_sae(tmp_path / "topk", 16, extra={"architecture": "topk"}), "standard ReLU SAE only"),
        (make_sae(tmp_path / "jump", 16, extra={"architecture": "jumprelu"}), "standard ReLU SAE only"),
        (make_sae(tmp_path / "norm", 16, extra={"normalize_activations": "expected_average_only_in"}), "normalised"),
        (make_sae(tmp_path / "attn", 16, hook="blocks.0.attn.hook_z"), "not a residual stream"),
        (make_sae(tmp_path / "deep", 16, hook="blocks.7.hook_resid_pre"), "blocks 0 to 1"),
        (make_sae(tmp_path / "wide", 32), "W_enc is [32, 48]"),
    ]
    for folder, words in cases:
        r = build("--sae", folder)
        assert r.returncode == 2 and words in r.stderr and len(r.stderr.strip().splitlines()) == 1, (folder, r.stderr)
    good = make_sae(tmp_path / "good", 16)
    r = build("--sae-top", 3)
    assert r.returncode == 2 and "go with --sae" in r.stderr
    r = build("--sae", good, "--sae-top", 0)
    assert r.returncode == 2 and "--sae-top 0" in r.stderr
    bad = tmp_path / "labels.csv"
    bad.write_text("index,description\n99,too far\n")
    r = build("--sae", good, "--sae-labels", bad)
    assert r.returncode == 2 and "features 0 to 47" in r.stderr
    r = cli("sweep", tmp_path / "missing.xlsx", "--prompts", "days", "--feature", 1)
    assert r.returncode == 2
