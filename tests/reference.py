"""Independent references for the tests: Hugging Face transformers GPT-2 models, made offline and randomized."""

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

SHAPES = {  # name -> transformers GPT2Config keyword arguments
    "tiny": dict(n_layer=2, n_head=2, n_embd=16, n_positions=64),
    "small-2": dict(n_layer=2, n_head=12, n_embd=768, n_positions=1024),  # GPT-2-small-shaped, cut to 2 layers
}


def make_hf_model(shape: str, seed: int = 1):
    """A GPT2LMHeadModel with every tensor random, LayerNorm gains and all biases too."""
    import torch
    import transformers
    torch.manual_seed(seed)
    cfg = transformers.GPT2Config(vocab_size=50257, attn_implementation="eager", **SHAPES[shape])
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):
                p.normal_(1.0, 0.2)
            elif name.endswith("bias"):
                p.normal_(0.0, 0.05)
            elif "wte" in name or "wpe" in name:
                p.normal_(0.0, 0.1)
            else:
                p.normal_(0.0, 1.0 / np.sqrt(p.shape[0]))
    return model


def save_hf_model(model, folder: Path, prefix: bool = True) -> Path:
    """save_pretrained, then (prefix=False) rewrite the tensors without the `transformer.` prefix."""
    model.save_pretrained(folder)
    file = folder / "model.safetensors"
    if not prefix:
        tensors = load_file(str(file))
        save_file({k.removeprefix("transformer."): v for k, v in tensors.items()}, str(file))
    return file


def hf_logits(model, ids, hooks=()):
    """[n_seq, n_vocab] float64 logits of transformers, with (module, pre_hook) pairs registered meanwhile."""
    import torch
    handles = [module.register_forward_pre_hook(hook) for module, hook in hooks]
    try:
        with torch.no_grad():
            return model(torch.tensor([ids])).logits[0].double().numpy()
    finally:
        for h in handles:
            h.remove()
