"""The surgery knobs (head, attention and MLP gates; steering vectors) and where their values come from.

The workbook's Surgery tab holds these knobs as cells the layer formulas read (workbook/surgery.py); the oracle
takes the same Knobs, so the tests can compare the two. The defaults change nothing.
"""

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sheet.cells import parse_double
from ..errors import XlgptError
from .config import GPT2Config


@dataclass
class Steering:
    """coeff * vector added to the residual stream before block `layer`, at `positions` (None: all)."""
    layer: int
    vector: np.ndarray  # [n_embd]
    coeff: float = 1.0
    positions: list[int] | None = None


@dataclass
class Knobs:
    """Surgery; the defaults change nothing. Gates multiply: 1 keeps a component, 0 removes it."""
    head_gates: np.ndarray | None = None  # [n_layer, n_head], on each head's weighted values
    attn_gates: np.ndarray | None = None  # [n_layer], on the attention block's output (after c_proj)
    mlp_gates: np.ndarray | None = None  # [n_layer], on the MLP block's output (after c_proj)
    steering: list[Steering] = field(default_factory=list)


_COMPONENT = re.compile(r"^(?:(mlp|attn)(\d+)|(?:head|h)?(\d+)\.(\d+))$")


def keep_only(spec: str, cfg: GPT2Config) -> Knobs:
    """Gates for --keep-only: every head and every MLP outside the list off (attention gates stay 1: the heads
    say which attention is kept). Components: mlpN, attnN (all heads of layer N), headN.H (or N.H)."""
    heads = np.zeros((cfg.n_layer, cfg.n_head))
    mlps = np.zeros(cfg.n_layer)
    for item in filter(None, (x.strip().lower() for x in spec.split(","))):
        m = _COMPONENT.match(item)
        if m is None:
            raise XlgptError(f"--keep-only {spec}: {item!r} is not a component; use mlpN, attnN or headN.H, "
                             f"e.g. --keep-only mlp0,head9.1,head10.3,mlp9")
        kind, layer = m.group(1), int(m.group(2) or m.group(3))
        if not 0 <= layer < cfg.n_layer:
            raise XlgptError(f"--keep-only {item}: this model has layers 0 to {cfg.n_layer - 1}")
        if kind == "mlp":
            mlps[layer] = 1
        elif kind == "attn":
            heads[layer] = 1
        else:
            head = int(m.group(4))
            if not 0 <= head < cfg.n_head:
                raise XlgptError(f"--keep-only {item}: this model has heads 0 to {cfg.n_head - 1}")
            heads[layer, head] = 1
    return Knobs(head_gates=heads, attn_gates=np.ones(cfg.n_layer), mlp_gates=mlps)


def sae_decoder_row(path: Path, feature: int, n_embd: int) -> np.ndarray:
    """Row `feature` of a sparse autoencoder's decoder, from SAELens' files: a folder (or its
    sae_weights.safetensors) holding W_dec [d_sae, d_in]."""
    from .sae import read_tensors
    w = read_tensors(path, f"--steer-sae {path}", ("W_dec",))["W_dec"]
    if w.ndim != 2 or w.shape[1] != n_embd:
        raise XlgptError(f"--steer-sae {path}: W_dec is {list(w.shape)}; this model needs [features, {n_embd}]")
    if not 0 <= feature < w.shape[0]:
        raise XlgptError(f"--feature {feature}: the SAE has features 0 to {w.shape[0] - 1}")
    row = np.asarray(w[feature], dtype=np.float64)
    if not np.isfinite(row).all():
        raise XlgptError(f"--steer-sae {path}: feature {feature}'s decoder row holds NaN or Inf")
    return row


def sae_layer(path: Path):
    """The layer a SAELens SAE reads (cfg.json hook_name blocks.L.hook_resid_pre), or None."""
    path = Path(path)
    cfg = (path if path.is_dir() else path.parent) / "cfg.json"
    try:
        hook = json.loads(cfg.read_text()).get("hook_name", "")
    except (OSError, ValueError):
        return None
    m = re.match(r"blocks\.(\d+)\.hook_resid_pre$", hook)
    return int(m.group(1)) if m else None


def csv_vector(path: Path, n_embd: int) -> np.ndarray:
    """A steering vector from a CSV of numbers (one row, one column, or any shape with n_embd numbers)."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise XlgptError(f"--steer-csv {path}: {e.strerror}") from None
    fields = [x for x in re.split(r"[,\s;]+", text.strip()) if x]
    values = [parse_double(x) for x in fields]
    bad = next((i for i, v in enumerate(values) if v is None), None)
    if bad is not None:  # read as a cell's number is: 1_0, nan and inf are not numbers here either
        raise XlgptError(f"--steer-csv {path}: field {bad + 1}, {fields[bad][:40]!r}, is not a finite number; "
                         f"a steering vector is finite numbers")
    if len(values) != n_embd:
        raise XlgptError(f"--steer-csv {path}: {len(values)} numbers; this model's residual stream has {n_embd}")
    return np.array(values)


@dataclass(frozen=True)
class SurgeryRequest:
    """The knobs a build asks for: --keep-only, and one steering source (an SAE's decoder row, the difference of
    two prompts' residual streams, or a CSV vector) at a block, times a coefficient."""
    keep_only: str | None = None
    steer_sae: str | None = None
    steer_csv: str | None = None
    steer_prompts: tuple[str, str] | None = None
    layer: int | None = None
    feature: int | None = None
    coeff: float = 1.0


def from_options(cfg: GPT2Config, request: SurgeryRequest, prompts_vector=None) -> Knobs:
    """The knobs a request asks for. prompts_vector(layer) computes the difference of request.steer_prompts'
    residual streams (the workbook does, see workbook/builder.py)."""
    keep, steer_sae, steer_csv, steer_prompts = request.keep_only, request.steer_sae, request.steer_csv, request.steer_prompts
    layer, feature, coeff = request.layer, request.feature, request.coeff
    if not math.isfinite(coeff):
        raise XlgptError(f"--coeff {coeff}: the steering coefficient must be a finite number")
    knobs = keep_only(keep, cfg) if keep else Knobs()
    sources = [x for x in (steer_sae, steer_prompts, steer_csv) if x]
    if len(sources) > 1:
        raise XlgptError("give one steering source: --steer-sae, --steer-prompts or --steer-csv")
    if not sources:
        if layer is not None or feature is not None:
            raise XlgptError("--layer and --feature go with a steering source: --steer-sae, --steer-prompts or --steer-csv")
        return knobs
    sae = None
    if steer_sae:
        from .hub import sae_folder
        sae = Path(steer_sae) if Path(steer_sae).exists() else sae_folder(steer_sae)
        if layer is None:
            layer = sae_layer(sae)
    if layer is None:
        raise XlgptError("say which block to steer: --layer L")
    if not 0 <= layer < cfg.n_layer:
        raise XlgptError(f"--layer {layer}: this model has layers 0 to {cfg.n_layer - 1}")
    if steer_sae:
        if feature is None:
            raise XlgptError("--steer-sae needs --feature F (the SAE feature whose decoder row to add)")
        vector = sae_decoder_row(sae, feature, cfg.n_embd)
    elif steer_csv:
        vector = csv_vector(steer_csv, cfg.n_embd)
    else:
        vector = prompts_vector(layer)
    knobs.steering = [Steering(layer, vector, coeff, None)]
    return knobs
