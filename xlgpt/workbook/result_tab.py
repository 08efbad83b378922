"""A tab of results that a command adds to a workbook it read (sweep's Experiments, patch's Patching): values,
labelled as what they are, never a tab of the user's.

The tab's A1 starts with the command's mark. A later run replaces a tab that carries its mark; a tab of the
user's with the same name is never touched: the results take the next free name (Experiments 2, ...).
"""

from pathlib import Path
from typing import Callable

from ..sheet.book import Sheet, Texts


def write_tab(rb, dest: Path, make: Callable[[str], Sheet], base: str, mark: str, progress=None,
              still_source=None) -> str:
    """The workbook, as it was read (a Package), with the tab make(name) gives; returns the tab's name."""
    taken = {s.name.upper(): s for s in rb.book.sheets}  # sheet names are case-insensitive
    name, n = base, 1
    while name.upper() in taken and not carries(taken[name.upper()], mark):
        n += 1
        name = f"{base} {n}"
    existing = taken.get(name.upper())
    sheet = make(existing.name if existing else name)
    if existing is not None:
        existing.blocks = sheet.blocks
        rb.save(dest, {existing.name}, progress=progress, still_source=still_source)
    else:
        rb.save(dest, set(), progress=progress, still_source=still_source, added=[sheet])
    return sheet.name


def written(out: Path, tab: str, base: str, command: str) -> str:
    """The line that says where the results went, and whether a tab of the user's was kept."""
    kept = "" if tab == base else f" (the tab {base} is not one {command} wrote: left as it was)"
    return f"wrote {out} with the tab {tab}{kept}"


def carries(sheet: Sheet, mark: str) -> bool:
    """Whether a tab is one a command wrote: its A1 starts with the command's mark."""
    for b in sheet.blocks:
        if isinstance(b, Texts) and b.row == 0 and b.col == 0 and b.data and b.data[0]:
            first = b.data[0][0]
            return isinstance(first, str) and first.startswith(mark)
    return False
