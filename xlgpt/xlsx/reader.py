"""Read a package's sheets into Book blocks: xlgpt's own workbooks, and the same after Excel or LibreOffice saved
them (package.py opens the package and walks its sheets).

Dense numeric sheets (weight tabs) are parsed with one regular expression and NumPy. Every sheet read is
remembered on disk by a digest of its stored bytes (sheet_cache.py), so an unchanged sheet is not parsed
again. Members are read through zipread.py: bounded, CRC-checked, no DTD. xlgpt's formula tabs are read with three regular expressions, other sheets with ElementTree; their formulas are grouped into blocks of cells that share one relative formula
(xlsx shared formulas, or runs of cells whose formulas are the same relative to their position).
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from ..sheet import refs
from ..sheet.book import Formulas, Sheet, Values
from ..sheet.cells import ERROR_CODES, parse_double
from ..errors import XlgptError
from ..sheet.formula_text import shifted
from ..sheet.parallel import ordered_map
from . import sheet_cache, speedups
from .dense_compiled import PIECE, dense_streamed
from .grouping import SharedId, constant_blocks, formula_blocks
from .numbers_in import parse_values, parse_values_at
from .zipread import check_size, digest, inflate_pieces, inflate_xml, read_xml, release, stored_bytes
from .xml import unescape

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class SheetSource:
    """Where a sheet came from in the package, for writing it back."""
    part: str  # xl/worksheets/sheetN.xml
    dense: bool  # one block of numbers from A1 (a weight tab)
    key: str  # its key in the sheet cache


def xml_part(z, name: str):
    """A small XML part as an ElementTree element: bounded, no DTD, one line when malformed."""
    try:
        return ET.fromstring(read_xml(z, name))
    except ET.ParseError as e:
        raise XlgptError(f"{name}: not well-formed XML ({e}); the workbook is damaged") from None


class Strings(list):
    """The shared strings, and their key in the sheet cache (the digest of the part's bytes)."""
    key = "none"


def shared_strings(z) -> Strings:
    out = Strings()
    for si in xml_part(z, "xl/sharedStrings.xml").iter(NS + "si"):
        out.append(unescape("".join(t.text or "" for t in si.iter(NS + "t"))))
    out.key = digest(stored_bytes(z, z.getinfo("xl/sharedStrings.xml")))
    return out


# ---- dense numeric sheets -------------------------------------------------------------------------------



def read_sheet(z, name, part, strings, use_cache):
    try:
        return _read_sheet_part(z, name, part, strings, use_cache)
    except XlgptError as e:
        raise XlgptError(f"tab {name!r}: {e}") from None
    finally:
        release(z, z.getinfo(part))


def _read_sheet_part(z, name, part, strings, use_cache):
    info = z.getinfo(part)
    check_size(info)
    stored = stored_bytes(z, info)
    k = sheet_cache.key(digest(stored))
    data = sheet_cache.load_array(k) if use_cache else None
    if data is not None:
        return Sheet(name, blocks=[Values(0, 0, data)]), SheetSource(part, True, k)
    blocks_key = sheet_cache.blocks_key(k, strings.key)
    blocks = sheet_cache.load_blocks(blocks_key) if use_cache else None
    if blocks is not None:
        return Sheet(name, blocks=blocks), SheetSource(part, False, k)
    if speedups.available():  # a weight tab as xlgpt writes it, read as it inflates; any other form: below
        data = dense_streamed(inflate_pieces(info, stored), part)
        if data is not None:
            del stored
            release(z, info)
            if use_cache:
                sheet_cache.remember_array(k, data)
            return Sheet(name, blocks=[Values(0, 0, data)]), SheetSource(part, True, k)
    xml = inflate_xml(z, info, stored)
    del stored
    release(z, info)  # the compressed pages are not needed while the XML is parsed
    try:
        data = _dense(xml)
        if data is not None:
            if use_cache:
                sheet_cache.remember_array(k, data)
            return Sheet(name, blocks=[Values(0, 0, data)]), SheetSource(part, True, k)
        sheet = _xlgpt_layout(xml, name, strings)
        if sheet is None:
            sheet = _general(xml, name, strings)
    except ET.ParseError as e:  # _read_sheet puts the tab's name in front
        raise XlgptError(f"{part}: not well-formed XML ({e}); the workbook is damaged") from None
    except (ValueError, IndexError, KeyError) as e:
        raise XlgptError(f"{part}: a cell cannot be read ({e}); the workbook is damaged") from None
    if use_cache:
        sheet_cache.remember_blocks(blocks_key, sheet.blocks)
    return sheet, SheetSource(part, False, k)


def _dense(xml: bytes):
    """The sheet as one float64 array when it is numbers only, rows 1..n full from column A; else None."""
    if b"<f" in xml:
        return None
    if b' t="' in xml and re.search(rb' t="(?:s|str|e|b|inlineStr)"', xml):
        return None
    start, end = xml.find(b"<sheetData"), xml.find(b"</sheetData>")
    if start < 0 or end < 0:
        return None
    body = memoryview(xml)[start:end]
    # pieces of about a megabyte that begin with a row, parsed on the worker threads
    cuts = [xml.find(b"<row", start)]
    if cuts[0] < 0:
        return None
    while True:
        nxt = xml.find(b"<row", cuts[-1] + PIECE, end)
        if nxt < 0:
            break
        cuts.append(nxt)
    cuts = [c - start for c in cuts] + [end - start]
    pieces = list(ordered_map(lambda ab: _dense_piece(body[ab[0]:ab[1]]), zip(cuts[:-1], cuts[1:])))
    if any(p is None for p in pieces):
        return None
    n = sum(p.rows for p in pieces)
    widths = {p.width for p in pieces if p.width is not None}
    if len(widths) != 1 or pieces[0].first_row != 1 or pieces[-1].last_row != n:
        return None  # rows of different lengths, or rows not 1..n (the format requires ascending rows)
    values, width = np.concatenate([p.values for p in pieces]), widths.pop()
    refs.check_cell(n - 1, width - 1, f"a sheet of {n:,} rows and {width:,} columns")
    return values.reshape(n, width) if values.size == n * width and width else None


@dataclass
class _Piece:
    values: np.ndarray
    rows: int
    width: int | None  # cells per row, the same in every row
    first_row: int
    last_row: int


def _dense_piece(chunk: memoryview):
    """A run of whole rows of a dense sheet: its numbers, or None when it is not dense (text, gaps, rows
    that do not start in column A or differ in length)."""
    chunk = bytes(chunk)
    buf = np.frombuffer(chunk, dtype=np.uint8)
    w = np.flatnonzero(buf == ord("w"))  # the w of <row and </row>: nothing else in the cells has one
    w = w[w >= 3]
    is_start = (buf[w - 3] == ord("<")) & (buf[w - 2] == ord("r")) & (buf[w - 1] == ord("o"))
    is_end = (buf[w - 3] == ord("/")) & (buf[w - 2] == ord("r")) & (buf[w - 1] == ord("o"))
    row_starts, row_ends = w[is_start] - 3, w[is_end] + 2
    n = len(row_starts)
    if n == 0 or len(row_ends) != n:
        return None
    numbers = []
    for p in row_starts.tolist():  # each row starts in column A (a first cell with a position says so)
        head = chunk[p:p + 512]  # LibreOffice writes seven attributes on each <row>: 115 bytes before a cell
        m = re.match(rb'<row r="(\d+)"[^>]*>\s*<c\b([^>]*)>', head)
        if m is None or (b' r="' in m.group(2) and not re.search(rb' r="A\d+"', m.group(2))):
            return None
        numbers.append(int(m.group(1)))
    if numbers != list(range(numbers[0], numbers[0] + n)):
        return None
    parsed = parse_values_at(chunk)
    if parsed is not None:
        values, at = parsed
        counts = np.bincount(np.searchsorted(row_ends, at), minlength=n)[:n]
        if counts.min() != counts.max() or chunk.count(b"<c") != values.size:
            return None  # rows of different lengths, or cells without a value
    else:  # another program's form: count the cells of each row instead
        values = parse_values(chunk)
        if values is None:
            return None  # a value that is not a number: read cell by cell, which names the cell
        per_row = {chunk.count(b"<v>", a, b) for a, b in zip(row_starts.tolist(), row_ends.tolist())}
        cells = {chunk.count(b"<c", a, b) for a, b in zip(row_starts.tolist(), row_ends.tolist())}
        if len(per_row) != 1 or per_row != cells or values.size != n * next(iter(per_row)):
            return None
    return _Piece(values, n, values.size // n, numbers[0], numbers[-1])


# ---- formula tabs as xlgpt writes them --------------------------------------------------------------------

_ANCHOR = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*><f t="(shared|array)" ref="([A-Z]+\d+(?::[A-Z]+\d+)?)"'
                     rb'(?: si="(\d+)")?>([^<]*)</f>')
_PLAIN = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*><f>([^<]*)</f>')
_TYPED = re.compile(rb'<c r="([A-Z]+)(\d+)"(?: s="(\d+)")? t="(n|s|b|e|inlineStr)"[^>]*>'
                    rb'(?:<v>([^<]*)</v>|<is>(.*?)</is>)</c>', re.S)
_STYLE = re.compile(rb' s="(\d+)"')
_COLS: dict = {}


def _col(letters: bytes) -> int:
    c = _COLS.get(letters)
    if c is None:
        c = refs.col_index(letters.decode())
        refs.check_cell(0, c, f"column {letters.decode()}")
        _COLS[letters] = c
    return c


def _row(digits) -> int:
    """A row number as written (1-based) -> 0-based, refused outside the sheet."""
    r = int(digits) - 1
    refs.check_cell(r, 0, f"row {int(digits)}")
    return r


def _xlgpt_layout(xml: bytes, name, strings):
    """A sheet where every formula is a shared or array anchor (with its range), a shared formula's other
    cell, or a single <f>, and every constant has an explicit type: read with three regular expressions,
    without a Python step per formula cell. None when the cell counts show the sheet is not like that."""
    import html
    blocks, areas, shared_rest = [], 0, 0
    for m in _ANCHOR.finditer(xml):
        row, col = _row(m.group(2)), _col(m.group(1))
        r0, c0, nr, nc = refs.parse_area(m.group(4).decode())
        if (r0, c0) != (row, col):
            return None
        if m.group(3) == b"array":
            _array_area(m.group(4).decode(), row, col)
        text = html.unescape(m.group(6).decode())
        kind = m.group(3).decode()
        style = _STYLE.search(m.group(0)[:m.group(0).index(b">")])
        blocks.append(Formulas(row, col, nr, nc, text, kind if nr * nc > 1 or kind == "array" else "cell",
                               style=int(style.group(1)) if style else None))
        if kind == "array":
            areas += nr * nc - 1
        else:
            shared_rest += nr * nc - 1
    plain = 0
    for m in _PLAIN.finditer(xml):
        style = _STYLE.search(m.group(0)[:m.group(0).index(b">")])
        blocks.append(Formulas(_row(m.group(2)), _col(m.group(1)), 1, 1, html.unescape(m.group(3).decode()),
                               "cell", style=int(style.group(1)) if style else None))
        plain += 1
    constants, styles = {}, {}
    for m in _TYPED.finditer(xml):
        t, v = m.group(4), m.group(5)
        cell = _row(m.group(2)), _col(m.group(1))
        if t == b"inlineStr":
            value = unescape(html.unescape(_xml_newlines(re.sub(rb"<[^>]+>", b"", m.group(6)).decode())))
        else:
            value = _typed(t.decode(), html.unescape(v.decode()), strings, cell)
        constants[cell] = value
        if m.group(3):
            styles[cell] = int(m.group(3))
    anchors = len(blocks) - plain
    cells = xml.count(b"<c ") + xml.count(b"<c>")
    if xml.count(b'<f t="shared" si="') != shared_rest or cells != anchors + shared_rest + plain + areas + len(constants):
        return None
    return Sheet(name, blocks=blocks + constant_blocks(constants, styles))


def _array_area(ref, row: int, col: int) -> tuple[int, int]:
    """(rows, columns) of an array formula's range, refused at once when it is more than xlgpt holds: its
    results fill the whole range, whatever the file holds."""
    if not ref:
        raise XlgptError(f"cell {refs.cell(row, col)}: an array formula without its range; the workbook is damaged")
    _, _, nr, nc = refs.parse_area(ref)
    if nr * nc > refs.MAX_CELLS:
        raise XlgptError(f"cell {refs.cell(row, col)}: an array formula over {ref} ({nr * nc:,} cells), more than the "
                         f"{refs.MAX_CELLS:,} xlgpt holds at once; give it a smaller range")
    return nr, nc


def _xml_newlines(text: str) -> str:
    """Line ends as an XML parser reports them (CR LF and CR become LF), before character references
    (&#13;) are expanded: the regular expressions read the same text ElementTree does."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---- everything else ------------------------------------------------------------------------------------

def _general(xml: bytes, name: str, strings: list[str]):
    constants, styles = {}, {}  # (row, col) -> value, style index
    formulas = {}  # (row, col) -> (key, text); text None for shared children (derived from the anchor)
    shared = {}  # si -> (row, col, text) of the anchor
    arrays = []  # (row, col, nrows, ncols, text)
    formula_styles = {}  # (row, col) -> style index of a formula cell
    r = -1
    for row_el in _rows(xml):
        r = _row(row_el.get("r")) if row_el.get("r") else _row(r + 2)  # a row without r follows the last
        col = -1
        for c in row_el.iter(NS + "c"):
            ref = c.get("r")
            if ref:
                r, col = refs.parse_cell(ref)
            else:
                col += 1
                refs.check_cell(r, col)
            f = c.find(NS + "f")
            if f is not None:
                if c.get("s") not in (None, "0"):
                    formula_styles[r, col] = int(c.get("s"))
                kind = f.get("t")
                if kind == "array":
                    arrays.append((r, col) + _array_area(f.get("ref"), r, col) + (f.text or "",))
                elif kind == "shared":
                    si = f.get("si")
                    if f.text:
                        shared[SharedId(si)] = (r, col, f.text)
                    formulas[r, col] = SharedId(si)
                else:
                    formulas[r, col] = f.text or ""
                continue
            constants[r, col] = _cell_value(c, strings, (r, col))
            if c.get("s") not in (None, "0"):
                styles[r, col] = int(c.get("s"))
    def text_at(r, col):
        """A cell's formula; a shared formula's other cells take their anchor's, moved."""
        f = formulas[r, col]
        if not isinstance(f, SharedId):
            return f
        ar, ac, text = shared[f]
        return text if (r, col) == (ar, ac) else shifted(text, r - ar, col - ac)
    blocks = []
    for r, col, nr, nc, text in arrays:
        blocks.append(Formulas(r, col, nr, nc, text, "array", style=formula_styles.get((r, col))))
        # the cached values of an array formula's other cells are not constants: drop them, looking at the
        # area or at the constants, whichever is fewer (an area may be the whole sheet)
        if nr * nc <= len(constants):
            cells = ((r + i, col + j) for i in range(nr) for j in range(nc) if i or j)
        else:
            cells = [(i, j) for i, j in constants if r <= i < r + nr and col <= j < col + nc and (i, j) != (r, col)]
        for cell in cells:
            constants.pop(cell, None)
    blocks += formula_blocks(formulas, shared, text_at, formula_styles)
    blocks += constant_blocks(constants, styles)
    return Sheet(name, blocks=blocks)


def _rows(xml: bytes):
    """The sheet's <row> elements one at a time, each cleared once read: memory follows the cells kept, not
    an element tree of the whole part (several times the XML's size)."""
    import io
    for _, el in ET.iterparse(io.BytesIO(xml), events=("end",)):
        if el.tag == NS + "row":
            yield el
            el.clear()


def _cell_value(c, strings, cell):
    t = c.get("t", "n")
    if t == "inlineStr":
        return unescape("".join(x.text or "" for x in c.iter(NS + "t")))
    v = c.findtext(NS + "v")
    if v is None:
        return None
    if t == "str":
        return unescape(v)
    return _typed(t, v, strings, cell)


_BOOLEANS = {"1": True, "true": True, "0": False, "false": False}  # xsd:boolean


def _typed(t: str, v: str, strings, cell) -> object:
    """A constant cell's value by its type, strictly as ECMA-376 says it is written: a damaged value is one
    line naming the cell, never read as something else (a string index of -1 as the last string, 1_000 as a
    number, 2 as FALSE)."""
    where = refs.cell(*cell)
    if t == "n":
        x = parse_double(v)
        if x is None:
            raise XlgptError(f"cell {where}: <v>{v[:40]}</v> is not a finite number (xsd:double); the workbook "
                             f"is damaged")
        return x
    if t == "s":
        i = v.strip()
        if not (i.isascii() and i.isdigit()) or int(i) >= len(strings):
            raise XlgptError(f"cell {where}: shared string {v[:40]!r} is not one of the workbook's "
                             f"{len(strings):,}; the workbook is damaged")
        return strings[int(i)]
    if t == "b":
        value = _BOOLEANS.get(v.strip())
        if value is None:
            raise XlgptError(f"cell {where}: <v>{v[:40]}</v> is not a boolean (0, 1, true, false); the workbook "
                             f"is damaged")
        return value
    if t == "e":
        value = ERROR_CODES.get(v.strip())
        if value is None:
            raise XlgptError(f"cell {where}: <v>{v[:40]}</v> is not one of Excel's error values; the workbook "
                             f"is damaged")
        return value
    raise XlgptError(f"cell {where}: unknown cell type t={t[:20]!r}; the workbook is damaged")
