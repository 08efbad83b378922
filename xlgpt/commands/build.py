"""`xlgpt build`: a checkpoint and a prompt as a workbook of formulas, every cached value computed by the engine."""

import time
from dataclasses import dataclass
from pathlib import Path

from ..model import checkpoint, knobs
from ..workbook import builder
from ..xlsx.packager import write_book
from .options import BuildOptions, writable


@dataclass
class Built:
    out: Path
    tabs: int
    weight_cells: int
    megabytes: float
    seconds: float


def default_out(weights: str, context: int) -> Path:
    """output/WEIGHTS-N.xlsx, for a build without --out."""
    slug = Path(weights).stem if Path(weights).exists() else weights.replace(":", "-")
    return Path("output") / f"{slug}-{context}.xlsx"


def run(o: BuildOptions, progress=None) -> Built:
    out = o.out or default_out(o.weights.source, o.context)
    if o.out is None:
        out.parent.mkdir(exist_ok=True)
    writable(out, o.force)
    t0 = time.perf_counter()
    ckpt = checkpoint.load(o.weights.source, seed=o.weights.seed, layers=o.weights.layers,
                           fits=lambda cfg: builder.check_capacity(cfg, o.context, o.word_bytes))
    request = o.surgery
    surgery = knobs.from_options(
        ckpt.config, request,
        prompts_vector=lambda layer: builder.steering_from_prompts(o.weights.source, o.weights.seed,
                                                                   *request.steer_prompts, layer, o.context,
                                                                   o.word_bytes))
    book = builder.build_workbook(ckpt, o.prompt, o.context, o.word_bytes, surgery, o.lens)
    # the engine's cached values are in every formula cell: Excel can show them without recalculating
    write_book(book, out, full_calc_on_load=False, progress=progress)
    return Built(out, len(book.sheets), ckpt.n_params, out.stat().st_size / 1e6, time.perf_counter() - t0)
