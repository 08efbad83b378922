"""The --set edit language: REF=VALUE, where REF is a cell (Sheet!B7, 'h.0.ln_1.weight'!A1), a one-cell defined
name (Prompt), or a cell of a named range by its row and column from 0 (HeadGates(9,1)); VALUE a number in
xsd:double's form or text. `apply` sets the cell in a Book and returns what undoes it (a sweep sets the prompt
and the knobs, and sets them back)."""

import re
from dataclasses import dataclass

import numpy as np

from ..errors import XlgptError
from . import refs
from .book import Book, Formulas, Texts, Values
from .cells import MAX_TEXT, parse_double, too_long


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


