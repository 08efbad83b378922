"""The `xlgpt` command line. Each subcommand is a thin shell over a module; errors become one line."""

import argparse
import json
import os
import sys
import time

import numpy as np

from . import __version__
from .errors import XlgptError
from .model import tokenizer
from .prediction import prediction_json, print_prediction
from .workbook import names


def _weights_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--weights", default=default, metavar="SRC",
                   help="model.safetensors (or its folder), gpt2|distilgpt2|gpt2-medium|gpt2-large|gpt2-xl, "
                        f"random, or random:NAME with NAME a family size incl. tiny (default: {default})")
    p.add_argument("--seed", type=int, default=0, help="seed for --weights random (default: 0)")
    p.add_argument("--layers", type=int, metavar="K", help="keep only the first K blocks")


def cmd_tokenize(a) -> None:
    ids = tokenizer.encode(a.text)
    if a.json:
        print(json.dumps({"token_ids": ids, "tokens": [tokenizer.token_text(i) for i in ids]}, ensure_ascii=False))
    else:
        for i in ids:
            print(f"{i:6d}  {tokenizer.token_text(i)!r}")


def cmd_predict(a) -> None:
    from .model import checkpoint, oracle
    ids = _prompt_ids(a.prompt)
    ckpt = checkpoint.load(a.weights, seed=a.seed, layers=a.layers)
    if len(ids) > ckpt.config.n_ctx:
        raise XlgptError(f"the prompt is {len(ids)} tokens; this model's context is {ckpt.config.n_ctx}: shorten it")
    logits = oracle.forward(ckpt.params, ckpt.config, ids)["logits"][-1]
    top_ids, probs = oracle.top_k(logits, a.top)
    print_prediction(prediction_json(ids, top_ids, probs, np.asarray(logits)), a.json)


DEFAULT_PROMPT = "If today is Monday, tomorrow is"


def _output_path(a):
    from pathlib import Path
    src = Path(a.book)
    if not src.is_file():
        raise XlgptError(f"{src}: no such workbook")
    if a.in_place and a.out:
        raise XlgptError("--in-place and --out exclude each other: overwrite the workbook, or write PATH")
    if a.in_place:
        return src
    if not a.out:
        raise XlgptError("say where to write: --out PATH, or --in-place to overwrite the workbook")
    return _writable(Path(a.out), a.force)


def _writable(out, force: bool):
    """out, checked before any work: .xlsx, not an existing file unless --force, in a folder we may write."""
    if out.suffix.lower() != ".xlsx":
        raise XlgptError(f"--out {out}: the workbook must end in .xlsx")
    if out.is_dir():
        raise XlgptError(f"--out {out} is a folder; give a file name ending in .xlsx")
    if out.exists() and not force:
        raise XlgptError(f"{out} exists: pass --force to overwrite it, or choose another --out")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise XlgptError(f"--out {out}: cannot write to the folder {out.parent}; create it or choose another --out")
    return out


def cmd_recalc(a) -> int:
    from . import engine, recalc
    from .prediction import workbook_prediction
    from pathlib import Path
    out = _output_path(a)
    rb = recalc.recalculate_file(Path(a.book), out, a.set or [], progress=_Progress)
    if not set(names.PREDICTION) <= set(rb.book.names):
        # any workbook in the dialect recalculates; only xlgpt's have a prediction to show
        if a.check:
            raise XlgptError(f"{a.book} is not an xlgpt workbook (no {', '.join(names.PREDICTION)}): "
                             f"nothing to --check")
        cells = sum(b.nrows * b.ncols for s in rb.book.sheets for b in s.blocks if hasattr(b, "nrows"))
        print(json.dumps({"formula_cells": cells, "out": str(out)}) if a.json else f"recalculated {cells:,} formula cells into {out}")
        return
    error = engine.read_range(rb.book, names.TOKEN_ERROR)[0, 0] if names.TOKEN_ERROR in rb.book.names else ""
    if error:  # the prompt does not fit this workbook: no prediction to show, the workbook says why
        print(f"xlgpt recalc: {error} ({out} is written and shows this where the prediction goes)", file=sys.stderr)
        return 1
    pred = workbook_prediction(rb.book)
    failed = []
    if a.check:
        from .check import check
        for stage, diff, ok in check(rb.book):
            if not ok:
                failed.append(f"{stage} (max relative difference {diff:.3g})")
    if a.json:
        pred["check"] = None if not a.check else ("ok" if not failed else failed)
    print_prediction(pred, a.json)
    if failed:
        raise XlgptError(f"--check: the workbook disagrees with the oracle at {', '.join(failed)}")
    if a.check and not a.json:
        print("check: every stage equals the oracle within 1e-9 (relative to the stage's largest value)")
    return 0


