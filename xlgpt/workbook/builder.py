"""Build the GPT-2 workbook: tokens, embeddings, every block's stages, the prediction, the weights.

Each stage module (embed, residual, layer_norm, attention, mlp, logits, predict, lens, tokenize, surgery, start,
vocab) lays out its tabs from templates/ of the same name and returns the areas the next stage reads; the
stage registry (stages.py) strings them together in the model's order, and this module adds the Start tab,
the defined names and the checks of what fits.
"""

import numpy as np

from .. import engine
from ..sheet.book import Book, Sheet
from ..errors import XlgptError
from ..model import tokenizer
from ..model.checkpoint import Checkpoint
from ..model.knobs import Knobs
from ..sheet.refs import MAX_COLS, MAX_ROWS
from . import attention, embed, mlp, names, residual, stages, start, tokenize, vocab
from .grid import FIRST_COL, fit_greyed

WORD_BYTES = 24  # bytes per word (pre-token) the tokenizer's BPE takes; the longest English words fit


def build_workbook(ckpt: Checkpoint, prompt: str, n_ctx: int = 16, word_bytes: int = WORD_BYTES,
                   knobs: Knobs | None = None, lens: bool | None = None, sae=None, sae_top: int = 10,
                   watch: int | None = None) -> Book:
    """The workbook with every formula's value computed by the engine from the formulas themselves."""
    book = build_book(ckpt, prompt, n_ctx, word_bytes, knobs, lens, sae, sae_top, watch)
    engine.recalculate(book)
    error = engine.read_range(book, names.TOKEN_ERROR)[0, 0]
    if error:  # the workbook's own tokenizer says the prompt does not fit (a word longer than word_bytes)
        raise XlgptError(str(error))
    return book


def build_book(ckpt: Checkpoint, prompt: str, n_ctx: int = 16, word_bytes: int = WORD_BYTES,
               knobs: Knobs | None = None, with_lens: bool | None = None, sae=None, sae_top: int = 10,
               watch: int | None = None) -> Book:
    """The workbook's layout: tabs, formulas and weights, no values computed. knobs: the Surgery tab's
    starting values (the defaults change nothing). with_lens: the logit lens tabs (None: when they are small,
    see lens_by_default). sae: a model.sae.SAE for the Features tab, listing sae_top features a position and
    following the feature `watch`."""
    cfg = ckpt.config
    ids = tokenizer.encode_ordinary(prompt)
    _check(cfg, ids, n_ctx, word_bytes)
    if sae is not None:
        check_sae(sae.d_sae, sae_top)
    book = Book()
    start_sheet = book.add(Sheet(start.TAB, col_widths={0: 16, 1: 40, 2: 12, 3: 10}))  # filled last
    b = stages.Build(book, cfg, n_ctx, word_bytes, knobs or Knobs(),
                     with_lens if with_lens is not None else lens_by_default(cfg, n_ctx),
                     vocab.vocab_area(cfg.n_vocab), ckpt.params, sae=sae, sae_top=sae_top, watch=watch)
    stages.lay_out(b)  # every tab in the registry's order (workbook/stages.py)
    for sheet in book.sheets:
        fit_greyed(sheet)
    tokens, top = b.shared["tokens"], b.shared["top"]
    book.names.update({
        names.PROMPT: start.PROMPT.ref(),
        names.TOKEN_IDS: tokens.ids.ref(),
        names.TOKEN_COUNT: tokens.count,
        names.TOKEN_ERROR: tokens.error,
        names.NEXT_TOKEN_ID: top["id"].rows(0, 1).ref(),
        names.NEXT_TOKEN: top["token"].rows(0, 1).ref(),
        names.TOP_IDS: top["id"].ref(),
        names.TOP_TOKENS: top["token"].ref(),
        names.TOP_PROBS: top["prob"].ref(),
        names.LOGITS: b.shared["logits"].ref(),
    })
    book.names.update(b.shared["surgery"].names())
    book.names.update(b.names)
    book.names.update({stages.stage_name(tab): area.ref() for tab, area in b.results.items()})
    model = [ckpt.source, f"{cfg.n_layer} layers, {cfg.n_head} heads, width {cfg.n_embd}, vocabulary {cfg.n_vocab}",
             f"{ckpt.n_params:,} cells in {len(ckpt.params)} weight tabs"]
    if sae is not None:
        model.append(f"sparse autoencoder {sae.source}: {sae.d_sae:,} features on {sae.tab} (tab Features)")
    start.start_tab(start_sheet, prompt, f"{n_ctx} tokens, {word_bytes} bytes a word", top, model, stages.tour())
    return book


