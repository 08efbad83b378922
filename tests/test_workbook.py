"""The built workbook: LibreOffice recalculates it to the oracle's values, stage by stage; its weights read back
exactly; its formulas stay in the dialect; its tabs explain themselves."""

import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from helpers import PROMPT, REL, Built, check_against_oracle, need_libreoffice
from workbook_io import area, numbers, open_values
from xlgpt.engine import dialect
import libreoffice
from xlgpt.sheet.cells import written_values
from xlgpt.engine.parser import MAX_LENGTH, MAX_NESTING
from xlgpt.model import checkpoint, tokenizer
from xlgpt.model.config import tensor_shapes
from xlgpt.workbook import builder, names, start


@pytest.mark.libreoffice
def test_libreoffice_recalculates_tiny_to_the_oracle(tiny, tiny_lo):
    check_against_oracle(tiny_lo[1], tiny)


@pytest.mark.libreoffice
def test_prediction_shows_on_start(tiny, tiny_lo):
    def shown(cell):
        return area(tiny_lo[1], cell.sheet, cell.row, cell.col, 1, 1)[0, 0]
    assert shown(start.TOKEN_COUNT) == len(tiny.ids)
    assert shown(start.NEXT_TOKEN) == tokenizer.token_text(tiny.ref_top_ids[0])
    assert shown(start.NEXT_PROB) == pytest.approx(tiny.ref_top_probs[0], rel=REL)


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
    from xlgpt.workbook import features
    wb = open_values(tiny.path)
    weights = set(tensor_shapes(tiny.ckpt.config)) | set(features.sae_tensors(tiny.sae))  # the tensors alone
    assert set(features.sae_tensors(tiny.sae)) <= set(wb.sheetnames)
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
    tabs = [s.name for s in book.sheets]
    assert len(tabs) >= 150 and len(set(tabs)) == len(tabs)
    assert set(tensor_shapes(ckpt.config)) <= set(tabs)
    assert all(len(n) <= 31 and not set(n) & set(":\\/?*[]") for n in tabs)
    assert {names.PROMPT, names.TOKEN_IDS, names.TOKEN_COUNT, names.NEXT_TOKEN_ID, names.NEXT_TOKEN, names.TOP_IDS, names.TOP_TOKENS, names.TOP_PROBS,
            names.LOGITS} <= set(book.names)


@pytest.mark.heavy
@pytest.mark.libreoffice
def test_libreoffice_recalculates_gpt2_small_one_layer(tmp_path):
    """Full width and vocabulary, one block: the shape of the real thing."""
    need_libreoffice()
    built = Built(tmp_path, "random:gpt2", layers=1)
    check_against_oracle(open_values(libreoffice.recalculate(built.path, tmp_path / "lo")), built)


def test_gnumeric_recalculates_tiny_to_the_oracle(tiny, tiny_gn):
    """A third spreadsheet program, with Gnumeric's own rules (it intersects a range given to a scalar
    function outside an array formula, even inside SUMPRODUCT): every stage, Logits, TopIds, TopProbs."""
    check_against_oracle(tiny_gn, tiny)


def test_each_template_has_its_stage_module():
    """templates/NAME.toml holds the formulas and titles of xlgpt/workbook/NAME.py, one to one, and every
    formula in it says its kind."""
    from pathlib import Path
    from xlgpt.workbook import templates
    folder = Path(builder.__file__).parent
    stages = {p.stem for p in Path(templates.TEMPLATES_DIR).glob("*.toml")}
    assert stages and all((folder / f"{name}.py").is_file() for name in stages), stages
    for name in stages:
        for t in templates.stage(name).values():
            assert t.formula == "" or t.kind in templates.KINDS, (name, t.block)
