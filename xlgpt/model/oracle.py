"""The reference: a plain NumPy float64 GPT-2 forward pass with the workbook's surgery knobs.

It never reads files and never supplies values to a workbook; tests compare the workbook's values with it.
Intermediates carry the names the workbook's tabs use (`h.0.ln_1`, `h.0.attn.probs`, ...).
"""

import numpy as np

from .config import GPT2Config
from .knobs import Knobs


def gelu(x):  # GPT-2's tanh approximation
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def softmax(x):  # over the last axis
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def layer_norm(x, g, b, eps):  # [n_seq, n_embd] -> [n_seq, n_embd], population variance
    mean = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mean) ** 2, axis=-1, keepdims=True)
    return g * (x - mean) / np.sqrt(var + eps) + b


def linear(x, w, b):  # [n_seq, in] @ [in, out] + [out] -> [n_seq, out]; Conv1D stores w as [in, out]
    return x @ w + b


def attention(x, p, n_head, head_gates, out):  # [n_seq, n_embd] -> [n_seq, n_embd]
    n_seq, n_embd = x.shape
    hw = n_embd // n_head
    qkv = linear(x, p["attn.c_attn.weight"], p["attn.c_attn.bias"])  # [n_seq, 3*n_embd]
    q, k, v = (qkv[:, i * n_embd:(i + 1) * n_embd].reshape(n_seq, n_head, hw).transpose(1, 0, 2) for i in range(3))
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(hw)  # [n_head, n_seq, n_seq]
    causal = np.tril(np.ones((n_seq, n_seq), dtype=bool))
    probs = softmax(np.where(causal, scores, -np.inf))  # [n_head, n_seq, n_seq]
    heads = probs @ v * head_gates[:, None, None]  # [n_head, n_seq, hw]
    z = heads.transpose(1, 0, 2).reshape(n_seq, n_embd)  # [n_seq, n_embd], heads side by side
    out.update({"attn.c_attn": qkv, "attn.scores": scores, "attn.probs": probs, "attn.z": z})
    return linear(z, p["attn.c_proj.weight"], p["attn.c_proj.bias"])


def mlp(x, p, out):  # [n_seq, n_embd] -> [n_seq, n_embd]
    up = linear(x, p["mlp.c_fc.weight"], p["mlp.c_fc.bias"])  # [n_seq, 4*n_embd]
    act = gelu(up)
    out.update({"mlp.c_fc": up, "mlp.gelu": act})
    return linear(act, p["mlp.c_proj.weight"], p["mlp.c_proj.bias"])


def block(x, p, cfg, layer, knobs, out):  # [n_seq, n_embd] -> [n_seq, n_embd]
    gates = knobs.head_gates[layer] if knobs.head_gates is not None else np.ones(cfg.n_head)
    out["ln_1"] = layer_norm(x, p["ln_1.weight"], p["ln_1.bias"], cfg.eps)
    a = attention(out["ln_1"], p, cfg.n_head, gates, out)
    if knobs.attn_gates is not None:
        a = a * knobs.attn_gates[layer]
    x = x + a
    out.update({"attn.c_proj": a, "resid_mid": x})
    out["ln_2"] = layer_norm(x, p["ln_2.weight"], p["ln_2.bias"], cfg.eps)
    m = mlp(out["ln_2"], p, out)
    if knobs.mlp_gates is not None:
        m = m * knobs.mlp_gates[layer]
    x = x + m
    out.update({"mlp.c_proj": m, "resid_post": x})
    return x


