"""The command line as a user meets it: output shapes, and one error line without a traceback."""

import json

import numpy as np

from helpers import cli
from xlgpt.model import checkpoint, oracle


def test_tokenize_json():
    r = cli("tokenize", "Mike is quick. He moves", "--json")
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["token_ids"] == [16073, 318, 2068, 13, 679, 6100]
    assert "".join(out["tokens"]) == "Mike is quick. He moves"


def test_predict_json_shape_and_values():
    r = cli("predict", "--prompt", "Hello world", "--weights", "random:tiny", "--seed", "4", "--top", "3", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["token_ids"] == [15496, 995]
    assert [set(t) for t in out["top"]] == [{"id", "token", "prob", "logit"}] * 3
    ckpt = checkpoint.load("random:tiny", seed=4)
    logits = oracle.forward(ckpt.params, ckpt.config, [15496, 995])["logits"][-1]
    assert out["top"][0]["id"] == int(np.argmax(logits))
    probs = [t["prob"] for t in out["top"]]
    assert probs == sorted(probs, reverse=True)


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
