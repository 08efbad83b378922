"""The package follows what Excel writes: the same small workbook through xlgpt's writer and through XlsxWriter
(whose own suite checks its output against files saved by Excel), compared part by part, element by element.

Differences that are not differences are normalised first: cell positions given by `r` or by order, numbers
compared as numbers, white space between elements, shared-string indices resolved to their strings. Both write
a theme part at the same place with the same content type and relationship; its content differs (xlgpt's is the
Office theme in the fewest elements the schema allows; tests/test_excel_rules.py validates it), and fonts are
compared without their colours (XlsxWriter's refer to the theme).
"""

import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from xlgpt.sheet import refs
from xlgpt.sheet.book import Book, Formulas, Greyed, Sheet, Texts, Values
from xlgpt.xlsx.packager import write_book

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
THEME = "theme"


def _ours(path):
    book = Book()
    s = book.add(Sheet("Start"))
    s.add(Texts(0, 0, [["Hello"]], style="bold"))
    s.add(Values(1, 0, np.array([[1.5, -2.25], [3e-5, 0.0]])))
    s.add(Formulas(3, 0, 1, 1, "A2*2", kind="cell"))
    s.add(Formulas(4, 0, 2, 2, "MMULT(A2:B3,A2:B3)", kind="array"))
    s.add(Texts(6, 0, [["go"]], style="link"))
    s.links.append((6, 0, "'h.0.ln_1'!A1", "go"))
    s.greyed.append(Greyed("A2:B3", "ROW()-2>=TokenCount"))  # the padding positions' grey
    book.add(Sheet("h.0.ln_1", blocks=[Values(0, 0, np.array([[2.0]]))]))
    book.names["Prompt"] = "Start!$A$1"
    write_book(book, path)


def _theirs(path):
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Start")
    ws.write_string(0, 0, "Hello", wb.add_format({"bold": True}))
    ws.write_number(1, 0, 1.5)
    ws.write_number(1, 1, -2.25)
    ws.write_number(2, 0, 3e-5)
    ws.write_number(2, 1, 0.0)
    ws.write_formula(3, 0, "=A2*2", value="")
    ws.write_array_formula(4, 0, 5, 1, "{=MMULT(A2:B3,A2:B3)}", value="")
    ws.write_url(6, 0, "internal:'h.0.ln_1'!A1", string="go")
    ws.conditional_format("A2:B3", {"type": "formula", "criteria": "=ROW()-2>=TokenCount",
                                    "format": wb.add_format({"font_color": "#A6A6A6", "bg_color": "#F2F2F2"})})
    wb.add_worksheet("h.0.ln_1").write_number(0, 0, 2.0)
    wb.define_name("Prompt", "=Start!$A$1")
    wb.close()


def _pair(tmp, ours, theirs):
    """The same workbook written by xlgpt (ours) and by XlsxWriter (theirs), as two open zip files."""
    ours(tmp / "ours.xlsx")
    theirs(tmp / "theirs.xlsx")
    return zipfile.ZipFile(tmp / "ours.xlsx"), zipfile.ZipFile(tmp / "theirs.xlsx")


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    return _pair(tmp_path_factory.mktemp("package"), _ours, _theirs)


def _tree(z, name):
    return ET.fromstring(z.read(name))


def _canon(e, skip=()):
    """(tag, attributes, text, children) with white space between elements dropped."""
    return (e.tag, dict(sorted(e.attrib.items())), (e.text or "").strip(),
            [_canon(c, skip) for c in e if c.tag.split("}")[-1] not in skip])


def test_same_parts(parts):
    ours, theirs = (set(z.namelist()) for z in parts)
    assert ours == theirs and "xl/theme/theme1.xml" in ours


def test_content_types(parts):
    ours, theirs = (_tree(z, "[Content_Types].xml") for z in parts)
    assert sorted(map(_canon, ours), key=str) == sorted(map(_canon, theirs), key=str)


def test_relationships(parts):
    ours, theirs = (_tree(z, "_rels/.rels") for z in parts)
    assert _canon(ours) == _canon(theirs)
    ours, theirs = (_tree(z, "xl/_rels/workbook.xml.rels") for z in parts)
    pairs = lambda t: sorted((r.get("Type"), r.get("Target")) for r in t)  # noqa: E731
    assert pairs(ours) == pairs(theirs) and any(THEME in t for t, _ in pairs(ours))
    # sheets are rId1..N in both, which workbook.xml relies on
    assert [(r.get("Id"), r.get("Target")) for r in ours if r.get("Target").startswith("worksheets/")] == \
           [(r.get("Id"), r.get("Target")) for r in theirs if r.get("Target").startswith("worksheets/")]