def cmd_sweep(a) -> None:
    from pathlib import Path
    from . import recalc, sweep
    from .xlsx.atomic import exclusive
    from .xlsx.reader import read
    if a.json and a.csv:
        raise XlgptError("--json and --csv exclude each other: print JSON, or write the rows to a CSV file")
    if (a.out or a.in_place) and not a.write_tab:
        raise XlgptError("--out and --in-place go with --write-tab (the sweep writes nothing else)")
    out = _output_path(a) if a.write_tab else None
    csv_out = Path(a.csv) if a.csv else None
    if csv_out is not None and (csv_out.is_dir() or not csv_out.parent.is_dir()):
        raise XlgptError(f"--csv {csv_out}: give a file in an existing folder")
    cases = sweep.load_cases(a.prompts)
    src = Path(a.book)
    if not src.is_file():
        raise XlgptError(f"{src}: no such workbook")
    still_source = recalc.unchanged(src, "during the sweep")
    rb = read(src, progress=_Progress("reading tab"))
    edits = sweep.knob_edits(rb.book, a.set or [], a.keep_only)
    label = " ".join(([f"--keep-only {a.keep_only}"] if a.keep_only else []) + [f"--set {x}" for x in a.set or []])
    result = sweep.sweep(rb.book, cases, edits, progress=lambda run: _Progress(f"sweeping ({run})"), label=label,
                         restore=out is not None)  # the values matter only when the workbook is written
    if out is not None:
        with exclusive(out):
            tab = sweep.write_tab(rb, out, result, a.prompts, progress=_Progress("writing tab"),
                                  still_source=still_source)
        kept = "" if tab == sweep.EXPERIMENTS else f" (the tab {sweep.EXPERIMENTS} is not one a sweep wrote: left as it was)"
        print(f"wrote {out} with the tab {tab}{kept}", file=sys.stderr)
    if a.json:
        print(json.dumps(result, ensure_ascii=False))
    elif csv_out is not None:
        sweep.write_csv(csv_out, result)
        print(sweep.table(result))
    else:
        print(sweep.table(result))


def cmd_generate(a) -> None:
    from pathlib import Path
    from .generate import generate
    generate(Path(a.book), a.tokens, a.temperature, a.top_k, a.seed)


def cmd_build(a) -> None:
    from pathlib import Path
    from .model import checkpoint, knobs
    from .workbook import builder
    from .xlsx.packager import write_book
    out = Path(a.out) if a.out else Path("output") / f"{_slug(a.weights)}-{a.context}.xlsx"
    if not a.out:
        out.parent.mkdir(exist_ok=True)
    _writable(out, a.force)
    t0 = time.perf_counter()
    ckpt = checkpoint.load(a.weights, seed=a.seed, layers=a.layers,
                           fits=lambda cfg: builder.check_capacity(cfg, a.context, a.word_bytes))
    n_params = ckpt.n_params
    surgery = knobs.from_options(
        ckpt.config, a.keep_only, a.steer_sae, a.steer_csv, a.steer_prompts, a.layer, a.feature, a.coeff,
        prompts_vector=lambda layer: builder.steering_from_prompts(a.weights, a.seed, *a.steer_prompts, layer,
                                                                   a.context, a.word_bytes))
    book = builder.build_workbook(ckpt, a.prompt, a.context, a.word_bytes, surgery, a.lens)
    # the engine's cached values are in every formula cell: Excel can show them without recalculating
    write_book(book, out, full_calc_on_load=False, progress=_Progress("writing tab"))
    size = out.stat().st_size / 1e6
    print(f"wrote {out}: {len(book.sheets)} tabs, {n_params:,} weight cells, {size:,.1f} MB "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)


