"""xl/worksheets/sheetN.xml: a sheet's cells streamed row by row, a chunk of rows at a time.

Numbers in Values blocks are formatted a whole block at a time (numbers.py); formulas and text, which are a
few per cent of the cells, one by one. Runs of cells sharing a relative formula become shared formulas.
"""

from itertools import chain, repeat

import numpy as np

from ..sheet import refs
from ..sheet.book import Formulas, Sheet, Texts, Values
from ..sheet.parallel import ordered_map
from . import formula_cells
from .numbers import rows_bytes
from .sharedstrings import SharedStrings
from ..sheet.cells import XlError
from .styles import PADDING_DXF
from .xml import DECLARATION, MAIN_NS, REL_NS, attr, escape, text_element

ROW_CHUNK = 1024


def worksheet_chunks(sheet: Sheet, strings: SharedStrings | None, selected: bool = False):
    """Yield the sheet's XML as byte chunks; strings None: text as inline strings."""
    nrows, ncols = sheet.extent
    dim = refs.area(0, 0, max(nrows, 1), max(ncols, 1), absolute=False)
    fit = '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if sheet.fit_to_page else ""
    yield (DECLARATION + f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">{fit}<dimension ref="{dim}"/>'
           + _sheet_views(sheet, selected) + '<sheetFormatPr defaultRowHeight="15"/>' + _cols(sheet)
           + "<sheetData>").encode()
    yield from sheet_data_chunks(sheet, strings)
    yield ("</sheetData>" + _conditional_formatting(sheet) + _hyperlinks(sheet)
           + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
           + ('<pageSetup orientation="landscape" fitToHeight="0"/>' if sheet.fit_to_page else "")
           + ('<drawing r:id="rId1"/>' if sheet.charts else "")  # its part: xl/worksheets/_rels (charts.py)
           + "</worksheet>").encode()


def sheet_data_chunks(sheet: Sheet, strings: SharedStrings | None, row_attributes: dict | None = None):
    """The rows inside <sheetData>, as byte chunks. row_attributes: row (0-based) -> the attributes its <row>
    carried besides r (hidden, ht, customHeight, s...), kept when a package's sheet is written anew; a row
    with attributes and no cells is written too."""
    if is_value_sheet(sheet) and not row_attributes:
        yield from _value_rows(sheet.blocks[0])  # a weight tab: no Python per row or cell
    else:
        last = max(row_attributes, default=-1) + 1 if row_attributes else 0
        yield from _mixed_rows(sheet, strings, max(sheet.extent[0], last), row_attributes or {})


def is_value_sheet(sheet: Sheet) -> bool:
    """A tab that is one block of numbers from A1, as a weight tab is: written without Python per row."""
    return (len(sheet.blocks) == 1 and isinstance(sheet.blocks[0], Values) and sheet.blocks[0].col == 0
            and sheet.blocks[0].row == 0 and not sheet.blocks[0].style and not sheet.links and not sheet.color_scales
            and not sheet.greyed
            and not sheet.charts)


