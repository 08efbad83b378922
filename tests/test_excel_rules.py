"""Excel's rules for a package, as far as they can be checked without Excel: the Open XML SDK's package and
schema validation (openxml-audit, Office 2013) finds no error in a workbook as built, after `recalc`, and after
`sweep --write-tab`.

The validator takes about an hour on the 39 MB tiny workbook, so it reads the same workbook cut down: every
tab, block kind, style, chart, colour scale and defined name of the tiny build with the lens and an SAE
(with descriptions), each block cut to its first rows. The cut changes how many cells there are, not which
kinds of part and cell the file holds."""

import shutil
import zipfile

import pytest

from helpers import PROMPT, cli
from reference import make_sae
from xlgpt.model import checkpoint, sae as sparse
from xlgpt.sheet.book import Formulas, Texts, Values
from xlgpt.workbook import builder
from xlgpt.xlsx.packager import write_book

ROWS = 4  # the rows each large block keeps


def validate(path) -> list[str]:
    from openxml_audit import FileFormat, OpenXmlValidator
    result = OpenXmlValidator(file_format=FileFormat.OFFICE_2013).validate(str(path))
    return [f"{getattr(e, 'part', '')}: {getattr(e, 'description', e)}" for e in result.errors]


def _cut(book) -> None:
    for s in book.sheets:
        blocks = []
        for b in s.blocks:
            rows, cols = b.shape
            if rows * cols > 64 and rows > ROWS:
                if isinstance(b, Values):
                    b2 = Values(b.row, b.col, b.data[:ROWS], style=b.style)
                elif isinstance(b, Texts):
                    b2 = Texts(b.row, b.col, b.data[:ROWS], style=b.style)
                else:
                    b2 = Formulas(b.row, b.col, ROWS, cols, b.text, b.kind, style=b.style)
                    if b in s.computed:
                        s.computed[b2] = s.computed[b][:ROWS]
                b = b2
            blocks.append(b)
        s.blocks = blocks


@pytest.fixture(scope="module")
def cut_book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules")
    sae = sparse.load(str(make_sae(folder / "sae", 16)), 16, 2)
    sae.labels = {i: f"feature {i}" for i in range(0, 48, 3)}
    book = builder.build_workbook(checkpoint.load("random:tiny", seed=3), PROMPT, 16, lens=True, sae=sae)
    _cut(book)
    path = folder / "cut.xlsx"
    write_book(book, path)
    return path


def test_the_validator_finds_what_it_should(cut_book, tmp_path):
    """The check can fail: the same file with xml:space on a cached value, and without its theme part, is
    reported."""
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(cut_book) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>", b'<v xml:space="preserve">', 1)
            if info.filename != "xl/theme/theme1.xml":
                dst.writestr(info, data)
    errors = validate(broken)
    assert any("theme" in e for e in errors) and len(errors) >= 1


def test_built_recalculated_and_swept_workbooks_have_no_errors(cut_book, tmp_path):
    assert validate(cut_book) == []
    recalculated = tmp_path / "recalculated.xlsx"
    # (the cut tokenizer tables tokenize nothing right: the prompt "does not fit", status 1, the file is written)
    r = cli("recalc", cut_book, "--set", "Prompt=Hello there", "--out", recalculated)
    assert r.returncode in (0, 1) and recalculated.exists(), r.stderr
    assert validate(recalculated) == []
    swept = tmp_path / "swept.xlsx"
    shutil.copy(cut_book, swept)
    r = cli("sweep", swept, "--prompts", "ioi", "--write-tab", "--in-place")
    assert r.returncode == 0, r.stderr
    assert validate(swept) == []
