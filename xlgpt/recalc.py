"""`xlgpt recalc`: read a workbook, apply edits, evaluate every formula, write the values back.

Writing back keeps the package as it was wherever nothing changed: an unchanged weight tab is copied as its
compressed bytes, so is a formula tab whose values come out as it last carried them (sheet_cache.py), and
every part that is not a sheet. A formula tab written anew keeps everything outside its <sheetData> (widths,
panes, links, heat maps); only the cells are written, with their cached values.
"""

import os
import re
import sys
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import engine, refs
from .book import Book, Formulas, Texts, Values
from .cells import MAX_TEXT, parse_double, too_long
from .errors import XlgptError
from .xlsx.atomic import atomic_output, exclusive
from .xlsx import sheet_cache
from .xlsx.reader import ReadBook, read
from .xlsx import package_edit
from .xlsx.worksheet import sheet_data_chunks, worksheet_chunks
from .xlsx.zipread import copy_of_stored, digest, inflate, inflate_xml, open_package
from .xlsx.zipstream import Deflated, ZipWriter


@dataclass
class Edit:
    sheet: str
    row: int
    col: int
    value: object  # a number when the text reads as one
    text: str  # as given: a cell holding text (the prompt) keeps it as text, so --set Prompt=007 stays 007


def parse_set(book: Book, text: str) -> Edit:
    """REF=VALUE with REF a cell (Sheet!B7, 'h.0.ln_1.weight'!A1), a one-cell defined name (Prompt), or a cell
    of a named range by its row and column from 0 (HeadGates(9,1), MlpGates(0))."""
    ref, sep, raw = text.partition("=")
    if not sep:
        raise XlgptError(f"--set {text}: expected REF=VALUE, e.g. --set 'h.0.mlp.c_fc.weight'!B3=0.5 or --set Prompt=Hi")
    ref = ref.strip()
    index = re.fullmatch(r"(\w+)\((\d+)(?:,\s*(\d+))?\)", ref)  # HeadGates(9,1): a cell of a named range
    if index:
        ref = index.group(1)
    target = book.names.get(ref) or next((v for k, v in book.names.items() if k.upper() == ref.upper()), None)
    sheet, _, cell = (target or ref).rpartition("!")
    sheet = sheet.strip("'").replace("''", "'")
    if not sheet or sheet not in {s.name for s in book.sheets}:
        raise XlgptError(f"--set {text}: {ref} is not a defined name or a Sheet!Cell of this workbook")
    try:
        row, col, nrows, ncols = refs.parse_area(cell.replace("$", ""))
    except ValueError as e:
        raise XlgptError(f"--set {text}: {e}") from None
    if index and target:
        i, j = int(index.group(2)), int(index.group(3) or 0)
        if index.group(3) is None:  # one index: only a single row or column says which way it counts
            if nrows > 1 and ncols > 1:
                raise XlgptError(f"--set {text}: {ref} is {nrows}x{ncols} cells; give its row and column from 0, "
                                 f"e.g. {ref}({i},0)")
            i, j = (i, 0) if ncols == 1 else (0, i)
        if not (0 <= i < nrows and 0 <= j < ncols):
            raise XlgptError(f"--set {text}: {ref} is {nrows}x{ncols} cells, counted from 0")
        row, col, nrows, ncols = row + i, col + j, 1, 1
    if nrows * ncols != 1:
        raise XlgptError(f"--set {text}: {ref} is {nrows}x{ncols} cells; --set edits one cell "
                         f"(a cell of a range by its row and column from 0: {ref}(2,5)=0)")
    if too_long(raw):
        raise XlgptError(f"--set {ref}=...: the value is {len(raw):,} characters; a cell holds at most "
                         f"{MAX_TEXT:,} (Excel's limit)")
    return Edit(sheet, row, col, _value(raw), raw)


def _value(raw: str):
    """A finite number when the text is one in xsd:double's form, as a cell's <v> is read; anything else stays
    text (1_0, nan, inf and 1e999 are not numbers a cell can hold)."""
    x = parse_double(raw)
    return raw if x is None else x


