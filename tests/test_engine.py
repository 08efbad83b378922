"""The engine on small hand-made workbooks whose values follow from Excel's documented rules."""

import math

import numpy as np
import pytest

from xlgpt import engine
from xlgpt.sheet.book import Book, Formulas, Sheet, Texts, Values
from xlgpt.errors import XlgptError


def evaluate(formula, kind="cell", shape=(1, 1), at=(0, 3), data=((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))):
    """Values of `formula` placed at `at` on a sheet whose A1:B3 holds `data`."""
    book = Book()
    s = book.add(Sheet("S", blocks=[Values(0, 0, np.array(data))]))
    f = s.add(Formulas(at[0], at[1], shape[0], shape[1], formula, kind))
    engine.recalculate(book)
    return s.computed[f]


@pytest.mark.parametrize("formula, expected", [
    ("1+2*3", 7.0),
    ("-2^2", 4.0),  # unary minus binds tighter than ^ in Excel
    ("2^3^2", 64.0),  # ^ is left-associative in Excel
    ("10/4", 2.5),
    ("50%", 0.5),
    ('"ab"&"cd"', "abcd"),
    ('"abc"="ABC"', True),  # text compares without case
    ("A1+B3", 7.0),
    ("SUM(A1:B3)", 21.0),
    ("AVERAGE(A1:A3)", 3.0),
    ("VARP(A1:A3)", 8 / 3),
    ("MAX(A1:B3)-MIN(A1:B3)", 5.0),
    ("SUMPRODUCT(A1:A3,B1:B3)", 44.0),
    ("SUMPRODUCT(EXP(A1:A3-A1))", 1 + math.e**2 + math.e**4),  # SUMPRODUCT evaluates its arguments as arrays
    ("LARGE(A1:B3,2)", 5.0),
    ("SMALL(A1:B3,2)", 2.0),
    ("INDEX(A1:B3,3,2)", 6.0),
    ("INDEX(A1:A3,2)", 3.0),
    ("MATCH(5,A1:A3,0)", 3.0),
    ("MATCH(4,A1:A3,1)", 2.0),  # the largest value <= 4 in an ascending column
    ("IF(A1>B1,1,2)", 2.0),
    ("IFERROR(1/0,7)", 7.0),
    ("ROUND(2.5,0)+ROUND(-2.5,0)", 0.0),  # half away from zero
    ("MOD(-3,2)", 1.0),  # the sign of the divisor
    ("TANH(0.5)", math.tanh(0.5)),
    ("SQRT(2/PI())", math.sqrt(2 / math.pi)),
    ("MMULT(A1:B1,B1:B2)", 1 * 2 + 2 * 4),
    ('LEN("héllo")', 5.0),
    ('MID("hello",2,3)', "ell"),
    ('_xlfn.UNICODE("é")', 233.0),
])
def test_values(formula, expected):
    got = evaluate(formula)[0, 0]
    if isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-15), formula
    else:
        assert got == expected, formula


@pytest.mark.parametrize("formula, error", [
    ("1/0", "#DIV/0!"),
    ("SQRT(-1)", "#NUM!"),
    ("LN(0)", "#NUM!"),
    ("0^-1", "#DIV/0!"),
    ("EXP(1000)", "#NUM!"),
    ('"a"+1', "#VALUE!"),
    ("NoSuchName+1", "#NAME?"),
    ("INDEX(A1:B3,4,1)", "#REF!"),
    ("MATCH(9,A1:A3,0)", "#N/A"),
    ("LARGE(A1:B3,7)", "#NUM!"),
    ("AVERAGE(C1:C3)", "#DIV/0!"),
    ("1+#N/A", "#N/A"),
    ("IF(1/0>1,1,2)", "#DIV/0!"),
    ("SUM(A1:A3,1/0)", "#DIV/0!"),
])
def test_errors(formula, error):
    assert str(evaluate(formula)[0, 0]) == error, formula


def test_implicit_intersection_as_excel_and_libreoffice():
    """Outside an array formula a range meets the formula's row: SUM(EXP(A1:A3-A1)) in row 1 is EXP(0) = 1;
    as an array formula it sums all three; beside no row of the range it is #VALUE!."""
    assert evaluate("SUM(EXP(A1:A3-A1))", at=(0, 3))[0, 0] == 1.0
    assert evaluate("SUM(EXP(A1:A3-A1))", kind="array", at=(0, 3))[0, 0] == pytest.approx(1 + math.e**2 + math.e**4)
    assert evaluate("A1:A3*10", kind="shared", shape=(3, 1), at=(0, 3))[:, 0].tolist() == [10.0, 30.0, 50.0]
    assert str(evaluate("A1:A3*10", at=(5, 3))[0, 0]) == "#VALUE!"
    assert evaluate("A1:B1*10", kind="shared", shape=(1, 2), at=(6, 0))[0].tolist() == [10.0, 20.0]


