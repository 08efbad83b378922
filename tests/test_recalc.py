"""xlgpt recalc on built workbooks: every stage equals the oracle, after a LibreOffice round trip too, and an
edited weight changes the logits exactly as the oracle says."""


import numpy as np
import pytest

from helpers import REL, Built, check_against_oracle, cli, recalc
from workbook_io import named, numbers, open_values
from xlgpt.workbook import names
from xlgpt.model import oracle, tokenizer
from xlgpt.sheet.cells import written_values


def test_build_caches_the_engines_values(tiny):
    """The built file shows its answers as written: cached values equal the oracle without any recalculation."""
    check_against_oracle(open_values(tiny.path), tiny)


def test_recalc_reproduces_every_stage(tiny, tmp_path):
    out = tmp_path / "recalc.xlsx"
    r = recalc(tiny.path, "--out", out, "--check")
    assert "check: every stage equals the oracle" in r.stdout
    check_against_oracle(open_values(out), tiny)
    # progress on stderr, away from the prediction: each step reaches its end
    last = {line.split(" ")[0]: line for line in r.stderr.splitlines()}
    assert set(last) == {"reading", "evaluating", "writing"}, r.stderr
    for line in last.values():
        i, n = line.split(":")[0].split(" ")[-1].split("/")
        assert i == n and int(n) > 1, line


def test_set_weight_changes_logits_as_the_oracle_does(tiny, tmp_path):
    out = tmp_path / "edited.xlsx"
    recalc(tiny.path, "--out", out, "--set", "'h.1.mlp.c_fc.weight'!C4=2.5", "--set", "'ln_f.bias'!E1=-0.75")
    params = {k: written_values(v) for k, v in tiny.ckpt.params.items()}
    params["h.1.mlp.c_fc.weight"][3, 2] = 2.5
    params["ln_f.bias"][4] = -0.75
    want = oracle.forward(params, tiny.ckpt.config, tiny.ids)["logits"][-1]
    got = numbers(named(open_values(out), names.LOGITS))[:, 0]
    assert np.max(np.abs(got - want)) <= REL * np.max(np.abs(want))
    assert np.max(np.abs(got - tiny.ref["logits"][-1])) > 1e-6, "the edit had no effect: the test proves nothing"


def test_recalc_never_overwrites_unless_asked(tiny, tmp_path):
    r = cli("recalc", tiny.path)
    assert r.returncode == 2 and "--out PATH, or --in-place" in r.stderr
    r = cli("recalc", tiny.path, "--set", "'embed'!C5=1", "--out", tmp_path / "x.xlsx")
    assert r.returncode == 2 and "holds a formula" in r.stderr and not (tmp_path / "x.xlsx").exists()


def test_generate_appends_the_workbooks_prediction(tiny):
    r = cli("generate", tiny.path, "--tokens", "3")
    assert r.returncode == 0, r.stderr
    text = tokenizer.decode(tiny.ids)
    params = {k: written_values(v) for k, v in tiny.ckpt.params.items()}
    for _ in range(3):  # greedy by the oracle: the token's text goes onto the prompt, tokenized again
        ids = tokenizer.encode_ordinary(text)
        text += tokenizer.token_text(int(np.argmax(oracle.forward(params, tiny.ckpt.config, ids)["logits"][-1])))
    assert r.stdout.rstrip("\n") == text


@pytest.mark.libreoffice
def test_libreoffice_round_trip_recalculates_the_same(tiny, tiny_lo, tmp_path):
    """The workbook after LibreOffice saved it (its own cell layout, per-cell formulas) recalculates alike."""
    saved = tiny_lo[0]
    out = tmp_path / "again.xlsx"
    recalc(saved, "--out", out, "--check")
    check_against_oracle(open_values(out), tiny)
    # LibreOffice's weight tabs (seven attributes on every <row>) are read as dense numbers, not cell by cell
    from xlgpt.model.config import tensor_shapes
    from xlgpt.xlsx.package import Package
    sources = Package.read(saved, use_cache=False).sources
    assert all(sources[name].dense for name in tensor_shapes(tiny.ckpt.config))


@pytest.mark.slow
def test_recalc_gpt2_small_one_layer(tmp_path):
    built = Built(tmp_path, "random:gpt2", layers=1, lens=False)  # the lens has its own tests
    out = tmp_path / "recalc.xlsx"
    recalc(built.path, "--out", out, "--check")
    check_against_oracle(open_values(out), built)


def test_recalc_any_workbook_in_the_dialect(tmp_path):
    """Not only xlgpt's workbooks: a plain one written by XlsxWriter recalculates, with its own values."""
    import xlsxwriter
    from workbook_io import area
    src = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Data")
    ws.write_column(0, 0, [1.0, 2.0, 4.0])
    ws.write_formula(0, 1, "=SUM(A1:A3)*2", None, 0)
    ws.write_array_formula(0, 2, 2, 2, "{=A1:A3^2}")
    wb.close()
    out = tmp_path / "out.xlsx"
    r = recalc(src, "--out", out)
    assert "recalculated 4 formula cells" in r.stdout
    got = area(open_values(out), "Data", 0, 1, 3, 2)
    assert got[0, 0] == 14.0 and got[:, 1].tolist() == [1.0, 4.0, 16.0]


