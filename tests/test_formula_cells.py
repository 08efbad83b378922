"""Cached values written whole rows at a time: every float64 reads back exactly (Python's own float parsing is
the reference), in a form a spreadsheet reads (xsd:double)."""

import re

import numpy as np
from hypothesis import given, strategies as st

from xlgpt.xlsx import formula_cells

XSD_DOUBLE = re.compile(rb"-?\d+(\.\d+)?(E[+-]\d+)?")


def written(x):
    buf, keep = formula_cells.number_bytes(np.asarray(x, dtype=np.float64))
    return [bytes(b[k]) for b, k in zip(buf, keep)]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=50))
def test_every_float64_reads_back_exactly(xs):
    for x, text in zip(xs, written(xs)):
        assert XSD_DOUBLE.fullmatch(text), text
        assert float(text) == x, (x, text)


def test_edges_and_forms():
    xs = [0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1e16, 1e17, 99999999999999984.0]
    texts = written(xs)
    assert [float(t) for t in texts] == xs
    # integers as digits, no exponent for 10**0, trailing zeros dropped
    assert written([464.0, -3.0, 1.5, 0.5, 2.0**-20]) == [b"464", b"-3", b"1.5", b"5E-01", b"9.5367431640625E-07"]


def test_rows_of_cells_lays_out_each_cell():
    values = np.array([[1.5, -2.0], [0.25, 1e-300]])
    rows = formula_cells.rows_of_cells(["C", "D"], 9, b'"><f t="shared" si="0"/><v>', values)
    assert rows == [b'<c r="C10"><f t="shared" si="0"/><v>1.5</v></c><c r="D10"><f t="shared" si="0"/><v>-2</v></c>',
                    b'<c r="C11"><f t="shared" si="0"/><v>2.5E-01</v></c><c r="D11"><f t="shared" si="0"/><v>1E-300</v></c>']
