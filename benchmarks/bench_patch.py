"""Benchmark `xlgpt patch` and the Attribution tab on full GPT-2 small (random weights, 16-token context).

Prints, in one run:
- the Attribution tab's cost: the build's time and file size with and without it (the same build, the stage
  left out of the registry for the second); target (issue 20): at most 10% more of each;
- patching once the workbook is read: every head and MLP (156 components) for one pair of 16-token prompts,
  target at most 90 s, and the residual stream entering every block at every position (192), at most 120 s;
- the baseline, measured in the same run: one `xlgpt recalc BOOK --set ... --out ...` (warm sheet cache), the
  cost of evaluating the workbook once per component the way a user could before; and the ratio.

    .venv/bin/python benchmarks/bench_patch.py [--book PATH] [--skip-build]
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
# two prompts of 16 tokens that differ in one day (the days-of-week study)
CLEAN = "If today is Monday, then tomorrow is the day after Monday, which is surely"
CORRUPT = "If today is Friday, then tomorrow is the day after Friday, which is surely"


def build(out: Path, with_attribution: bool) -> tuple[float, float]:
    """(seconds, MB) of building GPT-2 small and writing it, in this process (the registry edited for the
    build without the Attribution tab)."""
    from xlgpt.model import checkpoint
    from xlgpt.workbook import builder, stages
    from xlgpt.xlsx.packager import write_book
    saved = stages.STAGES
    if not with_attribution:
        stages.STAGES = tuple(s for s in saved if s.name != "attribution")
    try:
        ckpt = checkpoint.load("random:gpt2")
        t = time.perf_counter()
        write_book(builder.build_workbook(ckpt, CLEAN, 16), out)
        return time.perf_counter() - t, out.stat().st_size / 1e6
    finally:
        stages.STAGES = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--book", help="a GPT-2 small workbook to patch (default: the one built here)")
    ap.add_argument("--skip-build", action="store_true", help="with --book: do not measure the builds")
    a = ap.parse_args()
    from xlgpt.model import tokenizer
    from xlgpt.workbook import names, patching
    from xlgpt.xlsx.package import Package
    assert len(tokenizer.encode_ordinary(CLEAN)) == len(tokenizer.encode_ordinary(CORRUPT)) == 16

    with tempfile.TemporaryDirectory(prefix="xlgpt-bench-patch-") as tmp:
        tmp = Path(tmp)
        os.environ["XLGPT_CACHE"] = str(tmp / "cache")
        book = Path(a.book) if a.book else tmp / "gpt2.xlsx"
        if not a.skip_build:
            without_s, without_mb = build(tmp / "without.xlsx", False)
            (tmp / "without.xlsx").unlink()
            with_s, with_mb = build(tmp / "gpt2.xlsx", True)
            if a.book:
                (tmp / "gpt2.xlsx").unlink()
            print(f"  build without Attribution        {without_s:8.1f} s  {without_mb:8.1f} MB")
            print(f"  build with Attribution           {with_s:8.1f} s  {with_mb:8.1f} MB   time "
                  f"{with_s / without_s - 1:+.1%}, size {with_mb / without_mb - 1:+.2%} (<= +10%)  "
                  f"{'ok' if with_s <= 1.1 * without_s and with_mb <= 1.1 * without_mb else 'MISSED'}")

        t = time.perf_counter()
        rb = Package.read(book)
        print(f"  read the workbook (once)         {time.perf_counter() - t:8.1f} s")
        timing = {}
        for kinds, target in ((("heads", "mlps"), 90), (("resid",), 120)):
            t = time.perf_counter()
            result = patching.patch(rb.book, CLEAN, CORRUPT, kinds)
            s = time.perf_counter() - t
            n = len(result["components"])
            timing[kinds] = (s, n)
            print(f"  patch {','.join(kinds):<10} {n:4d} components {s:8.1f} s  ({s / n:.2f} s each) <= {target} s  "
                  f"{'ok' if s <= target else 'MISSED'}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
        print(f"  peak memory (this process)       {peak:8.2f} GB")

        # the baseline: the workbook evaluated once per component, as recalc --set does (cache warmed first)
        subprocess.run([XLGPT, "recalc", str(book), "--out", str(tmp / "warm.xlsx")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = []
        for i in range(2):
            t = time.perf_counter()
            subprocess.run([XLGPT, "recalc", str(book), "--set", f"{names.HEAD_GATES}(0,{i})=0", "--out",
                            str(tmp / "one.xlsx"), "--force"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            base.append(time.perf_counter() - t)
    b = min(base)
    print(f"  recalc --set, one component      {b:8.1f} s  (baseline, same run, best of {len(base)})")
    for kinds, (s, n) in timing.items():
        print(f"  {','.join(kinds):<10} as {n} recalcs          {b * n:8.0f} s  ratio {b * n / s:6.1f}x")


if __name__ == "__main__":
    main()
