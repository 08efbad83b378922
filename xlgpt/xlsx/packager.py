"""Write a Book as an .xlsx package: every part in order, into a temporary file renamed into place at the end."""

import os
import tempfile
from pathlib import Path

from ..book import Book
from .contenttypes import content_types_xml
from .docprops import app_xml, core_xml
from .relationships import package_rels_xml, workbook_rels_xml
from .sharedstrings import SharedStrings
from .styles import styles_xml
from .workbook import workbook_xml
from .worksheet import worksheet_chunks
from .zipstream import ZipWriter


def write_book(book: Book, path: Path, *, full_calc_on_load: bool = True, progress=None) -> None:
    """progress(i, n, sheet_name) is called before each sheet. Nothing is left at `path` unless all succeeds."""
    path = Path(path)
    names = [s.name for s in book.sheets]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as f:
            z = ZipWriter(f)
            try:
                _write_parts(z, book, names, full_calc_on_load, progress)
            except BaseException:
                z.abandon()
                raise
            z.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a workbook is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_parts(z: ZipWriter, book: Book, names: list[str], full_calc_on_load: bool, progress) -> None:
    z.writestr("[Content_Types].xml", content_types_xml(len(names)).encode())
    z.writestr("_rels/.rels", package_rels_xml().encode())
    z.writestr("docProps/app.xml", app_xml(names, sorted(book.names)).encode())
    z.writestr("docProps/core.xml", core_xml().encode())
    z.writestr("xl/workbook.xml", workbook_xml(names, book.names, full_calc_on_load).encode())
    z.writestr("xl/_rels/workbook.xml.rels", workbook_rels_xml(len(names)).encode())
    z.writestr("xl/styles.xml", styles_xml().encode())
    strings = SharedStrings()
    for i, sheet in enumerate(book.sheets, 1):
        if progress:
            progress(i, len(names), sheet.name)
        with z.member(f"xl/worksheets/sheet{i}.xml") as m:
            for chunk in worksheet_chunks(sheet, strings, selected=(i == 1)):
                m.write(chunk)
    with z.member("xl/sharedStrings.xml") as m:
        for chunk in strings.xml_chunks():
            m.write(chunk)
