"""`xlgpt build`: a checkpoint and a prompt as a workbook of formulas, every cached value computed by the engine."""

import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import XlgptError
from ..model import checkpoint, knobs
from ..model import sae as sparse
from .. import engine
from ..sheet.edits import apply, parse_set
from ..workbook import builder, names
from ..workbook import surgery as surgery_tab
from ..workbook.prediction import workbook_prediction
from ..xlsx.packager import write_book
from .options import BuildOptions, writable


@dataclass
class Built:
    out: Path
    tabs: int
    weight_cells: int
    megabytes: float
    seconds: float
    prediction: dict | None = None  # predict --json's shape, as the workbook computed it
    without_knobs: dict | None = None  # the same with the Surgery tab at its defaults, for a build with knobs
    note: str | None = None  # what the default left out, and how to add it


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
    seconds = time.perf_counter() - t0
    plain = None
    if surgery.head_gates is not None or surgery.steering:
        plain = without_knobs(book)
    note = None
    if o.lens is None and not builder.lens_by_default(ckpt.config, o.context):
        note = builder.lens_left_out(ckpt.config, o.context)
    return Built(out, len(book.sheets), ckpt.n_params, out.stat().st_size / 1e6, seconds,
                 workbook_prediction(book) if plain is None else plain[0], None if plain is None else plain[1],
                 note)


def without_knobs(book) -> tuple[dict, dict]:
    """(the prediction as built, the prediction with every gate 1 and no steering): the workbook's formulas
    evaluated again with the Surgery tab at its defaults (after the file is written)."""
    with_knobs = workbook_prediction(book)
    for text in surgery_tab.default_edits(book):
        apply(book, parse_set(book, text))
    engine.recalculate(book, plan=engine.make_plan(book, list(names.PREDICTION)))
    return with_knobs, workbook_prediction(book)


def next_step(b: Built, program: str = "xlgpt") -> str:
    """What the build's last lines say: the prediction (with and without knobs), then what to do next.
    program: how the user runs xlgpt (.venv/bin/xlgpt after `make demo`)."""
    def p(x):
        return f"{x:.2%}" if x >= 1e-3 else f"{x:.1e}"  # random weights give every token about 2e-5

    def top(pred):
        t = pred["top"]
        return f"{t[0]['token']!r} ({p(t[0]['prob'])}), then " + ", ".join(f"{x['token']!r} ({p(x['prob'])})"
                                                                          for x in t[1:3])
    lines = [f"next token: {top(b.prediction)}"]
    if b.without_knobs is not None:
        lines.append(f"without the knobs: {top(b.without_knobs)}")
    book = shlex.quote(str(b.out))
    lines += [f"open {b.out} in Excel or LibreOffice Calc: the Start tab shows the prediction; type a new prompt "
              f"in its Prompt cell (B3), or try:",
              f"  {program} recalc {book} --set \"Prompt=The capital of France is\" --print-only"]
    return "\n".join(lines)
