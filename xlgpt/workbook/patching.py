"""Activation patching with the workbook's own formulas: which components carry a behaviour.

Two prompts of the same length in tokens: a clean one ("If today is Monday, tomorrow is") and a corrupted one
("If today is Friday, tomorrow is"). The workbook is evaluated on both (the Prompt cell set, the engine run
over what the logits depend on). Then, for each component, the corrupted run again with that component's
cells held at the clean run's values (an engine Override: engine.what_if evaluates only what they change and
leaves the book as it was). The score is the logit difference target - versus, normalised so that the
corrupted run is 0 and the clean run 1: a component scoring near 1 restores the clean behaviour on its own.

Components, named as --keep-only names them where it can:
- headL.H: head H of block L, its weighted values (its columns of h.L.attn.z) at every position;
- mlpL: block L's MLP output (h.L.mlp.c_proj) at every position;
- resid_preL@P: the residual stream entering block L at position P (a row of h.L.resid_pre).
Each is found through the workbook's defined names (Stage_h_L_attn_z, ...), not its layout.
"""

import shlex
from dataclasses import dataclass, field

import numpy as np

from .. import engine
from ..errors import XlgptError
from ..model import tokenizer
from ..sheet import refs
from ..sheet.book import DIVERGING, Book, ColorScale, Sheet, Texts, Values
from ..sheet.edits import apply, parse_set
from . import names
from .prediction import require_tokenizer
from .stages import stage_name

KINDS = ("heads", "mlps", "resid")
MARK = "Patching: computed by `xlgpt patch"  # A1 of the tab the command writes (workbook/result_tab.py)
TAB = "Patching"


@dataclass(frozen=True)
class Component:
    name: str  # head9.1, mlp0, resid_pre3@5
    kind: str  # one of KINDS
    layer: int
    index: int  # the head, or the position; 0 for an MLP
    target: str  # the cells patched, as a reference


@dataclass
class Run:
    prompt: str
    token_ids: list[int]
    logits: np.ndarray
    values: dict = field(default_factory=dict)  # component target -> its values in this run


def components(book: Book, kinds: tuple[str, ...], n_tokens: int) -> list[Component]:
    """The components of `kinds`, found through the workbook's stage names (Stage_h_L_attn_z, ...)."""
    if names.HEAD_GATES not in book.names:
        raise XlgptError("not an xlgpt workbook with its Surgery tab (no HeadGates): build it again with this xlgpt")
    n_layer, n_head = engine.read_range(book, names.HEAD_GATES).shape
    out = []
    for layer in range(n_layer):
        if "heads" in kinds:
            z = _stage(book, f"h.{layer}.attn.z")
            hw = (z.c1 - z.c0 + 1) // n_head
            out += [Component(f"head{layer}.{h}", "heads", layer, h,
                              _ref(z.sheet, z.r0, z.c0 + h * hw, z.r1 - z.r0 + 1, hw)) for h in range(n_head)]
        if "mlps" in kinds:
            m = _stage(book, f"h.{layer}.mlp.c_proj")
            out.append(Component(f"mlp{layer}", "mlps", layer, 0, _ref(m.sheet, m.r0, m.c0, m.r1 - m.r0 + 1,
                                                                     m.c1 - m.c0 + 1)))
    if "resid" in kinds:
        for layer in range(n_layer):
            r = _stage(book, f"h.{layer}.resid_pre")
            out += [Component(f"resid_pre{layer}@{p}", "resid", layer, p, _ref(r.sheet, r.r0 + p, r.c0, 1,
                                                                              r.c1 - r.c0 + 1))
                    for p in range(n_tokens)]
    return out


def _stage(book: Book, tab: str):
    name = stage_name(tab)
    if name not in book.names:
        raise XlgptError(f"not an xlgpt workbook this version can patch (no defined name {name}): build it again "
                         f"with this xlgpt")
    return engine.cells(book, name)


def _ref(sheet: str, row: int, col: int, nrows: int, ncols: int) -> str:
    return refs.qualified(sheet, refs.area(row, col, nrows, ncols, absolute=True))


