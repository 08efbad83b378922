"""The stage registry: the one ordered description of the workbook's stages.

The builder lays the tabs out by walking STAGES in order; the Start tab's tour, `--check`'s comparison with the
oracle, and the tests read the same list. Each stage names the tabs it adds (a block's stages with `{layer}`),
what the tour says of them, and where its results sit: the rows of one position each, which the oracle
computes under the same names and which the workbook records as defined names (stage_name) so that other
programs and scripts find them too.

Adding a stage is a template (templates/NAME.toml), a module (workbook/NAME.py, which lays the tab out) and
one entry here, whose `build` calls the module with what earlier stages left in the Build.
"""

from dataclasses import dataclass, field
from typing import Callable

from ..sheet.book import Book
from ..model.config import GPT2Config
from . import attention, attribution, embed, features, guide, layer_norm, lens, logits, mlp, predict, residual, surgery, tokenize, vocab
from .grid import Area


@dataclass
class Build:
    """What the stages share while the workbook is laid out: the inputs, and what each stage left for the next."""
    book: Book
    cfg: GPT2Config
    n_ctx: int
    word_bytes: int
    knobs: object  # the Knobs the Surgery tab starts from
    with_lens: bool
    vocab: Area  # where the vocabulary tab will hold every token's text (laid out after the formula tabs)
    params: dict  # the checkpoint's tensors, for the weight tabs
    sae: object = None  # the sparse autoencoder the Features tab runs (model.sae.SAE), if any
    sae_top: int = 10  # the features listed per position
    watch: int | None = None  # the feature the Features tab follows at every position to begin with
    x: Area | None = None  # the residual stream as the last stage left it
    results: dict = field(default_factory=dict)  # tab -> the area of its result (what the registry records)
    shared: dict = field(default_factory=dict)  # what a later stage reads: surgery, tokens, logits, top, ...
    names: dict = field(default_factory=dict)  # defined names a stage adds: name -> reference
    resid_posts: list = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    """A stage's result laid out by position (one row each): its tab ({layer} for a block's) and its area."""
    tab: str
    area: Callable[[GPT2Config, int, str], Area]  # (cfg, n_ctx, tab) -> the area

    def at(self, cfg: GPT2Config, n_ctx: int, layer: int | None = None) -> tuple[str, Area]:
        tab = self.tab.format(layer=layer)
        return tab, self.area(cfg, n_ctx, tab)


@dataclass(frozen=True)
class Stage:
    name: str
    build: Callable  # build(Build) for a stage of the whole model, build(Build, layer) for a block's
    block: bool = False  # once per block (its tabs are h.{layer}.*), else once
    tour: tuple = ()  # (tab, what the Start tab's tour says of it); a block's stages speak of block 0
    results: tuple = ()  # Result: the stage's rows per position, which the oracle computes too


def stage_name(tab: str) -> str:
    """The defined name that records where a stage's result sits: Stage_h_0_ln_1 for h.0.ln_1."""
    return "Stage_" + tab.replace(".", "_")


# ---- how each stage is laid out from what the earlier ones left ------------------------------------------------

def _surgery(b: Build) -> None:
    b.shared["surgery"] = surgery.surgery_tab(b.book, b.cfg, b.n_ctx, b.knobs)


def _tokenize(b: Build) -> None:
    tokens = tokenize.tokenizer_tabs(b.book, b.n_ctx, b.word_bytes, b.vocab)
    b.shared["tokens"], b.shared["text"] = tokens, tokens.text


def _embed(b: Build) -> None:
    b.x = embed.embed_tab(b.book, b.cfg, b.n_ctx, b.shared["tokens"].ids, b.shared["text"])


def _resid_pre(b: Build, layer: int) -> None:
    b.x = residual.resid_pre_tab(b.book, layer, b.x, b.shared["text"], b.shared["surgery"])


def _block_layer_norm(which: str):
    """A block's ln_1 or ln_2: the residual stream as the last stage left it, normalised for the sub-block."""
    def build(b: Build, layer: int) -> None:
        tab = f"h.{layer}.{which}"
        b.shared["ln"] = layer_norm.layer_norm_tab(b.book, b.cfg, tab, tab, b.x, b.shared["text"])
    return build


def _attention(b: Build, layer: int) -> None:
    b.shared["sub"] = attention.attention_tabs(b.book, b.cfg, layer, b.shared["ln"], b.shared["text"],
                                               b.shared["surgery"])


def _resid_mid(b: Build, layer: int) -> None:
    b.x = residual.residual_tab(b.book, f"h.{layer}.resid_mid", b.x, b.shared["sub"], b.shared["text"])