def steering_from_prompts(weights: str, seed: int, a: str, b: str, layer: int, n_ctx: int, word_bytes: int):
    """Activation addition: the residual stream entering block `layer` at the last position of prompt a,
    minus that of prompt b, each computed by the workbook's own formulas (a workbook cut to the blocks
    before `layer`, evaluated by the engine)."""
    from ..model import checkpoint
    ckpt = checkpoint.load(weights, seed=seed, layers=max(layer, 1))
    rows = []
    for prompt in (a, b):
        book = build_workbook(ckpt, prompt, n_ctx, word_bytes, lens=False)
        count = int(engine.read_range(book, names.TOKEN_COUNT)[0, 0])
        area = embed.out_area(ckpt.config, n_ctx) if layer == 0 else \
            residual.out_area(f"h.{layer - 1}.resid_post", n_ctx, ckpt.config.n_embd)
        rows.append(engine.read_range(book, area.rows(count - 1, 1).ref())[0])
    return np.asarray(rows[0], dtype=np.float64) - np.asarray(rows[1], dtype=np.float64)


LENS_CELLS = 4_000_000  # a lens this small is built whatever the model (tiny: 1.6 M logits)
LENS_SHARE = 0.15  # else the lens is built when its logits are at most this share of the weights


def lens_cells(cfg, n_ctx: int) -> int:
    """The logits the lens tabs hold: n_layer x n_ctx x n_vocab (9.6 M for GPT-2 small at 16 positions)."""
    return cfg.n_layer * n_ctx * cfg.n_vocab


def lens_by_default(cfg, n_ctx: int) -> bool:
    """The logit lens is built when it adds at most LENS_SHARE of the weights' cells to the file (GPT-2 small at
    16 positions: 7.7%), or at most LENS_CELLS; --lens builds it anyway, --no-lens leaves it out."""
    cells = lens_cells(cfg, n_ctx)
    return cells <= LENS_CELLS or cells <= LENS_SHARE * _weight_cells(cfg)


def _weight_cells(cfg) -> int:
    from ..model.config import tensor_shapes
    return sum(int(np.prod(shape)) for shape in tensor_shapes(cfg).values())


def lens_left_out(cfg, n_ctx: int) -> str:
    """What the build says when the default leaves the lens out."""
    cells = lens_cells(cfg, n_ctx)
    return (f"the logit lens (LogitLens, the virtual MRI) is left out: at {n_ctx} positions it would add "
            f"{cells / 1e6:,.1f} M cells, {cells / _weight_cells(cfg):.0%} of the weights' (the default builds it up to "
            f"{LENS_SHARE:.0%}); add it with --lens, or build with a shorter --context")


def _check(cfg, ids, n_ctx, word_bytes):
    if not ids:
        raise XlgptError("the prompt is empty: give --prompt TEXT with at least one character")
    check_capacity(cfg, n_ctx, word_bytes)
    if len(ids) > n_ctx:
        raise XlgptError(f"the prompt is {len(ids)} tokens, longer than the context of {n_ctx}: "
                         f"shorten it or pass --context {len(ids)} or more")


def check_sae(d_sae: int, top: int) -> None:
    """The SAE's tabs fit a sheet: a row per feature; --sae-top K at most the features there are."""
    if d_sae > MAX_ROWS - 4:
        raise XlgptError(f"--sae: {d_sae:,} features, more than a sheet's {MAX_ROWS:,} rows hold")
    if not 1 <= top <= min(d_sae, 1000):
        raise XlgptError(f"--sae-top {top}: list 1 to {min(d_sae, 1000)} features a position")


def check_capacity(cfg, n_ctx: int, word_bytes: int) -> None:
    """The workbook's tabs fit a sheet (1,048,576 rows, 16,384 columns): checked from the config alone, before
    any weight is loaded or any tab laid out. Each error says the largest value that fits."""
    if not 1 <= n_ctx <= cfg.n_ctx:
        raise XlgptError(f"--context {n_ctx}: this model takes 1 to {cfg.n_ctx} positions")
    last_head = attention.head_area("scores", cfg.n_head - 1, n_ctx)
    widest = max(last_head.col + n_ctx + 1, mlp.out_area("c_fc", n_ctx, 4 * cfg.n_embd).col + 4 * cfg.n_embd)
    if widest > MAX_COLS:
        most = (MAX_COLS - FIRST_COL) // cfg.n_head - 1
        raise XlgptError(f"--context {n_ctx}: {cfg.n_head} heads of {n_ctx} positions side by side need {widest} "
                         f"columns, more than a sheet's {MAX_COLS}; use --context {most} or less")
    if word_bytes < 2:
        raise XlgptError(f"--word-bytes {word_bytes}: a word needs room for at least 2 bytes (default {WORD_BYTES})")
    most = max(w for w in range(2, 200) if tokenize.bpe_columns(w) <= MAX_COLS)
    if word_bytes > most:
        raise XlgptError(f"--word-bytes {word_bytes}: the bpe tab's merge steps would need "
                         f"{tokenize.bpe_columns(word_bytes):,} columns, more than a sheet's {MAX_COLS:,}; "
                         f"use --word-bytes {most} or less")
    if tokenize.chars_rows(n_ctx, word_bytes) > MAX_ROWS:
        raise XlgptError(f"--context {n_ctx} with --word-bytes {word_bytes}: the chars tab would need "
                         f"{tokenize.chars_rows(n_ctx, word_bytes):,} rows, more than a sheet's {MAX_ROWS:,}; "
                         f"use --word-bytes {(MAX_ROWS - tokenize.chars_rows(0, 0)) // n_ctx} or less")
