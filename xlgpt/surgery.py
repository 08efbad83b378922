"""Brain surgery: the Surgery tab's knobs (head, attention and MLP gates, steering vectors), and where their
starting values come from (--keep-only, --steer-sae, --steer-prompts, --steer-csv).

The knobs are ordinary cells that the layer formulas read; their defaults (gates 1, steering vectors 0)
change nothing. The same knobs drive the oracle (oracle.Knobs), so the tests can compare the two.
"""

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import refs
from .book import Book, Sheet, Texts, Values
from .errors import XlgptError
from .models import GPT2Config
from .oracle import Knobs, Steering

TAB = "Surgery"
GATE_ROW = 4  # first layer's row of the gates table
GATE_COLS = {"attn": 1, "mlp": 2, "head": 3}  # attn gate, MLP gate, then one column per head


@dataclass
class SurgeryRefs:
    """Cells the layer formulas read, as absolute references ('Surgery'!$D$5)."""
    cfg: GPT2Config
    steer_row0: int  # the first layer's steering row

    def head_gate(self, layer: int, head: int) -> str:
        return refs.qualified(TAB, refs.cell(GATE_ROW + layer, GATE_COLS["head"] + head, True, True))

    def attn_gate(self, layer: int) -> str:
        return refs.qualified(TAB, refs.cell(GATE_ROW + layer, GATE_COLS["attn"], True, True))

    def mlp_gate(self, layer: int) -> str:
        return refs.qualified(TAB, refs.cell(GATE_ROW + layer, GATE_COLS["mlp"], True, True))

    def steer(self, layer: int, what: str) -> str:
        """coefficient, from or to of the layer's steering row."""
        col = {"coef": 1, "from": 2, "to": 3}[what]
        return refs.qualified(TAB, refs.cell(self.steer_row0 + layer, col, True, True))

    def steer_vector_first(self, layer: int) -> str:
        """The vector's first cell, row fixed and column relative, for a formula filled across dimensions."""
        return refs.qualified(TAB, refs.cell(self.steer_row0 + layer, 4, abs_row=True))

    def names(self) -> dict[str, str]:
        n, h, d = self.cfg.n_layer, self.cfg.n_head, self.cfg.n_embd
        out = {
            "HeadGates": refs.qualified(TAB, refs.area(GATE_ROW, GATE_COLS["head"], n, h)),
            "AttnGates": refs.qualified(TAB, refs.area(GATE_ROW, GATE_COLS["attn"], n, 1)),
            "MlpGates": refs.qualified(TAB, refs.area(GATE_ROW, GATE_COLS["mlp"], n, 1)),
            "SteerCoef": refs.qualified(TAB, refs.area(self.steer_row0, 1, n, 1)),
            "SteerFrom": refs.qualified(TAB, refs.area(self.steer_row0, 2, n, 1)),
            "SteerTo": refs.qualified(TAB, refs.area(self.steer_row0, 3, n, 1)),
        }
        for layer in range(n):
            out[f"Steer{layer}"] = refs.qualified(TAB, refs.area(self.steer_row0 + layer, 4, 1, d))
        return out


