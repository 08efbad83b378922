"""The built workbook: LibreOffice recalculates it to the oracle's values, stage by stage; its weights read back
exactly; its formulas stay in the dialect; its tabs explain themselves."""

import os
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from workbook_io import area, named, numbers, open_values
from xlgpt.workbook import names
from xlgpt import dialect, libreoffice
from xlgpt.engine.parser import MAX_LENGTH, MAX_NESTING
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.workbook import builder
from xlgpt.workbook.builder import position_stages
from xlgpt.workbook import attention
from xlgpt.model.config import tensor_shapes
from xlgpt.xlsx.numbers import written_values
from xlgpt.xlsx.packager import write_book

PROMPT = "Mike is quick. He moves"
REL = 1e-9


def _need_libreoffice():
    if libreoffice.soffice() is None:
        if os.environ.get("XLGPT_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required here (XLGPT_REQUIRE_LIBREOFFICE) but soffice is not on PATH")
        pytest.skip("LibreOffice (soffice) is not installed")


class Built:
    """A built workbook, the checkpoint it came from, and the oracle run on the weights as written."""

    def __init__(self, tmp, weights, layers=None, n_ctx=16):
        self.ckpt = checkpoint.load(weights, seed=3, layers=layers)
        self.ids = tokenizer.encode(PROMPT)
        self.n_ctx = n_ctx
        self.path = tmp / "book.xlsx"
        write_book(builder.build_workbook(self.ckpt, PROMPT, n_ctx), self.path)
        as_written = {k: written_values(v) for k, v in self.ckpt.params.items()}
        self.ref = oracle.forward(as_written, self.ckpt.config, self.ids)
        self.ref_top_ids, self.ref_top_probs = oracle.top_k(self.ref["logits"][-1], builder.TOP_K)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return Built(tmp_path_factory.mktemp("tiny"), "random:tiny")


@pytest.fixture(scope="module")
def tiny_lo(tiny, tmp_path_factory):
    _need_libreoffice()
    return open_values(libreoffice.recalculate(tiny.path, tmp_path_factory.mktemp("tiny_lo")))


def _grid(wb, where, n):
    """The first n rows (the prompt's positions) of an area of a position tab, as numbers."""
    return numbers(area(wb, where.sheet, where.row, where.col, n, where.ncols))


def check_against_oracle(wb, built):
    """Every stage, the attention patterns, Logits, TopIds and TopProbs against the oracle."""
    cfg, n = built.ckpt.config, len(built.ids)
    for where, name in position_stages(cfg, built.n_ctx):
        got, want = _grid(wb, where, n), built.ref[name]
        diff = np.max(np.abs(got - want))
        assert diff <= REL * np.max(np.abs(want)), f"{where.sheet}: max difference {diff:.3g} from the oracle"
    for i in range(cfg.n_layer):
        for tab, name in ((f"h.{i}.attn.scores", "attn.scores"), (f"h.{i}.attn.probs", "attn.probs")):
            for h in range(cfg.n_head):
                got = _grid(wb, attention.head_area(tab, h, built.n_ctx), n)[:, :n]
                want = built.ref[f"h.{i}.{name}"][h]
                causal = np.tril(np.ones((n, n), dtype=bool))
                diff = np.max(np.abs(got - want)[causal])
                assert diff <= REL * np.max(np.abs(want[causal])), f"{tab} head {h}: max difference {diff:.3g}"
                if name == "attn.scores":
                    assert np.all(got[~causal] == -1e30), f"{tab} head {h}: the causal mask is missing"
                else:
                    assert np.all(got[~causal] == 0), f"{tab} head {h}: masked keys have weight"
    logits = numbers(named(wb, names.LOGITS))[:, 0]
    want = built.ref["logits"][-1]
    assert logits.shape == (cfg.n_vocab,)
    diff = np.max(np.abs(logits - want))
    assert diff <= REL * np.max(np.abs(want)), f"Logits: max difference {diff:.3g}"
    assert numbers(named(wb, names.TOP_IDS))[:, 0].astype(int).tolist() == built.ref_top_ids.tolist()
    np.testing.assert_allclose(numbers(named(wb, names.TOP_PROBS))[:, 0], built.ref_top_probs, rtol=REL, atol=0)
    assert named(wb, names.NEXT_TOKEN)[0, 0] == tokenizer.token_text(built.ref_top_ids[0])
    assert named(wb, names.TOKEN_IDS)[:n, 0].tolist() == built.ids
    assert named(wb, names.TOKEN_COUNT)[0, 0] == n


@pytest.mark.libreoffice
def test_libreoffice_recalculates_tiny_to_the_oracle(tiny, tiny_lo):
    check_against_oracle(tiny_lo, tiny)


@pytest.mark.libreoffice
def test_prediction_shows_on_start(tiny, tiny_lo):
    shown = area(tiny_lo, "Start", 3, 1, 3, 2)
    assert shown[0, 0] == len(tiny.ids)
    assert shown[2, 0] == tokenizer.token_text(tiny.ref_top_ids[0])
    assert shown[2, 1] == pytest.approx(tiny.ref_top_probs[0], rel=REL)


def test_weight_tabs_read_back_exactly(tiny):
    """Every tensor has its tab, named after it; its cells parse to the float32 weights bit for bit."""
    wb = open_values(tiny.path)
    for name, shape in tensor_shapes(tiny.ckpt.config).items():
        rows, cols = (1, shape[0]) if len(shape) == 1 else shape
        got = numbers(area(wb, name, 0, 0, rows, cols)).reshape(shape)
        assert np.array_equal(got.astype(np.float32), tiny.ckpt.params[name]), name
        assert np.array_equal(got, written_values(tiny.ckpt.params[name])), name


