"""Every function of the engine's table, on numbers, text, empty cells, booleans and errors, against LibreOffice:
one workbook holds every case, so one LibreOffice start checks the whole table. A function added to the table
without cases here fails test_every_function_has_cases."""

import re

import numpy as np
import pytest

from helpers import engine_and_libreoffice, same
from xlgpt import engine
from xlgpt.sheet import refs
from xlgpt.sheet.book import Book, Formulas, Sheet, Texts, Values
from xlgpt.engine.functions import FUNCTIONS
from xlgpt.xlsx.packager import write_book

# The input sheet In: column A numbers, B text, empty cells and an error, C an ascending column (MATCH's sorted
# lookups), D1:E2 a 2 x 2 matrix, F1 the boolean TRUE.
A = [2.0, -3.5, 0.0, 10.0, 0.25, 7.0]
B = ["abc", "12", None, None, None, "Hello World"]  # B5 holds =1/0 (#DIV/0!)
C = [1.0, 3.0, 5.0, 7.0]

CASES = {
    "ABS": ["ABS(In!A2)", "ABS(In!B2)", "ABS(In!B1)", "ABS(In!B5)", "ABS(In!B3)"],
    "AND": ["AND(In!A1,In!A4)", "AND(In!A1,In!A3)", "AND(In!A1:A2)", "AND(In!A1,In!B5)", "AND(In!A1:A6)"],
    "AVERAGE": ["AVERAGE(In!A1:A6)", "AVERAGE(In!A1,In!A2,5)", "AVERAGE(In!A1:B6)", "AVERAGE(In!B3)",
                "AVERAGE(In!A1:A3,In!B5)"],
    "CONCATENATE": ['CONCATENATE(In!B1,"-",In!A1)', "CONCATENATE(In!B6,In!B3,In!A5)", "CONCATENATE(In!B1,In!B5)"],
    "COUNT": ["COUNT(In!A1:A6)", "COUNT(In!A1:B6)", "COUNT(In!B1:B4)", "COUNT(1,2,In!A1)"],
    "EXACT": ['EXACT(In!B1,"abc")', 'EXACT(In!B1,"ABC")', "EXACT(In!B2,12)", "EXACT(In!B3,\"\")", "EXACT(In!B5,1)",
              'SUMPRODUCT(EXACT(In!B1:B6,"Hello World")*1)'],
    "EXP": ["EXP(In!A1)", "EXP(In!A2)", "EXP(In!B2)", "EXP(In!B1)", "EXP(1000)"],
    "IF": ["IF(In!A1>1,In!B1,In!A1)", "IF(In!A3,1,2)", "IF(In!B3,1,2)", "IF(In!B5,1,2)", "IF(In!A1<0,1)",
           'IF("TRUE",1,2)', "IF(In!B1,1,2)"],
    "IFERROR": ["IFERROR(In!B5,-1)", "IFERROR(In!A1,-1)", "IFERROR(1/In!A3,In!B1)", "IFERROR(In!B1*2,0)"],
    "INDEX": ["INDEX(In!A1:A6,3)", "INDEX(In!D1:E2,2,2)", "INDEX(In!D1:E2,1,2)", "INDEX(In!A1:A6,7)",
              "INDEX(In!A1:A6,In!B5)", "INDEX(In!B1:B6,6)", "INDEX(In!C1:C4,2.9)"],
    "INT": ["INT(In!A2)", "INT(In!A5)", "INT(In!B2)", "INT(In!B1)", "INT(-0.5)"],
    "ISNUMBER": ["ISNUMBER(In!A1)", "ISNUMBER(In!B1)", "ISNUMBER(In!B2)", "ISNUMBER(In!B3)", "ISNUMBER(In!B5)"],
    "LARGE": ["LARGE(In!A1:A6,1)", "LARGE(In!A1:A6,3)", "LARGE(In!A1:B6,2)", "LARGE(In!A1:A6,In!B5)",
              "LARGE(In!A1:A6,7)"],
    "LEFT": ["LEFT(In!B6,5)", "LEFT(In!B6)", "LEFT(In!A5,3)", "LEFT(In!B1,0)", "LEFT(In!B5,2)", "LEFT(In!B6,99)"],
    "LEN": ["LEN(In!B6)", "LEN(In!A5)", "LEN(In!B3)", "LEN(In!B5)"],
    "LN": ["LN(In!A1)", "LN(In!A5)", "LN(In!B2)", "LN(In!B5)"],
    "LOG": ["LOG(In!A4)", "LOG(8,2)", "LOG(In!A1,In!A4)", "LOG(In!B2,In!A1)", "LOG(In!B5,2)"],
    "LOG10": ["LOG10(In!A4)", "LOG10(In!A5)", "LOG10(In!B2)", "LOG10(In!B1)"],
    "MATCH": ["MATCH(5,In!C1:C4,0)", "MATCH(6,In!C1:C4,1)", "MATCH(6,In!C1:C4)", "MATCH(4,In!C1:C4,0)",
              'MATCH("ABC",In!B1:B6,0)', "MATCH(In!B5,In!C1:C4,0)", "MATCH(0.5,In!C1:C4,1)", "MATCH(12,In!B1:B6,0)"],
    "MAX": ["MAX(In!A1:A6)", "MAX(In!A1:B6)", "MAX(In!B1:B4)", "MAX(In!A1,20,In!A2)", "MAX(In!A1:A6,In!B5)"],
    "MID": ["MID(In!B6,7,5)", "MID(In!B6,1,0)", "MID(In!B6,20,3)", "MID(In!A5,2,2)", "MID(In!B6,0,2)",
            "MID(In!B5,1,1)", "MID(In!B6,2.9,2.9)"],
    "MIN": ["MIN(In!A1:A6)", "MIN(In!A1:B6)", "MIN(In!B1:B4)", "MIN(In!A1,-20,In!A2)", "MIN(In!B5,In!A1:A6)"],
    "MMULT": ["SUM(MMULT(In!D1:E2,In!D1:E2))", "INDEX(MMULT(In!D1:E2,In!D1:E2),2,1)", "SUM(MMULT(In!D1:E2,In!A1:A3))"],
    "MOD": ["MOD(In!A4,3)", "MOD(In!A2,2)", "MOD(7,-2)", "MOD(In!A1,In!A3)", "MOD(In!B2,5)", "MOD(In!B1,2)"],
    "NOT": ["NOT(In!A1)", "NOT(In!A3)", "NOT(In!B3)", "NOT(In!B5)"],
    "OR": ["OR(In!A3,In!B3)", "OR(In!A1:A3)", "OR(In!A3,0)", "OR(In!B5,1)", "OR(In!A1:A6)"],
    "PI": ["PI()", "PI()*In!A1"],
    "POWER": ["POWER(In!A1,3)", "POWER(In!A2,2)", "POWER(In!A5,0.5)", "POWER(In!A2,0.5)", "POWER(In!A3,-1)",
              "POWER(In!B2,2)", "POWER(In!B5,2)"],
    "RIGHT": ["RIGHT(In!B6,5)", "RIGHT(In!B6)", "RIGHT(In!A2,2)", "RIGHT(In!B1,0)", "RIGHT(In!B5,1)"],
    "ROUND": ["ROUND(In!A2,0)", "ROUND(2.5,0)", "ROUND(-2.5,0)", "ROUND(1234.5678,-2)", "ROUND(In!A5,1)",
              "ROUND(In!B2,0)", "ROUND(In!B5,1)", "ROUND(0.125,2)"],
    "SIGN": ["SIGN(In!A2)", "SIGN(In!A3)", "SIGN(In!A4)", "SIGN(In!B2)", "SIGN(In!B5)"],
    "SMALL": ["SMALL(In!A1:A6,1)", "SMALL(In!A1:A6,6)", "SMALL(In!A1:B6,2)", "SMALL(In!A1:A6,In!B5)"],
    "SQRT": ["SQRT(In!A4)", "SQRT(In!A5)", "SQRT(In!B2)", "SQRT(In!B5)"],
    "SUM": ["SUM(In!A1:A6)", "SUM(In!A1:B6)", "SUM(In!A1,In!B2,3)", "SUM(In!B1:B4)", "SUM(In!A1:A6,In!B5)",
            "SUM(In!D1:E2*2)"],
    "SUMPRODUCT": ["SUMPRODUCT(In!A1:A3,In!A4:A6)", "SUMPRODUCT(In!D1:E2)", "SUMPRODUCT(In!A1:A2,In!B1:B2)",
                   "SUMPRODUCT(In!A1:A3,In!A1:A2)", "SUMPRODUCT(In!A4:A6,In!B4:B6)", "SUMPRODUCT(In!A1:A3*2)"],
    "TANH": ["TANH(In!A1)", "TANH(In!A2)", "TANH(In!B2)", "TANH(In!B1)"],
    "TRANSPOSE": ["INDEX(TRANSPOSE(In!D1:E2),1,2)", "SUM(TRANSPOSE(In!A1:A6))", "INDEX(TRANSPOSE(In!A1:A3),1,3)"],
    # functions newer than Excel 2007 are written with their _xlfn. prefix, as the file stores them
    "UNICHAR": ["_xlfn.UNICHAR(65)", "_xlfn.UNICHAR(233)", "_xlfn.UNICHAR(128512)",
                "_xlfn.UNICHAR(In!B5)", "_xlfn.UNICHAR(In!B2)"],
    "UNICODE": ["_xlfn.UNICODE(In!B1)", "_xlfn.UNICODE(In!B6)", '_xlfn.UNICODE("é")', '_xlfn.UNICODE("")',
                "_xlfn.UNICODE(In!A1)", "_xlfn.UNICODE(In!B5)"],
    "VARP": ["VARP(In!A1:A6)", "VARP(In!A1:B6)", "VARP(In!A1)", "VARP(In!B1:B3)", "VARP(In!A1:A6,In!B5)"],
}