def _members(path):
    import zipfile
    with zipfile.ZipFile(path) as z:
        return {i.filename: (i.CRC, i.compress_size, z.read(i.filename)) for i in z.infolist()}


def _sheet_parts(path):
    """sheet name -> its part in the package"""
    from xlgpt.xlsx.package import Package
    rb = Package.read(path)
    return {name: s.part for name, s in rb.sources.items()}


def test_recalc_again_copies_what_did_not_change(tiny, tmp_path):
    """A second recalculation copies every tab whose values come out as the tab carries them, compressed bytes
    and all; an edit rewrites exactly the tabs downstream of it, with the oracle's values."""
    first, second, third = tmp_path / "first.xlsx", tmp_path / "second.xlsx", tmp_path / "third.xlsx"
    recalc(tiny.path, "--out", first)
    recalc(first, "--out", second)
    a, b = _members(first), _members(second)
    assert a == b
    recalc(first, "--out", third, "--set", "'h.1.mlp.c_fc.weight'!C4=2.5")
    c, parts = _members(third), _sheet_parts(first)
    for upstream in ("embed", "h.0.mlp.c_proj", "h.1.ln_2", "wte.weight"):
        assert c[parts[upstream]] == a[parts[upstream]], upstream
    for downstream in ("h.1.mlp.c_fc", "h.1.mlp.gelu", "logits", "h.1.mlp.c_fc.weight"):
        assert c[parts[downstream]][0] != a[parts[downstream]][0], downstream
    params = {k: written_values(v) for k, v in tiny.ckpt.params.items()}
    params["h.1.mlp.c_fc.weight"][3, 2] = 2.5
    want = oracle.forward(params, tiny.ckpt.config, tiny.ids)["logits"][-1]
    got = numbers(named(open_values(third), names.LOGITS))[:, 0]
    assert np.max(np.abs(got - want)) <= REL * np.max(np.abs(want))


def test_recalc_of_a_built_workbook_copies_every_tab(tiny, tmp_path):
    """The file build wrote is not the slow case: build remembers (in the sheet cache, by the digest of each
    tab's stored bytes) the values its formula tabs carry, so recalculating the built file copies every tab whose
    values come out the same, compressed bytes and all. After a new prompt, the tabs of constants (Surgery,
    vocab) are still copied, not rewritten in other words (inline strings for shared ones)."""
    first, other = tmp_path / "first.xlsx", tmp_path / "other.xlsx"
    recalc(tiny.path, "--out", first)
    built = _members(tiny.path)
    assert _members(first) == built
    recalc(tiny.path, "--out", other, "--set", "Prompt=The cat sat on the mat")
    changed, parts = _members(other), _sheet_parts(tiny.path)
    for constants in ("Surgery", "vocab", "merges", "wte.weight"):
        assert changed[parts[constants]] == built[parts[constants]], constants
    for formulas in ("chars", "embed", "logits"):
        assert changed[parts[formulas]][0] != built[parts[formulas]][0], formulas


def test_copying_without_the_kernels_copy(tiny, tmp_path, monkeypatch):
    """Where os.copy_file_range fails (an older kernel across file systems), the stored bytes are read and
    written instead: the same package."""
    import errno
    import os
    from xlgpt import engine
    from xlgpt.xlsx.package import Package

    def refuse(*_):
        raise OSError(errno.EXDEV, "cross-device")
    rb = Package.read(tiny.path)
    engine.recalculate(rb.book)
    rb.save(tmp_path / "kernel.xlsx", set())
    monkeypatch.setattr(os, "copy_file_range", refuse)
    rb.save(tmp_path / "copied.xlsx", set())
    assert _members(tmp_path / "copied.xlsx") == _members(tmp_path / "kernel.xlsx") == _members(tiny.path)


def test_recalc_keeps_the_charts(tiny, tmp_path):
    """The Start tab's chart survives a recalculation: its parts copied as they are, the sheet still points to
    its drawing, and the chart still reads the cells that recalc rewrote."""
    import zipfile
    out = tmp_path / "again.xlsx"
    recalc(tiny.path, "--out", out, "--set", f"{names.PROMPT}=If today is Monday, tomorrow is")
    before, after = zipfile.ZipFile(tiny.path), zipfile.ZipFile(out)
    parts = [n for n in before.namelist() if "chart" in n or "drawing" in n or "worksheets/_rels" in n]
    assert "xl/charts/chart1.xml" in parts and "xl/drawings/drawing1.xml" in parts
    assert all(before.read(n) == after.read(n) for n in parts)
    assert b'<drawing r:id="rId1"/>' in after.read("xl/worksheets/sheet1.xml")
    from xlgpt.workbook import predict, start
    assert start.top_area(predict.TOP_K, 2).ref().encode() in after.read("xl/charts/chart1.xml")
