"""LibreOffice as a user meets it: the full GPT-2 small workbook (random weights, 16-token context, the default
build, logit lens included) opened by LibreOffice Calc headless, and a new prompt computed by it.

Prints, measured in one run:
- open: LibreOffice loads the workbook without recalculating (its default for .xlsx: the cached values show)
  and exports the Start tab (CSV, so that saving costs nothing); time and peak memory;
- new prompt: the same workbook with another prompt typed into Start (saved by xlgpt without recalculating,
  so every cached value is the old prompt's) loaded with recalculation on load; time and peak memory, and the
  time of the recalculation itself (the difference);
- the check: LibreOffice's top token for the new prompt equals xlgpt's (`recalc --set Prompt=... --print-only`).

    .venv/bin/python benchmarks/bench_libreoffice.py [--book PATH]
"""

import argparse
import csv
import os
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--book", help="a GPT-2 small workbook (default: build one with random weights)")
    a = ap.parse_args()
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