def _value_rows(block: Values):
    """Chunks of about 0.5 M cells, formatted on the worker threads, in order."""
    step = max(1, (1 << 19) // max(1, block.data.shape[1]))
    yield from ordered_map(lambda r0: rows_bytes(block.data[r0:r0 + step], block.row + r0),
                           range(0, block.data.shape[0], step))


def _mixed_rows(sheet: Sheet, strings: SharedStrings, nrows: int, row_attributes: dict):
    shared_ids = {id(b): i for i, b in enumerate(b for b in sheet.blocks if isinstance(b, Formulas) and b.kind == "shared")}
    # Each block gives a list of its rows' bytes, and a row is their concatenation in column order (blocks that
    # share a row never share a column): per row only the joins (a lens tab has 50,257 rows). The blocks are
    # written in the sheet's order, which is the order their texts enter the shared strings.
    for r0 in range(0, nrows, ROW_CHUNK):
        r1 = min(r0 + ROW_CHUNK, nrows)
        columns = []
        for b in sheet.blocks:
            lo, hi = max(r0, b.row), min(r1, b.row + b.shape[0])
            if lo < hi:
                rows = _block_rows(b, lo, hi, strings, shared_ids.get(id(b)), sheet.computed.get(b))
                columns.append((b.col, [b""] * (lo - r0) + rows + [b""] * (r1 - hi) if lo > r0 or hi < r1 else rows))
        columns = [rows for _, rows in sorted(columns, key=lambda c: c[0])]
        cells = list(map(b"".join, zip(*columns))) if len(columns) > 1 else (columns[0] if columns else [])
        kept = [r for r in row_attributes if r0 <= r < r1] if row_attributes else []
        if len(cells) == r1 - r0 and not kept and all(cells):  # every row has cells and no attributes
            opens = [b'<row r="%d">' % r for r in range(r0 + 1, r1 + 1)]
            yield b"".join(chain.from_iterable(zip(opens, cells, repeat(b"</row>"))))
            continue
        out = []
        for i in sorted(set(i for i, c in enumerate(cells) if c).union(r - r0 for r in kept)):
            extra = row_attributes.get(r0 + i, b"")
            if i >= len(cells) or not cells[i]:
                out.append(b'<row r="%d"%s/>' % (r0 + i + 1, extra))
            else:
                out.append(b'<row r="%d"%s>%s</row>' % (r0 + i + 1, extra, cells[i]))
        yield b"".join(out)


def _conditional_formatting(sheet: Sheet) -> str:
    """The sheet's greyed ranges (the padding positions: styles.xml's differential format 0), then its colour
    scales (heat maps), in that priority."""
    out = ""
    for priority, g in enumerate(sheet.greyed, 1):
        out += (f'<conditionalFormatting sqref="{g.ref}"><cfRule type="expression" dxfId="{PADDING_DXF}" '
                f'priority="{priority}"><formula>{escape(g.formula)}</formula></cfRule></conditionalFormatting>')
    for priority, cs in enumerate(sheet.color_scales, len(sheet.greyed) + 1):
        colors = "".join(f'<color rgb="FF{c}"/>' for c in cs.colors)
        middle = ""
        if len(cs.colors) == 3:
            middle = '<cfvo type="percentile" val="50"/>' if cs.middle is None else \
                f'<cfvo type="num" val="{cs.middle!r}"/>'
        stops = '<cfvo type="min"/>' + middle + '<cfvo type="max"/>'
        out += (f'<conditionalFormatting sqref="{cs.ref}"><cfRule type="colorScale" priority="{priority}">'
                f"<colorScale>{stops}{colors}</colorScale></cfRule></conditionalFormatting>")
    return out


def _hyperlinks(sheet: Sheet) -> str:
    """Links to cells of the workbook (the Start tab's tour)."""
    if not sheet.links:
        return ""
    return "<hyperlinks>" + "".join(
        f'<hyperlink ref="{refs.cell(r, c)}" location="{attr(target)}" display="{attr(text)}"/>'
        for r, c, target, text in sheet.links) + "</hyperlinks>"


def _sheet_views(sheet: Sheet, selected: bool) -> str:
    tab = ' tabSelected="1"' if selected else ""
    if not sheet.freeze:
        return f'<sheetViews><sheetView{tab} workbookViewId="0"/></sheetViews>'
    rows, cols = sheet.freeze
    split = (f' xSplit="{cols}"' if cols else "") + (f' ySplit="{rows}"' if rows else "")
    pane = "bottomRight" if rows and cols else ("bottomLeft" if rows else "topRight")
    return (f'<sheetViews><sheetView{tab} workbookViewId="0"><pane{split} topLeftCell="{refs.cell(rows, cols)}" '
            f'activePane="{pane}" state="frozen"/><selection pane="{pane}"/></sheetView></sheetViews>')


def _cols(sheet: Sheet) -> str:
    if not sheet.col_widths:
        return ""
    return "<cols>" + "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w}" customWidth="1"/>'
                              for c, w in sorted(sheet.col_widths.items())) + "</cols>"


def _block_rows(block, lo: int, hi: int, strings: SharedStrings, shared_id, computed=None) -> list[bytes]:
    """The cells of rows lo..hi-1 of a block, a bytes per row (empty where the row has none); computed: a
    Formulas block's values, if any."""
    style = _style(block.style)
    if isinstance(block, Values):
        # numbers among formulas: each cell with its position and an explicit type, which the reader's
        # fast path relies on to tell them from the cached values of array formulas
        letters = [refs.col_letters(block.col + j) for j in range(block.shape[1])]
        data = np.asarray(block.data[lo - block.row:hi - block.row], dtype=np.float64)
        if formula_cells.EXTENDED and np.isfinite(data).all():  # no empty (NaN) cell: whole rows at once
            return formula_cells.rows_of_cells(letters, lo, f'"{style} t="n"><v>'.encode(), data)
        return ["".join(f'<c r="{c}{row + 1}"{style} t="n"><v>{_number(v)}</v></c>'
                        for c, v in zip(letters, block.data[row - block.row].tolist()) if v == v).encode()
                for row in range(lo, hi)]
    if isinstance(block, Texts):
        # an empty cell is written when it carries a style (a formatted cell)
        return ["".join(_constant(refs.cell(row, block.col + j), v, style, strings) if v is not None
                        else f'<c r="{refs.cell(row, block.col + j)}"{style}/>'
                        for j, v in enumerate(block.data[row - block.row])
                        if v is not None or block.style).encode()
                for row in range(lo, hi)]
    return _formula_rows(block, lo, hi, style, shared_id, computed)