def test_array_formula_broadcasts_a_column_against_a_row():
    got = evaluate("A1:A3*B1:B1+TRANSPOSE(A1:A2)", kind="array", shape=(3, 2), at=(0, 3))
    assert got.tolist() == [[1 * 2 + 1, 1 * 2 + 3], [3 * 2 + 1, 3 * 2 + 3], [5 * 2 + 1, 5 * 2 + 3]]
    small = evaluate("A1:A2*2", kind="array", shape=(3, 1), at=(0, 3))
    assert small[:2, 0].tolist() == [2.0, 6.0] and str(small[2, 0]) == "#N/A"  # a smaller result leaves #N/A


def test_shared_formula_shifts_relative_references():
    got = evaluate("$A1*10+B$1", kind="shared", shape=(3, 2), at=(0, 3))
    # column E reads C$1, which is empty (0): the relative column moved, the absolute $A did not
    assert got.tolist() == [[12.0, 10.0], [32.0, 30.0], [52.0, 50.0]]


def test_group_that_reads_itself_falls_back_to_cell_by_cell():
    book = Book()
    s = book.add(Sheet("S", blocks=[Values(0, 0, np.array([[1.0]]))]))
    run = s.add(Formulas(1, 0, 4, 1, "A1+1", "shared"))  # A2:A5, each the cell above plus one
    grow = s.add(Formulas(0, 1, 5, 1, "SUM($A$1:A1)", "shared"))  # a range that grows cell by cell
    engine.recalculate(book)
    assert s.computed[run][:, 0].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert s.computed[grow][:, 0].tolist() == [1.0, 3.0, 6.0, 10.0, 15.0]


def test_cycle_names_its_cells():
    book = Book()
    s = book.add(Sheet("S"))
    s.add(Formulas(0, 0, 1, 1, "B1+1", "cell"))
    s.add(Formulas(0, 1, 1, 1, "A1*2", "cell"))
    with pytest.raises(XlgptError, match=r"circular reference: .*'S'!(A1|B1).*'S'!(A1|B1)"):
        engine.recalculate(book)


def test_function_outside_the_dialect_names_cell_and_function():
    book = Book()
    book.add(Sheet("S", blocks=[Formulas(2, 1, 1, 1, "OFFSET(A1,1,1)", "cell")]))
    with pytest.raises(XlgptError, match=r"'S'!B3: the function OFFSET is not in xlgpt's dialect"):
        engine.recalculate(book)


def test_defined_names_and_text_blocks():
    book = Book()
    s = book.add(Sheet("S", blocks=[Texts(0, 0, [["a", "b"], ["c", None]])]))
    f = s.add(Formulas(0, 3, 1, 1, "INDEX(Words,2,1)&Words2", "cell"))
    book.names.update({"Words": "'S'!$A$1:$B$2", "Words2": "'S'!$B$1"})
    engine.recalculate(book)
    assert s.computed[f][0, 0] == "cb"


def test_cached_error_values_and_error_like_text():
    """An error result is written as an error (t="e"); a text that reads like one stays text (t="str")."""
    from xlgpt.xlsx.worksheet import _cached
    assert _cached(evaluate("1/0")[0, 0]) == (' t="e"', "<v>#DIV/0!</v>")
    assert _cached(evaluate('"#N/A"')[0, 0]) == (' t="str"', "<v>#N/A</v>")


def _scan_book(formula, first_value=None, at_row=1):
    """Column A: 0, 1, 2, 0, 1, 2, ...; column D from row at_row: formula filled down (a shared block)."""
    book = Book()
    n = 30
    s = book.add(Sheet("S", blocks=[Values(0, 0, (np.arange(n, dtype=float) % 3)[:, None])]))
    if first_value is not None:
        s.add(Values(0, 3, np.array([[first_value]])))
    f = s.add(Formulas(at_row, 3, n - at_row, 1, formula, "shared"))
    engine.recalculate(book)
    return s.computed[f][:, 0].tolist()


def test_a_block_that_reads_the_rows_above_runs_top_down():
    a = [i % 3 for i in range(30)]
    want, total = [], 10.0
    for i in range(1, 30):
        total = total + a[i] if a[i] > 0 else total * 2
        want.append(total)
    assert _scan_book("IF(A2>0,D1+A2,D1*2)", first_value=10.0) == want
    running = [sum(a[:i + 1]) for i in range(1, 30)]  # a running total over a growing range
    assert _scan_book("SUM($A$1:A2)", at_row=1) == running
    d = [1.0]  # D1 = 1, then each row the sum of the column above it plus A
    for i in range(1, 30):
        d.append(sum(d) + a[i])
    assert _scan_book("SUM(D$1:D1)+A2", first_value=1.0) == d[1:]