class Patcher:
    """A workbook read once, ready to patch any pair of prompts with its own formulas."""

    def __init__(self, book: Book):
        require_tokenizer(book)
        self.book = book
        # what the logits depend on, ordered once; each patched run evaluates the part its component changes
        self.plan = engine.make_plan(book, [names.LOGITS, names.TOKEN_IDS, names.TOKEN_COUNT, names.TOKEN_ERROR])
        self._undo = None

    def run(self, prompt: str) -> Run:
        """The workbook on `prompt` and its logits at the last position. The book keeps this run's values (the
        patched runs start from them) until restore()."""
        undo = apply(self.book, parse_set(self.book, f"{names.PROMPT}={prompt}"))
        if self._undo is None:
            self._undo = undo  # sets back the prompt the book had
        engine.recalculate(self.book, plan=self.plan)
        error = engine.read_range(self.book, names.TOKEN_ERROR)[0, 0]
        if error:
            raise XlgptError(f"{prompt!r}: {error}")
        count = int(engine.read_range(self.book, names.TOKEN_COUNT)[0, 0])
        ids = [int(i) for i in engine.read_range(self.book, names.TOKEN_IDS)[:count, 0]]
        return Run(prompt, ids, self.logits())

    def keep(self, run: Run, parts: list[Component]) -> None:
        """The values of the parts' cells in the run the book holds (`run`)."""
        for c in parts:
            run.values[c.target] = np.array(engine.read_range(self.book, c.target), dtype=np.float64)

    def restore(self) -> None:
        """The book's prompt as it was (its values are then a patched run's: recalculate before writing it)."""
        if self._undo is not None:
            self._undo()
            self._undo = None

    def logits(self, store=None) -> np.ndarray:
        return np.asarray(engine.read_range(self.book, names.LOGITS, store)[:, 0], dtype=np.float64)

    def patched(self, c: Component, clean: Run) -> np.ndarray:
        """The logits of the run the book holds with `c`'s cells at the clean run's values."""
        plan = self.plan.downstream(self.book, [c.target])
        store = engine.what_if(self.book, plan, [engine.Override(c.target, clean.values[c.target])])
        return self.logits(store)


def token_id(text: str, what: str) -> int:
    """The id of the one token `text` is (--target, --versus), or one line saying what it is instead."""
    ids = tokenizer.encode_ordinary(text)
    if len(ids) != 1:
        raise XlgptError(f"--{what} {text!r} is {len(ids)} tokens ({ids}); give one token, with its leading space "
                         f"(xlgpt tokenize shows the pieces)")
    return ids[0]


def same_length(clean: int, corrupt: int) -> None:
    if clean != corrupt:
        raise XlgptError(f"the clean prompt is {clean} tokens and the corrupted one {corrupt}: patching swaps "
                         f"activations position by position, so give two prompts of the same length in tokens "
                         f"(xlgpt tokenize shows them)")


def check(clean: str, corrupt: str, target: str | None, versus: str | None) -> None:
    """What can be said wrong before the workbook is read (GPT-2's tokenizer; the workbook's formulas tokenize
    the same way, and patch checks their count again)."""
    same_length(len(tokenizer.encode_ordinary(clean)), len(tokenizer.encode_ordinary(corrupt)))
    for text, what in ((target, "target"), (versus, "versus")):
        if text is not None:
            token_id(text, what)


def patch(book: Book, clean: str, corrupt: str, kinds: tuple[str, ...] = ("heads", "mlps"),
          target: str | None = None, versus: str | None = None, progress=None) -> dict:
    """Every component of `kinds` patched from the clean run into the corrupted one. Returns the result as
    `xlgpt patch --json` prints it; the book's prompt is set back afterwards (its values are then those of the
    corrupted run: recalculate before writing it)."""
    p = Patcher(book)
    try:
        c = p.run(clean)
        parts = components(book, kinds, len(c.token_ids))
        p.keep(c, parts)
        a = p.run(corrupt)  # the book holds the corrupted run, which each patched run starts from
        same_length(len(c.token_ids), len(a.token_ids))
        t = token_id(target, "target") if target is not None else int(np.argmax(c.logits))
        v = token_id(versus, "versus") if versus is not None else int(np.argmax(a.logits))
        if t == v:
            raise XlgptError(f"the target and the versus token are both {tokenizer.token_text(t)!r} (the clean and "
                             f"corrupted prompts predict the same token): give --target and --versus")
        clean_diff, corrupt_diff = c.logits[t] - c.logits[v], a.logits[t] - a.logits[v]
        if clean_diff == corrupt_diff:
            raise XlgptError(f"the logit difference {tokenizer.token_text(t)!r} - {tokenizer.token_text(v)!r} is "
                             f"the same on both prompts ({clean_diff:.6g}): nothing to restore; choose prompts that "
                             f"differ in it, or other tokens")
        rows = []
        for i, part in enumerate(parts, 1):
            if progress:
                progress(i, len(parts), part.name)
            logits = p.patched(part, c)
            diff = float(logits[t] - logits[v])
            rows.append({"component": part.name, "score": (diff - corrupt_diff) / (clean_diff - corrupt_diff),
                         "logit_diff": diff})
    finally:
        p.restore()
    rows.sort(key=lambda r: -abs(r["score"]))
    return {"clean": {"prompt": clean, "token_ids": c.token_ids, "logit_diff": float(clean_diff)},
            "corrupt": {"prompt": corrupt, "token_ids": a.token_ids, "logit_diff": float(corrupt_diff)},
            "target": {"id": t, "token": tokenizer.token_text(t)}, "versus": {"id": v, "token": tokenizer.token_text(v)},
            "components": rows}


