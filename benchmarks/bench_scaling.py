"""How xlgpt's cost grows with the model and the context: one table, measured in one run on this machine.

Rows: GPT-2 small (random weights) at 16, 64 and 256 tokens, and GPT-2 medium (random weights) at 16 tokens.
Columns: `build` time, peak memory and file size (the default build: the logit lens where issue 22's rule puts it),
then `recalc` of that file cold (the first after build, sharing its sheet cache: every tab parsed) and warm (the
same file again), with their peak memory; the time per million parameters of build and cold recalc, and its ratio to small's at 16
tokens; the logit lens's own cost (a second build with the lens the other way: --lens where the default leaves it
out, --no-lens where it puts it in). The last lines extrapolate, from the measured figures, to GPT-2 large and XL
(memory and time in proportion to the parameters, the lens to its cells) on a 24 GB machine.

    .venv/bin/python benchmarks/bench_scaling.py [--skip-lens-at 256] [--only small16,medium16]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import measured  # noqa: E402  benchmarks/measured.py
from xlgpt.model.config import FAMILY, tensor_shapes  # noqa: E402
from xlgpt.workbook.builder import lens_by_default, lens_cells  # noqa: E402

CASES = {"small16": ("gpt2", 16), "small64": ("gpt2", 64), "small256": ("gpt2", 256), "medium16": ("gpt2-medium", 16)}
QUICK = {"tiny16": ("tiny", 16)}  # --only tiny16: a check of this script in seconds
PROMPT = "The quick brown fox jumps over the lazy dog because it"


def params(name: str) -> int:
    import numpy as np
    return sum(int(np.prod(s)) for s in tensor_shapes(FAMILY[name]).values())


def child(args: list, cache: Path) -> tuple[float, float]:
    """(seconds, peak GB of this child alone) of `python -m xlgpt ARGS`."""
    seconds, peak, _ = measured.run([sys.executable, "-m", "xlgpt", *args], {"XLGPT_CACHE": str(cache)})
    return seconds, peak


def measure(case: str, tmp: Path, lens_other_way: bool) -> dict:
    model, n_ctx = {**CASES, **QUICK}[case]
    weights = "random" if model == "gpt2" else f"random:{model}"
    book = tmp / f"{case}.xlsx"
    r = {"params": params(model), "n_ctx": n_ctx, "lens": lens_by_default(FAMILY[model], n_ctx),
         "lens_cells": lens_cells(FAMILY[model], n_ctx)}
    r["build"], r["build_peak"] = child(["build", "--weights", weights, "--context", n_ctx, "--prompt", PROMPT,
                                         "--out", book], tmp / "cache")
    r["size"] = book.stat().st_size / 1e9
    cache = tmp / "cache"  # build's: it holds what build remembered of its formula tabs, no parsed tab yet
    r["cold"], r["cold_peak"] = child(["recalc", book, "--out", tmp / "cold.xlsx"], cache)
    r["warm"], r["warm_peak"] = child(["recalc", book, "--out", tmp / "warm.xlsx"], cache)
    for f in ("cold.xlsx", "warm.xlsx"):
        (tmp / f).unlink()
    shutil.rmtree(cache, ignore_errors=True)
    if lens_other_way:
        other = tmp / f"{case}-other.xlsx"
        flag = "--no-lens" if r["lens"] else "--lens"
        seconds, peak = child(["build", "--weights", weights, "--context", n_ctx, "--prompt", PROMPT, flag,
                               "--out", other], tmp / "other-cache")
        size = other.stat().st_size / 1e9
        sign = 1 if r["lens"] else -1  # the lens's cost: with minus without
        r["lens_build"], r["lens_size"] = sign * (r["build"] - seconds), sign * (r["size"] - size)
        r["lens_peak"] = peak if not r["lens"] else r["build_peak"]
        other.unlink()
        shutil.rmtree(tmp / "other-cache", ignore_errors=True)
    book.unlink()
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(CASES), help=f"cases, of {', '.join(CASES)}")
    ap.add_argument("--skip-lens-at", default="", help="cases whose lens is not built the other way (e.g. small256)")
    a = ap.parse_args()
    cases = [c for c in a.only.split(",") if c]
    skip = set(a.skip_lens_at.split(","))
    results = {}
    with tempfile.TemporaryDirectory(prefix="xlgpt-bench-scaling-") as tmp:
        for case in cases:
            t = time.perf_counter()
            results[case] = measure(case, Path(tmp), case not in skip)
            print(f"  measured {case} in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    print(f"xlgpt, random weights, {os.cpu_count()} cores; the default build (lens: issue 22's rule)")
    head = (f"{'case':9s} {'params':>7s} {'lens':>4s} {'build':>7s} {'peak':>6s} {'file':>7s} {'cold':>7s} "
            f"{'warm':>6s} {'peak':>6s} {'build/Mp':>9s} {'cold/Mp':>8s} {'vs small16':>11s} {'lens: +build':>13s} "
            f"{'+file':>7s} {'cells':>6s}")
    print(head)
    base = results.get("small16")
    for case, r in results.items():
        mp = r["params"] / 1e6
        per_build, per_cold = r["build"] / mp * 1000, r["cold"] / mp * 1000
        ratio = ""
        if base:
            ratio = (f"{per_build / (base['build'] / (base['params'] / 1e6) * 1000):.2f}/"
                     f"{per_cold / (base['cold'] / (base['params'] / 1e6) * 1000):.2f}")
        lens = (f"{r['lens_build']:+12.1f}s {r['lens_size']:+6.2f}G" if "lens_build" in r else f"{'-':>13s} {'-':>7s}")
        print(f"{case:9s} {mp:6.0f}M {'yes' if r['lens'] else 'no':>4s} {r['build']:6.1f}s {r['build_peak']:5.2f}G "
              f"{r['size']:6.3f}G {r['cold']:6.1f}s {r['warm']:5.1f}s {max(r['cold_peak'], r['warm_peak']):5.2f}G "
              f"{per_build:7.1f}ms {per_cold:6.1f}ms {ratio:>11s} {lens} {r['lens_cells'] / 1e6:5.1f}M")
    print("build/Mp, cold/Mp: milliseconds per million parameters; vs small16: those two as a ratio to small at 16 "
          "tokens (target <= 1.2)")
    if base and "medium16" in results:
        # extrapolate from medium (the larger measured model): memory and time in proportion to the parameters
        m = results["medium16"]
        for name in ("gpt2-large", "gpt2-xl"):
            p = params(name)
            scale = p / m["params"]
            print(f"{name}: {p / 1e6:.0f} M parameters, in proportion to medium's measured figures: build "
                  f"~{m['build'] * scale:.0f} s, peak ~{m['build_peak'] * scale:.1f} GB, file ~{m['size'] * scale:.1f} GB, "
                  f"cold recalc ~{m['cold'] * scale:.0f} s, peak ~{m['cold_peak'] * scale:.1f} GB "
                  f"({'fits' if max(m['build_peak'], m['cold_peak']) * scale <= 24 else 'does not fit'} in 24 GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
