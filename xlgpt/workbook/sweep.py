"""`xlgpt sweep`: the workbook's own formulas on every prompt of a set, with and without surgery knobs.

A workbook holds one prompt's formulas at a time. The sweep reads it once and, for each prompt, sets the Prompt
cell and recalculates in memory with the engine (only what the prediction depends on: a plan made once), then
reads the prediction from the workbook's defined names. With knobs (--set on constants, --keep-only) it runs
the set twice, the workbook as it is and the workbook with the knobs, and reports both and the change. No file
is written per prompt; --write-tab adds the results to the workbook as the Experiments tab.

Sets: a JSONL file (one object a line: "prompt", optional "expected"), a CSV file (a header with prompt and
optionally expected), or a built-in set (SETS).
"""

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import engine
from ..sheet.edits import apply, parse_set
from ..sheet.book import Book, Sheet, Texts
from ..sheet.cells import MAX_TEXT, too_long
from ..errors import XlgptError
from ..model import tokenizer
from .prediction import prediction_and_logits, require_tokenizer
from . import feature_report, names, result_tab, surgery

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# The days-of-week study: "If today is Monday, tomorrow is" -> " Tuesday", and two other phrasings of the same
# question, seven days each.
DAY_PHRASINGS = ["If today is {day}, tomorrow is", "Today is {day}, so tomorrow will be", "The day after {day} is"]
# Indirect-object identification: the name that did not give is the one that receives.
IOI = [
    ("When Mary and John went to the store, John gave a drink to", " Mary"),
    ("When John and Mary went to the store, Mary gave a drink to", " John"),
    ("When Tom and James went to the park, James gave a ball to", " Tom"),
    ("When James and Tom went to the park, Tom gave a ball to", " James"),
    ("After Alice and Bob went to the party, Bob gave a gift to", " Alice"),
    ("After Sarah and David had dinner, David handed the bill to", " Sarah"),
]


@dataclass
class Case:
    prompt: str
    expected: str | None = None  # the token the prompt should be followed by, with its leading space


def _days() -> list[Case]:
    return [Case(p.format(day=d), " " + DAYS[(i + 1) % 7]) for p in DAY_PHRASINGS for i, d in enumerate(DAYS)]


SETS = {"days": _days, "ioi": lambda: [Case(p, e) for p, e in IOI]}


