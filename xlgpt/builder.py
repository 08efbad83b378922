"""Build the GPT-2 workbook: tokens, embeddings, every block's stages, the prediction, the weights."""

import numpy as np

from . import engine, refs, stages, surgery, tokenize_tabs, tokenizer
from .book import Book, Formulas, Sheet, Texts, Values
from .checkpoint import Checkpoint
from .oracle import Knobs
from .errors import XlgptError
from .layout import FIRST_COL, HEADER_ROWS
from .refs import MAX_COLS, MAX_ROWS
from .templates import stage

TOP_K = 10
WORD_BYTES = 24  # bytes per word (pre-token) the tokenizer's BPE takes; the longest English words fit


def build_workbook(ckpt: Checkpoint, prompt: str, n_ctx: int = 16, word_bytes: int = WORD_BYTES,
                   knobs: Knobs | None = None, lens: bool | None = None) -> Book:
    """The workbook with every formula's value computed by the engine from the formulas themselves."""
    book = build_book(ckpt, prompt, n_ctx, word_bytes, knobs, lens)
    engine.recalculate(book)
    error = engine.read_range(book, "TokenError")[0, 0]
    if error:  # the workbook's own tokenizer says the prompt does not fit (a word longer than word_bytes)
        raise XlgptError(str(error))
    return book


def build_book(ckpt: Checkpoint, prompt: str, n_ctx: int = 16, word_bytes: int = WORD_BYTES,
               knobs: Knobs | None = None, lens: bool | None = None) -> Book:
    """The workbook's layout: tabs, formulas and weights, no values computed. knobs: the Surgery tab's
    starting values (the defaults change nothing). lens: the logit lens tabs (None: when they are small,
    see lens_by_default)."""
    cfg = ckpt.config
    ids = tokenizer.encode_ordinary(prompt)
    _check(cfg, ids, n_ctx, word_bytes)
    book = Book()
    start = book.add(Sheet("Start", col_widths={0: 16, 1: 40, 2: 12, 3: 10}))
    knobs_refs = surgery.surgery_tab(book, cfg, n_ctx, knobs or Knobs())
    vocab_texts = [tokenizer.token_text(i) for i in range(cfg.n_vocab)]

    # Tabs are laid out in reading order; the vocabulary, lookup tables and weights go last.
    vocab = stages.vocab_area(cfg.n_vocab)  # the tab itself goes after the formula tabs
    tokens = tokenize_tabs.tokenizer_tabs(book, n_ctx, word_bytes, vocab)
    ids_area, text_area, count = tokens.ids, tokens.text, tokens.count
    x = stages.embed_tab(book, cfg, n_ctx, ids_area, text_area)
    resid_posts = []
    for i in range(cfg.n_layer):
        h = f"h.{i}"
        x = stages.resid_pre_tab(book, i, x, text_area, knobs_refs)
        ln1 = stages.layer_norm_tab(book, cfg, f"{h}.ln_1", f"{h}.ln_1", x, x.sheet, text_area)
        attn = stages.attention_tabs(book, cfg, i, ln1, text_area, knobs_refs)
        mid = stages.residual_tab(book, f"{h}.resid_mid", x, attn, text_area)
        ln2 = stages.layer_norm_tab(book, cfg, f"{h}.ln_2", f"{h}.ln_2", mid, mid.sheet, text_area)
        mlp = stages.mlp_tabs(book, cfg, i, ln2, text_area, knobs_refs)
        x = stages.residual_tab(book, f"{h}.resid_post", mid, mlp, text_area)
        resid_posts.append(x)
    ln_f = stages.layer_norm_tab(book, cfg, "ln_f", "ln_f", x, x.sheet, text_area)
    logits, probs = stages.logits_tab(book, cfg, ln_f, count)
    top = stages.predict_tab(book, logits, probs, vocab, TOP_K)
    if lens if lens is not None else lens_by_default(cfg, n_ctx):
        lenses = [stages.lens_tabs(book, cfg, i, r, text_area) for i, r in enumerate(resid_posts)]
        stages.logit_lens_tab(book, cfg, lenses, resid_posts, vocab)
        book.sheets.insert(book.sheets.index(book.sheet("predict")) + 1, book.sheets.pop())  # right after predict
    stages.vocab_tab(book, vocab_texts)
    tokenize_tabs.lookup_tabs(book)
    for name, tensor in ckpt.params.items():
        stages.weight_tab(book, name, tensor)

    book.names.update({
        "Prompt": refs.qualified("Start", "$B$3"),
        "TokenIds": ids_area.ref(),
        "TokenCount": count,
        "TokenError": tokens.error,
        "NextTokenId": top["id"].rows(0, 1).ref(),
        "NextToken": top["token"].rows(0, 1).ref(),
        "TopIds": top["id"].ref(),
        "TopTokens": top["token"].ref(),
        "TopProbs": top["prob"].ref(),
        "Logits": logits.ref(),
    })
    book.names.update(knobs_refs.names())
    _start_tab(start, ckpt, prompt, n_ctx, word_bytes, top)
    return book


