"""`xlgpt sweep`: the workbook's own formulas over a prompt set, with and without knobs (workbook/sweep.py), the
results optionally written into the workbook as a tab."""

from dataclasses import dataclass
from pathlib import Path

from ..errors import XlgptError
from ..workbook import result_tab, sweep
from ..xlsx.atomic import exclusive
from ..xlsx.package import Package
from .options import SweepOptions
from .recalc import unchanged


@dataclass
class Swept:
    result: dict  # baseline, edited, summary: see workbook/sweep.py
    out: Path | None = None  # the workbook written with --write-tab
    tab: str | None = None  # the tab the results went to


def run(o: SweepOptions, progress=None) -> Swept:
    """progress(step) -> a reporter(i, n, name), for reading, sweeping and writing."""
    step = progress or (lambda verb: None)
    if o.json and o.csv:
        raise XlgptError("--json and --csv exclude each other: print JSON, or write the rows to a CSV file")
    out = o.output.for_tab(o.book, o.write_tab, "the sweep")
    if o.csv is not None and (o.csv.is_dir() or not o.csv.parent.is_dir()):
        raise XlgptError(f"--csv {o.csv}: give a file in an existing folder")
    cases = sweep.load_cases(o.prompts)
    if not o.book.is_file():
        raise XlgptError(f"{o.book}: no such workbook")
    still_source = unchanged(o.book, "during the sweep")
    rb = Package.read(o.book, progress=step("reading tab"))
    edits = sweep.knob_edits(rb.book, list(o.sets), o.keep_only)
    label = " ".join(([f"--keep-only {o.keep_only}"] if o.keep_only else []) + [f"--set {x}" for x in o.sets])
    result = sweep.sweep(rb.book, cases, edits, progress=lambda run: step(f"sweeping ({run})"), label=label,
                         # the values matter only when the workbook is written
                         restore=out is not None, feature=o.feature, features=o.features)
    if out is None:
        return Swept(result)
    with exclusive(out):
        tab = sweep.write_tab(rb, out, result, o.prompts, progress=step("writing tab"), still_source=still_source)
    return Swept(result, out, tab)


def written(s: Swept) -> str:
    """The line that says where the results went."""
    return result_tab.written(s.out, s.tab, sweep.EXPERIMENTS, "a sweep")


