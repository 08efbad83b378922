"""LibreOffice as a user meets it: the full GPT-2 small workbook (random weights, 16-token context, the default
build, logit lens included) opened by LibreOffice Calc headless, and a new prompt computed by it.

Prints, measured in one run:
- open: LibreOffice loads the workbook without recalculating (its default for .xlsx: the cached values show)
  and exports the Start tab (CSV, so that saving costs nothing); time and peak memory;
- new prompt: the same workbook with another prompt typed into Start (saved by xlgpt without recalculating,
  so every cached value is the old prompt's) loaded with recalculation on load; time and peak memory, and the
  time of the recalculation itself (the difference);
- the check: LibreOffice's top token for the new prompt equals xlgpt's (`recalc --set Prompt=... --print-only`).

With --alternatives, what in the file costs LibreOffice most: a GPT-2-small-shaped workbook cut to --layers
blocks (default 2), opened as built and as variants that keep every cell's formula and value (the cells' styles
removed, the conditional formats removed, the weights' cell addresses removed), and built without the lens; time
and peak memory of each open.

    .venv/bin/python benchmarks/bench_libreoffice.py [--book PATH]
    .venv/bin/python benchmarks/bench_libreoffice.py --alternatives [--layers 2]
"""

import argparse
import csv
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # libreoffice.py, the tests' driver

XLGPT = str(Path(sys.executable).with_name("xlgpt"))
NEW_PROMPT = "The capital of France is Paris, and the capital of Spain is"
def open_in_libreoffice(book: Path, out: Path, recalc: bool) -> tuple[float, float, list[list[str]]]:
    """(seconds, peak GB of LibreOffice, the Start tab's cells as LibreOffice shows them): the tests' driver
    (tests/libreoffice.py) exporting the first tab as CSV, so that saving costs nothing."""
    import libreoffice
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    saved = libreoffice.convert(book, out, "csv:Text - txt - csv (StarCalc):44,34,76", ".csv", 3600, recalc)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows = list(csv.reader(saved.read_text(encoding="utf-8").splitlines()))
    # ru_maxrss of the children is the largest child's so far: a run that used less shows the earlier peak
    return seconds, max(peak, before) * 1024 / 1e9, rows


def top_token(rows: list[list[str]]) -> str:
    """The next token as the Start tab shows it (the row labelled "Next token")."""
    for row in rows:
        if row and row[0] == "Next token":
            return row[1]
    raise SystemExit("no 'Next token' row on the Start tab")


def variant(book: Path, out: Path, change, parts=lambda name: name.startswith("xl/worksheets/sheet")) -> Path:
    """A copy of the package with change(xml) applied to the parts chosen (the sheets by default)."""
    import zipfile
    with zipfile.ZipFile(book) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as w:
        for info in z.infolist():
            data = z.read(info.filename)
            w.writestr(info.filename, change(data) if parts(info.filename) else data)
    return out


def weight_parts(book: Path) -> set:
    """The parts of the weight tabs (one block of numbers from A1: no formula, no text)."""
    import zipfile
    with zipfile.ZipFile(book) as z:
        return {i.filename for i in z.infolist() if i.filename.startswith("xl/worksheets/sheet")
                and b"<f" not in (x := z.read(i.filename)) and b' t="' not in x}


OPEN_ALONE = """
import resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
import libreoffice
t = time.perf_counter()
libreoffice.convert(Path(sys.argv[1]), Path(sys.argv[2]), "csv:Text - txt - csv (StarCalc):44,34,76", ".csv", 3600,
                    False)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9)
"""


def open_alone(book: Path, out: Path) -> tuple[float, float]:
    """(seconds, peak GB) of LibreOffice opening `book` without recalculating, in a process of its own, so that
    the peak is this LibreOffice's alone."""
    tests = Path(__file__).resolve().parent.parent / "tests"
    r = subprocess.run([sys.executable, "-c", OPEN_ALONE, str(book), str(out), str(tests)], capture_output=True,
                       text=True)
    if r.returncode:
        raise SystemExit(f"LibreOffice on {book}: {r.stderr.strip()[-2000:]}")
    seconds, peak = r.stdout.split()
    return float(seconds), float(peak)