def test_conditional_formatting(parts):
    ours, theirs = (_tree(z, "xl/worksheets/sheet1.xml").find(NS + "conditionalFormatting") for z in parts)
    assert ours is not None and _canon(ours) == _canon(theirs)


def test_workbook_part(parts):
    ours, theirs = (_tree(z, "xl/workbook.xml") for z in parts)
    assert _canon(ours) == _canon(theirs)


def _cells(z, sheet):
    """{A1: (type, formula element, value)} with positions resolved and shared strings looked up."""
    strings = [si.findtext(f"{NS}t") for si in _tree(z, "xl/sharedStrings.xml")]
    cells, arrays = {}, []
    for row in _tree(z, sheet).iter(f"{NS}row"):
        r, col = int(row.get("r")) - 1, -1
        for c in row.iter(f"{NS}c"):
            col = refs.parse_cell(c.get("r"))[1] if c.get("r") else col + 1
            f, v = c.find(f"{NS}f"), c.findtext(f"{NS}v")
            t = c.get("t", "n")
            value = strings[int(v)] if t == "s" else (float(v) if v not in (None, "") and t == "n" else v)
            formula = None if f is None else (f.text, f.get("t"), f.get("ref"))
            if formula is not None and v in ("0", ""):  # XlsxWriter's placeholder value; xlgpt writes none
                value = None
            if formula is not None and formula[1] == "array":
                arrays.append(refs.parse_area(formula[2]))
            elif any(r0 <= r < r0 + nr and c0 <= col < c0 + nc for r0, c0, nr, nc in arrays):
                continue  # the rest of an array formula's range: placeholders there, nothing here
            cells[refs.cell(r, col)] = (t if t != "str" else "n", formula, value, c.get("s", "0") != "0")
    return {k: v for k, v in cells.items() if v[1] is not None or v[2] is not None}