def surgery_tab(book: Book, cfg: GPT2Config, n_ctx: int, knobs: Knobs) -> SurgeryRefs:
    """The knobs, set from `knobs` (the defaults: everything on, no steering)."""
    n, h, d = cfg.n_layer, cfg.n_head, cfg.n_embd
    s = book.add(Sheet(TAB, col_widths={0: 9, 1: 11, 2: 11, 3: 11}, freeze=(0, 1)))
    s.add(Texts(0, 0, [["Surgery: switch parts of the model off, or push a direction into its residual stream"]],
                style="title"))
    s.add(Texts(1, 0, [["Every cell here feeds the layer formulas; the defaults (gates 1, steering 0) change "
                        "nothing. Edit one and the prediction on Start follows."]], style="note"))
    s.add(Texts(GATE_ROW - 2, 0, [["Gates: 1 keeps a part, 0 removes it, anything else scales it"]], style="bold"))
    s.add(Texts(GATE_ROW - 1, 0, [["layer", "attention", "MLP"] + [f"head {i}" for i in range(h)]], style="bold"))
    s.add(Values(GATE_ROW, 0, np.arange(n, dtype=float)[:, None]))
    gates = np.ones((n, 2 + h))
    if knobs.attn_gates is not None:
        gates[:, 0] = knobs.attn_gates
    if knobs.mlp_gates is not None:
        gates[:, 1] = knobs.mlp_gates
    if knobs.head_gates is not None:
        gates[:, 2:] = knobs.head_gates
    s.add(Values(GATE_ROW, 1, gates, style="input"))
    notes = GATE_ROW + n + 1
    s.add(Texts(notes, 0, [
        ["attention: multiplies block N's attention output (after attn.c_proj, bias included): AttnGates"],
        ["MLP: multiplies block N's MLP output (after mlp.c_proj, bias included): MlpGates"],
        ["head h: multiplies head h's weighted values (its columns of attn.z) before attn.c_proj: HeadGates"]],
        style="note"))
    steer0 = notes + 5
    s.add(Texts(steer0 - 2, 0, [["Steering: coefficient x vector added to the residual stream before block N, "
                                 "at positions from..to (h.N.resid_pre)"]], style="bold"))
    s.add(Texts(steer0 - 1, 0, [["layer", "coefficient", "from", "to"] + [f"dim {i}" for i in range(d)]],
                style="bold"))
    s.add(Values(steer0, 0, np.arange(n, dtype=float)[:, None]))
    table = np.zeros((n, 3 + d))
    table[:, 0], table[:, 1], table[:, 2] = 1.0, 0.0, n_ctx - 1
    for st in knobs.steering:
        if not 0 <= st.layer < n:
            raise XlgptError(f"steering at layer {st.layer}: this model has layers 0 to {n - 1}")
        vector = np.asarray(st.vector, dtype=np.float64).reshape(-1)
        if vector.size != d:
            raise XlgptError(f"a steering vector of {vector.size} numbers: this model's residual stream has {d}")
        positions = st.positions if st.positions is not None else range(n_ctx)
        table[st.layer] = [st.coeff, min(positions), max(positions), *vector]
    s.add(Values(steer0, 1, table, style="input"))
    s.add(Texts(steer0 + n + 1, 0, [["Names: SteerCoef, SteerFrom, SteerTo (a column each), Steer0, Steer1, ... "
                                     "(the vector of each layer). Positions count from 0."]], style="note"))
    return SurgeryRefs(cfg, steer0)


def read_knobs(book: Book, cfg: GPT2Config, n_ctx: int) -> Knobs:
    """The knobs as the workbook holds them (edits included), for the oracle."""
    from . import engine
    if "HeadGates" not in book.names:
        return Knobs()

    def grid(name):
        return np.asarray(engine.read_range(book, name), dtype=np.float64)
    coef, first, last = grid("SteerCoef")[:, 0], grid("SteerFrom")[:, 0], grid("SteerTo")[:, 0]
    steering = []
    for layer in range(cfg.n_layer):
        vector = grid(f"Steer{layer}")[0]
        if np.any(vector != 0) and coef[layer] != 0:
            steering.append(Steering(layer, vector, float(coef[layer]),
                                     [p for p in range(n_ctx) if first[layer] <= p <= last[layer]]))
    return Knobs(head_gates=grid("HeadGates"), attn_gates=grid("AttnGates")[:, 0],
                 mlp_gates=grid("MlpGates")[:, 0], steering=steering)


# ---- where knob values come from ----------------------------------------------------------------------------

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
    from .checkpoint import read_safetensors
    path = Path(path)
    file = path / "sae_weights.safetensors" if path.is_dir() else path
    if not file.is_file():
        raise XlgptError(f"--steer-sae {path}: no SAELens sae_weights.safetensors there")
    try:
        tensors = read_safetensors(file)
    except XlgptError as e:
        raise XlgptError(f"--steer-sae {e}") from None
    if "W_dec" not in tensors:
        raise XlgptError(f"--steer-sae {file}: no W_dec tensor (found {', '.join(sorted(tensors)) or 'none'})")
    w = tensors["W_dec"]
    if w.ndim != 2 or w.shape[1] != n_embd:
        raise XlgptError(f"--steer-sae {file}: W_dec is {list(w.shape)}; this model needs [features, {n_embd}]")
    if not 0 <= feature < w.shape[0]:
        raise XlgptError(f"--feature {feature}: the SAE has features 0 to {w.shape[0] - 1}")
    row = np.asarray(w[feature], dtype=np.float64)
    if not np.isfinite(row).all():
        raise XlgptError(f"--steer-sae {file}: feature {feature}'s decoder row holds NaN or Inf")
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
    try:
        values = [float(x) for x in re.split(r"[,\s;]+", text.strip()) if x]
    except ValueError as e:
        raise XlgptError(f"--steer-csv {path}: not a list of numbers ({e})") from None
    if not all(math.isfinite(v) for v in values):
        raise XlgptError(f"--steer-csv {path}: holds nan or inf; a steering vector is finite numbers")
    if len(values) != n_embd:
        raise XlgptError(f"--steer-csv {path}: {len(values)} numbers; this model's residual stream has {n_embd}")
    return np.array(values)
