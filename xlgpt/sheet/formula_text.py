"""Formula text transformations that keep everything but the references as written.

A shared formula is stored once, in its anchor cell; each other cell holds the same formula moved by its
offset. `shifted` moves a formula; `relative_key` names a formula independently of where it stands, so
that cells whose formulas are "the same relative to their position" can be found and grouped.
"""

import re

from . import refs

# string literals and quoted sheet names are skipped; a cell reference is not followed by a name character
_PIECE = re.compile(r"""("(?:[^"]|"")*")|('(?:[^']|'')+'!)|(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)(?![A-Za-z0-9_.(!])""")


def _walk(text, fn):
    def sub(m):
        if m.group(1) or m.group(2):
            return m.group(0)
        start = m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "_."):
            return m.group(0)  # part of a name such as LOG10 or a sheet name
        return fn(m.group(3) == "$", refs.col_index(m.group(4)), m.group(5) == "$", int(m.group(6)) - 1)
    return _PIECE.sub(sub, text)


def shifted(text: str, dr: int, dc: int) -> str:
    """The formula as it reads dr rows down and dc columns right (relative references move)."""
    def move(abs_c, col, abs_r, row):
        c = col if abs_c else col + dc
        r = row if abs_r else row + dr
        if c < 0 or r < 0:
            return "#REF!"
        return f"{'$' if abs_c else ''}{refs.col_letters(c)}{'$' if abs_r else ''}{r + 1}"
    return _walk(text, move)


def relative_key(text: str, row: int, col: int) -> str:
    """The formula with each relative reference written as an offset from (row, col), R1C1-like."""
    def rel(abs_c, c, abs_r, r):
        return f"R{'' if abs_r else '['}{r if abs_r else r - row}{'' if abs_r else ']'}" \
               f"C{'' if abs_c else '['}{c if abs_c else c - col}{'' if abs_c else ']'}"
    return _walk(text, rel)