@pytest.mark.parametrize("sheet", ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"])
def test_sheet_part(parts, sheet):
    ours, theirs = (_tree(z, sheet) for z in parts)
    assert [c.tag for c in ours] == [c.tag for c in theirs], "the sheet's elements differ or are out of order"
    for tag in ("dimension", "sheetFormatPr", "hyperlinks", "pageMargins"):
        assert [_canon(e) for e in ours.iter(NS + tag)] == [_canon(e) for e in theirs.iter(NS + tag)], tag
    assert _cells(parts[0], sheet) == _cells(parts[1], sheet)


def test_styles_part(parts):
    ours, theirs = (_tree(z, "xl/styles.xml") for z in parts)
    assert [c.tag for c in ours] == [c.tag for c in theirs]
    for tag in ("borders", "dxfs", "tableStyles", "cellStyles"):
        assert _canon(ours.find(NS + tag)) == _canon(theirs.find(NS + tag)), tag
    # the Hyperlink cell style, whose font index depends on the fonts before it
    no_font = lambda e: (_canon(e)[0], {k: v for k, v in e.attrib.items() if k != "fontId"}, _canon(e)[3])  # noqa: E731
    assert [no_font(x) for x in ours.find(NS + "cellStyleXfs")] == [no_font(x) for x in theirs.find(NS + "cellStyleXfs")]
    link_font = int(list(ours.find(NS + "cellStyleXfs"))[1].get("fontId"))
    assert list(ours.find(NS + "fonts"))[link_font].find(NS + "u") is not None
    # the default font, bold, and the hyperlink font, without colours (XlsxWriter's point at the theme)
    font = lambda e: _canon(e, skip=("color", "scheme"))  # noqa: E731
    o, t = list(ours.find(NS + "fonts")), list(theirs.find(NS + "fonts"))
    assert font(o[0]) == font(t[0]) and font(o[1]) == font(t[1])
    # the first two fills are the two Excel requires, in its order
    assert [_canon(f) for f in list(ours.find(NS + "fills"))[:2]] == [_canon(f) for f in theirs.find(NS + "fills")]
    assert _canon(list(ours.find(NS + "cellXfs"))[0]) == _canon(list(theirs.find(NS + "cellXfs"))[0])


def test_member_dates_are_when_the_file_was_written(parts):
    """Zip members carry the local date and time of writing in MS-DOS form (month in bits 5-8), as Python's
    zipfile decodes it."""
    import datetime
    ours, _ = parts
    stamps = {datetime.datetime(*i.date_time) for i in ours.infolist()}
    now = datetime.datetime.now()
    assert all(abs(now - s) < datetime.timedelta(hours=1) for s in stamps), stamps


# ---- charts -------------------------------------------------------------------------------------------------

CHART_DATA = [("tok0", 0.5), ("tok1", 0.25), ("tok2", 0.125)]


def _ours_charts(path):
    from xlgpt.sheet.book import Chart
    book = Book()
    s = book.add(Sheet("Start"))
    s.add(Texts(0, 0, [[t, p] for t, p in CHART_DATA]))
    s.charts.append(Chart("bar", "Next token: the most likely", "probability", "'Start'!$A$1:$A$3",
                          "'Start'!$B$1:$B$3", row=1, col=4))
    s.charts.append(Chart("line", "After each block", "p", "'Start'!$A$1:$A$3", "'Start'!$B$1:$B$3", row=17,
                          col=4, x_title="block", y_title="probability"))
    write_book(book, path)


def _theirs_charts(path):
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Start")
    for r, (t, p) in enumerate(CHART_DATA):
        ws.write_string(r, 0, t)
        ws.write_number(r, 1, p)
    bar = wb.add_chart({"type": "bar"})
    bar.add_series({"name": "probability", "categories": "='Start'!$A$1:$A$3", "values": "='Start'!$B$1:$B$3",
                    "fill": {"color": "#4472C4"}})
    bar.set_title({"name": "Next token: the most likely"})
    bar.set_y_axis({"reverse": True})  # XlsxWriter's bar chart: y is the category axis
    bar.set_legend({"none": True})
    ws.insert_chart(1, 4, bar)
    line = wb.add_chart({"type": "line"})
    line.add_series({"name": "p", "categories": "='Start'!$A$1:$A$3", "values": "='Start'!$B$1:$B$3",
                     "line": {"color": "#4472C4", "width": 2.25},
                     "marker": {"type": "circle", "size": 6, "fill": {"color": "#4472C4"},
                                "border": {"color": "#4472C4"}}})
    line.set_title({"name": "After each block"})
    line.set_x_axis({"name": "block"})
    line.set_y_axis({"name": "probability"})
    line.set_legend({"none": True})
    ws.insert_chart(17, 4, line)
    wb.close()


@pytest.fixture(scope="module")
def chart_parts(tmp_path_factory):
    return _pair(tmp_path_factory.mktemp("charts"), _ours_charts, _theirs_charts)


CACHES = ("strCache", "numCache")  # XlsxWriter caches the cells' values; xlgpt writes none (see charts.py)


@pytest.mark.parametrize("part", ["xl/charts/chart1.xml", "xl/charts/chart2.xml", "xl/drawings/drawing1.xml",
                                  "xl/drawings/_rels/drawing1.xml.rels", "xl/worksheets/_rels/sheet1.xml.rels"])
def test_chart_parts(chart_parts, part):
    ours, theirs = (_tree(z, part) for z in chart_parts)
    assert _canon(ours, CACHES) == _canon(theirs, CACHES)


def test_chart_package_entries(chart_parts):
    ours, theirs = chart_parts
    assert {n for n in ours.namelist()} == {n for n in theirs.namelist()}
    types = [sorted((c.get("PartName"), c.get("ContentType")) for c in _tree(z, "[Content_Types].xml")
                    if "chart" in c.get("PartName", "") or "drawing" in c.get("PartName", "")) for z in chart_parts]
    assert types[0] == types[1] and len(types[0]) == 3
    sheets = [_tree(z, "xl/worksheets/sheet1.xml") for z in chart_parts]
    assert [c.tag for c in sheets[0]][-2:] == [c.tag for c in sheets[1]][-2:] == [NS + "pageMargins", NS + "drawing"]
    assert [_canon(e) for e in sheets[0].iter(NS + "drawing")] == [_canon(e) for e in sheets[1].iter(NS + "drawing")]
