"""The command line as a user meets it: output shapes, and one error line without a traceback."""

import json

import numpy as np

from helpers import cli
from reference import hf_logits


def test_tokenize_json():
    r = cli("tokenize", "Mike is quick. He moves", "--json")
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["token_ids"] == [16073, 318, 2068, 13, 679, 6100]
    assert "".join(out["tokens"]) == "Mike is quick. He moves"


def test_predict_equals_transformers(hf_tiny, hf_dir):
    """predict on a checkpoint transformers saved: the top tokens, their logits and probabilities are
    transformers' own (not the oracle's, which predict runs: a test of the code against itself)."""
    import torch
    r = cli("predict", "--prompt", "Hello world", "--weights", hf_dir, "--top", "3", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["token_ids"] == [15496, 995]
    assert [set(t) for t in out["top"]] == [{"id", "token", "prob", "logit"}] * 3
    logits = hf_logits(hf_tiny, [15496, 995])[-1]
    top = np.argsort(-logits, kind="stable")[:3]
    probs = torch.softmax(torch.tensor(logits), dim=0).numpy()
    assert [t["id"] for t in out["top"]] == top.tolist()
    np.testing.assert_allclose([t["logit"] for t in out["top"]], logits[top], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose([t["prob"] for t in out["top"]], probs[top], rtol=1e-5, atol=1e-7)


def test_errors_are_one_line():
    for args in (["predict", "--prompt", "x", "--weights", "/no/such/model.safetensors"],
                 ["predict", "--prompt", "", "--weights", "random:tiny"],
                 ["predict", "--prompt", "x", "--weights", "random:tiny", "--layers", "9"]):
        r = cli(*args)
        assert r.returncode == 2
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("xlgpt predict: error:"), r.stderr


def test_build_writes_a_workbook_and_never_overwrites(tmp_path):
    out = tmp_path / "tiny.xlsx"
    r = cli("build", "--weights", "random:tiny", "--prompt", "Hello there", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0 and "wrote" in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.xlsx"], "a temporary file was left behind"
    before = out.read_bytes()
    r = cli("build", "--weights", "random:tiny", "--out", str(out))
    assert r.returncode == 2 and "--force" in r.stderr
    assert out.read_bytes() == before


def test_build_errors_are_one_line(tmp_path):
    cases = [
        (["--prompt", "word " * 20], "longer than the context of 16"),
        (["--weights", "random:gpt9"], "unknown model family"),
        (["--out", str(tmp_path / "missing" / "x.xlsx")], "cannot write to the folder"),
        (["--out", str(tmp_path / "x.csv")], "must end in .xlsx"),
        (["--context", "65"], "this model takes 1 to 64 positions"),
        (["--coeff", "nan"], "must be a finite number"),  # even with no steering source to scale
    ]
    for args, message in cases:
        defaults = ["--weights", "random:tiny"] * ("--weights" not in args) + ["--out", str(tmp_path / "b.xlsx")]
        r = cli("build", *defaults, *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and message in lines[0], (args, r.stderr)
    assert list(tmp_path.iterdir()) == []


def test_tokenize_shows_bytes_that_are_not_whole_characters():
    """An emoji is several byte-level tokens: their pieces are bytes (b'...'), not replacement characters, and
    --json gives their byte values; joined, the pieces are the text's UTF-8 (tiktoken, the reference)."""
    from helpers import REFERENCE
    text = "hi 😀 there"
    ids = REFERENCE.encode_ordinary(text)
    r = cli("tokenize", text, "--json")
    out = json.loads(r.stdout)
    assert out["token_ids"] == ids
    joined = b"".join(t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in out["tokens"])
    assert joined == text.encode("utf-8") and any(isinstance(t, list) for t in out["tokens"])
    printed = cli("tokenize", text).stdout
    assert "\\xf0\\x9f" in printed and "\ufffd" not in printed


def test_build_ends_with_the_prediction_and_a_next_step(tmp_path):
    """build prints what the workbook predicts (with --keep-only: with and without the knobs, each the
    oracle's) and a command to try; recalc --print-only runs it and writes nothing."""
    from helpers import PROMPT
    from xlgpt.model import checkpoint, knobs, oracle, tokenizer
    from xlgpt.sheet.cells import written_values
    out = tmp_path / "k.xlsx"
    r = cli("build", "--weights", "random:tiny", "--seed", 3, "--prompt", PROMPT, "--out", out,
            "--keep-only", "mlp0,head1.1")
    assert r.returncode == 0, r.stderr
    ckpt = checkpoint.load("random:tiny", seed=3)
    params = {k: written_values(v) for k, v in ckpt.params.items()}
    ids = tokenizer.encode_ordinary(PROMPT)
    cut = oracle.forward(params, ckpt.config, ids, knobs.keep_only("mlp0,head1.1", ckpt.config))["logits"][-1]
    plain = oracle.forward(params, ckpt.config, ids)["logits"][-1]
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"next token: {tokenizer.token_text(int(np.argmax(cut)))!r}")
    assert lines[1].startswith(f"without the knobs: {tokenizer.token_text(int(np.argmax(plain)))!r}")
    command = lines[-1].strip()
    assert command.startswith("python -m xlgpt recalc") and "--print-only" in command
    before = sorted(p.name for p in tmp_path.iterdir()), out.stat().st_mtime_ns
    r = cli(*__import__("shlex").split(command)[3:])
    assert r.returncode == 0, r.stderr
    assert (sorted(p.name for p in tmp_path.iterdir()), out.stat().st_mtime_ns) == before
    france = tokenizer.encode_ordinary("The capital of France is")
    want = oracle.forward(params, ckpt.config, france, knobs.keep_only("mlp0,head1.1", ckpt.config))["logits"][-1]
    assert f"{int(np.argmax(want)):6d}  {tokenizer.token_text(int(np.argmax(want)))!r}" in r.stdout.splitlines()[1]
    r = cli("recalc", out, "--print-only", "--out", tmp_path / "x.xlsx")
    assert r.returncode == 2 and "--print-only writes nothing" in r.stderr


def test_build_says_when_it_leaves_the_lens_out(tmp_path):
    """The lens is left out by default only when it would cost more than 15% of the weights' cells, and the
    build says so and how to add it (tiny at 64 positions: 6.4 M logits); at 16 positions it is in."""
    from workbook_io import open_values
    r = cli("build", "--weights", "random:tiny", "--context", 64, "--out", tmp_path / "long.xlsx")
    assert r.returncode == 0, r.stderr
    assert "logit lens (LogitLens, the virtual MRI) is left out" in r.stderr and "--lens" in r.stderr
    assert "LogitLens" not in open_values(tmp_path / "long.xlsx").sheetnames
    r = cli("build", "--weights", "random:tiny", "--out", tmp_path / "short.xlsx")
    assert r.returncode == 0 and "left out" not in r.stderr
