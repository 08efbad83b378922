"""The compiled loops (xlsx/_speedups.c) give what the NumPy code they stand for gives: the same bytes written,
the same float64s read, bit for bit; and where they do not take an input, the NumPy code still reads it. The
NumPy code is the reference here (it is itself checked against Python's float() and repr in test_numbers_io.py
and test_formula_cells.py)."""

import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from xlgpt.sheet import cells
from xlgpt.xlsx import dense_compiled, numbers, numbers_in, reader, speedups

floats32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


def numpy_only(fn, *args):
    """fn(*args) with the compiled loops switched off: the NumPy path."""
    saved, speedups._c = speedups._c, None
    try:
        return fn(*args)
    finally:
        speedups._c = saved


def test_the_compiled_loops_are_built():
    """setup.py builds them wherever a C compiler is found (here, and in CI): without them xlgpt works, but slowly,
    and this suite would check only one side."""
    assert speedups.available()


def _same_bits(a, b) -> bool:
    return a.shape == b.shape and np.array_equal(np.asarray(a, dtype=np.float64).view(np.int64),
                                                  np.asarray(b, dtype=np.float64).view(np.int64))


@settings(max_examples=150)
@given(st.lists(floats32, min_size=1, max_size=40), st.integers(1, 5), st.integers(0, 1048570))
def test_weights_are_written_byte_for_byte_as_numpy_writes_them(xs, rows, first_row):
    block = np.resize(np.array(xs, dtype=np.float32), (rows, len(xs)))
    first_row = min(first_row, 1048576 - rows)
    assert bytes(numbers.rows_bytes(block, first_row)) == bytes(numpy_only(numbers.rows_bytes, block, first_row))
    assert _same_bits(cells.written_values(block), numpy_only(cells.written_values, block))


def test_wide_blocks_and_the_hard_values():
    """Columns past Z and ZZ, the extremes of float32 (subnormals, the largest, the smallest normal), zeros of
    both signs, ties at the eighth digit; and float64 blocks that are such decimals."""
    rng = np.random.default_rng(0)
    block = rng.normal(0, 0.02, (3, 800)).astype(np.float32)
    special = np.array([0.0, -0.0, 1e-45, -1e-45, 1.1754944e-38, 3.4028235e38, -3.4028235e38, 1.0, 0.1, 125.0,
                        1e-8, 9.9999999e-5, 2.5e-9, 123456789.0, 16777216.0], dtype=np.float32)
    block[0, :special.size] = special
    block[1] = rng.uniform(-1, 1, 800).astype(np.float32) * np.float32(10.0) ** rng.integers(-44, 38, 800)
    for b in (block, block.astype(np.float64), cells.written_values(block)):
        assert bytes(numbers.rows_bytes(b, 41)) == bytes(numpy_only(numbers.rows_bytes, b, 41))
    assert _same_bits(cells.written_values(block), numpy_only(cells.written_values, block))


def test_values_that_are_not_finite_take_the_numpy_path():
    block = np.array([[1.0, np.inf]], dtype=np.float32)
    assert speedups.format_rows(block, 0) is None
    assert speedups.written_values(block) is None


def _compiled(xml: bytes):
    """The compiled reader of a whole sheet's XML (one piece)."""
    return dense_compiled.dense_streamed(iter([xml]), "xl/worksheets/sheet9.xml")


def _sheet(block: np.ndarray) -> bytes:
    head = b'<?xml version="1.0"?><worksheet><dimension ref="A1"/><sheetData>'
    return head + bytes(numbers.rows_bytes(block, 0)) + b"</sheetData><pageMargins/></worksheet>"