# LibreOffice has no boolean type (TRUE is the number 1 in a boolean format), so a boolean in a range counts as a
# number there but not in Excel: these cases, on In!F1 = TRUE, are compared with the `formulas` package, which
# follows Excel.
BOOLEAN_CASES = ["CONCATENATE(In!F1)", "LEN(In!F1)", "ISNUMBER(In!F1)", "COUNT(In!E1:F2)", "SUM(In!E1:F2)",
                 "MAX(In!F1,-1)", "NOT(In!F1)", "AND(In!F1,1)", "IF(In!F1,1,2)", "In!F1+1"]

# LibreOffice writes its generic error (Err:502) as #VALUE! where Excel, and the engine, have a specific one
# (test_engine_properties.LIBREOFFICE_ERR_502); the functions whose cases may meet it:
EXCUSED = {"INDEX", "LARGE", "SMALL", "LN", "LOG", "LOG10", "SQRT", "POWER", "_xlfn.UNICHAR"}
# POWER(0, negative) is #DIV/0! in Excel (and Gnumeric, which follows it), #NUM! in LibreOffice.
POWER_OF_ZERO = ("#DIV/0!", "#NUM!")
# Not among the cases: UNICHAR(0), #VALUE! in Excel (its documentation: a number outside the allowed range),
# the character U+0000 in LibreOffice; LARGE and SMALL with a k that is not a whole number, where the references disagree
# (LibreOffice truncates k; `formulas` rounds LARGE's up and SMALL's down; the engine rounds both up).


