"""What `xlgpt sweep --feature F` and `--features` read of a workbook built with --sae: the prompts that light
a feature (its largest activation over each prompt's positions, and the token where it happens) and the most
active features at each prompt's last position. From these max-activating examples a person deduces what a
feature is."""

import numpy as np

from .. import engine
from ..errors import XlgptError
from ..model import tokenizer
from ..sheet.book import Book
from . import names

NEEDED = [names.SAE_ACTIVATIONS, names.FEATURE_IDS, names.FEATURE_ACTS]  # what the sweep's plan evaluates too


def check(book: Book, feature: int | None) -> None:
    if names.SAE_ACTIVATIONS not in book.names:
        raise XlgptError("--feature and --features read the Features tab: this workbook has no sparse autoencoder; "
                         "build it with --sae")
    d_sae = engine.read_range(book, names.SAE_ACTIVATIONS).shape[0]
    if feature is not None and not 0 <= feature < d_sae:
        raise XlgptError(f"--feature {feature}: the workbook's SAE has features 0 to {d_sae - 1}")


def read(book: Book, token_ids: list[int], feature: int | None, features: bool) -> dict:
    """The fields a sweep row gains: "feature" {id, max, position, token} and "features" [{id, activation}]."""
    out = {}
    n = len(token_ids)
    if feature is not None:
        acts = np.asarray(engine.read_range(book, names.SAE_ACTIVATIONS)[feature, :n], dtype=np.float64)
        p = int(np.argmax(acts))  # the first position of the largest activation
        out["feature"] = {"id": feature, "max": float(acts[p]), "position": p,
                          "token": tokenizer.token_text(token_ids[p])}
    if features:
        ids = engine.read_range(book, names.FEATURE_IDS)[n - 1]
        acts = engine.read_range(book, names.FEATURE_ACTS)[n - 1]
        out["features"] = [{"id": int(i), "activation": float(a)} for i, a in zip(ids, acts)
                           if isinstance(i, float) and a > 0]
    return out


def by_activation(rows: list[dict]) -> list[int]:
    """The rows' order, largest activation of the feature first (prompts that do not fit last)."""
    return sorted(range(len(rows)), key=lambda i: -rows[i]["feature"]["max"] if "feature" in rows[i] else np.inf)


def table(rows: list[dict]) -> str:
    """The feature's report as a person reads it: a row per prompt."""
    lines = []
    if rows and any("feature" in r for r in rows):
        f = next(r["feature"]["id"] for r in rows if "feature" in r)
        lines.append(f"feature {f}: its largest activation in each prompt, and where")
        lines.append(f"{'max':>9} {'pos':>4} {'token':>14}   prompt")
        for r in rows:
            if "feature" in r:
                x = r["feature"]
                lines.append(f"{x['max']:9.4f} {x['position']:4d} {short(repr(x['token']), 14):>14}   "
                             f"{short(r['prompt'], 60)}")
    if rows and any("features" in r for r in rows):
        lines.append("the most active features at each prompt's last position (id:activation)")
        for r in rows:
            if "features" in r:
                top = ", ".join(f"{x['id']}:{x['activation']:.3g}" for x in r["features"][:8])
                lines.append(f"  {short(r['prompt'], 50):50}  {top or 'none active'}")
    return "\n".join(lines)


def short(text: str, width: int) -> str:
    """Text cut to `width` characters for a printed table, its line breaks and tabs shown as symbols."""
    text = text.replace("\n", "⏎").replace("\r", "⏎").replace("\t", "→")
    return text if len(text) <= width else text[:width - 1] + "…"
