"""Other programs' readers get the same workbook: python-calamine (Rust) and openpyxl read every weight bit for
bit as the workbook's float64 weights, and every formula cell's cached value as the engine computes it."""

import numpy as np
import pytest

from workbook_io import open_values
from xlgpt import engine
from xlgpt.sheet.book import Formulas
from xlgpt.model.config import tensor_shapes
from xlgpt.sheet.cells import written_values
from xlgpt.xlsx.package import Package


@pytest.fixture(scope="module")
def tiny_read(tiny):
    """The shared tiny workbook as xlgpt reads it back, recalculated by the engine."""
    book = Package.read(tiny.path, use_cache=False).book
    engine.recalculate(book)
    return tiny, book


def _grid_calamine(path):
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(path))
    return lambda name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _grid_openpyxl(path):
    wb = open_values(path)
    return lambda name: [list(r) for r in wb[name].iter_rows(values_only=True)]


@pytest.mark.parametrize("reader", [_grid_calamine, _grid_openpyxl], ids=["calamine", "openpyxl"])
def test_readers_see_the_weights_and_the_engines_values(tiny_read, reader):
    built, book = tiny_read
    grid = reader(built.path)
    for name, shape in tensor_shapes(built.ckpt.config).items():
        rows = grid(name)
        got = np.array(rows, dtype=np.float64).reshape(shape)
        assert np.array_equal(got, written_values(built.ckpt.params[name])), name
    compared = 0
    for sheet in book.sheets:
        blocks = [b for b in sheet.blocks if isinstance(b, Formulas)]
        if not blocks:
            continue
        rows = grid(sheet.name)
        for b in blocks:
            for i in range(b.nrows):
                for j in range(b.ncols):
                    want = sheet.computed[b][i, j]
                    r, c = b.row + i, b.col + j
                    got = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
                    if isinstance(want, (float, np.floating)):
                        assert isinstance(got, (int, float)) and float(got) == float(want), (sheet.name, r, c, got, want)
                    elif isinstance(want, str) and not want.startswith("#"):
                        assert (got or "") == want, (sheet.name, r, c, got, want)
                    compared += 1
    assert compared > 10_000