@settings(max_examples=100)
@given(st.lists(floats32, min_size=1, max_size=30), st.integers(1, 4), st.data())
def test_numbers_are_read_as_numpy_reads_them_and_no_form_more(xs, rows, data):
    """The writer's own form: the same float64s and shapes. Any byte changed: what the compiled loops still take,
    NumPy takes too, with the same values (they may leave more to NumPy, never read more)."""
    block = np.resize(np.array(xs, dtype=np.float32), (rows, len(xs)))
    xml = _sheet(block)
    body = bytes(numbers.rows_bytes(block, 0))
    fast, slow = numbers_in.parse_values_at(body), numpy_only(numbers_in.parse_values_at, body)
    assert fast is not None and _same_bits(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert _compiled(xml) is not None
    assert _same_bits(reader._dense(xml), numpy_only(reader._dense, xml))
    at = data.draw(st.integers(0, len(xml) - 1))
    byte = data.draw(st.sampled_from(b'0123456789.-+E<>/"vrc =A\n'))
    changed = xml[:at] + bytes([byte]) + xml[at + 1:]
    compiled = _compiled(changed)
    if compiled is not None:
        reference = numpy_only(reader._dense, changed)
        assert reference is not None and _same_bits(compiled, reference)
    body_changed = changed[changed.find(b"<row"):changed.rfind(b"</sheetData>")] if b"<row" in changed else b""
    fast = speedups.parse_fixed(body_changed)
    if fast is not None:
        slow = numpy_only(numbers_in.parse_values_at, body_changed)
        assert slow is not None and _same_bits(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


def test_other_programs_forms_are_left_to_numpy():
    """Row attributes (LibreOffice), cells without an address, a gap in the rows, a value in another form: the
    compiled reader declines, and _dense reads what it reads as before."""
    good = _sheet(np.array([[0.5, -0.25], [1.0, 2.0]], dtype=np.float32))
    variants = [good.replace(b'<row r="1">', b'<row r="1" spans="1:2">'),
                re.sub(rb' r="[A-Z]+\d+"', b"", good),
                good.replace(b'<row r="2">', b'<row r="3">').replace(b'r="A2"', b'r="A3"').replace(b'r="B2"', b'r="B3"'),
                good.replace(b"5.0000000E-01", b"0.5")]
    for xml in variants:
        assert _compiled(xml) is None
    assert reader._dense(variants[0]).tolist() == [[0.5, -0.25], [1.0, 2.0]]
    assert reader._dense(variants[3]).tolist() == [[0.5, -0.25], [1.0, 2.0]]


def test_a_build_without_the_compiled_loops_is_the_same_workbook(tmp_path):
    """XLGPT_NO_SPEEDUPS=1 (the NumPy path throughout) builds the same tiny workbook, part for part (docProps/core.xml
    holds the time)."""
    import zipfile
    members = []
    for env in ({}, {"XLGPT_NO_SPEEDUPS": "1"}):
        out = tmp_path / f"{len(members)}.xlsx"
        subprocess.run([sys.executable, "-m", "xlgpt", "build", "--weights", "random:tiny", "--out", str(out)],
                       check=True, capture_output=True, env={**__import__("os").environ, **env})
        with zipfile.ZipFile(out) as z:
            members.append({i.filename: (i.CRC, i.file_size) for i in z.infolist() if i.filename != "docProps/core.xml"})
    assert members[0] == members[1]


def _member(xml: bytes, **lie):
    """(ZipInfo, stored bytes) of xml deflated as a zip member; lie: file_size or CRC to declare instead."""
    import zlib
    import zipfile
    d = zlib.compressobj(1, zlib.DEFLATED, -15)
    stored = d.compress(xml) + d.flush()
    info = zipfile.ZipInfo("xl/worksheets/sheet9.xml")
    info.compress_type, info.compress_size = zipfile.ZIP_DEFLATED, len(stored)
    info.file_size, info.CRC = lie.get("file_size", len(xml)), lie.get("CRC", zlib.crc32(xml))
    return info, stored


def test_a_weight_tab_is_read_as_it_inflates_with_every_check_of_a_whole_read():
    """dense_compiled.dense_streamed (pieces of the inflated XML parsed as they come) reads what _dense reads; the member's
    declared size and CRC-32 are still checked, and a member that inflates past its size stops there."""
    import zipfile
    from xlgpt.errors import XlgptError
    from xlgpt.xlsx.zipread import inflate_pieces
    rng = np.random.default_rng(3)
    xml = _sheet(rng.normal(0, 0.02, (700, 300)).astype(np.float32))  # several pieces of 16 KB below
    info, stored = _member(xml)
    assert b"".join(inflate_pieces(info, stored, first=1000, piece=1 << 14)) == xml
    got = dense_compiled.dense_streamed(inflate_pieces(info, stored, first=1000, piece=1 << 14), info.filename)
    assert _same_bits(got, numpy_only(reader._dense, xml))
    formula = xml.replace(b'<c r="B2"><v>', b'<c r="B2"><f>A1</f><v>')
    assert dense_compiled.dense_streamed(inflate_pieces(*_member(formula)), info.filename) is None
    stored = zipfile.ZipInfo(info.filename)  # a member stored without compression (other programs may): the same
    stored.compress_type, stored.file_size, stored.CRC = zipfile.ZIP_STORED, len(xml), info.CRC
    assert _same_bits(dense_compiled.dense_streamed(inflate_pieces(stored, xml), info.filename), got)
    stored.CRC ^= 1
    with pytest.raises(XlgptError, match="CRC-32"):
        dense_compiled.dense_streamed(inflate_pieces(stored, xml), info.filename)
    for lie, needle in (({"file_size": len(xml) - 1}, "inflates past"), ({"file_size": len(xml) + 1}, "not the"),
                        ({"CRC": 12345}, "CRC-32")):
        with pytest.raises(XlgptError, match=needle):
            dense_compiled.dense_streamed(inflate_pieces(*_member(xml, **lie), first=1000, piece=1 << 14), info.filename)


@settings(max_examples=150)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=20), st.integers(1, 3),
       st.integers(0, 16000), st.integers(0, 1048570))
def test_formula_cells_values_are_written_as_numpy_writes_them(xs, rows, first_col, first_row):
    """Cached values of formula cells (17 digits scaled in extended precision, integers as digits): the same
    bytes, whatever the values (subnormals, integers near 10**17, both zeros) and wherever the block sits."""
    from xlgpt.sheet import refs
    from xlgpt.xlsx import formula_cells
    values = np.resize(np.array(xs, dtype=np.float64), (rows, len(xs)))
    first_col = min(first_col, 16384 - len(xs))
    first_row = min(first_row, 1048576 - rows)
    letters = [refs.col_letters(first_col + j) for j in range(len(xs))]
    middle = b'" s="3"><f t="shared" si="0"/><v>'
    assert formula_cells.rows_of_cells(letters, first_row, middle, values) == \
        numpy_only(formula_cells.rows_of_cells, letters, first_row, middle, values)


def test_formula_cells_hard_values():
    from xlgpt.xlsx import formula_cells
    values = np.array([[0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 1e16, 1e17,
                        99999999999999999.0, 123456789012345678.0, 0.1, 1 / 3, 2.5, -7.0, 1e-5, 12345.678]])
    letters = [chr(ord("A") + j) for j in range(values.shape[1])]
    assert speedups.cells_rows(values, 0, 0, b'"><v>') is not None
    assert formula_cells.rows_of_cells(letters, 0, b'"><v>', values) == \
        numpy_only(formula_cells.rows_of_cells, letters, 0, b'"><v>', values)