class _Progress:
    """Progress of one step on stderr: on a terminal one line overwritten in place (at most every 0.1 s, and
    at the end), elsewhere a line every 10%."""

    def __init__(self, verb: str):
        self.verb, self.tty, self.shown, self.last = verb, sys.stderr.isatty(), -1, 0.0

    def __call__(self, i: int, n: int, name: str) -> None:
        if self.tty:
            now = time.monotonic()
            if i == n or now - self.last >= 0.1:
                self.last = now
                print(f"\r\x1b[K{self.verb} {i}/{n}: {name}", end="" if i < n else "\n", file=sys.stderr, flush=True)
        elif (decile := 10 * i // n) > self.shown:
            self.shown = decile
            print(f"{self.verb} {i}/{n}: {name}", file=sys.stderr, flush=True)


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
    ap.add_argument("--version", action="version", version=f"xlgpt {__version__}")
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
    p.add_argument("--word-bytes", type=int, default=24, metavar="W",
                   help="bytes of one word (pre-token) the tokenizer's formulas take (default: 24)")
    p.add_argument("--out", metavar="PATH", help="the .xlsx to write (default: output/WEIGHTS-N.xlsx)")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    g = p.add_argument_group("surgery (the Surgery tab's starting values; every one stays editable in the workbook)")
    g.add_argument("--keep-only", metavar="COMPONENTS",
                   help="switch off every head and MLP but these, e.g. mlp0,head9.1,head10.3,mlp9")
    g.add_argument("--steer-sae", metavar="SAE", help="steer with a SAELens SAE's decoder row (with --feature): a "
                   "folder, or RELEASE/ID from the hub, e.g. gpt2-small-res-jb/blocks.2.hook_resid_pre")
    g.add_argument("--feature", type=int, metavar="F", help="the SAE feature for --steer-sae")
    g.add_argument("--steer-prompts", nargs=2, metavar=("A", "B"),
                   help="steer with the residual stream of prompt A minus that of B before --layer (last position)")
    g.add_argument("--steer-csv", metavar="PATH", help="steer with a vector of numbers from a CSV file")
    g.add_argument("--layer", type=int, metavar="L", help="the block the steering vector is added before")
    g.add_argument("--coeff", type=float, default=1.0, metavar="C", help="the steering coefficient (default: 1)")
    g.add_argument("--lens", action=argparse.BooleanOptionalAction, default=None,
                   help="the logit lens tabs (default: when they hold at most 4 M logits, e.g. tiny)")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser("recalc", help="evaluate every formula of a workbook and write the values back")
    p.add_argument("book")
    p.add_argument("--set", action="append", metavar="REF=VALUE",
                   help="edit a cell first: 'Sheet'!B7=0.5 or a defined name, Prompt=text (repeatable)")
    p.add_argument("--out", metavar="PATH", help="write the recalculated workbook here")
    p.add_argument("--in-place", action="store_true", help="overwrite BOOK")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.add_argument("--check", action="store_true", help="also compare every stage with the NumPy oracle")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_recalc)

    p = sub.add_parser("sweep", help="the workbook's own prediction for every prompt of a set, with and without "
                                     "surgery knobs")
    p.add_argument("book")
    p.add_argument("--prompts", required=True, metavar="SOURCE",
                   help="a .jsonl or .csv file (prompt, optional expected), or a built-in set: days, ioi")
    p.add_argument("--set", action="append", metavar="REF=VALUE",
                   help="a knob to compare with the workbook as it is: 'Sheet'!B7=0.5, HeadGates(9,1)=0 (repeatable)")
    p.add_argument("--keep-only", metavar="COMPONENTS",
                   help="compare with every head and MLP off but these, e.g. mlp0,head9.1,head10.3,mlp9")
    p.add_argument("--json", action="store_true", help="print one JSON object: baseline, edited, summary")
    p.add_argument("--csv", metavar="PATH", help="also write the rows to a CSV file")
    p.add_argument("--write-tab", action="store_true",
                   help="add the results to the workbook as the Experiments tab (with --out PATH or --in-place)")
    p.add_argument("--out", metavar="PATH", help="with --write-tab: write the workbook here")
    p.add_argument("--in-place", action="store_true", help="with --write-tab: overwrite BOOK")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.set_defaults(run=cmd_sweep)

    p = sub.add_parser("generate", help="append the predicted token and recalculate, N times")
    p.add_argument("book")
    p.add_argument("--tokens", type=int, default=10, metavar="N")
    p.add_argument("--temperature", type=float, default=0.0, metavar="T", help="0 (default): greedy")
    p.add_argument("--top-k", type=int, default=0, metavar="K", help="sample among the K most likely (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_generate)
    return ap


# Exit statuses (the README lists them): 0 done; 1 the workbook computed no prediction (its prompt does not
# fit); 2 bad input or usage; 3 a file could not be read or written (disk full, permissions); 4 out of
# memory; 70 a bug in xlgpt; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
EXIT_INPUT, EXIT_IO, EXIT_MEMORY, EXIT_BUG, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 3, 4, 70, 130, 143


def _on_sigterm(signum, frame):
    """SIGTERM: remove every temporary file being written and exit at once. Raising an exception from here
    instead could land inside a lock of the threading machinery and leave it broken."""
    from .xlsx.atomic import pending
    for tmp in pending():
        try:
            os.unlink(tmp)
        except OSError:
            pass
    os.write(2, b"xlgpt: terminated; nothing was written\n")  # not print: it may be mid-print already
    os._exit(EXIT_TERMINATED)


# The options that hold text for the workbook (not file names, which may be any bytes)
_TEXT_OPTIONS = ("set", "prompt", "text", "steer_prompts", "keep_only")


def _text_is_utf8(args) -> None:
    """Text given on the command line in bytes that are not UTF-8 reaches Python as lone surrogates
    (U+DC80..U+DCFF, 'surrogateescape'): no character a cell can hold, so one line, not a crash later."""
    for option in _TEXT_OPTIONS:
        value = getattr(args, option, None)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and any("\udc80" <= ch <= "\udcff" for ch in text):
                shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise XlgptError(f"--{option.replace('_', '-')} {shown}: holds bytes that are not UTF-8 text; "
                                 f"give it in UTF-8")


def main(argv=None) -> int:
    import signal
    import threading
    args = parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():  # only the main thread may set a handler
        signal.signal(signal.SIGTERM, _on_sigterm)
    fail = f"xlgpt {args.command}: error:"
    try:
        _text_is_utf8(args)
        return args.run(args) or 0
    except XlgptError as e:
        print(f"{fail} {e}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print(f"xlgpt {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError as e:
        print(f"{fail} out of memory ({e or 'MemoryError'}); this job needs more memory than the machine "
              f"has free: use a smaller model (--layers, --context) or free memory", file=sys.stderr)
        return EXIT_MEMORY
    except OSError as e:
        where = f" {e.filename}:" if e.filename else ""
        print(f"{fail}{where} {e.strerror or e}; nothing was written (free disk space or fix permissions, "
              f"then run again)", file=sys.stderr)
        return EXIT_IO
    except Exception as e:  # a bug: still one line, the traceback on request
        if os.environ.get("XLGPT_TRACEBACK"):
            raise
        print(f"{fail} internal error ({type(e).__name__}: {e}); please report it, with XLGPT_TRACEBACK=1 "
              f"for the traceback", file=sys.stderr)
        return EXIT_BUG


if __name__ == "__main__":
    sys.exit(main())
