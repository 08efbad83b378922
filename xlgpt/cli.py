"""The `xlgpt` command line: maps arguments onto the commands' typed options (commands/), runs the command and
prints what it returns; every failure becomes one line with a documented exit status."""

import argparse
import json
import os
import sys
import time

from pathlib import Path

from . import __version__
from .commands.options import (BuildOptions, GenerateOptions, Output, PatchOptions, PredictOptions, RecalcOptions,
                               SweepOptions, Weights)
from .errors import XlgptError
from .workbook.prediction import print_prediction


# ---- options several commands share, declared once --------------------------------------------------------

def _set_arg(p, help: str) -> None:
    p.add_argument("--set", action="append", metavar="REF=VALUE", help=help)


def _keep_only_arg(p, help: str) -> None:
    p.add_argument("--keep-only", metavar="COMPONENTS", help=help)


def _output_args(p, out_help: str, in_place_help: str) -> None:
    p.add_argument("--out", metavar="PATH", help=out_help)
    p.add_argument("--in-place", action="store_true", help=in_place_help)
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")


def _write_tab_args(p, tab: str, what: str) -> None:
    """--write-tab and where it writes, for the commands that write nothing else (sweep, patch)."""
    p.add_argument("--write-tab", action="store_true",
                   help=f"add {what} to the workbook as the {tab} tab (with --out PATH or --in-place)")
    _output_args(p, "with --write-tab: write the workbook here", "with --write-tab: overwrite BOOK")


