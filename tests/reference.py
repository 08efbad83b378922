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


def hf_logits(model, ids, knobs=None):
    """[n_seq, n_vocab] float64 logits of transformers, with the surgery `knobs` (Knobs) as hooks."""
    import torch
    pre, post = _knob_hooks(model, knobs) if knobs is not None else ([], [])
    handles = [module.register_forward_pre_hook(hook) for module, hook in pre]
    handles += [module.register_forward_hook(hook) for module, hook in post]
    try:
        with torch.no_grad():
            return model(torch.tensor([ids])).logits[0].double().numpy()
    finally:
        for h in handles:
            h.remove()


def _knob_hooks(model, knobs):
    """The surgery knobs as transformers hooks, written from what each knob means, not from the oracle:
    a head gate scales that head's slice of the merged head outputs entering attn.c_proj; an attention or MLP
    gate scales that block's output (c_proj, bias included); steering adds coeff x vector to the residual
    stream entering its block at its positions (all when None). Returns (pre_hooks, forward_hooks)."""
    import torch
    blocks = model.transformer.h
    hw = model.config.n_embd // model.config.n_head
    pre, post = [], []

    def scale_heads(gates):
        def hook(module, args):
            z = args[0].clone()
            for h, g in enumerate(gates):
                z[..., h * hw:(h + 1) * hw] *= float(g)
            return (z,)
        return hook

    def scale_output(g):
        return lambda m, args, out: (out[0] * g,) + tuple(out[1:]) if isinstance(out, tuple) else out * g

    def add(s):
        def hook(module, args):
            x = args[0].clone()
            at = slice(None) if s.positions is None else [q for q in s.positions if q < x.shape[1]]
            x[:, at] += s.coeff * torch.tensor(s.vector, dtype=x.dtype)
            return (x,) + args[1:]
        return hook

    if knobs.head_gates is not None:
        pre += [(blocks[i].attn.c_proj, scale_heads(g)) for i, g in enumerate(knobs.head_gates) if np.any(g != 1)]
    for gates, part in ((knobs.attn_gates, "attn"), (knobs.mlp_gates, "mlp")):
        if gates is not None:
            post += [(getattr(blocks[i], part), scale_output(float(g))) for i, g in enumerate(gates) if g != 1]
    pre += [(blocks[s.layer], add(s)) for s in knobs.steering]
    return pre, post
