"""Weights written and read back: the vectorised reader gives exactly what Python's float() makes of each
<v> text (the reference), for the writer's form and for other programs' forms."""

import re

import numpy as np
from hypothesis import given, strategies as st

from xlgpt.sheet import refs
from xlgpt.xlsx.numbers import rows_bytes
from xlgpt.xlsx.numbers_in import parse_values, parse_values_at

floats32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@given(st.lists(floats32, min_size=1, max_size=64))
def test_reads_back_what_python_reads(xs):
    body = bytes(rows_bytes(np.array([xs], dtype=np.float32), 4))
    want = [float(t) for t in re.findall(rb"<v>([^<]*)</v>", body)]
    # every cell carries its address, as Excel writes them
    assert re.findall(rb'<c r="([A-Z]+)5">', body) == [refs.col_letters(c).encode() for c in range(len(xs))]
    assert parse_values_at(body) is not None, body  # the fast path takes the writer's own form
    assert parse_values(body).tolist() == want
    assert np.array_equal(np.array(want, dtype=np.float32), np.array(xs, dtype=np.float32))


def test_other_forms_go_the_general_way():
    body = b'<c r="A1"><v>0.5</v></c><c r="B1"><v>-12</v></c><c r="C1"><v>1e-3</v></c><c r="D1"><v>1.2345678E-02</v></c>'
    assert parse_values_at(body) is None
    assert parse_values(body).tolist() == [0.5, -12.0, 0.001, 0.012345678]


def test_a_broken_digit_is_not_read_as_a_number():
    assert parse_values_at(b"<c><v>1.2345678E-02</v></c><c><v>1.23:5678E-02</v></c>") is None
    assert parse_values_at(b"<c><v>1.2345678E-02</v></c><c><v>1.2345678E-0x</v></c>") is None
