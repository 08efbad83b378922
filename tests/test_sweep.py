"""xlgpt sweep: the workbook's own formulas on every prompt of a set, with and without knobs, equal the oracle with
the same knobs (1e-9) and transformers with the same edits as hooks (1e-5); rows that do not fit say so; the
Experiments tab holds the results and leaves the rest of the workbook as it was."""

import csv
import json

import numpy as np
import pytest

from helpers import cli as xlgpt
from reference import hf_logits
from workbook_io import area, named, open_values
from xlgpt.sheet.cells import written_values
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.model.knobs import keep_only
from xlgpt.workbook.sweep import SETS, load_cases
from xlgpt.workbook import builder, names, predict
from xlgpt.xlsx.packager import write_book

REL = 1e-9
KEEP = "mlp0,head1.1,attn0"


@pytest.fixture(scope="module")
def hf_book(hf_dir, tmp_path_factory):
    """The saved tiny transformers model as a workbook (its first prompt is not one of the sets')."""
    ckpt = checkpoint.load(str(hf_dir))
    path = tmp_path_factory.mktemp("sweep") / "book.xlsx"
    write_book(builder.build_workbook(ckpt, "Hello there", 16), path)
    return ckpt, path


def test_sweep_equals_the_oracle_and_transformers_with_and_without_knobs(hf_book, hf_tiny):
    ckpt, path = hf_book
    r = xlgpt("sweep", path, "--prompts", "days", "--keep-only", KEEP, "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    cases = SETS["days"]()
    assert [row["prompt"] for row in result["baseline"]] == [c.prompt for c in cases]
    as_written = {k: written_values(v) for k, v in ckpt.params.items()}
    knobs = keep_only(KEEP, ckpt.config)
    moved = 0
    for label, k in (("baseline", None), ("edited", knobs)):
        for row, case in zip(result[label], cases):
            ids = tokenizer.encode_ordinary(case.prompt)
            assert row["error"] is None and row["token_ids"] == ids
            logits = oracle.forward(as_written, ckpt.config, ids, k)["logits"][-1]
            top_ids, top_probs = oracle.top_k(logits, predict.TOP_K)
            assert [t["id"] for t in row["top"]] == top_ids.tolist(), (label, case.prompt)
            np.testing.assert_allclose([t["prob"] for t in row["top"]], top_probs, rtol=REL, atol=0)
            np.testing.assert_allclose([t["logit"] for t in row["top"]], logits[top_ids], rtol=REL,
                                       atol=REL * np.max(np.abs(logits)))
            e = tokenizer.encode_ordinary(case.expected)[0]
            p = np.exp(logits - logits.max())
            assert row["expected_prob"] == pytest.approx(p[e] / p.sum(), rel=REL)
            assert row["expected_rank"] == 1 + int(np.sum(logits > logits[e]))
            theirs = hf_logits(hf_tiny, ids, k)[-1]
            assert np.max(np.abs(logits - theirs)) <= 1e-5 * np.max(np.abs(theirs))
            assert [t["id"] for t in row["top"][:3]] == np.argsort(-theirs, kind="stable")[:3].tolist()
        if label == "edited":
            moved = sum(a["top"][0]["id"] != b["top"][0]["id"] for a, b in zip(result["baseline"], result["edited"]))
    assert moved > 0, "the knobs changed no prediction: the test proves nothing"
    s = result["summary"]
    assert s["baseline"]["prompts"] == s["edited"]["prompts"] == len(cases) and s["baseline"]["errors"] == 0
    ranks = [row["expected_rank"] for row in result["baseline"]]
    assert s["baseline"]["mean_expected_rank"] == pytest.approx(np.mean(ranks))
    assert s["change"]["mean_expected_rank"] == pytest.approx(s["edited"]["mean_expected_rank"] - np.mean(ranks))
    assert len(s["knobs"]) == 3 * ckpt.config.n_layer + ckpt.config.n_layer * ckpt.config.n_head - ckpt.config.n_layer


def test_a_prompt_that_does_not_fit_is_its_rows_error(hf_book, tmp_path):
    _, path = hf_book
    prompts = tmp_path / "p.jsonl"
    long = "word " * 20
    prompts.write_text("\n".join(json.dumps(x) for x in [{"prompt": "Hello world", "expected": " and"},
                                                         {"prompt": long},
                                                         {"prompt": "Hi", "expected": " two tokens here"}]))
    r = xlgpt("sweep", path, "--prompts", prompts, "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["baseline"]
    assert rows[0]["error"] is None and rows[0]["expected_rank"] >= 1
    assert "--context" in rows[1]["error"] and rows[1]["top"] == []
    assert "3 tokens" in rows[2]["error"]
    assert json.loads(r.stdout)["summary"]["baseline"]["errors"] == 2
    table = xlgpt("sweep", path, "--prompts", prompts)
    assert table.returncode == 0 and "error:" in table.stdout and "1 prompts" not in table.stdout


def test_csv_in_and_out(hf_book, tmp_path):
    _, path = hf_book
    prompts = tmp_path / "p.csv"
    prompts.write_text('prompt,expected\n"Hello, world",\n"If today is Monday, tomorrow is", Tuesday\n')
    assert [(c.prompt, c.expected) for c in load_cases(str(prompts))] == [
        ("Hello, world", None), ("If today is Monday, tomorrow is", " Tuesday")]
    out = tmp_path / "rows.csv"
    r = xlgpt("sweep", path, "--prompts", prompts, "--set", "MlpGates(0)=0", "--csv", out)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(x["run"], x["prompt"]) for x in rows] == [("baseline", "Hello, world"),
                                                      ("baseline", "If today is Monday, tomorrow is"),
                                                      ("edited", "Hello, world"),
                                                      ("edited", "If today is Monday, tomorrow is")]
    assert rows[1]["expected_id"] == str(tokenizer.encode_ordinary(" Tuesday")[0]) and rows[0]["expected_id"] == ""


def test_write_tab_adds_experiments_and_keeps_the_workbook(hf_book, tmp_path):
    ckpt, path = hf_book
    out = tmp_path / "with-tab.xlsx"
    r = xlgpt("sweep", path, "--prompts", "ioi", "--set", "HeadGates(1,1)=0", "--write-tab", "--out", out)
    assert r.returncode == 0, r.stderr
    wb = open_values(out)
    assert wb.sheetnames[:-1] == open_values(path).sheetnames and wb.sheetnames[-1] == "Experiments"
    tab = wb["Experiments"]
    assert "xlgpt sweep" in tab["A1"].value and "HeadGates(1,1)=0" in tab["B3"].value
    assert "--set HeadGates(1,1)=0" in tab["A1"].value, "the title names the knobs"
    got = area(wb, "Experiments", 5, 0, 2 * len(SETS["ioi"]()), 2)
    assert got[:, 0].tolist() == ["baseline"] * 6 + ["edited"] * 6
    assert got[:6, 1].tolist() == [c.prompt for c in SETS["ioi"]()]
    # the workbook's own prompt and knobs are as they were, and it still computes the oracle's prediction
    assert named(wb, names.PROMPT)[0, 0] == "Hello there" and named(wb, names.HEAD_GATES)[1, 1] == 1
    again = tmp_path / "again.xlsx"
    r = xlgpt("recalc", out, "--out", again, "--check")
    assert r.returncode == 0, r.stderr
    # a second sweep replaces the tab rather than adding another
    r = xlgpt("sweep", out, "--prompts", "days", "--write-tab", "--in-place")
    assert r.returncode == 0, r.stderr
    wb = open_values(out)
    assert wb.sheetnames.count("Experiments") == 1 and wb["Experiments"]["B6"].value == SETS["days"]()[0].prompt


@pytest.mark.parametrize("args, needle", [
    (["--prompts", "nonesuch"], "built-in set"),
    (["--prompts", "days", "--set", "Prompt=hi"], "sets the prompt itself"),
    (["--prompts", "days", "--json", "--csv", "x.csv"], "exclude each other"),
    (["--prompts", "days", "--out", "x.xlsx"], "go with --write-tab"),
    (["--prompts", "days", "--write-tab"], "--out PATH"),
    (["--prompts", "days", "--keep-only", "mlp7"], "layers 0 to 1"),
    (["--prompts", "days", "--set", "MlpGates(0)=abc"], "not one"),
])
def test_bad_input_is_one_line(hf_book, tmp_path, args, needle):
    _, path = hf_book
    r = xlgpt("sweep", path, *args, cwd=tmp_path)
    lines = [x for x in r.stderr.strip().splitlines() if not x.startswith(("reading tab", "\r"))]
    assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], r.stderr