def _book() -> Book:
    book = Book()
    s = book.add(Sheet("In"))
    s.add(Values(0, 0, np.array(A)[:, None]))
    s.add(Texts(0, 1, [[v] for v in B]))
    s.add(Formulas(4, 1, 1, 1, "1/0", "cell"))
    s.add(Values(0, 2, np.array(C)[:, None]))
    s.add(Values(0, 3, np.array([[1.5, -2.0], [0.5, 4.0]])))
    s.add(Texts(0, 5, [[True]]))
    f = book.add(Sheet("F"))
    row = 0
    for name in sorted(CASES):
        for text in CASES[name]:
            f.add(Formulas(row, 0, 1, 1, text, "cell"))
            row += 1
    b = book.add(Sheet("Bool"))
    for i, text in enumerate(BOOLEAN_CASES):
        b.add(Formulas(i, 0, 1, 1, text, "cell"))
    return book


def test_every_function_has_cases():
    assert set(CASES) == set(FUNCTIONS), f"functions without cases: {sorted(set(FUNCTIONS) - set(CASES))}; " \
                                         f"cases without a function: {sorted(set(CASES) - set(FUNCTIONS))}"


@pytest.mark.libreoffice
def test_every_function_equals_libreoffice(tmp_path):
    mismatches = []
    for b, _, _, ours, theirs in engine_and_libreoffice(_book(), tmp_path, name="functions.xlsx"):
        if isinstance(theirs, str):  # control characters as the file escapes them (_x000C_); openpyxl keeps those
            theirs = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), theirs)
        excuse = any(name + "(" in b.text for name in EXCUSED)
        if ours == "" and theirs is None:
            continue  # an empty text result: LibreOffice writes <v></v>, which openpyxl reads as no value
        if b.text.startswith("POWER(") and (str(ours), str(theirs)) == POWER_OF_ZERO:
            continue
        if not same(ours, theirs, excuse):
            mismatches.append(f"F!{refs.cell(b.row, b.col)} ={b.text}: engine {ours!r}, LibreOffice {theirs!r}")
    assert not mismatches, "\n".join(mismatches)


def test_booleans_as_excel_treats_them(tmp_path):
    import formulas
    book = _book()
    write_book(book, tmp_path / "functions.xlsx")
    engine.recalculate(book)
    solution = formulas.ExcelModel().loads(str(tmp_path / "functions.xlsx")).finish().calculate()
    mismatches = []
    for b in book.sheet("Bool").blocks:
        theirs = np.asarray(solution[f"'[functions.xlsx]BOOL'!{refs.cell(b.row, b.col)}"].value).ravel()[0]
        theirs = theirs.item() if isinstance(theirs, np.generic) else theirs
        ours = book.sheet("Bool").computed[b][0, 0]
        if not same(ours, theirs):
            mismatches.append(f"={b.text}: engine {ours!r}, formulas {theirs!r}")
    assert not mismatches, "\n".join(mismatches)