def _formulas(path, with_kind=False):
    """Every formula's text in every sheet (a shared formula's cells other than its anchor have none)."""
    with zipfile.ZipFile(path) as z:
        for part in z.namelist():
            if part.startswith("xl/worksheets/"):
                for _, e in ET.iterparse(z.open(part)):
                    if e.tag.endswith("}f") and e.text:
                        yield (part, e.text, e.get("t")) if with_kind else (part, e.text)
                    elif e.tag.endswith("}row"):
                        e.clear()


def test_formulas_stay_in_the_dialect(tiny):
    seen = set()
    for part, f in _formulas(tiny.path):
        used = dialect.functions_in(f)
        assert used <= dialect.FUNCTIONS, f"{part}: {sorted(used - dialect.FUNCTIONS)} outside the dialect in ={f}"
        assert not used & dialect.FORBIDDEN
        assert len(f) <= MAX_LENGTH and dialect.nesting(f) <= MAX_NESTING, f
        seen |= used
    assert {"MMULT", "INDEX", "EXP", "SUMPRODUCT", "TANH", "VARP", "LARGE", "MATCH"} <= seen


def test_formulas_are_portable_to_gnumeric(tiny):
    """No scalar function over a range outside an array formula, no whole-row INDEX (dialect.not_portable)."""
    for part, f, kind in _formulas(tiny.path, with_kind=True):
        assert not dialect.not_portable(f, kind == "array"), f"{part}: {dialect.not_portable(f, kind == 'array')} in ={f}"


def test_the_portability_check_finds_what_gnumeric_computes_differently():
    assert dialect.not_portable("SUMPRODUCT(EXP(A1:A3-MAX(A1:A3)))", array=False) == [
        "EXP of a range outside an array formula"]
    assert dialect.not_portable("SUMPRODUCT(EXP(A1:A3-MAX(A1:A3)))", array=True) == []
    assert dialect.not_portable("EXP(A1-MAX(A1:A3))/B1", array=False) == []
    assert dialect.not_portable("SQRT(SUMPRODUCT(INDEX(A1:C3,2,0),INDEX(A1:C3,2,0)))", array=False) == [
        "INDEX of a whole row or column", "INDEX of a whole row or column"]
    assert dialect.not_portable("SUMPRODUCT((A1:A9>=0)*1)", array=False) == []


def test_every_formula_tab_explains_itself(tiny):
    wb = open_values(tiny.path)
    weights = set(tensor_shapes(tiny.ckpt.config))
    for ws in wb.worksheets:
        if ws.title in weights:
            continue
        title = area(wb, ws.title, 0, 0, 2, 1)
        assert isinstance(title[0, 0], str) and len(title[0, 0]) > 10, f"{ws.title} has no title line"
        if ws.title not in ("Start",):
            assert isinstance(title[1, 0], str) and len(title[1, 0]) > 10, f"{ws.title} has no equation line"


def test_gpt2_small_has_every_tab():
    ckpt = checkpoint.random_checkpoint(checkpoint.FAMILY["gpt2"])
    book = builder.build_book(ckpt, PROMPT)
    names = [s.name for s in book.sheets]
    assert len(names) >= 150 and len(set(names)) == len(names)
    assert set(tensor_shapes(ckpt.config)) <= set(names)
    assert all(len(n) <= 31 and not set(n) & set(":\\/?*[]") for n in names)
    assert {names.PROMPT, names.TOKEN_IDS, names.TOKEN_COUNT, names.NEXT_TOKEN_ID, names.NEXT_TOKEN, names.TOP_IDS, names.TOP_TOKENS, names.TOP_PROBS,
            names.LOGITS} <= set(book.names)


@pytest.mark.heavy
@pytest.mark.libreoffice
def test_libreoffice_recalculates_gpt2_small_one_layer(tmp_path):
    """Full width and vocabulary, one block: the shape of the real thing."""
    _need_libreoffice()
    built = Built(tmp_path, "random:gpt2", layers=1)
    check_against_oracle(open_values(libreoffice.recalculate(built.path, tmp_path / "lo")), built)


def _need_gnumeric():
    import shutil
    if shutil.which("ssconvert") is None:
        if os.environ.get("XLGPT_REQUIRE_LIBREOFFICE"):
            pytest.fail("Gnumeric's ssconvert is required here (CI installs gnumeric) but is not on PATH")
        pytest.skip("Gnumeric (ssconvert) is not installed")


@pytest.fixture(scope="module")
def tiny_gn(tiny, tmp_path_factory):
    """The tiny workbook recalculated by Gnumeric (ssconvert --recalc) and saved as .xlsx with its values."""
    import subprocess
    _need_gnumeric()
    out = tmp_path_factory.mktemp("tiny_gn") / "gn.xlsx"
    r = subprocess.run(["ssconvert", "--recalc", str(tiny.path), str(out)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0 and out.exists(), r.stderr
    return open_values(out)


def test_gnumeric_recalculates_tiny_to_the_oracle(tiny, tiny_gn):
    """A third spreadsheet program, with Gnumeric's own rules (it intersects a range given to a scalar
    function outside an array formula, even inside SUMPRODUCT): every stage, Logits, TopIds, TopProbs."""
    check_against_oracle(tiny_gn, tiny)
