"""recalc writes back every cell it read: constants, formulas and styles, whatever the sparse layout. openpyxl
writes random sparse sheets and reads both files; every cell must come back as it was."""

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.styles import Font

from xlgpt.commands import recalc
from xlgpt.xlsx.grouping import runs

CONSTANT = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda x: abs(x) < 1e300),
                     st.integers(-10**6, 10**6), st.booleans(),
                     st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8)
                     .filter(lambda t: not t.startswith("=") and "_x" not in t and t == t.strip()))
FORMULA = st.integers(0, 99).map(lambda n: f"={n}*2+1")
CELL = st.tuples(st.one_of(CONSTANT, FORMULA), st.booleans())  # (value, bold)
SHEET = st.dictionaries(st.tuples(st.integers(1, 40), st.integers(1, 6)), CELL, min_size=1, max_size=60)


def _cells(path, data_only=False):
    ws = openpyxl.load_workbook(path, data_only=data_only).active
    return {(c.row, c.column): (c.value, bool(c.font.b)) for row in ws.iter_rows() for c in row
            if c.value is not None}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(SHEET)
def test_recalc_writes_back_every_cell_of_any_sparse_sheet(tmp_path, cells):
    src, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for (r, c), (value, bold) in cells.items():
        ws.cell(r, c, value).font = Font(b=bold)
    wb.save(src)
    out.unlink(missing_ok=True)
    recalc.recalculate_file(src, out, [])
    before, after = _cells(src), _cells(out)
    assert after.keys() == before.keys()
    for k, (value, bold) in before.items():
        got, got_bold = after[k]
        assert got_bold == bold, k
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
            assert isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == float(value), k
        else:
            assert got == value, k
    # formulas carry the engine's values
    values = _cells(out, data_only=True)
    for k, (value, _) in before.items():
        if isinstance(value, str) and value.startswith("="):
            assert values[k][0] == int(value[1:].split("*")[0]) * 2 + 1, k


def test_a_run_that_reappears_after_a_gap_keeps_both_rectangles():
    assert sorted(runs({(0, 0): 1, (1, 0): 1, (3, 0): 1}, lambda r, c: "k")) == [(0, 0, 2, 1), (3, 0, 1, 1)]
