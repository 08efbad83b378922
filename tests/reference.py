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
    return _run(model, ids, *(_knob_hooks(model, knobs) if knobs is not None else ([], [])))


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


def as_written_double(model):
    """A float64 copy of the model holding the weights as the workbook holds them (the decimals written for
    each float32, sheet/cells.written_values): transformers then computes with the workbook's numbers, and
    the comparison is free of float32 rounding."""
    import copy
    import torch
    from xlgpt.sheet.cells import written_values
    twin = copy.deepcopy(model).double()
    with torch.no_grad():
        for (_, mine), (_, theirs) in zip(model.named_parameters(), twin.named_parameters()):
            theirs.copy_(torch.from_numpy(written_values(mine.detach().float().numpy())))
    return twin


def _run(model, ids, pre=(), post=()):
    """model(ids)'s logits [n_seq, n_vocab] with forward pre-hooks and hooks (module, hook) in place."""
    import torch
    handles = [m.register_forward_pre_hook(h) for m, h in pre] + [m.register_forward_hook(h) for m, h in post]
    try:
        with torch.no_grad():
            return model(torch.tensor([ids])).logits[0].double().numpy()
    finally:
        for h in handles:
            h.remove()


def _capture(model, store):
    """Hooks that keep, per block, the merged heads entering attn.c_proj (z), the MLP's output and the block's
    input (the residual stream entering it), and ln_f's input. Registered after the knobs' hooks, they see
    what those made."""
    pre, post = [], []
    for i, block in enumerate(model.transformer.h):
        pre.append((block.attn.c_proj, lambda m, args, i=i: store.__setitem__(("z", i), args[0][0].clone())))
        post.append((block.mlp, lambda m, args, out, i=i: store.__setitem__(("mlp", i), out[0].clone())))
        pre.append((block, lambda m, args, i=i: store.__setitem__(("resid_pre", i), args[0][0].clone())))
    pre.append((model.transformer.ln_f, lambda m, args: store.__setitem__("final", args[0][0].clone())))
    return pre, post


def hf_attribution(model, ids, target, versus, knobs=None):
    """Direct logit attribution at the last position from transformers' own activations (hooks): each part
    of the residual stream entering ln_f, dotted with ln_f's gain x (wte[target] - wte[versus]) centred, over
    ln_f's scale there. Heads from the merged heads entering attn.c_proj and the rows of its weight (times the
    block's attention gate); MLPs from the MLP's output; steering from the knobs; embeddings from wte, wpe."""
    knob_pre, knob_post = _knob_hooks(model, knobs) if knobs is not None else ([], [])
    got = {}
    pre, post = _capture(model, got)
    logits = _run(model, ids, knob_pre + pre, knob_post + post)
    cfg, last = model.config, len(ids) - 1
    hw = cfg.n_embd // cfg.n_head
    t = model.transformer
    wte = t.wte.weight.detach().double().numpy()
    x = got["final"][last].double().numpy()
    scale = np.sqrt(np.mean((x - x.mean()) ** 2) + cfg.layer_norm_epsilon)
    delta = wte[target] - wte[versus]
    u = t.ln_f.weight.detach().double().numpy() * delta
    u = u - u.mean()
    attn_gates = knobs.attn_gates if knobs is not None and knobs.attn_gates is not None else np.ones(cfg.n_layer)
    heads = np.zeros((cfg.n_layer, cfg.n_head))
    attn_bias, mlps, steer = (np.zeros(cfg.n_layer) for _ in range(3))
    for i, block in enumerate(t.h):
        z = got[("z", i)][last].double().numpy()
        w = block.attn.c_proj.weight.detach().double().numpy()  # Conv1D: [in, out]
        for h in range(cfg.n_head):
            heads[i, h] = attn_gates[i] * (z[h * hw:(h + 1) * hw] @ w[h * hw:(h + 1) * hw]) @ u / scale
        attn_bias[i] = attn_gates[i] * block.attn.c_proj.bias.detach().double().numpy() @ u / scale
        mlps[i] = got[("mlp", i)][last].double().numpy() @ u / scale
        for s in (knobs.steering if knobs is not None else ()):
            if s.layer == i and (s.positions is None or last in s.positions):
                steer[i] += s.coeff * np.asarray(s.vector, dtype=np.float64) @ u / scale
    embed = np.array([wte[ids[last]] @ u / scale, t.wpe.weight.detach().double().numpy()[last] @ u / scale])
    return {"heads": heads, "attn_bias": attn_bias, "mlps": mlps, "steer": steer, "embed": embed,
            "bias_term": float(t.ln_f.bias.detach().double().numpy() @ delta),
            "logit_diff": float(logits[last, target] - logits[last, versus])}


def hf_patching(model, clean_ids, corrupt_ids, names, target, versus):
    """Activation patching in transformers: for each component (headL.H, mlpL, resid_preL@P), the corrupted
    run with that activation replaced by the clean run's through a hook; the score (patched - corrupt) /
    (clean - corrupt) of logit[target] - logit[versus] at the last position."""
    import torch
    clean = {}
    pre, post = _capture(model, clean)
    last = len(clean_ids) - 1

    def diff(logits):
        return logits[last, target] - logits[last, versus]
    d_clean = diff(_run(model, clean_ids, pre, post))
    d_corrupt = diff(_run(model, corrupt_ids))
    hw = model.config.n_embd // model.config.n_head
    blocks = model.transformer.h
    out = {}
    for name in names:
        if name.startswith("head"):
            layer, head = map(int, name[4:].split("."))
            cols = slice(head * hw, (head + 1) * hw)

            def hook(m, args, layer=layer, cols=cols):
                z = args[0].clone()
                z[0, :, cols] = clean[("z", layer)][:, cols]
                return (z,) + args[1:]
            hooks = ([(blocks[layer].attn.c_proj, hook)], [])
        elif name.startswith("mlp"):
            layer = int(name[3:])
            hooks = ([], [(blocks[layer].mlp, lambda m, args, out, layer=layer: clean[("mlp", layer)][None])])
        else:
            layer, p = map(int, name[len("resid_pre"):].split("@"))

            def hook(m, args, layer=layer, p=p):
                x = args[0].clone()
                x[0, p] = clean[("resid_pre", layer)][p]
                return (x,) + args[1:]
            hooks = ([(blocks[layer], hook)], [])
        with torch.no_grad():
            out[name] = (diff(_run(model, corrupt_ids, *hooks)) - d_corrupt) / (d_clean - d_corrupt)
    return out


def make_sae(folder: Path, d_in: int, d_sae: int = 48, hook: str = "blocks.1.hook_resid_pre",
             apply_b_dec: bool = True, seed: int = 0, extra: dict | None = None) -> Path:
    """A standard ReLU sparse autoencoder saved as SAELens saves one (cfg.json, sae_weights.safetensors), its
    encoder biases negative enough that only some features fire at a position."""
    import json
    from safetensors.numpy import save_file
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"W_enc": rng.normal(size=(d_in, d_sae)).astype(np.float32),
               "b_enc": rng.normal(-7.0, 2.0, size=d_sae).astype(np.float32),
               "W_dec": rng.normal(size=(d_sae, d_in)).astype(np.float32),
               "b_dec": rng.normal(0.0, 0.3, size=d_in).astype(np.float32)}, str(folder / "sae_weights.safetensors"))
    cfg = {"d_in": d_in, "d_sae": d_sae, "hook_name": hook, "apply_b_dec_to_input": apply_b_dec,
           "architecture": "standard", "model_name": "gpt2-small"} | (extra or {})
    (folder / "cfg.json").write_text(json.dumps(cfg))
    return folder
