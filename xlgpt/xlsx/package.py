"""A workbook package as xlgpt works on it: read from a file into a Book, its sheets handed out, saved with the
changed and added sheets written anew and everything else copied as it was stored.

Reading goes through zipread.py (the trust boundary) and reader.py (the sheets' XML), with the sheet cache
(sheet_cache.py) remembering what was parsed. Saving keeps the package as it was wherever nothing changed: an
unchanged weight tab is copied as its compressed bytes, so is a formula tab whose values come out as it last
carried them, and every part that is not a sheet. A formula tab written anew keeps everything outside its
<sheetData> (widths, panes, links, heat maps) and what its rows said (hidden, height, style); only the cells
are written, with their cached values.
"""

import posixpath
import re
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..sheet.book import Book, Formulas, Sheet
from ..sheet.parallel import ordered_map
from ..errors import XlgptError
from . import package_edit, sheet_cache
from .atomic import atomic_output
from .reader import NS, REL, Strings, read_sheet, shared_strings, xml_part
from .worksheet import sheet_data_chunks, worksheet_chunks
from .zipread import inflate, inflate_xml, mapped, open_package, release, stored_bytes, stored_offset
from .zipstream import Deflated, StoredRange, ZipWriter


@dataclass
class Package:
    """A workbook read from `path`: its Book, where each sheet came from, and its shared strings' cache key."""
    book: Book
    path: Path
    sources: dict  # sheet name -> SheetSource
    strings_key: str = "none"  # the shared strings' key in the sheet cache

    @classmethod
    def read(cls, path, use_cache: bool = True, progress=None) -> "Package":
        """The workbook at `path`; progress(i, n, sheet_name) is called as each sheet has been read."""
        return _read(path, use_cache, progress)

    def sheet(self, name: str) -> Sheet:
        return self.book.sheet(name)

    def blocks_key(self, sheet_key: str) -> str:
        return sheet_cache.blocks_key(sheet_key, self.strings_key)

    def save(self, dest: Path, edited: set, progress=None, still_source=None, added: list = ()) -> None:
        """Write the book over the package it was read from (through a temporary file): the sheets named in
        `edited`, and those whose values changed, anew; `added` (new sheets) after the others, with their
        entries in the package; the rest as stored. still_source: see atomic.atomic_output."""
        _save(self, dest, edited, progress, still_source, added)


def _read(path, use_cache: bool, progress) -> "Package":
    path = Path(path)
    z = open_package(path)
    use_cache = use_cache and sheet_cache.enabled()
    with z:
        names = set(z.namelist())
        if "xl/workbook.xml" not in names:
            raise XlgptError(f"{path}: not an .xlsx workbook (no xl/workbook.xml)")
        wb = xml_part(z, "xl/workbook.xml")
        rels = {r.get("Id"): r.get("Target") for r in xml_part(z, "xl/_rels/workbook.xml.rels")}
        strings = shared_strings(z) if "xl/sharedStrings.xml" in names else Strings()
        book, sources, upper = Book(), {}, {}
        listed, entries = list(wb.iter(NS + "sheet")), []
        for s in listed:
            name = s.get("name")
            target = rels.get(s.get(REL))
            if not name or target is None:
                raise XlgptError(f"{path}: sheet {name!r} has no part in xl/_rels/workbook.xml.rels; the workbook is damaged")
            part = posixpath.normpath(target.lstrip("/") if target.startswith("/") else "xl/" + target)
            if part not in names:
                raise XlgptError(f"{path}: sheet {name!r} points to {part}, which the package does not hold; "
                                 f"the workbook is damaged")
            same = upper.setdefault(name.upper(), name)
            if same is not name:  # Excel's sheet names are case-insensitive: 'S' and 's' are one name
                raise XlgptError(f"{path}: two sheets are named {same!r} and {name!r}, one name to Excel; "
                                 f"the workbook is damaged")
            entries.append((name, part))
        for sheet, source in _read_sheets(z, entries, strings, use_cache, progress):
            book.add(sheet)
            sources[sheet.name] = source
        for dn in wb.iter(NS + "definedName"):
            if dn.get("localSheetId") is None and not dn.get("name", "").startswith("_xlnm."):
                book.names[dn.get("name")] = dn.text or ""
    sheet_cache.tidy()
    return Package(book, path, sources, strings.key)