def steering_from_prompts(weights: str, seed: int, a: str, b: str, layer: int, n_ctx: int, word_bytes: int):
    """Activation addition: the residual stream entering block `layer` at the last position of prompt a,
    minus that of prompt b, each computed by the workbook's own formulas (a workbook cut to the blocks
    before `layer`, evaluated by the engine)."""
    from . import checkpoint
    ckpt = checkpoint.load(weights, seed=seed, layers=max(layer, 1))
    rows = []
    for prompt in (a, b):
        book = build_workbook(ckpt, prompt, n_ctx, word_bytes, lens=False)
        count = int(engine.read_range(book, "TokenCount")[0, 0])
        tab = "embed" if layer == 0 else f"h.{layer - 1}.resid_post"
        rows.append(engine.read_range(book, refs.qualified(tab, refs.area(HEADER_ROWS + count - 1, FIRST_COL, 1,
                                                                           ckpt.config.n_embd)))[0])
    return np.asarray(rows[0], dtype=np.float64) - np.asarray(rows[1], dtype=np.float64)


LENS_CELLS = 4_000_000  # the lens tabs hold n_layer x n_ctx x n_vocab logits: 1.6 M for tiny, 9.6 M for GPT-2 small


def lens_by_default(cfg, n_ctx: int) -> bool:
    """The logit lens is built unless it would hold more than LENS_CELLS logits (pass --lens to have it)."""
    return cfg.n_layer * n_ctx * cfg.n_vocab <= LENS_CELLS


def _check(cfg, ids, n_ctx, word_bytes):
    if not ids:
        raise XlgptError("the prompt is empty: give --prompt TEXT with at least one character")
    check_capacity(cfg, n_ctx, word_bytes)
    if len(ids) > n_ctx:
        raise XlgptError(f"the prompt is {len(ids)} tokens, longer than the context of {n_ctx}: "
                         f"shorten it or pass --context {len(ids)} or more")


def check_capacity(cfg, n_ctx: int, word_bytes: int) -> None:
    """The workbook's tabs fit a sheet (1,048,576 rows, 16,384 columns): checked from the config alone, before
    any weight is loaded or any tab laid out. Each error says the largest value that fits."""
    if not 1 <= n_ctx <= cfg.n_ctx:
        raise XlgptError(f"--context {n_ctx}: this model takes 1 to {cfg.n_ctx} positions")
    widest = max(FIRST_COL + cfg.n_head * (n_ctx + 1), FIRST_COL + 4 * cfg.n_embd)
    if widest > MAX_COLS:
        most = (MAX_COLS - FIRST_COL) // cfg.n_head - 1
        raise XlgptError(f"--context {n_ctx}: {cfg.n_head} heads of {n_ctx} positions side by side need {widest} "
                         f"columns, more than a sheet's {MAX_COLS}; use --context {most} or less")
    if word_bytes < 2:
        raise XlgptError(f"--word-bytes {word_bytes}: a word needs room for at least 2 bytes (default {WORD_BYTES})")
    most = max(w for w in range(2, 200) if tokenize_tabs.bpe_columns(w) <= MAX_COLS)
    if word_bytes > most:
        raise XlgptError(f"--word-bytes {word_bytes}: the bpe tab's merge steps would need "
                         f"{tokenize_tabs.bpe_columns(word_bytes):,} columns, more than a sheet's {MAX_COLS:,}; "
                         f"use --word-bytes {most} or less")
    if tokenize_tabs.chars_rows(n_ctx, word_bytes) > MAX_ROWS:
        raise XlgptError(f"--context {n_ctx} with --word-bytes {word_bytes}: the chars tab would need "
                         f"{tokenize_tabs.chars_rows(n_ctx, word_bytes):,} rows, more than a sheet's {MAX_ROWS:,}; "
                         f"use --word-bytes {(MAX_ROWS - tokenize_tabs.chars_rows(0, 0)) // n_ctx} or less")