def apply(book: Book, edit: Edit):
    """Set the edit's cell; returns what undoes it (a sweep sets the prompt and the knobs back)."""
    sheet = book.sheet(edit.sheet)
    for b in reversed(sheet.blocks):
        r, c = edit.row - b.row, edit.col - b.col
        if 0 <= r < b.shape[0] and 0 <= c < b.shape[1]:
            where = refs.qualified(edit.sheet, refs.cell(edit.row, edit.col))
            if isinstance(b, Formulas):
                raise XlgptError(f"--set: {where} holds a formula; --set edits constants (weights, the prompt, gates)")
            before = b.data
            if isinstance(b, Values):
                if not isinstance(edit.value, float):
                    raise XlgptError(f"--set: {where} holds a number; {edit.value!r} is not one")
                if not b.data.flags.writeable or b.data.dtype != np.float64:
                    b.data = np.array(b.data, dtype=np.float64)  # a cached sheet is read-only: copy on write
                old = float(b.data[r, c])
                b.data[r, c] = edit.value

                def undo(b=b, before=before, old=old, r=r, c=c):
                    if b.data is before:
                        b.data[r, c] = old  # changed in place
                    else:
                        b.data = before
                return undo
            b.data = list(b.data)  # a new list: the engine remembers converted lists by identity
            b.data[r] = list(b.data[r]) + [None] * (c + 1 - len(b.data[r]))
            b.data[r][c] = edit.text if isinstance(b.data[r][c], str) else edit.value

            def undo(b=b, before=before):
                b.data = before
            return undo
    added = sheet.add(Values(edit.row, edit.col, np.array([[edit.value]])) if isinstance(edit.value, float)
                      else Texts(edit.row, edit.col, [[edit.value]]))
    return lambda: sheet.blocks.remove(added)


def recalculate_file(src: Path, dest: Path, sets: list[str], progress=None) -> ReadBook:
    """Read src, apply --set edits, recalculate, write dest (through a temporary file).

    Writers of one workbook take turns (a lock on dest while it exists), and dest replaces nothing if src
    changed while it was read and recalculated. progress, when given, maps a step ("reading tab",
    "evaluating", "writing tab") to a reporter called as reporter(i, n, name)."""
    step = progress or (lambda verb: None)
    waiting = lambda: print(f"waiting for another program writing {dest}", file=sys.stderr, flush=True)
    with exclusive(dest, waiting):
        still_source = unchanged(src, "while it was being recalculated")
        rb = read(src, progress=step("reading tab"))
        edits = [parse_set(rb.book, text) for text in sets]
        for edit in edits:
            apply(rb.book, edit)
        engine.recalculate(rb.book, progress=step("evaluating"))
        write_back(rb, dest, {e.sheet for e in edits}, progress=step("writing tab"), still_source=still_source)
    sheet_cache.tidy()
    return rb


def unchanged(src: Path, when: str):
    """A check to call just before an output made from src is renamed into place: it raises if src is no longer
    the file it was now (another program replaced or rewrote it: inode, size, modification time)."""
    before = _identity(src)

    def check():
        if _identity(src) != before:
            raise XlgptError(f"{src} changed {when} (another program wrote it); nothing was written: run again")
    return check


def _identity(path: Path):
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def write_back(rb: ReadBook, dest: Path, edited: set, progress=None, still_source=None, added: list = ()) -> None:
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
            done = 0
            for info in z.infolist():
                name = sheets.get(info.filename)
                if name is not None and progress:
                    done += 1
                    progress(done, len(sheets), name)
                if info.filename in entries:
                    out.writestr(info.filename, entries[info.filename])
                elif name is None or (name not in edited and _unchanged(rb.sources[name], rb.book.sheet(name))):
                    out.write_deflated(info.filename, _raw_member(z, info))
                else:
                    sheet = rb.book.sheet(name)
                    d = _new_sheet(inflate_xml(z, info), sheet)
                    out.write_deflated(info.filename, d)
                    if not rb.sources[name].dense:
                        values = sheet_cache.values_digest(sheet.blocks)
                        k = sheet_cache.key(digest(b"".join(d.pieces)))
                        sheet_cache.remember_digest(k, values)
                        sheet_cache.remember_blocks(rb.blocks_key(k), _without_values(sheet.blocks))
            for sheet in added:
                with out.member(parts[sheet.name]) as m:
                    for chunk in worksheet_chunks(sheet, None):
                        m.write(chunk)
        except BaseException:
            out.abandon()
            raise
        out.close()


def _unchanged(source, sheet) -> bool:
    """Whether writing the sheet anew would give the bytes it has: a weight tab, or a formula tab whose
    recalculated values are those it was last written with (a digest remembered by key)."""
    return source.dense or sheet_cache.load_digest(source.key) == sheet_cache.values_digest(sheet.blocks)


def _without_values(blocks: list) -> list:
    return [replace(b, values=None) if isinstance(b, Formulas) else b for b in blocks]


def _raw_member(z, info: zipfile.ZipInfo) -> Deflated:
    """A member exactly as it is stored: its compressed bytes, copied (deflated anew if it was stored raw)."""
    d = Deflated()
    if info.compress_type != zipfile.ZIP_DEFLATED:
        d.write(inflate(z, info))
        return d.close()
    d.pieces, d.crc, d.size, d.csize = [copy_of_stored(z, info)], info.CRC, info.file_size, info.compress_size
    return d


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
