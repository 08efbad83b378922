"""Write a Book as an .xlsx package: every part in order, into a temporary file renamed into place at the end."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..sheet.book import Book
from . import charts, sheet_cache
from .atomic import atomic_output
from .contenttypes import content_types_xml
from .docprops import app_xml, core_xml
from .relationships import package_rels_xml, workbook_rels_xml
from .sharedstrings import SharedStrings
from . import theme
from .styles import styles_xml
from .workbook import workbook_xml
from .worksheet import is_value_sheet, worksheet_chunks
from .zipstream import Deflated, ZipWriter


def write_book(book: Book, path: Path, *, full_calc_on_load: bool = True, progress=None) -> None:
    """progress(i, n, sheet_name) is called before each sheet. Nothing is left at `path` unless all succeeds."""
    names = [s.name for s in book.sheets]
    with atomic_output(path) as f:
        z = ZipWriter(f)
        try:
            _write_parts(z, book, names, full_calc_on_load, progress)
        except BaseException:
            z.abandon()
            raise
        z.close()


def _write_parts(z: ZipWriter, book: Book, names: list[str], full_calc_on_load: bool, progress) -> None:
    drawn = [(i, s) for i, s in enumerate(book.sheets, 1) if s.charts]  # drawing k is the k-th sheet with charts
    n_charts = sum(len(s.charts) for _, s in drawn)
    parts = ([(f"xl/charts/chart{n}.xml", charts.CHART_TYPE) for n in range(1, n_charts + 1)]
             + [(f"xl/drawings/drawing{k}.xml", charts.DRAWING_TYPE) for k in range(1, len(drawn) + 1)])
    z.writestr("[Content_Types].xml", content_types_xml(len(names), parts).encode())
    z.writestr("_rels/.rels", package_rels_xml().encode())
    z.writestr("docProps/app.xml", app_xml(names, sorted(book.names)).encode())
    z.writestr("docProps/core.xml", core_xml().encode())
    z.writestr("xl/workbook.xml", workbook_xml(names, book.names, full_calc_on_load).encode())
    z.writestr("xl/_rels/workbook.xml.rels", workbook_rels_xml(len(names)).encode())
    z.writestr("xl/styles.xml", styles_xml().encode())
    z.writestr(theme.PART, theme.theme_xml().encode())
    # Tabs of formulas and text are Python work; weight tabs are NumPy work that leaves the GIL free. The
    # first are made (and deflated) on a thread of their own while this one streams the weight tabs, so
    # the two overlap; the zip holds the members in any order, and sheetN.xml keeps each tab's place.
    strings = SharedStrings()
    numeric = [i for i, s in enumerate(book.sheets, 1) if is_value_sheet(s)]
    others = [i for i in range(1, len(names) + 1) if i not in set(numeric)]
    made = {}

    def make_others():
        for i in others:
            d = Deflated()
            for chunk in worksheet_chunks(book.sheets[i - 1], strings, selected=(i == 1)):
                d.write(chunk)
            made[i] = d.close()
            # a recalculation of this file that computes the same values copies the tab as stored
            sheet_cache.remember_written(made[i].pieces, book.sheets[i - 1])
    with ThreadPoolExecutor(1, thread_name_prefix="xlgpt-sheets") as pool:
        maker = pool.submit(make_others)
        for n, i in enumerate(numeric, 1):
            if progress:
                progress(n, len(names), book.sheets[i - 1].name)
            with z.member(f"xl/worksheets/sheet{i}.xml") as m:
                for chunk in worksheet_chunks(book.sheets[i - 1], strings):
                    m.write(chunk)
        maker.result()  # the other thread's exception, if any, is raised here
    for n, i in enumerate(others, len(numeric) + 1):
        if progress:
            progress(n, len(names), book.sheets[i - 1].name)
        z.write_deflated(f"xl/worksheets/sheet{i}.xml", made.pop(i))
    with z.member("xl/sharedStrings.xml") as m:
        for chunk in strings.xml_chunks():
            m.write(chunk)
    _write_charts(z, drawn)


def _write_charts(z: ZipWriter, drawn: list) -> None:
    """Each sheet's drawing, its charts, and the relationships that lead from the sheet to them."""
    n = 0
    for k, (i, sheet) in enumerate(drawn, 1):
        z.writestr(f"xl/worksheets/_rels/sheet{i}.xml.rels", charts.sheet_rels_xml(k).encode())
        numbers = list(range(n + 1, n + len(sheet.charts) + 1))
        z.writestr(f"xl/drawings/drawing{k}.xml", charts.drawing_xml(sheet).encode())
        z.writestr(f"xl/drawings/_rels/drawing{k}.xml.rels", charts.drawing_rels_xml(numbers).encode())
        for number, chart in zip(numbers, sheet.charts):
            z.writestr(f"xl/charts/chart{number}.xml", charts.chart_xml(chart, number).encode())
        n += len(sheet.charts)