def forward(params: dict, cfg: GPT2Config, ids, knobs: Knobs | None = None, lens: bool = False) -> dict:
    """All stages for token ids [n_seq]: `logits` [n_seq, n_vocab] and every named intermediate.

    With lens=True, `lens` [n_layer, n_seq, n_vocab] holds ln_f then the unembedding of each block's output.
    """
    knobs = knobs or Knobs()
    ids = np.asarray(ids)
    p64 = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    wte, n_seq = p64["wte.weight"], len(ids)

    def unembed(x):  # [n_seq, n_embd] -> [n_seq, n_vocab], tied to wte
        return layer_norm(x, p64["ln_f.weight"], p64["ln_f.bias"], cfg.eps) @ wte.T

    out = {"embed": wte[ids] + p64["wpe.weight"][:n_seq]}
    x = out["embed"]
    lens_logits = []
    for i in range(cfg.n_layer):
        for s in knobs.steering:
            if s.layer == i:
                mask = np.zeros((n_seq, 1))
                mask[[q for q in (s.positions if s.positions is not None else range(n_seq)) if q < n_seq]] = 1
                x = x + mask * s.coeff * np.asarray(s.vector, dtype=np.float64)
        out[f"h.{i}.resid_pre"] = x
        stage = {}
        x = block(x, {k[len(f"h.{i}."):]: v for k, v in p64.items() if k.startswith(f"h.{i}.")}, cfg, i, knobs, stage)
        out.update({f"h.{i}.{k}": v for k, v in stage.items()})
        if lens:
            lens_logits.append(unembed(x))
    out["ln_f"] = layer_norm(x, p64["ln_f.weight"], p64["ln_f.bias"], cfg.eps)
    out["logits"] = out["ln_f"] @ wte.T
    if lens:
        out["lens"] = np.stack(lens_logits)
    return out


def top_k(logits, k: int):  # [n_vocab] -> (ids, probs), most likely first; ties by lower id
    probs = softmax(np.asarray(logits, dtype=np.float64))
    ids = np.argsort(-probs, kind="stable")[:k]
    return ids, probs[ids]


def attribution(params: dict, cfg: GPT2Config, ids, target: int, versus: int, knobs: Knobs | None = None) -> dict:
    """Direct logit attribution at the last position, as the Attribution tab computes it: with ln_f's scale
    there held fixed, each part c of the residual stream contributes (c - mean(c)) . (ln_f gain x (wte[target]
    - wte[versus])) / scale, and the parts plus the ln_f bias term add up to logit[target] - logit[versus].
    Returns heads [n_layer, n_head], attn_bias, mlps, steer [n_layer], embed [token, position], bias_term,
    logit_diff."""
    knobs = knobs or Knobs()
    out = forward(params, cfg, ids, knobs)
    p64 = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    wte, last, hw = p64["wte.weight"], len(ids) - 1, cfg.head_width
    x = out[f"h.{cfg.n_layer - 1}.resid_post"][last]
    scale = np.sqrt(np.mean((x - x.mean()) ** 2) + cfg.eps)
    delta = wte[target] - wte[versus]
    u = p64["ln_f.weight"] * delta
    u = u - u.mean()

    def share(c):
        return float(np.asarray(c) @ u / scale)

    attn_gates = knobs.attn_gates if knobs.attn_gates is not None else np.ones(cfg.n_layer)
    heads = np.zeros((cfg.n_layer, cfg.n_head))
    attn_bias, mlps, steer = (np.zeros(cfg.n_layer) for _ in range(3))
    for i in range(cfg.n_layer):
        z, w = out[f"h.{i}.attn.z"][last], p64[f"h.{i}.attn.c_proj.weight"]
        for h in range(cfg.n_head):
            heads[i, h] = attn_gates[i] * share(z[h * hw:(h + 1) * hw] @ w[h * hw:(h + 1) * hw])
        attn_bias[i] = attn_gates[i] * share(p64[f"h.{i}.attn.c_proj.bias"])
        mlps[i] = share(out[f"h.{i}.mlp.c_proj"][last])
        for s in knobs.steering:
            if s.layer == i and (s.positions is None or last in s.positions):
                steer[i] += s.coeff * share(s.vector)
    embed = np.array([share(wte[ids[last]]), share(p64["wpe.weight"][last])])
    logits = out["logits"][last]
    return {"heads": heads, "attn_bias": attn_bias, "mlps": mlps, "steer": steer, "embed": embed,
            "bias_term": float(p64["ln_f.bias"] @ delta), "logit_diff": float(logits[target] - logits[versus])}


def sae_features(x, w_enc, b_enc, b_dec, apply_b_dec: bool = True):
    """A standard ReLU sparse autoencoder's feature activations [n_seq, d_sae] for the residual stream x
    [n_seq, d_in]: ReLU((x - b_dec) . W_enc + b_enc), without b_dec when the SAE does not subtract it."""
    x = np.asarray(x, dtype=np.float64)
    w, b_enc, b_dec = (np.asarray(t, dtype=np.float64) for t in (w_enc, b_enc, b_dec))
    return np.maximum(0.0, ((x - b_dec) if apply_b_dec else x) @ w + b_enc)