def _mlp(b: Build, layer: int) -> None:
    b.shared["sub"] = mlp.mlp_tabs(b.book, b.cfg, layer, b.shared["ln"], b.shared["text"], b.shared["surgery"])


def _resid_post(b: Build, layer: int) -> None:
    b.x = residual.residual_tab(b.book, f"h.{layer}.resid_post", b.x, b.shared["sub"], b.shared["text"])
    b.resid_posts.append(b.x)


def _ln_f(b: Build) -> None:
    b.shared["ln_f"] = layer_norm.layer_norm_tab(b.book, b.cfg, "ln_f", "ln_f", b.x, b.shared["text"])


def _logits(b: Build) -> None:
    b.shared["logits"], b.shared["probs"] = logits.logits_tab(b.book, b.cfg, b.shared["ln_f"],
                                                              b.shared["tokens"].count)


def _predict(b: Build) -> None:
    b.shared["top"] = predict.predict_tab(b.book, b.shared["logits"], b.shared["probs"], b.vocab, predict.TOP_K)


def _attribution(b: Build) -> None:
    b.names.update(attribution.attribution_tab(b.book, b.cfg, b.n_ctx, b.shared["surgery"], b.vocab, "ln_f"))


def _features(b: Build) -> None:
    if b.sae is not None:
        b.names.update(features.features_tabs(b.book, b.cfg, b.n_ctx, b.sae, b.shared["text"], b.sae_top, b.watch))


def _lens(b: Build) -> None:
    if not b.with_lens:
        return
    lenses = [lens.lens_tabs(b.book, b.cfg, i, r, b.shared["text"]) for i, r in enumerate(b.resid_posts)]
    lens.logit_lens_tab(b.book, b.cfg, lenses, b.resid_posts, b.vocab, b.shared["text"])
    book = b.book
    shown = [s.name for s in book.sheets]
    after = max(shown.index(tab) for tab in (predict.TAB, attribution.TAB, features.TAB) if tab in shown)
    book.sheets.insert(after + 1, book.sheets.pop())  # after the tabs that explain the prediction


def _guide(b: Build) -> None:
    guide.guide_tab(b.book, b.cfg, b.n_ctx, b.shared["tokens"], b.with_lens)


def _vocab(b: Build) -> None:
    from ..model import tokenizer
    vocab.vocab_tab(b.book, [tokenizer.token_text(i) for i in range(b.cfg.n_vocab)])


def _lookups(b: Build) -> None:
    tokenize.lookup_tabs(b.book)


def _weights(b: Build) -> None:
    from .grid import weight_tab
    for name, tensor in b.params.items():
        weight_tab(b.book, name, tensor)
    if b.sae is not None:
        for name, tensor in features.sae_tensors(b.sae).items():
            weight_tab(b.book, name, tensor)


def _layer_norm_area(cfg: GPT2Config, n_ctx: int, tab: str) -> Area:
    return layer_norm.out_area(tab, cfg, n_ctx)


def _n_embd_wide(out_area):
    """A module's out_area(tab, n_ctx, width) as a Result's area: the residual stream's width."""
    return lambda cfg, n, tab: out_area(tab, n, cfg.n_embd)


# ---- the registry ---------------------------------------------------------------------------------------------

