"""`xlgpt patch`: activation patching with the workbook's own formulas (workbook/patching.py), the scores
optionally written into the workbook as the Patching tab."""

import shlex
from dataclasses import dataclass
from pathlib import Path

from .. import engine
from ..errors import XlgptError
from ..workbook import names, patching, result_tab
from ..xlsx.atomic import exclusive
from ..xlsx.package import Package
from .options import PatchOptions
from .recalc import unchanged


@dataclass
class Patched:
    result: dict  # see workbook/patching.patch
    out: Path | None = None  # the workbook written with --write-tab
    tab: str | None = None


def kinds(spec: str) -> tuple[str, ...]:
    """--components heads,mlps,resid as a tuple, each checked."""
    out = tuple(dict.fromkeys(k.strip().lower() for k in spec.split(",") if k.strip()))
    wrong = [k for k in out if k not in patching.KINDS]
    if wrong or not out:
        raise XlgptError(f"--components {spec}: give some of {', '.join(patching.KINDS)}, e.g. heads,mlps")
    return out


def command_line(o: PatchOptions) -> str:
    """The command as the Patching tab labels its values."""
    words = ["xlgpt", "patch", o.book.name, "--clean", o.clean, "--corrupt", o.corrupt]
    for flag, value in (("--target", o.target), ("--versus", o.versus)):
        if value is not None:
            words += [flag, value]
    return shlex.join(words + ["--components", ",".join(o.components)])


def run(o: PatchOptions, progress=None) -> Patched:
    """progress(step) -> a reporter(i, n, name), for reading, patching and writing."""
    step = progress or (lambda verb: None)
    out = o.output.for_tab(o.book, o.write_tab, "patch")
    if not o.book.is_file():
        raise XlgptError(f"{o.book}: no such workbook")
    patching.check(o.clean, o.corrupt, o.target, o.versus)
    still_source = unchanged(o.book, "during the patching")
    rb = Package.read(o.book, progress=step("reading tab"))
    result = patching.patch(rb.book, o.clean, o.corrupt, o.components, o.target, o.versus,
                            progress=step("patching"))
    if out is None:
        return Patched(result)
    engine.recalculate(rb.book)  # the values the workbook was read with, for the tabs written as they were
    n_layer, n_head = engine.read_range(rb.book, names.HEAD_GATES).shape
    with exclusive(out):
        tab = result_tab.write_tab(rb, out, lambda name: patching.patching_sheet(result, command_line(o), n_layer,
                                                                                 n_head, name),
                                   patching.TAB, patching.MARK, step("writing tab"), still_source)
    return Patched(result, out, tab)


def written(p: Patched) -> str:
    return result_tab.written(p.out, p.tab, patching.TAB, "patch")