def test_a_block_that_reads_the_rows_below_runs_bottom_up():
    # the length of the run of equal steps from each row down: 1 where the next row does not continue it
    a = [i % 3 for i in range(30)]
    want = [0] * 30
    for i in range(29, -1, -1):
        want[i] = want[i + 1] + 1 if i < 29 and a[i + 1] == a[i] + 1 else 1
    assert _scan_book("IF(A2=A1+1,D2+1,1)", at_row=0) == want


def test_unicode_of_utf16_text_as_microsoft_documents_it():
    """Text as Excel holds it (UTF-16 code units, an emoji two of them): UNICODE of a whole surrogate pair at
    the start is the supplementary code point, of a partial surrogate #VALUE!. The reference is Python's own
    UTF-16 decoding of the emoji."""
    emoji = "\U0001F600"
    units = emoji.encode("utf-16-le")
    high, low = chr(int.from_bytes(units[:2], "little")), chr(int.from_bytes(units[2:], "little"))
    book = Book()
    s = book.add(Sheet("S", blocks=[Texts(0, 0, [[high + low + "a"], [high], [low + "a"], [high + "a"]])]))
    cells = [s.add(Formulas(r, 1, 1, 1, "_xlfn.UNICODE(A%d)" % (r + 1), "cell")) for r in range(4)]
    engine.recalculate(book)
    got = [s.computed[c][0, 0] for c in cells]
    assert got[0] == float(ord(emoji))
    assert [str(v) for v in got[1:]] == ["#VALUE!"] * 3


def test_the_scheduler_orders_without_changing_what_it_is_given():
    """A running total (read row by row) and a block read every which way: the order comes back as a new list of
    groups, and the groups given keep their evaluation mode, cells and place."""
    from xlgpt.engine import scheduler
    book = Book()
    s = book.add(Sheet("S"))
    s.add(Values(0, 0, np.ones((1, 1))))
    s.add(Formulas(1, 0, 4, 1, "A1+1", "shared"))  # each cell the one above plus one: rows in order
    s.add(Formulas(0, 5, 1, 2, "G1+1", "shared"))  # F1 reads G1, G1 reads H1 (empty): cell by cell
    given = scheduler.formula_groups(book)
    before = [(id(g), g.rows, g.di, g.dj, g.nrows, g.ncols) for g in given]
    ordered = scheduler.order(given, {})
    assert [(id(g), g.rows, g.di, g.dj, g.nrows, g.ncols) for g in given] == before
    assert ordered is not given
    running = [g for g in ordered if g.block.text == "A1+1"]
    assert len(running) == 1 and running[0].rows == 1  # one group, evaluated top down
    cells = [g for g in ordered if g.block.text == "G1+1"]
    assert len(cells) == 2 and [g.dj for g in cells] == [1, 0]  # G1 before F1, which reads it


@pytest.mark.parametrize("formula, expected", [
    ('" 2.5 "*2', 5.0),  # Excel's coercion of numeric text: surrounding spaces allowed
    ('"1e3"+0', 1000.0),
    ('"1_000"+0', "#VALUE!"),  # Python's float() reads 1000: Excel does not
    ('"nan"*1', "#VALUE!"),
    ('"inf"*1', "#VALUE!"),
    ('"\u0661"+0', "#VALUE!"),  # an Arabic-Indic digit
    ('MID("abcdef",2.9,2.9)', "bc"),  # typed arguments: whole numbers, truncated toward zero
    ('LEFT("abc",)', ""),  # an argument left empty is an empty cell of its type: 0 characters
    ('ROUND("2.345",2)', 2.35),
])
def test_text_is_a_number_only_in_its_plain_form(formula, expected):
    got = evaluate(formula)[0, 0]
    assert str(got) == str(expected) if isinstance(expected, str) else got == expected


def test_mmults_check_for_empty_cells_is_exact():
    """MMULT looks for an empty cell (NaN) by the operand's sum first: infinities that sum to NaN are not taken for
    an empty cell, and one NaN among huge numbers is found."""
    from xlgpt.engine.functions.lookup import _has_nan
    a = np.array([[1e308, 1e308, -np.inf, np.inf, 0.0]])
    assert not _has_nan(a)
    a[0, 4] = np.nan
    assert _has_nan(a)
    assert not _has_nan(np.arange(12.0).reshape(3, 4).T)  # a transposed view, as TRANSPOSE gives
