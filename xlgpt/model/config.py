"""The GPT-2 family's shapes and the config every other module reads."""

from dataclasses import dataclass


GPT2_VOCAB = 50257  # GPT-2's byte-level BPE vocabulary: every checkpoint of the family has it


@dataclass(frozen=True)
class GPT2Config:
    n_layer: int
    n_head: int
    n_embd: int
    n_ctx: int = 1024
    n_vocab: int = GPT2_VOCAB
    eps: float = 1e-5  # LayerNorm epsilon

    @property
    def head_width(self) -> int:
        return self.n_embd // self.n_head


FAMILY = {
    "tiny": GPT2Config(n_layer=2, n_head=2, n_embd=16, n_ctx=64),
    "distilgpt2": GPT2Config(n_layer=6, n_head=12, n_embd=768),
    "gpt2": GPT2Config(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": GPT2Config(n_layer=24, n_head=16, n_embd=1024),
    "gpt2-large": GPT2Config(n_layer=36, n_head=20, n_embd=1280),
    "gpt2-xl": GPT2Config(n_layer=48, n_head=25, n_embd=1600),
}
# Hugging Face repositories of the published checkpoints.
HUB_REPOS = {
    "distilgpt2": "distilbert/distilgpt2",
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
}


def tensor_shapes(cfg: GPT2Config) -> dict[str, tuple[int, ...]]:
    """Every parameter tensor by its Hugging Face name (no `transformer.` prefix), in checkpoint order."""
    d, v = cfg.n_embd, cfg.n_vocab
    shapes = {"wte.weight": (v, d), "wpe.weight": (cfg.n_ctx, d)}
    for i in range(cfg.n_layer):
        shapes.update({
            f"h.{i}.ln_1.weight": (d,), f"h.{i}.ln_1.bias": (d,),
            f"h.{i}.attn.c_attn.weight": (d, 3 * d), f"h.{i}.attn.c_attn.bias": (3 * d,),
            f"h.{i}.attn.c_proj.weight": (d, d), f"h.{i}.attn.c_proj.bias": (d,),
            f"h.{i}.ln_2.weight": (d,), f"h.{i}.ln_2.bias": (d,),
            f"h.{i}.mlp.c_fc.weight": (d, 4 * d), f"h.{i}.mlp.c_fc.bias": (4 * d,),
            f"h.{i}.mlp.c_proj.weight": (4 * d, d), f"h.{i}.mlp.c_proj.bias": (d,),
        })
    shapes.update({"ln_f.weight": (d,), "ln_f.bias": (d,)})
    return shapes