STAGES = (
    Stage("surgery", _surgery, tour=((surgery.TAB, "gates on every head, attention and MLP output; steering "
                                                   "vectors per layer"),)),
    Stage("tokenize", _tokenize, tour=(
        ("chars", "the prompt one character per row: UTF-8 bytes, class, where each word starts"),
        ("words", "the words (pre-tokens) and their bytes as tokens"),
        ("bpe", "byte-pair merges, lowest rank first"),
        ("Tokens", "the prompt's token ids and their text"))),
    Stage("embed", _embed, tour=(("embed", "token embedding + position embedding"),),
          results=(Result(embed.TAB, lambda cfg, n, tab: embed.out_area(cfg, n)),)),
    Stage("resid_pre", _resid_pre, block=True,
          tour=(("h.0.resid_pre", "the residual stream entering block 0, with its steering (every block h.N has "
                                  "these tabs)"),),
          results=(Result("h.{layer}.resid_pre", _n_embd_wide(residual.out_area)),)),
    Stage("ln_1", _block_layer_norm("ln_1"), block=True, tour=(("h.0.ln_1", "block 0, layer norm 1"),),
          results=(Result("h.{layer}.ln_1", _layer_norm_area),)),
    Stage("attention", _attention, block=True, tour=(
        ("h.0.attn.c_attn", "queries, keys, values"),
        ("h.0.attn.scores", "each head's scores with the causal mask"),
        ("h.0.attn.probs", "each head's attention pattern"),
        ("h.0.attn.z", "each head's weighted values"),
        ("h.0.attn.c_proj", "attention output projection")),
          results=(Result("h.{layer}.attn.c_attn", lambda cfg, n, tab: attention.out_area(tab, cfg, n, 3)),
                   Result("h.{layer}.attn.z", lambda cfg, n, tab: attention.out_area(tab, cfg, n)),
                   Result("h.{layer}.attn.c_proj", lambda cfg, n, tab: attention.out_area(tab, cfg, n)))),
    Stage("resid_mid", _resid_mid, block=True, tour=(("h.0.resid_mid", "residual stream after attention"),),
          results=(Result("h.{layer}.resid_mid", _n_embd_wide(residual.out_area)),)),
    Stage("ln_2", _block_layer_norm("ln_2"), block=True, tour=(("h.0.ln_2", "layer norm 2"),),
          results=(Result("h.{layer}.ln_2", _layer_norm_area),)),
    Stage("mlp", _mlp, block=True, tour=(
        ("h.0.mlp.c_fc", "MLP up-projection"),
        ("h.0.mlp.gelu", "GELU"),
        ("h.0.mlp.c_proj", "MLP down-projection")),
          results=(Result("h.{layer}.mlp.c_fc", lambda cfg, n, tab: mlp.out_area(tab, n, 4 * cfg.n_embd)),
                   Result("h.{layer}.mlp.gelu", lambda cfg, n, tab: mlp.out_area(tab, n, 4 * cfg.n_embd)),
                   Result("h.{layer}.mlp.c_proj", _n_embd_wide(mlp.out_area)))),
    Stage("resid_post", _resid_post, block=True, tour=(("h.0.resid_post", "residual stream after the block"),),
          results=(Result("h.{layer}.resid_post", _n_embd_wide(residual.out_area)),)),
    Stage("ln_f", _ln_f, tour=(("ln_f", "final layer norm"),),
          results=(Result("ln_f", _layer_norm_area),)),
    Stage("logits", _logits, tour=((logits.TAB, "scores over the whole vocabulary at the last prompt position"),)),
    Stage("predict", _predict, tour=((predict.TAB, "softmax, top 10, decoded text"),)),
    Stage("attribution", _attribution, tour=((attribution.TAB, "which heads, MLPs and embeddings push the "
                                                               "prediction toward one token and away from another "
                                                               "(direct logit attribution)"),)),
    Stage("features", _features, tour=((features.TAB, "with --sae: the sparse autoencoder's most active features "
                                                       "at each position (tabs sae.in, sae.pre, sae.acts)"),)),
    Stage("lens", _lens, tour=((lens.TAB, "the top token after every block at every position, and the residual "
                                          "norms (when built)"),)),
    Stage("guide", _guide, tour=((guide.TAB, "start here: your prompt walked through the model in sentences "
                                             "whose numbers are formulas"),)),
    Stage("vocab", _vocab, tour=((vocab.TAB, "every token's text"),)),
    Stage("lookups", _lookups, tour=(("merges", "the tokenizer's tables: merges, bytes, classes"),)),
    Stage("weights", _weights, tour=(("wte.weight", "the first weight tab; each tensor of the checkpoint has its "
                                                    "own tab"),)),
)


def tour() -> list[tuple[str, str]]:
    """The Start tab's tour: every stage's lines, in the registry's order (the order of the tabs)."""
    return [line for s in STAGES for line in s.tour]


def in_order(n_layer: int):
    """(stage, layer) in the order the tabs are laid out: the block stages, which stand together in STAGES,
    once per block (layer None for the others)."""
    i = 0
    while i < len(STAGES):
        if not STAGES[i].block:
            yield STAGES[i], None
            i += 1
            continue
        j = i
        while j < len(STAGES) and STAGES[j].block:
            j += 1
        for layer in range(n_layer):
            for s in STAGES[i:j]:
                yield s, layer
        i = j


def position_results(cfg: GPT2Config, n_ctx: int):
    """(tab, area) of every stage result whose rows are positions, in the model's order: the oracle computes
    each under the tab's name."""
    for s, layer in in_order(cfg.n_layer):
        for r in s.results:
            yield r.at(cfg, n_ctx, layer)


def lay_out(b: Build) -> None:
    """Every stage in order, each block's stages once per block; records where each result sits."""
    for s, layer in in_order(b.cfg.n_layer):
        s.build(b) if layer is None else s.build(b, layer)
        for r in s.results:
            tab, area = r.at(b.cfg, b.n_ctx, layer)
            b.results[tab] = area