def _weights_args(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument("--weights", default=default, metavar="SRC",
                   help="model.safetensors (or its folder), gpt2|distilgpt2|gpt2-medium|gpt2-large|gpt2-xl, "
                        f"random, or random:NAME with NAME a family size incl. tiny (default: {default})")
    p.add_argument("--seed", type=int, default=0, help="seed for --weights random (default: 0)")
    p.add_argument("--layers", type=int, metavar="K", help="keep only the first K blocks")


def cmd_tokenize(a) -> None:
    from .commands import tokenize
    pieces = tokenize.run(a.text)
    if a.json:  # bytes that are not whole characters as a list of byte values
        print(json.dumps({"token_ids": [i for i, _ in pieces],
                          "tokens": [t if isinstance(t, str) else list(t) for _, t in pieces]}, ensure_ascii=False))
    else:
        for i, text in pieces:
            print(f"{i:6d}  {text!r}")


def cmd_predict(a) -> None:
    from .commands import predict
    print_prediction(predict.run(PredictOptions(a.prompt, _weights(a), a.top)), a.json)


DEFAULT_PROMPT = "If today is Monday, tomorrow is"


def cmd_recalc(a) -> int:
    from .commands import recalc
    r = recalc.run(RecalcOptions(Path(a.book), _output(a), tuple(a.set or ()), a.check, a.print_only),
                   progress=_Progress)
    if r.formula_cells is not None:
        where = f" into {r.out}" if r.out else " (nothing written)"
        print(json.dumps({"formula_cells": r.formula_cells, "out": str(r.out) if r.out else None}) if a.json
              else f"recalculated {r.formula_cells:,} formula cells{where}")
        return 0
    if r.error:
        written = f"{r.out} is written and shows this where the prediction goes" if r.out else "nothing written"
        print(f"xlgpt recalc: {r.error} ({written})", file=sys.stderr)
        return 1
    pred = r.prediction
    if a.json:
        pred["check"] = None if r.failed is None else ("ok" if not r.failed else r.failed)
    print_prediction(pred, a.json)
    if r.failed:
        raise XlgptError(f"--check: the workbook disagrees with the oracle at {', '.join(r.failed)}")
    if r.failed is not None and not a.json:
        print("check: every stage equals the oracle within 1e-9 (relative to the stage's largest value)")
    return 0


def cmd_sweep(a) -> None:
    from .commands import sweep
    from .workbook import sweep as workbook_sweep
    o = SweepOptions(Path(a.book), a.prompts, tuple(a.set or ()), a.keep_only, a.write_tab, _output(a),
                     Path(a.csv) if a.csv else None, a.json, a.feature, a.features)
    s = sweep.run(o, progress=_Progress)
    if s.out is not None:
        print(sweep.written(s), file=sys.stderr)
    if a.json:
        print(json.dumps(s.result, ensure_ascii=False))
        return
    if o.csv is not None:
        workbook_sweep.write_csv(o.csv, s.result)
    print(workbook_sweep.table(s.result))


def cmd_patch(a) -> None:
    from .commands import patch
    from .workbook import patching
    o = PatchOptions(Path(a.book), a.clean, a.corrupt, a.target, a.versus, patch.kinds(a.components), a.write_tab,
                     _output(a), a.json)
    p = patch.run(o, progress=_Progress)
    if p.out is not None:
        print(patch.written(p), file=sys.stderr)
    print(json.dumps(p.result, ensure_ascii=False) if a.json else patching.table(p.result, book=a.book))


def cmd_generate(a) -> None:
    from .commands import generate
    generate.run(GenerateOptions(Path(a.book), a.tokens, a.temperature, a.top_k, a.seed))


def cmd_build(a) -> None:
    from .commands import build
    from .model.knobs import SurgeryRequest
    request = SurgeryRequest(a.keep_only, a.steer_sae, a.steer_csv, tuple(a.steer_prompts) if a.steer_prompts else None,
                             a.layer, a.feature, a.coeff)
    o = BuildOptions(_weights(a), a.prompt, a.context, a.word_bytes, Path(a.out) if a.out else None, a.force,
                     a.lens, request, a.sae, a.sae_top, Path(a.sae_labels) if a.sae_labels else None)
    b = build.run(o, progress=_Progress("writing tab"))
    print(f"wrote {b.out}: {b.tabs} tabs, {b.weight_cells:,} weight cells, {b.megabytes:,.1f} MB "
          f"in {b.seconds:.1f} s", file=sys.stderr)
    if b.note:
        print(b.note, file=sys.stderr)
    print(build.next_step(b, _program()))


def _program() -> str:
    """How the user ran xlgpt, for the commands it suggests: .venv/bin/xlgpt, xlgpt, or python -m xlgpt."""
    name = sys.argv[0] if sys.argv else ""
    return name if os.path.basename(name) == "xlgpt" else "python -m xlgpt"


def _weights(a) -> Weights:
    return Weights(a.weights, a.seed, a.layers)


def _output(a) -> Output:
    return Output(Path(a.out) if a.out else None, a.in_place, a.force)


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
    _keep_only_arg(g, "switch off every head and MLP but these, e.g. mlp0,head9.1,head10.3,mlp9")
    g.add_argument("--steer-sae", metavar="SAE", help="steer with a SAELens SAE's decoder row (with --feature): a "
                   "folder, or RELEASE/ID from the hub, e.g. gpt2-small-res-jb/blocks.2.hook_resid_pre")
    g.add_argument("--feature", type=int, metavar="F", help="the SAE feature for --steer-sae")
    g.add_argument("--steer-prompts", nargs=2, metavar=("A", "B"),
                   help="steer with the residual stream of prompt A minus that of B before --layer (last position)")
    g.add_argument("--steer-csv", metavar="PATH", help="steer with a vector of numbers from a CSV file")
    g.add_argument("--layer", type=int, metavar="L", help="the block the steering vector is added before")
    g.add_argument("--coeff", type=float, default=1.0, metavar="C", help="the steering coefficient (default: 1)")
    g.add_argument("--lens", action=argparse.BooleanOptionalAction, default=None,
                   help="the logit lens tabs (default: when they add at most 15%% of the weights' cells, e.g. GPT-2 small "
                        "at 16 positions, or at most 4 M cells, e.g. tiny)")
    g = p.add_argument_group("features (a sparse autoencoder's encoder in formulas: the Features tab)")
    g.add_argument("--sae", metavar="SAE", help="a SAELens SAE on a residual stream: a folder (cfg.json, "
                   "sae_weights.safetensors), or RELEASE/ID, e.g. gpt2-small-res-jb/blocks.2.hook_resid_pre")
    g.add_argument("--sae-top", type=int, default=10, metavar="K", help="features listed per position (default: 10)")
    g.add_argument("--sae-labels", metavar="FILE", help="feature descriptions: Neuronpedia's export, JSON or CSV of "
                   "index -> description")
    p.set_defaults(run=cmd_build)

    p = sub.add_parser("recalc", help="evaluate every formula of a workbook and write the values back")
    p.add_argument("book")
    _set_arg(p, "edit a cell first: 'Sheet'!B7=0.5 or a defined name, Prompt=text (repeatable)")
    _output_args(p, "write the recalculated workbook here", "overwrite BOOK")
    p.add_argument("--check", action="store_true", help="also compare every stage with the NumPy oracle")
    p.add_argument("--print-only", action="store_true",
                   help="recalculate in memory and print the prediction; write nothing (no --out needed)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_recalc)

    p = sub.add_parser("sweep", help="the workbook's own prediction for every prompt of a set, with and without "
                                     "surgery knobs")
    p.add_argument("book")
    p.add_argument("--prompts", required=True, metavar="SOURCE",
                   help="a .jsonl or .csv file (prompt, optional expected), or a built-in set: days, ioi")
    _set_arg(p, "a knob to compare with the workbook as it is: 'Sheet'!B7=0.5, HeadGates(9,1)=0 (repeatable)")
    _keep_only_arg(p, "compare with every head and MLP off but these, e.g. mlp0,head9.1,head10.3,mlp9")
    p.add_argument("--json", action="store_true", help="print one JSON object: baseline, edited, summary")
    p.add_argument("--csv", metavar="PATH", help="also write the rows to a CSV file")
    p.add_argument("--feature", type=int, metavar="F", help="with an SAE (build --sae): each prompt's largest "
                   "activation of feature F and the token where it happens, largest first")
    p.add_argument("--features", action="store_true", help="with an SAE: the most active features at each "
                   "prompt's last position")
    _write_tab_args(p, "Experiments", "the results")
    p.set_defaults(run=cmd_sweep)

    p = sub.add_parser("patch", help="activation patching: which heads, MLPs and residual positions carry the "
                                     "clean prompt's behaviour into the corrupted one")
    p.add_argument("book")
    p.add_argument("--clean", required=True, metavar="TEXT", help="the prompt whose behaviour is studied")
    p.add_argument("--corrupt", required=True, metavar="TEXT",
                   help="the same prompt with the telling part changed (as many tokens)")
    p.add_argument("--target", metavar="TOKEN", help="the token the clean run should predict (default: its top token)")
    p.add_argument("--versus", metavar="TOKEN", help="the token compared with it (default: the corrupted run's top)")
    p.add_argument("--components", default="heads,mlps", metavar="KINDS",
                   help="what to patch: heads, mlps, resid (the residual stream per block and position); "
                        "default heads,mlps")
    p.add_argument("--json", action="store_true", help="print one JSON object: clean, corrupt, target, versus, "
                                                       "components")
    _write_tab_args(p, "Patching", "the scores")
    p.set_defaults(run=cmd_patch)

    p = sub.add_parser("generate", help="append the predicted token and recalculate, N times")
    p.add_argument("book")
    p.add_argument("--tokens", type=int, default=10, metavar="N")
    p.add_argument("--temperature", type=float, default=0.0, metavar="T", help="0 (default): greedy")
    p.add_argument("--top-k", type=int, default=0, metavar="K", help="sample among the K most likely (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_generate)
    return ap


# Exit statuses (docs/UNTRUSTED.md lists them): 0 done; 1 the workbook computed no prediction (its prompt does not
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
_TEXT_OPTIONS = ("set", "prompt", "text", "steer_prompts", "keep_only", "clean", "corrupt", "target", "versus",
                 "components")


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