def _read_sheets(z, entries: list, strings, use_cache: bool, progress) -> list:
    """Every sheet of entries [(name, part)], in order. Two threads read them, one from the first sheet on and one
    from the last back, until they meet: xlgpt's formula tabs come first and its weight tabs last, so the Python
    work of parsing formulas overlaps the inflating and number parsing of the weights, which leave the GIL free.
    A sheet that cannot be read raises as it would read one by one: the error of the first such sheet (the front
    thread reads on up to it). A package that cannot be mapped in memory is read by one thread (its file object
    is shared)."""
    n, results, errors = len(entries), [None] * len(entries), {}
    ends, lock = [0, n - 1], threading.Lock()  # the next index from the front, from the back
    done = [0]

    def take(front: bool):
        with lock:
            if ends[0] > ends[1]:
                return None
            i = ends[0] if front else ends[1]
            if errors and i > min(errors):
                return None  # past a sheet that failed: its error is the one reported
            ends[0 if front else 1] += 1 if front else -1
            return i

    def worker(front: bool):
        while (i := take(front)) is not None:
            try:
                results[i] = read_sheet(z, *entries[i], strings, use_cache)
            except Exception as e:  # noqa: BLE001 - re-raised below, the first sheet's first
                with lock:
                    errors[i] = e
                continue
            if progress:
                with lock:
                    done[0] += 1
                    progress(done[0], n, entries[i][0])
    if mapped(z) is None or n < 2:
        worker(True)
    else:
        threads = [threading.Thread(target=worker, args=(front,), name="xlgpt-read") for front in (True, False)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[min(errors)]
    return results


def _save(rb: "Package", dest: Path, edited: set, progress=None, still_source=None, added: list = ()) -> None:
    """Write the book back over the package it was read from: changed tabs anew, the rest as stored. added:
    new sheets (not in the package yet), written after the others with their entries in the package."""
    with atomic_output(dest, still_source) as f, open_package(rb.path) as z:
        out = ZipWriter(f)
        try:
            sheets = {s.part: s_name for s_name, s in rb.sources.items()}
            used = set(z.namelist())
            parts = {}
            for sheet in added:
                parts[sheet.name] = package_edit.new_part(used | set(parts.values()))
            entries = {}
            if added:
                entries = {p: inflate_xml(z, z.getinfo(p))
                           for p in (package_edit.WORKBOOK, package_edit.RELS, package_edit.TYPES)}
                for name, part in parts.items():
                    entries = package_edit.with_sheet(entries, name, part)
            infos = z.infolist()

            def member(info):
                """What to write for a member, as a function for a worker thread: a tab written anew (its
                cells formatted and deflated, NumPy and isal leaving the GIL free) is made there, two at a time,
                while this thread decides and copies the others."""
                if info.filename in entries:
                    return lambda: (Deflated().write(entries[info.filename]).close(), None)
                name = sheets.get(info.filename)
                if name is None:
                    return _done(_raw_member(z, info))
                sheet, source = rb.sheet(name), rb.sources[name]
                # a weight tab, a tab of constants only, or a formula tab whose values are those it was last
                # written with (a digest remembered by key), is copied as stored: writing it anew would give the
                # bytes it has (or the same cells in other words: inline strings for shared ones)
                formulas = not source.dense and any(isinstance(b, Formulas) for b in sheet.blocks)
                values = sheet_cache.values_digest(sheet) if formulas else None
                if name not in edited and (not formulas or sheet_cache.load_digest(source.key) == values):
                    return _done(_raw_member(z, info))
                stored = stored_bytes(z, info)  # here: a file without a mapping is read through z's file

                def write_anew():
                    try:
                        return _new_sheet(inflate_xml(z, info, stored), sheet), (sheet, values)
                    finally:
                        release(z, info)
                return write_anew
            done = 0
            for info, (data, written) in zip(infos, ordered_map(lambda make: make(), map(member, infos))):
                if info.filename in sheets and progress:
                    done += 1
                    progress(done, len(sheets), sheets[info.filename])
                out.write_deflated(info.filename, data)
                if written is not None:  # the cache is written from this thread only
                    sheet, values = written
                    k = sheet_cache.remember_written(data.pieces, sheet, values)
                    if k is not None:
                        sheet_cache.remember_blocks(rb.blocks_key(k), sheet.blocks)  # blocks hold no values
            for sheet in added:
                with out.member(parts[sheet.name]) as m:
                    for chunk in worksheet_chunks(sheet, None):
                        m.write(chunk)
        except BaseException:
            out.abandon()
            raise
        out.close()


def _done(data):
    return lambda: (data, None)


def _raw_member(z, info: zipfile.ZipInfo) -> "Deflated | StoredRange":
    """A member exactly as it is stored: its compressed bytes, copied by the kernel when the zip thread gets to
    it (deflated anew if it was stored raw)."""
    if info.compress_type != zipfile.ZIP_DEFLATED:
        d = Deflated()
        d.write(inflate(z, info))
        return d.close()
    return StoredRange(z.fp, stored_offset(z, info), info.CRC, info.compress_size, info.file_size)


_ROW = re.compile(rb"<row\b([^>]*?)/?>")
_DRESSED_ROW = re.compile(rb'<row(?! r="[0-9]+">)[\s/>]')  # a row with more than its number, or without it
_ROW_NUMBER = re.compile(rb"""\s+r\s*=\s*["'](\d+)["']""")


def _row_attributes(xml: bytes, start: int, end: int) -> dict:
    """row (0-based) -> the attributes of its <row> besides r, for the rows of the sheet that have any: what
    the user's file says about rows (hidden, height, style, outline) survives a recalculation."""
    if not _DRESSED_ROW.search(xml, start, end):
        return {}  # every row is <row r="N">, as xlgpt writes them: nothing to keep
    out, row = {}, -1
    for m in _ROW.finditer(xml, start, end):
        attributes = m.group(1)
        number = _ROW_NUMBER.search(attributes)
        row = int(number.group(1)) - 1 if number else row + 1  # a row without r follows the last
        rest = _ROW_NUMBER.sub(b"", attributes).strip()
        if rest:
            out[row] = b" " + rest
    return out


_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData\b[^>]*>.*</sheetData>", re.S)


def _new_sheet(xml: bytes, sheet) -> Deflated:
    """The sheet's XML with its cells written anew (values included) and everything else kept."""
    m = _SHEET_DATA.search(xml)
    if m is None:
        raise XlgptError(f"sheet {sheet.name}: no <sheetData> element; the workbook is damaged")
    d = Deflated()
    d.write(xml[:m.start()] + b"<sheetData>")
    for chunk in sheet_data_chunks(sheet, None, _row_attributes(xml, m.start(), m.end())):
        d.write(chunk)
    d.write(b"</sheetData>" + xml[m.end():])
    return d.close()
