"""Benchmark `xlgpt sweep` on full GPT-2 small (random weights, 16-token context).

Prints: the time to read the workbook (once per sweep), then the cost of each further prompt, evaluated by the
engine in memory (the built-in `days` set, 21 prompts, with and without a knob); and, in the same run, the
baseline a user had before: one `xlgpt recalc BOOK --set Prompt=... --out ...` per prompt (warm sheet cache:
the recalculations after the first), and the ratio. Target (issue 14): at most 1.5 s a prompt; memory within
the recalc budget (6 GB).

    .venv/bin/python benchmarks/bench_sweep.py [--book PATH] [--baseline-prompts N]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

XLGPT = str(Path(sys.executable).with_name("xlgpt"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--book", help="a GPT-2 small workbook (default: build one with random weights)")
    ap.add_argument("--baseline-prompts", type=int, default=3, help="recalc --set runs timed (default: 3)")
    a = ap.parse_args()
    from xlgpt.sheet.edits import apply, parse_set
    from xlgpt.workbook.sweep import SETS, Sweep, knob_edits
    from xlgpt.workbook import names
    from xlgpt.xlsx.package import Package

    with tempfile.TemporaryDirectory(prefix="xlgpt-bench-sweep-") as tmp:
        tmp = Path(tmp)
        os.environ["XLGPT_CACHE"] = str(tmp / "cache")
        book = Path(a.book) if a.book else tmp / "gpt2.xlsx"
        if not a.book:
            t = time.perf_counter()
            subprocess.run([XLGPT, "build", "--weights", "random:gpt2", "--context", "16", "--out", str(book)],
                           check=True, stderr=subprocess.DEVNULL)
            print(f"  built GPT-2 small                {time.perf_counter() - t:8.1f} s")
        cases = SETS["days"]()

        t = time.perf_counter()
        rb = Package.read(book)
        read_s = time.perf_counter() - t
        t = time.perf_counter()
        sweep = Sweep(rb.book)
        plan_s = time.perf_counter() - t
        times = []
        for case in cases:
            t = time.perf_counter()
            sweep.row(case)
            times.append(time.perf_counter() - t)
        circuit = knob_edits(rb.book, [], "mlp0,head9.1,head10.3,mlp9")  # the days-of-week circuit
        undo = [apply(rb.book, parse_set(rb.book, e)) for e in circuit]
        knob_times = []
        for case in cases[:7]:
            t = time.perf_counter()
            sweep.row(case)
            knob_times.append(time.perf_counter() - t)
        for u in reversed(undo):
            u()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9

        # the baseline: a file written per prompt by recalc --set (its cache warmed by a first run)
        subprocess.run([XLGPT, "recalc", str(book), "--out", str(tmp / "warm.xlsx")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = []
        for case in cases[:a.baseline_prompts]:
            t = time.perf_counter()
            subprocess.run([XLGPT, "recalc", str(book), "--set", f"{names.PROMPT}={case.prompt}", "--out",
                            str(tmp / "one.xlsx"), "--force"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            base.append(time.perf_counter() - t)

    per = sum(times) / len(times)
    print(f"  read the workbook (once)         {read_s:8.1f} s")
    print(f"  plan (once)                      {plan_s:8.2f} s")
    print(f"  per prompt, {len(times)} prompts             {per:8.2f} s  (max {max(times):.2f})  <= 1.5 s   "
          f"{'ok' if per <= 1.5 else 'MISSED'}")
    print(f"  per prompt, 4-component circuit  {sum(knob_times) / len(knob_times):8.2f} s")
    print(f"  peak memory (this process)       {peak:8.2f} GB <= 6 GB    {'ok' if peak <= 6 else 'MISSED'}")
    b = sum(base) / len(base)
    print(f"  recalc --set per prompt          {b:8.1f} s  (baseline, same run, {len(base)} prompts)")
    print(f"  ratio                            {b / per:8.1f}x")


if __name__ == "__main__":
    main()