def load_cases(source: str) -> list[Case]:
    """A built-in set by name, or the prompts of a .jsonl or .csv file."""
    if source in SETS and not Path(source).exists():
        return SETS[source]()
    path = Path(source)
    if not path.is_file():
        raise XlgptError(f"--prompts {source}: no such file, and not a built-in set ({', '.join(SETS)})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise XlgptError(f"--prompts {source}: cannot read it as UTF-8 text ({e})") from None
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may be inside a prompt
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise XlgptError(f"--prompts {source}: line {n} is not JSON ({e})") from None
    elif path.suffix.lower() == ".csv":
        try:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as e:  # e.g. a field past the csv module's 131,072 characters
            raise XlgptError(f"--prompts {source}: not a CSV file xlgpt can read ({e})") from None
    else:
        raise XlgptError(f"--prompts {source}: give a .jsonl or .csv file (prompt, optional expected)")
    cases = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
            raise XlgptError(f"--prompts {source}: row {n} has no \"prompt\" text")
        expected = row.get("expected")
        if expected is not None and not isinstance(expected, str):
            raise XlgptError(f"--prompts {source}: row {n}'s \"expected\" is not text")
        for what, value in (("prompt", row["prompt"]), ("expected", expected or "")):
            bad = next((ch for ch in value if "\ud800" <= ch <= "\udfff"), None)
            if bad is not None:  # JSON's \ud83d without its pair: no character, nothing Excel or UTF-8 can hold
                raise XlgptError(f"--prompts {source}: row {n}'s \"{what}\" holds a lone surrogate "
                                 f"(U+{ord(bad):04X}), which is not a character; write the whole character")
            if too_long(value):
                raise XlgptError(f"--prompts {source}: row {n}'s \"{what}\" is {len(value):,} characters; a cell "
                                 f"holds at most {MAX_TEXT:,} (Excel's limit)")
        cases.append(Case(row["prompt"], expected or None))
    if not cases:
        raise XlgptError(f"--prompts {source}: no prompts in it")
    return cases


@dataclass
class Run:
    """One pass over the set: the rows, in predict --json's shape plus the expected token's place."""
    label: str
    rows: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        scored = [r for r in self.rows if r["error"] is None and r["expected_id"] is not None]
        out = {"prompts": len(self.rows), "scored": len(scored),
               "errors": sum(r["error"] is not None for r in self.rows)}
        if scored:
            out["top1_accuracy"] = sum(r["top"][0]["id"] == r["expected_id"] for r in scored) / len(scored)
            out["mean_expected_prob"] = float(np.mean([r["expected_prob"] for r in scored]))
            out["mean_expected_rank"] = float(np.mean([r["expected_rank"] for r in scored]))
            out["mean_logit_diff"] = float(np.mean([r["logit_diff"] for r in scored]))
        return out


class Sweep:
    """A workbook read once, ready to predict any prompt with its own formulas."""

    def __init__(self, book: Book, feature: int | None = None, features: bool = False):
        require_tokenizer(book)
        self.book, self.feature, self.features = book, feature, features
        if feature is not None or features:
            feature_report.check(book, feature)
        # what the prediction depends on, ordered once: the logit lens and the tabs that only show are left out
        self.plan = engine.make_plan(book, list(names.PREDICTION) + [names.TOKEN_ERROR] +
                                     (feature_report.NEEDED if feature is not None or features else []))

    def row(self, case: Case) -> dict:
        """The workbook's prediction for one prompt (its error, when the prompt does not fit); the Prompt cell
        is set back afterwards."""
        undo = apply(self.book, parse_set(self.book, f"{names.PROMPT}={case.prompt}"))
        try:
            engine.recalculate(self.book, plan=self.plan)
            return self._read(case)
        finally:
            undo()

    def _read(self, case: Case) -> dict:
        expected_id, expected_error = _expected_id(case.expected)
        row = {"prompt": case.prompt, "token_ids": [], "top": [], "expected": case.expected,
               "expected_id": expected_id, "expected_prob": None, "expected_rank": None, "logit_diff": None,
               "error": None}
        error = engine.read_range(self.book, names.TOKEN_ERROR)[0, 0]
        if error:
            row["error"] = str(error)
            return row
        prediction, logits = prediction_and_logits(self.book)
        row.update(prediction)
        if self.feature is not None or self.features:
            row.update(feature_report.read(self.book, row["token_ids"], self.feature, self.features))
        if expected_error:
            row["error"] = expected_error
        elif expected_id is not None:
            row.update(_place(logits, expected_id))
        return row

    def run(self, label: str, cases: list[Case], progress=None) -> Run:
        out = Run(label)
        for i, case in enumerate(cases, 1):
            if progress:
                progress(i, len(cases), case.prompt)
            out.rows.append(self.row(case))
        return out


def _expected_id(expected: str | None):
    """(the expected token's id, or an error when the text is not one token)."""
    if expected is None:
        return None, None
    ids = tokenizer.encode_ordinary(expected)
    if len(ids) != 1:
        return None, (f"expected {expected!r} is {len(ids)} tokens ({ids}); give the one token that should follow, "
                      f"with its leading space")
    return ids[0], None


def _place(logits: np.ndarray, e: int) -> dict:
    """The expected token's probability (the workbook's softmax: exp(logit - max) / sum), its rank (ties go to the
    lower id, as the predict tab's), and its logit minus the best other token's: positive exactly when it is the
    top token."""
    m = logits.max()
    z = np.exp(logits - m)
    others = np.delete(logits, e)
    rank = 1 + int(np.sum(logits > logits[e])) + int(np.sum(logits[:e] == logits[e]))
    return {"expected_prob": float(z[e] / z.sum()), "expected_rank": rank,
            "logit_diff": float(logits[e] - others.max())}


# ---- knobs -----------------------------------------------------------------------------------------------------

def knob_edits(book: Book, sets: list[str], keep_only: str | None) -> list[str]:
    """--set edits, and --keep-only as edits of the Surgery tab's gates (every head and MLP off but those named;
    attention gates stay 1)."""
    edits = list(sets)
    if keep_only:
        from ..model.knobs import keep_only as gates_for
        if names.HEAD_GATES not in book.names:
            raise XlgptError("--keep-only: this workbook has no Surgery tab (HeadGates); build it again with this xlgpt")
        n_layer, n_head = engine.read_range(book, names.HEAD_GATES).shape
        knobs = gates_for(keep_only, _Shape(n_layer, n_head))
        edits += surgery.gate_edits(knobs.head_gates, knobs.attn_gates, knobs.mlp_gates)
    prompt = parse_set(book, f"{names.PROMPT}=x")
    for text in edits:  # every edit checked (set, then set back) before the first prompt is evaluated
        e = parse_set(book, text)
        if (e.sheet, e.row, e.col) == (prompt.sheet, prompt.row, prompt.col):
            raise XlgptError(f"--set {text}: the sweep sets the prompt itself; give the prompts with --prompts")
        apply(book, e)()
    return edits


@dataclass
class _Shape:
    """What keep_only needs of a model's config, from the workbook's HeadGates."""
    n_layer: int
    n_head: int


def sweep(book: Book, cases: list[Case], edits: list[str], progress=None, label: str | None = None,
          restore: bool = True, feature: int | None = None, features: bool = False) -> dict:
    """{"baseline": rows, "edited": rows (with edits), "summary": {...}}; the book's prompt and knobs are set
    back as they were, and with `restore` its values recalculated (needed before the book is written)."""
    s = Sweep(book, feature, features)
    undo = []
    try:
        base = s.run("baseline", cases, progress("baseline") if progress else None)
        if feature is not None:  # the prompts that light the feature most first (the edited run in that order)
            order = feature_report.by_activation(base.rows)
            base.rows, cases = [base.rows[i] for i in order], [cases[i] for i in order]
        result = {"baseline": base.rows}
        summary = {"baseline": base.summary()}
        if edits:
            for text in edits:  # each undo kept as soon as its edit is made
                undo.append(apply(book, parse_set(book, text)))
            edited = s.run("edited", cases, progress("edited") if progress else None)
            result["edited"] = edited.rows
            summary["edited"] = edited.summary()
            summary["change"] = {k: summary["edited"][k] - summary["baseline"][k]
                                 for k in ("top1_accuracy", "mean_expected_prob", "mean_expected_rank",
                                           "mean_logit_diff") if k in summary["baseline"] and k in summary["edited"]}
            summary["knobs"] = edits
            summary["knobs_label"] = label or f"{len(edits)} knob edit{'s' * (len(edits) != 1)}"
    finally:
        for u in reversed(undo):
            u()
        if restore:
            engine.recalculate(book)
    result["summary"] = summary
    return result


# ---- output ----------------------------------------------------------------------------------------------------

def table(result: dict) -> str:
    """The sweep as a person reads it: a row per prompt, then the summary."""
    base, edited = result["baseline"], result.get("edited")
    lines = []
    head = f"{'prompt':42} {'expected':>12} │ {'top':>12} {'p':>7} {'p(exp)':>7} {'rank':>6} {'Δlogit':>7}"
    if edited is not None:
        head += f" │ {'top':>12} {'p':>7} {'p(exp)':>7} {'rank':>6} {'Δlogit':>7} │ {'Δp(exp)':>8}"
        lines.append(f"{'':42} {'':>12} │ {'baseline':^43} │ {feature_report.short(result['summary']['knobs_label'], 43):^43} │")
    lines.append(head)
    for i, row in enumerate(base):
        expected = feature_report.short(repr(row["expected"]), 12) if row["expected"] is not None else ""
        line = f"{feature_report.short(row['prompt'], 42):42} {expected:>12} │ {_cells(row)}"
        if edited is not None:
            other = edited[i]
            line += f" │ {_cells(other)} │ "
            if row["expected_prob"] is not None and other["expected_prob"] is not None:
                line += f"{_p(other['expected_prob'] - row['expected_prob'], sign=True):>8}"
        lines.append(line)
    lines.append("")
    for label, s in result["summary"].items():
        if label in ("baseline", "edited"):
            lines.append(f"{label}: " + _summary_line(s))
    if "change" in result["summary"]:
        c = result["summary"]["change"]
        if c:
            lines.append(f"change: top-1 accuracy {c['top1_accuracy']:+.1%}, mean p(expected) "
                         f"{_p(c['mean_expected_prob'], sign=True)}, mean rank {c['mean_expected_rank']:+.1f}, "
                         f"mean Δlogit {c['mean_logit_diff']:+.2f}")
    report = feature_report.table(base)
    if report:
        lines += ["", report]
        if edited is not None:
            lines += ["", f"with {result['summary']['knobs_label']}:", feature_report.table(edited)]
    return "\n".join(lines)


def _cells(row: dict) -> str:
    if row["error"] is not None:
        return feature_report.short("error: " + row["error"], 43).ljust(43)
    top = row["top"][0]
    token = feature_report.short(repr(top["token"]), 12)
    if row["expected_prob"] is None:
        return f"{token:>12} {_p(top['prob']):>7} {'':>7} {'':>6} {'':>7}"
    return (f"{token:>12} {_p(top['prob']):>7} {_p(row['expected_prob']):>7} "
            f"{row['expected_rank']:6d} {row['logit_diff']:+7.2f}")


def _p(p: float, sign: bool = False) -> str:
    """A probability as a percentage, or in scientific notation when it is below 0.1% (random weights)."""
    if abs(p) < 1e-3:
        return f"{p:+.1e}" if sign else f"{p:.1e}"
    return f"{p:+.1%}" if sign else f"{p:.1%}"


def _summary_line(s: dict) -> str:
    text = f"{s['prompts']} prompts, {s['errors']} that do not fit"
    if s.get("scored"):
        text += (f"; top-1 accuracy {s['top1_accuracy']:.1%} of {s['scored']}, mean p(expected) "
                 f"{_p(s['mean_expected_prob'])}, mean rank {s['mean_expected_rank']:.1f}, "
                 f"mean Δlogit {s['mean_logit_diff']:+.2f}")
    return text


CSV_COLUMNS = ["run", "prompt", "expected", "expected_id", "top_id", "top_token", "top_prob", "expected_prob",
               "expected_rank", "logit_diff", "error", "feature_id", "feature_max", "feature_position",
               "feature_token"]


def csv_rows(result: dict):
    for label in ("baseline", "edited"):
        for row in result.get(label, []):
            top = row["top"][0] if row["top"] else {}
            yield {"run": label, "prompt": row["prompt"], "expected": row["expected"] or "",
                   "expected_id": _blank(row["expected_id"]), "top_id": top.get("id", ""),
                   "top_token": top.get("token", ""), "top_prob": top.get("prob", ""),
                   "expected_prob": _blank(row["expected_prob"]), "expected_rank": _blank(row["expected_rank"]),
                   "logit_diff": _blank(row["logit_diff"]), "error": row["error"] or ""} | _feature_fields(row)


def _feature_fields(row: dict) -> dict:
    """--feature F's columns: its id, largest activation, and where (empty without --feature)."""
    f = row.get("feature") or {}
    return {"feature_id": f.get("id", ""), "feature_max": f.get("max", ""), "feature_position": f.get("position", ""),
            "feature_token": f.get("token", "")}


def write_csv(path: Path, result: dict) -> None:
    """The rows of every run as CSV (UTF-8), through a temporary file renamed into place."""
    from ..xlsx.atomic import atomic_output
    with atomic_output(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        w = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerows(csv_rows(result))
        text.flush()
        text.detach()


def _blank(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else v


# ---- the Experiments tab ---------------------------------------------------------------------------------------

EXPERIMENTS = "Experiments"
# the first words of the tab's A1: the mark of a tab xlgpt wrote, which a later sweep may replace
MARK = "Experiments: computed by `xlgpt sweep"


def experiments_sheet(result: dict, source: str, name: str = EXPERIMENTS) -> Sheet:
    """The sweep's results as values, labelled as what they are: not formulas, and not this workbook's prompt.
    No styles: the tab may go into a workbook another program saved, whose style table xlgpt does not know."""
    knobs = result["summary"].get("knobs") or []
    s = Sheet(name, col_widths={0: 9, 1: 48, 2: 12, 3: 12})
    label = result["summary"].get("knobs_label") if knobs else None  # --keep-only ..., --set ...
    s.add(Texts(0, 0, [[f"{MARK} --prompts {source}{' ' + label if label else ''}`"]]))
    s.add(Texts(1, 0, [["These are values, not formulas: the sweep set each prompt in the Prompt cell, recalculated "
                        "this workbook's own formulas and copied the prediction here. They do not follow edits; "
                        "run the sweep again for that."]]))
    s.add(Texts(2, 0, [["knobs", "; ".join(knobs) if knobs else "none: the workbook as it is"]]))
    header = ["run", "prompt", "expected", "top token", "top prob", "p(expected)", "rank", "logit diff", "error",
              "feature", "its max", "at position", "token"]
    s.add(Texts(4, 0, [header]))
    data = []
    for label in ("baseline", "edited"):
        for row in result.get(label, []):
            top = row["top"][0] if row["top"] else {}
            f = _feature_fields(row)
            data.append([label, row["prompt"], row["expected"], top.get("token"), top.get("prob"),
                         row["expected_prob"], row["expected_rank"], row["logit_diff"], row["error"],
                         *(f[k] if f[k] != "" else None for k in ("feature_id", "feature_max", "feature_position",
                                                                 "feature_token"))])
    s.add(Texts(5, 0, data))
    r = 6 + len(data)
    s.add(Texts(r, 0, [["summary", "top-1 accuracy", "mean p(expected)", "mean rank", "mean logit diff", "prompts",
                        "do not fit"]]))
    lines = []
    for label in ("baseline", "edited", "change"):
        m = result["summary"].get(label)
        if m:
            lines.append([label, m.get("top1_accuracy"), m.get("mean_expected_prob"), m.get("mean_expected_rank"),
                          m.get("mean_logit_diff"), m.get("prompts"), m.get("errors")])
    s.add(Texts(r + 1, 0, lines))
    return s


def write_tab(rb, dest: Path, result: dict, source: str, progress=None, still_source=None) -> str:
    """The workbook, as it was read, with the sweep's tab; returns the tab's name (workbook/result_tab.py: an
    earlier sweep's tab is replaced, a tab of the user's never touched)."""
    return result_tab.write_tab(rb, dest, lambda name: experiments_sheet(result, source, name), EXPERIMENTS, MARK,
                                progress, still_source)
