"""Benchmark issue 23's targets on GPT-2 small (random weights, 16 tokens): this tree against a baseline commit,
measured one after the other in the same run (a git worktree of the baseline, the same Python and packages).

For each tree: `build` (time, peak memory, file size); `recalc` of the built file with an empty sheet cache (a
file from elsewhere: every tab parsed); then, sharing build's sheet cache as a user's runs do, the first recalc
(cold: the weights parsed) and a second one of the same file (warm); a new prompt (`--set Prompt=...`, weight tabs cached); one weight cell edited; `sweep`'s cost a prompt
(the `days` set, evaluated in memory once the workbook is read). Each recalc writes a new file, so the table
also prints the floor under any of them on this machine: copying the built file (the same bytes written once).

    .venv/bin/python benchmarks/bench_speed.py [--baseline REV] [--current-only] [--weights random:tiny]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import measured  # benchmarks/measured.py

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "f3105ed"  # main at the start of the session that took on issue 23's targets
PROMPT = "The quick brown fox jumps over the lazy dog because it"
SWEEP = """
import json, sys, time
from xlgpt.xlsx.package import Package
from xlgpt.workbook.sweep import SETS, Sweep
rb = Package.read(sys.argv[1])
sweep, cases = Sweep(rb.book), SETS["days"]()
t = time.perf_counter()
for case in cases:
    sweep.row(case)
print(json.dumps({"per_prompt": (time.perf_counter() - t) / len(cases), "prompts": len(cases)}))
"""
TARGETS = {"build": 10, "size": 1.1, "empty": 15, "cold": 15, "warm": 2, "prompt": 3, "edit": 3, "peak": 2.0,
           "sweep": 0.25}


def child(tree: Path, cache: Path, args: list) -> tuple[float, float, str]:
    """(seconds, peak GB, stdout) of `python -m xlgpt ARGS` (or `python -c`) run from `tree`."""
    return measured.run([sys.executable, *args], {"PYTHONPATH": str(tree), "XLGPT_CACHE": str(cache)}, cwd=tree)


def build_extensions(tree: Path) -> None:
    """Compile a baseline's optional C extension in place, as its install would: without it a worktree runs its
    NumPy fallback, and the comparison would be with a slower program than its users have."""
    if (tree / "setup.py").exists():
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree, check=True,
                       capture_output=True)
        built = list(tree.glob("xlgpt/**/*.so"))
        print(f"baseline: compiled {', '.join(p.name for p in built) or 'nothing'}", file=sys.stderr)


def measure(tree: Path, work: Path, weights: str) -> dict:
    work.mkdir(parents=True)
    cache = work / "cache"
    book = work / "gpt2.xlsx"
    xlgpt = ["-m", "xlgpt"]
    r = {}
    r["build"], r["build_peak"], _ = child(tree, cache, xlgpt + ["build", "--weights", weights, "--context", "16",
                                                                 "--out", str(book)])
    r["size"] = book.stat().st_size / 1e9
    t = time.perf_counter()
    shutil.copyfile(book, work / "copy.xlsx")
    r["copy"] = time.perf_counter() - t
    (work / "copy.xlsx").unlink()
    # the file from elsewhere: a sheet cache that knows nothing of it
    r["empty"], r["empty_peak"], _ = child(tree, work / "empty-cache", xlgpt + ["recalc", str(book), "--out",
                                                                              str(work / "empty.xlsx")])
    (work / "empty.xlsx").unlink()
    shutil.rmtree(work / "empty-cache")
    runs = {"cold": [], "warm": [], "prompt": ["--set", f"Prompt={PROMPT}"],
            "edit": ["--set", "'h.0.mlp.c_fc.weight'!B2=0.5"]}
    for name, extra in runs.items():
        out = work / f"{name}.xlsx"
        r[name], r[f"{name}_peak"], _ = child(tree, cache, xlgpt + ["recalc", str(book), "--out", str(out), *extra])
        out.unlink()
    _, _, printed = child(tree, cache, ["-c", SWEEP, str(book)])
    r["sweep"] = json.loads(printed.strip().splitlines()[-1])["per_prompt"]
    shutil.rmtree(work)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default=BASELINE, help=f"the commit to compare with (default {BASELINE})")
    ap.add_argument("--current-only", action="store_true", help="measure this tree only")
    ap.add_argument("--weights", default="random", help="the checkpoint (default: random, GPT-2 small's shapes)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xlgpt-bench-speed-"))
    results = {}
    try:
        if not a.current_only:
            base = tmp / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), a.baseline],
                           check=True, capture_output=True)
            try:
                build_extensions(base)
                results["baseline"] = measure(base, tmp / "base-run", a.weights)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
        results["this tree"] = measure(ROOT, tmp / "this-run", a.weights)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cols = list(results)
    print(f"--weights {a.weights}, 16 tokens, {os.cpu_count()} cores; "
          + ("this tree only" if a.current_only else f"baseline = {a.baseline}"))
    print(f"  {'measure':44s}" + "".join(f"{c:>14s}" for c in cols) + ("   ratio" if len(cols) == 2 else "")
          + "   target")
    rows = [("build", "build", "s"), ("build peak memory", "build_peak", "GB"), ("file size", "size", "GB"),
            ("floor: copying the built file", "copy", "s"),
            ("recalc cold, an empty sheet cache", "empty", "s"), ("recalc peak memory (empty cache)", "empty_peak", "GB"),
            ("recalc cold, the first after build", "cold", "s"), ("recalc warm (the same file again)", "warm", "s"),
            ("recalc, a new prompt", "prompt", "s"), ("recalc, one weight cell edited", "edit", "s"),
            ("recalc peak memory (cold)", "cold_peak", "GB"), ("recalc peak memory (new prompt)", "prompt_peak", "GB"),
            ("sweep, a prompt (21 prompts of `days`)", "sweep", "s")]
    ok = True
    for label, key, unit in rows:
        values = [results[c][key] for c in cols]
        shown = [f"{v:.2f} {unit}" for v in values]
        target = TARGETS["peak"] if key.endswith("_peak") else TARGETS.get(key)
        mine = values[-1]
        verdict = "" if target is None else (f"<= {target:g} {unit} " + ("ok" if mine <= target else "MISSED"))
        ok &= target is None or mine <= target
        ratio = f"{values[1] / values[0]:7.2f}x" if len(cols) == 2 and values[0] else ""
        print(f"  {label:44s}" + "".join(f"{s:>14s}" for s in shown) + f" {ratio:>8s}   {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
