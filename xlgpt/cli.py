"""The `xlgpt` command line. Each subcommand is a thin shell over a module; errors become one line."""

import argparse
import json
import sys

from . import tokenizer
from .errors import XlgptError


def _weights_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--weights", default=default, metavar="SRC",
                   help="model.safetensors (or its folder), gpt2|distilgpt2|gpt2-medium|gpt2-large|gpt2-xl, "
                        f"random, or random:NAME with NAME a family size incl. tiny (default: {default})")
    p.add_argument("--seed", type=int, default=0, help="seed for --weights random (default: 0)")
    p.add_argument("--layers", type=int, metavar="K", help="keep only the first K blocks")


def prediction_json(token_ids, ids, probs, logits) -> dict:
    """The shape every command that reports a prediction prints with --json."""
    return {"token_ids": [int(i) for i in token_ids],
            "top": [{"id": int(i), "token": tokenizer.token_text(i), "prob": float(p), "logit": float(logits[i])}
                    for i, p in zip(ids, probs)]}


def print_prediction(pred: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(pred, ensure_ascii=False))
        return
    print(f"{len(pred['token_ids'])} tokens: {pred['token_ids']}")
    for rank, t in enumerate(pred["top"], 1):
        print(f"{rank:3d}. {t['prob']:8.4%}  {t['id']:6d}  {t['token']!r}")


def cmd_tokenize(a) -> None:
    ids = tokenizer.encode(a.text)
    if a.json:
        print(json.dumps({"token_ids": ids, "tokens": [tokenizer.token_text(i) for i in ids]}, ensure_ascii=False))
    else:
        for i in ids:
            print(f"{i:6d}  {tokenizer.token_text(i)!r}")


def cmd_predict(a) -> None:
    import numpy as np
    from . import checkpoint, oracle
    ids = _prompt_ids(a.prompt)
    ckpt = checkpoint.load(a.weights, seed=a.seed, layers=a.layers)
    if len(ids) > ckpt.config.n_ctx:
        raise XlgptError(f"the prompt is {len(ids)} tokens; this model's context is {ckpt.config.n_ctx}: shorten it")
    logits = oracle.forward(ckpt.params, ckpt.config, ids)["logits"][-1]
    top_ids, probs = oracle.top_k(logits, a.top)
    print_prediction(prediction_json(ids, top_ids, probs, np.asarray(logits)), a.json)


DEFAULT_PROMPT = "If today is Monday, tomorrow is"


def cmd_build(a) -> None:
    import os
    import time
    from pathlib import Path
    from . import builder, checkpoint
    from .xlsx.packager import write_book
    out = Path(a.out) if a.out else Path("output") / f"{_slug(a.weights)}-{a.context}.xlsx"
    if not a.out:
        out.parent.mkdir(exist_ok=True)
    if out.suffix.lower() != ".xlsx":
        raise XlgptError(f"--out {out}: the workbook must end in .xlsx")
    if out.exists() and not a.force:
        raise XlgptError(f"{out} exists: pass --force to overwrite it, or choose another --out")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise XlgptError(f"--out {out}: cannot write to the folder {out.parent}; create it or choose another --out")
    t0 = time.perf_counter()
    ckpt = checkpoint.load(a.weights, seed=a.seed, layers=a.layers)
    n_params = ckpt.n_params
    book = builder.build_workbook(ckpt, a.prompt, a.context)
    write_book(book, out, progress=_Progress(len(book.sheets)))
    size = out.stat().st_size / 1e6
    print(f"wrote {out}: {len(book.sheets)} tabs, {n_params:,} weight cells, {size:,.1f} MB "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


class _Progress:
    """One line per sheet on a terminal (overwritten in place), and a line every 10% elsewhere."""

    def __init__(self, n: int):
        self.n, self.tty, self.shown = n, sys.stderr.isatty(), -1

    def __call__(self, i: int, n: int, name: str) -> None:
        if self.tty:
            print(f"\r\x1b[Kwriting tab {i}/{n}: {name}", end="" if i < n else "\n", file=sys.stderr, flush=True)
        elif (decile := 10 * i // n) > self.shown:
            self.shown = decile
            print(f"writing tab {i}/{n}: {name}", file=sys.stderr, flush=True)


def _slug(weights: str) -> str:
    from pathlib import Path
    return Path(weights).stem if Path(weights).exists() else weights.replace(":", "-")


def _prompt_ids(prompt: str) -> list[int]:
    ids = tokenizer.encode(prompt)
    if not ids:
        raise XlgptError("the prompt is empty: give --prompt TEXT with at least one character")
    return ids


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="xlgpt", description="GPT-2 as a spreadsheet of ordinary formulas.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tokenize", help="print GPT-2 token ids and pieces of TEXT")
    p.add_argument("text")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_tokenize)

    p = sub.add_parser("predict", help="the top next tokens, computed by the NumPy reference (oracle)")
    p.add_argument("--prompt", required=True)
    _weights_args(p, default="gpt2")
    p.add_argument("--top", type=int, default=10, metavar="K")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("build", help="write GPT-2 and a prompt as an .xlsx workbook of formulas")
    _weights_args(p, default="gpt2")
    p.add_argument("--prompt", default=DEFAULT_PROMPT, help=f"the prompt (default: {DEFAULT_PROMPT!r})")
    p.add_argument("--context", type=int, default=16, metavar="N", help="positions in the workbook (default: 16)")
    p.add_argument("--out", metavar="PATH", help="the .xlsx to write (default: output/WEIGHTS-N.xlsx)")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.set_defaults(run=cmd_build)
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except XlgptError as e:
        print(f"xlgpt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"xlgpt {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
