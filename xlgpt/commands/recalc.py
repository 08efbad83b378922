"""`xlgpt recalc`: read a workbook, apply --set edits (sheet/edits.py), evaluate every formula, and save it
(xlsx/package.py writes back only what changed)."""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..errors import XlgptError
from ..sheet.edits import apply, parse_set
from ..workbook import names
from ..workbook.prediction import workbook_prediction
from ..xlsx import sheet_cache
from ..xlsx.atomic import exclusive
from ..xlsx.package import Package
from .options import RecalcOptions


@dataclass
class Recalculated:
    """What a recalculation gives: the written file, and then either the number of formula cells (a workbook
    that is not xlgpt's), the tokenizer's message (the prompt does not fit), or the prediction (with, under
    --check, the stages that disagree with the oracle)."""
    out: Path | None  # None: --print-only
    formula_cells: int | None = None
    error: str = ""
    prediction: dict | None = None
    failed: list | None = None  # None: not checked


def run(o: RecalcOptions, progress=None) -> Recalculated:
    if o.print_only:
        if o.output.given():
            raise XlgptError("--print-only writes nothing: drop --out and --in-place, or --print-only")
        if not o.book.is_file():
            raise XlgptError(f"{o.book}: no such workbook")
        out, rb = None, recalculate_in_memory(o.book, list(o.sets), o.check, progress)
    else:
        out = o.output.target(o.book)
        rb = recalculate_file(o.book, out, list(o.sets), progress=progress)
    if not set(names.PREDICTION) <= set(rb.book.names):
        # any workbook in the dialect recalculates; only xlgpt's have a prediction to show
        if o.check:
            raise XlgptError(f"{o.book} is not an xlgpt workbook (no {', '.join(names.PREDICTION)}): "
                             f"nothing to --check")
        cells = sum(b.nrows * b.ncols for s in rb.book.sheets for b in s.blocks if hasattr(b, "nrows"))
        return Recalculated(out, formula_cells=cells)
    error = engine.read_range(rb.book, names.TOKEN_ERROR)[0, 0] if names.TOKEN_ERROR in rb.book.names else ""
    if error:  # the prompt does not fit this workbook: no prediction to show, the workbook says why
        return Recalculated(out, error=str(error))
    failed = None
    if o.check:
        from ..workbook.check import check
        failed = [f"{stage} (max relative difference {diff:.3g})" for stage, diff, ok in check(rb.book) if not ok]
    return Recalculated(out, prediction=workbook_prediction(rb.book), failed=failed)


def recalculate_in_memory(src: Path, sets: list[str], everything: bool, progress=None) -> Package:
    """Read src, apply --set edits and recalculate, writing nothing: of an xlgpt workbook only what its
    prediction depends on unless `everything` (--check compares every stage)."""
    step = progress or (lambda verb: None)
    rb = Package.read(src, progress=step("reading tab"))
    for text in sets:
        apply(rb.book, parse_set(rb.book, text))
    needed = list(names.PREDICTION) + [names.TOKEN_ERROR]
    plan = None if everything or not set(needed) <= set(rb.book.names) else engine.make_plan(rb.book, needed)
    engine.recalculate(rb.book, progress=step("evaluating"), plan=plan)
    return rb


def recalculate_file(src: Path, dest: Path, sets: list[str], progress=None) -> Package:
    """Read src, apply --set edits, recalculate, write dest (through a temporary file).

    Writers of one workbook take turns (a lock on dest while it exists), and dest replaces nothing if src
    changed while it was read and recalculated. progress, when given, maps a step ("reading tab",
    "evaluating", "writing tab") to a reporter called as reporter(i, n, name)."""
    step = progress or (lambda verb: None)
    waiting = lambda: print(f"waiting for another program writing {dest}", file=sys.stderr, flush=True)
    with exclusive(dest, waiting):
        still_source = unchanged(src, "while it was being recalculated")
        rb = Package.read(src, progress=step("reading tab"))
        edits = [parse_set(rb.book, text) for text in sets]
        for edit in edits:
            apply(rb.book, edit)
        engine.recalculate(rb.book, progress=step("evaluating"))
        rb.save(dest, {e.sheet for e in edits}, progress=step("writing tab"), still_source=still_source)
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