def _start_tab(s: Sheet, ckpt: Checkpoint, prompt: str, n_ctx: int, word_bytes: int, top) -> None:
    t = stage("start")
    cfg = ckpt.config
    s.add(Texts(0, 0, [["xlgpt: GPT-2 as a spreadsheet of ordinary formulas"]], style="title"))
    s.add(Texts(1, 0, [["Every step from the prompt's tokens to the next-token prediction is a formula in the tabs "
                        "below; the weights are numbers in tabs named after the checkpoint's tensors."]], style="note"))
    s.add(Texts(2, 0, [["Prompt"]], style="bold"))
    s.add(Texts(2, 1, [[prompt]], style="input"))
    s.add(Texts(2, 2, [["Type a new prompt: the tabs chars, words, bpe and Tokens tokenize it, the rest predicts."]],
                style="note"))
    s.add(Texts(3, 0, [["Tokens"], ["Context"], ["Next token"]], style="bold"))
    s.add(Formulas(3, 1, 1, 1, t["show"].fill(ref="TokenCount"), "cell"))
    s.add(Texts(4, 1, [[f"{n_ctx} tokens, {word_bytes} bytes a word"]]))
    s.add(Formulas(5, 1, 1, 1, t["show_checked"].fill(ref="NextToken"), "cell", style="bold"))
    s.add(Formulas(5, 2, 1, 1, t["show_checked"].fill(ref=top["prob"].rows(0, 1).ref()), "cell", style="percent"))

    s.add(Texts(7, 0, [["Top 10", "token", "prob", "id"]], style="bold"))
    s.add(Values(8, 0, np.arange(1, TOP_K + 1, dtype=float)[:, None]))
    for col, name, style in ((1, "token", None), (2, "prob", "percent"), (3, "id", None)):
        s.add(Formulas(8, col, TOP_K, 1, t["show_column_checked"].fill(ref=top[name].first()), "shared", style=style))

    row = 9 + TOP_K
    s.add(Texts(row, 0, [["Model"], ["Shape"], ["Parameters"]], style="bold"))
    s.add(Texts(row, 1, [[ckpt.source],
                         [f"{cfg.n_layer} layers, {cfg.n_head} heads, width {cfg.n_embd}, vocabulary {cfg.n_vocab}"],
                         [f"{ckpt.n_params:,} cells in {len(ckpt.params)} weight tabs"]]))
    row += 4
    s.add(Texts(row, 0, [["Tour"]], style="bold"))
    tour = [
        ("chars", "the prompt one character per row: UTF-8 bytes, class, where each word starts"),
        ("words", "the words (pre-tokens) and their bytes as tokens"),
        ("bpe", "byte-pair merges, lowest rank first"),
        ("Tokens", "the prompt's token ids and their text"),
        ("Surgery", "gates on every head, attention and MLP output; steering vectors per layer"),
        ("embed", "token embedding + position embedding"),
        ("h.0.resid_pre", "the residual stream entering block 0, with its steering (every block h.N has these tabs)"),
        ("h.0.ln_1", "block 0, layer norm 1"),
        ("h.0.attn.c_attn", "queries, keys, values"),
        ("h.0.attn.scores", "each head's scores with the causal mask"),
        ("h.0.attn.probs", "each head's attention pattern"),
        ("h.0.attn.z", "each head's weighted values"),
        ("h.0.attn.c_proj", "attention output projection"),
        ("h.0.resid_mid", "residual stream after attention"),
        ("h.0.ln_2", "layer norm 2"),
        ("h.0.mlp.c_fc", "MLP up-projection"),
        ("h.0.mlp.gelu", "GELU"),
        ("h.0.mlp.c_proj", "MLP down-projection"),
        ("h.0.resid_post", "residual stream after the block"),
        ("ln_f", "final layer norm"),
        ("logits", "scores over the whole vocabulary at the last prompt position"),
        ("predict", "softmax, top 10, decoded text"),
        ("LogitLens", "the top token after every block at every position, and the residual norms (when built)"),
        ("vocab", "every token's text"),
        ("merges", "the tokenizer's tables: merges, bytes, classes"),
        ("wte.weight", "the first weight tab; each tensor of the checkpoint has its own tab"),
    ]
    for i, (tab, what) in enumerate(tour, 1):
        s.add(Texts(row + i, 0, [[tab]], style="link"))
        s.add(Texts(row + i, 1, [[what]]))
        s.links.append((row + i, 0, refs.qualified(tab, "A1"), tab))
