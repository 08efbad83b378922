"""`xlgpt build`: a checkpoint and a prompt as a workbook of formulas, every cached value computed by the engine."""

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import XlgptError
from ..model import checkpoint, knobs
from ..model import sae as sparse
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
    if o.sae is None and (o.sae_labels is not None or o.sae_top != 10):
        raise XlgptError("--sae-top and --sae-labels go with --sae (the sparse autoencoder of the Features tab)")
    t0 = time.perf_counter()
    ckpt = checkpoint.load(o.weights.source, seed=o.weights.seed, layers=o.weights.layers,
                           fits=lambda cfg: builder.check_capacity(cfg, o.context, o.word_bytes))
    request = o.surgery
    surgery = knobs.from_options(
        ckpt.config, request,
        prompts_vector=lambda layer: builder.steering_from_prompts(o.weights.source, o.weights.seed,
                                                                   *request.steer_prompts, layer, o.context,
                                                                   o.word_bytes))
    sae, watch = None, None
    if o.sae is not None:
        cfg = ckpt.config
        sae = sparse.load(o.sae, cfg.n_embd, cfg.n_layer)
        builder.check_sae(sae.d_sae, o.sae_top)
        if o.sae_labels is not None:
            sae.labels = sparse.read_labels(o.sae_labels, sae.d_sae)
        if request.steer_sae and sparse.resolve(request.steer_sae, "--steer-sae").resolve() == sae.folder.resolve():
            watch = request.feature  # steering with one of its features: the Features tab follows that one
    book = builder.build_workbook(ckpt, o.prompt, o.context, o.word_bytes, surgery, o.lens, sae, o.sae_top, watch)
    # the engine's cached values are in every formula cell: Excel can show them without recalculating
    write_book(book, out, full_calc_on_load=False, progress=progress)
    return Built(out, len(book.sheets), ckpt.n_params, out.stat().st_size / 1e6, time.perf_counter() - t0)
