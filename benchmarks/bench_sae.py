"""Benchmark the Features tab's cost on full GPT-2 small (random weights, 16-token context): the same build and
recalculation with and without a 24,576-feature sparse autoencoder on block 2's residual stream (the size of
GPT-2 small's published residual SAEs: 18.9 M more weight cells), measured in one run.

Prints build time, file size and the cold recalculation (an empty sheet cache) of each, and the ratios.
Target (issue 21): at most 1.3x for the build and for the recalculation.

    .venv/bin/python benchmarks/bench_sae.py [--features 24576]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

XLGPT = str(Path(sys.executable).with_name("xlgpt"))


def make_sae(folder: Path, d_in: int, d_sae: int) -> None:
    from safetensors.numpy import save_file
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    save_file({"W_enc": (rng.standard_normal((d_in, d_sae), dtype=np.float32) * 0.05),
               "b_enc": rng.normal(-1.0, 0.2, d_sae).astype(np.float32),
               "W_dec": (rng.standard_normal((d_sae, d_in), dtype=np.float32) * 0.05),
               "b_dec": rng.normal(0.0, 0.1, d_in).astype(np.float32)}, str(folder / "sae_weights.safetensors"))
    (folder / "cfg.json").write_text(json.dumps({"d_in": d_in, "d_sae": d_sae, "hook_name": "blocks.2.hook_resid_pre",
                                                 "apply_b_dec_to_input": True, "architecture": "standard"}))


def timed(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=24576)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="xlgpt-bench-sae-") as tmp:
        tmp = Path(tmp)
        make_sae(tmp / "sae", 768, a.features)
        rows = {}
        for label, extra in (("without SAE", []), (f"with {a.features:,}-feature SAE", ["--sae", str(tmp / "sae")])):
            book = tmp / "book.xlsx"
            env = dict(os.environ, XLGPT_CACHE=str(tmp / f"cache-{len(rows)}"))  # cold: an empty sheet cache
            build = timed([XLGPT, "build", "--weights", "random:gpt2", "--context", "16", "--out", str(book),
                           "--force", *extra], env)
            size = book.stat().st_size / 1e6
            recalc = timed([XLGPT, "recalc", str(book), "--out", str(tmp / "out.xlsx"), "--force"], env)
            rows[label] = (build, size, recalc)
            print(f"  {label:32} build {build:6.1f} s  {size:8.1f} MB   recalc (cold) {recalc:6.1f} s", flush=True)
            book.unlink()
    (b0, s0, r0), (b1, s1, r1) = rows.values()
    print(f"  ratio                            build {b1 / b0:5.2f}x  size {s1 / s0:5.2f}x   recalc {r1 / r0:5.2f}x  "
          f"(target <= 1.3x: {'ok' if b1 <= 1.3 * b0 and r1 <= 1.3 * r0 else 'MISSED'})")


if __name__ == "__main__":
    main()