def alternatives(layers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="xlgpt-bench-lo-alt-") as tmp:
        tmp = Path(tmp)
        os.environ["XLGPT_CACHE"] = str(tmp / "cache")
        books = {}
        for name, extra in (("as built", []), ("built without the lens (--no-lens)", ["--no-lens"])):
            books[name] = tmp / f"{len(books)}.xlsx"
            subprocess.run([XLGPT, "build", "--weights", "random:gpt2", "--layers", str(layers), "--lens"
                            if not extra else "--no-lens", "--out", str(books[name])], check=True, capture_output=True)
        built = books["as built"]
        weights = weight_parts(built)
        books["no cell styles"] = variant(built, tmp / "styles.xlsx", lambda x: re.sub(rb'(<c r="[A-Z]+\d+") s="\d+"', rb"\1", x))
        books["no conditional formats (grey, heat maps)"] = variant(
            built, tmp / "cf.xlsx", lambda x: re.sub(rb"<conditionalFormatting\b.*?</conditionalFormatting>", b"", x, flags=re.S))
        books["weights without cell addresses"] = variant(built, tmp / "r.xlsx", lambda x: re.sub(rb'<c r="[A-Z]+\d+">', b"<c>", x),
                                                          parts=lambda name: name in weights)
        print(f"LibreOffice headless opens a GPT-2-small-shaped workbook of {layers} blocks (random weights, 16 tokens,"
              f" the lens built), without recalculating")
        base = None
        for name, book in books.items():
            seconds, peak = open_alone(book, tmp / f"out-{len(name)}")
            base = base or seconds
            print(f"  {name:42s} {book.stat().st_size / 1e6:8.1f} MB {seconds:7.1f} s ({seconds / base:4.2f}x)"
                  f"   peak {peak:5.2f} GB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--book", help="a GPT-2 small workbook (default: build one with random weights)")
    ap.add_argument("--alternatives", action="store_true", help="what in the file costs LibreOffice most")
    ap.add_argument("--layers", type=int, default=2, help="blocks of the workbook --alternatives opens")
    a = ap.parse_args()
    if a.alternatives:
        return alternatives(a.layers)
    from xlgpt.sheet.edits import apply, parse_set
    from xlgpt.workbook import names
    from xlgpt.xlsx.package import Package
    with tempfile.TemporaryDirectory(prefix="xlgpt-bench-lo-") as tmp:
        tmp = Path(tmp)
        os.environ["XLGPT_CACHE"] = str(tmp / "cache")
        book = Path(a.book) if a.book else tmp / "gpt2.xlsx"
        if not a.book:
            subprocess.run([XLGPT, "build", "--weights", "random:gpt2", "--out", str(book)], check=True,
                           capture_output=True)
        size = book.stat().st_size / 1e9
        # the prompt typed, every other cell as it was: what LibreOffice shows before it recalculates
        rb = Package.read(book)
        apply(rb.book, parse_set(rb.book, f"{names.PROMPT}={NEW_PROMPT}"))
        typed = tmp / "typed.xlsx"
        rb.save(typed, {"Start"})
        del rb
        xlgpt = subprocess.run([XLGPT, "recalc", str(book), "--set", f"{names.PROMPT}={NEW_PROMPT}", "--print-only",
                                "--json"], check=True, capture_output=True, text=True).stdout
        import json
        want = json.loads(xlgpt)["top"][0]["token"]
        open_s, open_gb, _ = open_in_libreoffice(book, tmp / "open", recalc=False)
        new_s, new_gb, rows = open_in_libreoffice(typed, tmp / "new", recalc=True)
    got = top_token(rows)
    print(f"LibreOffice headless, GPT-2 small (random weights), 16-token context, file {size:.2f} GB")
    print(f"  open (cached values shown)      {open_s:7.1f} s   peak {open_gb:5.2f} GB")
    print(f"  open + recalculate a new prompt {new_s:7.1f} s   peak {new_gb:5.2f} GB   (recalculation ~{new_s - open_s:.1f} s)")
    print(f"  its next token {got!r}; xlgpt's {want!r}: {'same' if got == want else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