def circuit(result: dict, threshold: float = 0.1, most: int = 8) -> list[str]:
    """The heads and MLPs whose score is at least `threshold` (at most `most`, largest first): a --keep-only
    list to test with `xlgpt sweep`."""
    return [r["component"] for r in result["components"]
            if not r["component"].startswith("resid") and r["score"] >= threshold][:most]


def table(result: dict, top: int = 20, book: str = "BOOK") -> str:
    """The largest scores as a person reads them, and the --keep-only line of the circuit they suggest."""
    t, v = result["target"]["token"], result["versus"]["token"]
    lines = [f"clean   {result['clean']['prompt']!r}: logit[{t!r}] - logit[{v!r}] = {result['clean']['logit_diff']:+.4f}",
             f"corrupt {result['corrupt']['prompt']!r}: {result['corrupt']['logit_diff']:+.4f}",
             "score: 1 = patching this component alone restores the clean difference, 0 = no effect", "",
             f"{'component':>16} {'score':>8} {'logit diff':>11}"]
    for r in result["components"][:top]:
        lines.append(f"{r['component']:>16} {r['score']:+8.3f} {r['logit_diff']:+11.4f}")
    if len(result["components"]) > top:
        lines.append(f"{'':>16} ... {len(result['components']) - top} more (--json for all)")
    keep = circuit(result)
    if keep:
        lines += ["", "the heads and MLPs scoring 0.1 or more, as a circuit to test over a prompt set:",
                  f"  xlgpt sweep {shlex.quote(book)} --prompts days --keep-only {','.join(keep)}"]
    return "\n".join(lines)


def patching_sheet(result: dict, command: str, n_layer: int, n_head: int, name: str = TAB) -> Sheet:
    """The scores as values, labelled with the command: a blocks x heads map with each block's MLP beside it, a
    blocks x positions map of the residual stream, and every component sorted. No styles (the tab may go into
    a workbook another program saved, whose style table xlgpt does not know); the maps are colour scales."""
    scores = {r["component"]: r["score"] for r in result["components"]}
    s = Sheet(name, col_widths={0: 18})
    s.add(Texts(0, 0, [[f"{MARK} {command}`"]]))
    s.add(Texts(1, 0, [["These are values, not formulas: the command evaluated this workbook's formulas on both "
                        "prompts and on the corrupted prompt with each component held at its clean values. Score: "
                        "(patched - corrupt) / (clean - corrupt) of logit[target] - logit[versus]; 1 restores the "
                        "clean behaviour, 0 does nothing."]]))
    t, v = result["target"], result["versus"]
    s.add(Texts(2, 0, [["clean", result["clean"]["prompt"], "logit diff", result["clean"]["logit_diff"]],
                       ["corrupt", result["corrupt"]["prompt"], "logit diff", result["corrupt"]["logit_diff"]],
                       ["target", t["token"], "id", t["id"]], ["versus", v["token"], "id", v["id"]]]))
    row = 7
    if any(k.startswith(("head", "mlp")) for k in scores):
        s.add(Texts(row, 0, [["heads and MLPs"] + [f"head {h}" for h in range(n_head)] + ["MLP"]]))
        grid = [[scores.get(f"head{layer}.{h}") for h in range(n_head)] + [scores.get(f"mlp{layer}")]
                for layer in range(n_layer)]
        s.add(Texts(row + 1, 0, [[f"block {i}"] + grid[i] for i in range(n_layer)]))
        s.color_scales.append(ColorScale(refs.area(row + 1, 1, n_layer, n_head + 1), **DIVERGING))
        row += n_layer + 3
    resid = [r for r in result["components"] if r["component"].startswith("resid")]
    if resid:
        tokens = [tokenizer.token_text(i) for i in result["corrupt"]["token_ids"]]
        n = len(tokens)
        s.add(Texts(row, 0, [["residual stream entering"] + [f"{p}: {tokens[p]}" for p in range(n)]]))
        s.add(Texts(row + 1, 0, [[f"block {i}"] for i in range(n_layer)]))
        s.add(Values(row + 1, 1, np.array([[scores[f"resid_pre{layer}@{p}"] for p in range(n)]
                                           for layer in range(n_layer)], dtype=np.float64)))
        s.color_scales.append(ColorScale(refs.area(row + 1, 1, n_layer, n), **DIVERGING))
        row += n_layer + 3
    s.add(Texts(row, 0, [["component", "score", "logit diff"]]))
    s.add(Texts(row + 1, 0, [[r["component"], r["score"], r["logit_diff"]] for r in result["components"]]))
    return s
