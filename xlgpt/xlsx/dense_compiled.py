"""Weight tabs exactly as xlgpt writes them, read by the compiled loop (speedups.parse_rows) as their XML inflates, a
piece at a time (dense_streamed). Anything else is None, and reader._dense reads the sheet the general way; where
both read a sheet, they give the same float64s (tests/test_speedups.py)."""

import re

import numpy as np

from ..sheet import refs
from ..sheet.parallel import ordered_map
from . import speedups
from .zipread import no_dtd

PIECE = 1 << 20  # bytes of XML per piece parsed on a worker: its temporaries stay in the cache

_SHEET_DATA, _END_DATA, _ROW_END = b"<sheetData>", b"</sheetData>", b"</row>"
_TYPED_CELL = re.compile(rb' t="(?:s|str|e|b|inlineStr)"')


class _NotTheForm(Exception):
    """The sheet is not a weight tab exactly as xlgpt writes one."""


def dense_streamed(pieces, part: str):
    """reader._dense for a weight tab exactly as xlgpt writes it, by the compiled loop (one pass over the rows
    instead of NumPy's several), with the XML inflated a piece at a time and parsed as it comes: a weight tab never
    holds all its XML in memory (GPT-2's wte.weight: 1.3 GB of XML for 0.3 GB of numbers), and the inflating and
    parsing overlap. None, having read only what told it so (for a formula tab, its first piece), when the sheet
    is not in the writer's exact form: the caller then reads it whole, the general way. A damaged member raises."""
    buf = b""
    try:
        for piece in pieces:
            buf += piece
            at = buf.find(_SHEET_DATA)
            if at >= 0 or len(buf) > (1 << 20):
                break
        if (at := buf.find(_SHEET_DATA)) < 0:
            return None
        head = buf[:at + len(_SHEET_DATA)]
        no_dtd(head, part)  # as inflate_xml checks every part it hands out
        if b"<f" in head or _TYPED_CELL.search(head):
            return None
        rows = _RowsParsed()
        rest = rows.take(buf[len(head):])
        for piece in pieces:
            rest = rows.take(rest + piece)
    except _NotTheForm:
        return None
    for _ in pieces:  # a consumer that stopped early still lets the generator check the member's size and CRC
        pass
    if not rest.startswith(_END_DATA) or b"<f" in rest or _TYPED_CELL.search(rest) or not rows.values:
        return None
    n, width = rows.next_row - 1, rows.width
    refs.check_cell(n - 1, width - 1, f"a sheet of {n:,} rows and {width:,} columns")
    return np.concatenate(rows.values).reshape(n, width)


class _RowsParsed:
    """Whole rows parsed as they arrive (speedups.parse_rows, on the worker threads): their values in order, the
    row expected next, the cells of every row."""

    def __init__(self):
        self.values, self.next_row, self.width = [], 1, None

    def take(self, data: bytes) -> bytes:
        """Parse the whole rows at the start of data; return what follows them (a row not yet complete)."""
        end = data.rfind(_ROW_END)
        if end < 0:
            return data
        end += len(_ROW_END)
        cuts = [0]
        while (nxt := data.find(b"<row", cuts[-1] + PIECE, end)) >= 0:
            cuts.append(nxt)
        cuts.append(end)
        view = memoryview(data)
        for got in ordered_map(lambda ab: speedups.parse_rows(view[ab[0]:ab[1]]), zip(cuts[:-1], cuts[1:])):
            if got is None:
                raise _NotTheForm
            values, rows, width, first = got
            if first != self.next_row or (self.width is not None and width != self.width):
                raise _NotTheForm
            self.values.append(values)
            self.next_row, self.width = first + rows, width
        return data[end:]