def _style(style: int | None) -> str:
    """A block's cell format: its index in the package's styles.xml (sheet/book.py)."""
    return f' s="{style}"' if style else ""


def _constant(ref: str, v, style: str, strings: SharedStrings | None) -> str:
    if isinstance(v, XlError):
        return f'<c r="{ref}"{style} t="e"><v>{v}</v></c>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, str):
        if strings is None:
            return f'<c r="{ref}"{style} t="inlineStr"><is>{text_element("t", v)}</is></c>'
        return f'<c r="{ref}"{style} t="s"><v>{strings.add(v)}</v></c>'
    return f'<c r="{ref}"{style} t="n"><v>{_number(v)}</v></c>'


def _number(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _cached(v) -> tuple[str, str]:
    """(type attribute, <v> element) of a formula's cached value."""
    if v is None:
        return "", ""
    if isinstance(v, (bool, np.bool_)):
        return ' t="b"', f"<v>{int(v)}</v>"
    if isinstance(v, XlError):  # an error value; a text that merely reads "#N/A" stays text
        return ' t="e"', f"<v>{v}</v>"
    if isinstance(v, str):
        return ' t="str"', f"<v>{escape(v)}</v>"  # no xml:space: the schema does not allow it on <v>
    return "", f"<v>{float(v)!r}</v>"


def _formula_rows(f: Formulas, lo: int, hi: int, style: str, shared_id, values):
    text = escape(f.text)
    letters = [refs.col_letters(f.col + j) for j in range(f.ncols)]
    if f.kind == "shared":
        rest = f'<f t="shared" si="{shared_id}"/>'  # every cell but the anchor
        anchor = f'<f t="shared" ref="{f.ref}" si="{shared_id}">{text}</f>'
    elif f.kind == "array":
        rest, anchor = "", f'<f t="array" ref="{f.ref}">{text}</f>'
    else:
        rest = anchor = f"<f>{text}</f>"
    prefixes = [f'<c r="{c}' for c in letters]
    if values is None and f.kind == "shared":
        # every row but the anchor's is the same text but for the row number: build it once, fill it per row
        template = "".join(f'<c r="{c}\x00"{style}>{rest}</c>' for c in letters)
    if values is not None and values.dtype == np.float64 and formula_cells.EXTENDED:
        block = values[lo - f.row:hi - f.row]
        if np.isfinite(block).all():
            rows = formula_cells.rows_of_cells(letters, lo, f'"{style}>{rest}<v>'.encode(), block)
            if lo == f.row:  # the anchor cell holds the formula itself
                first = rows[0]
                end = first.index(b"</c>") + 4
                number = first[first.index(b"<v>", 0, end):end]
                rows[0] = f'<c r="{letters[0]}{lo + 1}"{style}>{anchor}'.encode() + number + first[end:]
            return rows
    out = []
    for row in range(lo, hi):
        if values is None:
            if f.kind == "shared" and row != f.row:
                out.append(template.replace("\x00", str(row + 1)).encode())
            elif f.kind == "array" and row != f.row and not style:
                out.append(b"")
            else:
                out.append("".join(
                    f'<c r="{c}{row + 1}"{style}>{anchor if row == f.row and j == 0 else rest}</c>'
                    for j, c in enumerate(letters)).encode())
            continue
        row_values = values[row - f.row]
        if row_values.dtype == np.float64 and not style:
            # the common case, made with as little Python per cell as can be: prefixes and repr
            mid = f'{row + 1}">{rest}<v>'
            vals = list(map(repr, row_values.tolist()))
            cells = [p + mid + v + "</v></c>" for p, v in zip(prefixes, vals)]
            if row == f.row:
                cells[0] = f'<c r="{letters[0]}{row + 1}">{anchor}<v>{vals[0]}</v></c>'
            out.append("".join(cells).encode())
            continue
        cached = _cached_row(row_values)
        out.append("".join(
            f'<c r="{c}{row + 1}"{style}{t}>{anchor if row == f.row and j == 0 else rest}{v}</c>'
            for j, (c, (t, v)) in enumerate(zip(letters, cached))).encode())
    return out


def _cached_row(values: np.ndarray):
    """(type attribute, <v> element) per cell; numbers with repr, which round-trips a float64 exactly."""
    if values.dtype == np.float64:
        return [("", f"<v>{x!r}</v>") for x in values.tolist()]
    return [_cached(v) for v in values.tolist()]
