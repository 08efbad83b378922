"""Brain surgery: the Surgery tab's knobs (head, attention and MLP gates, steering vectors) as cells.

The knobs are ordinary cells that the layer formulas read; their defaults (gates 1, steering vectors 0)
change nothing. Their starting values are a model.knobs.Knobs, the same the oracle takes, so the tests can
compare the two; read_knobs reads them back, edits included.
"""

from dataclasses import dataclass

import numpy as np

from ..sheet import refs
from ..sheet.book import Book, Sheet, Texts, Values
from ..errors import XlgptError
from ..model.config import GPT2Config
from ..model.knobs import Knobs, Steering
from . import names
from .grid import titled
from .templates import stage

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
            names.HEAD_GATES: refs.qualified(TAB, refs.area(GATE_ROW, GATE_COLS["head"], n, h)),
            names.ATTN_GATES: refs.qualified(TAB, refs.area(GATE_ROW, GATE_COLS["attn"], n, 1)),
            names.MLP_GATES: refs.qualified(TAB, refs.area(GATE_ROW, GATE_COLS["mlp"], n, 1)),
            names.STEER_COEF: refs.qualified(TAB, refs.area(self.steer_row0, 1, n, 1)),
            names.STEER_FROM: refs.qualified(TAB, refs.area(self.steer_row0, 2, n, 1)),
            names.STEER_TO: refs.qualified(TAB, refs.area(self.steer_row0, 3, n, 1)),
        }
        for layer in range(n):
            out[names.steer(layer)] = refs.qualified(TAB, refs.area(self.steer_row0 + layer, 4, 1, d))
        return out


def surgery_tab(book: Book, cfg: GPT2Config, n_ctx: int, knobs: Knobs) -> SurgeryRefs:
    """The knobs, set from `knobs` (the defaults: everything on, no steering)."""
    n, h, d = cfg.n_layer, cfg.n_head, cfg.n_embd
    s = book.add(Sheet(TAB, col_widths={0: 9, 1: 11, 2: 11, 3: 11}, freeze=(0, 1)))
    titled(s, stage("surgery")["surgery"])
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
        [f"attention: multiplies block N's attention output (after attn.c_proj, bias included): {names.ATTN_GATES}"],
        [f"MLP: multiplies block N's MLP output (after mlp.c_proj, bias included): {names.MLP_GATES}"],
        [f"head h: multiplies head h's weighted values (its columns of attn.z) before attn.c_proj: {names.HEAD_GATES}"]],
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
    s.add(Texts(steer0 + n + 1, 0, [[f"Names: {names.STEER_COEF}, {names.STEER_FROM}, {names.STEER_TO} (a column each), {names.steer(0)}, {names.steer(1)}, ... "
                                     "(the vector of each layer). Positions count from 0."]], style="note"))
    return SurgeryRefs(cfg, steer0)


def read_knobs(book: Book, cfg: GPT2Config, n_ctx: int) -> Knobs:
    """The knobs as the workbook holds them (edits included), for the oracle."""
    from .. import engine
    if names.HEAD_GATES not in book.names:
        return Knobs()

    def grid(name):
        return np.asarray(engine.read_range(book, name), dtype=np.float64)
    coef, first, last = grid(names.STEER_COEF)[:, 0], grid(names.STEER_FROM)[:, 0], grid(names.STEER_TO)[:, 0]
    steering = []
    for layer in range(cfg.n_layer):
        vector = grid(names.steer(layer))[0]
        if np.any(vector != 0) and coef[layer] != 0:
            steering.append(Steering(layer, vector, float(coef[layer]),
                                     [p for p in range(n_ctx) if first[layer] <= p <= last[layer]]))
    return Knobs(head_gates=grid(names.HEAD_GATES), attn_gates=grid(names.ATTN_GATES)[:, 0],
                 mlp_gates=grid(names.MLP_GATES)[:, 0], steering=steering)


def gate_edits(head_gates, attn_gates, mlp_gates) -> list[str]:
    """--set edits that give every gate of the Surgery tab its value: heads [n_layer, n_head], attention and
    MLP gates [n_layer]."""
    n_layer, n_head = np.shape(head_gates)
    edits = [f"{names.HEAD_GATES}({i},{j})={head_gates[i][j]:g}" for i in range(n_layer) for j in range(n_head)]
    edits += [f"{names.MLP_GATES}({i})={mlp_gates[i]:g}" for i in range(n_layer)]
    return edits + [f"{names.ATTN_GATES}({i})={attn_gates[i]:g}" for i in range(n_layer)]


def default_edits(book: Book) -> list[str]:
    """--set edits that put every knob at its default: every gate 1, every steering coefficient 0."""
    from .. import engine
    n_layer, n_head = engine.read_range(book, names.HEAD_GATES).shape
    ones = np.ones(n_layer)
    return gate_edits(np.ones((n_layer, n_head)), ones, ones) + [f"{names.STEER_COEF}({i})=0" for i in range(n_layer)]
