"""What several test modules share: the tiny workbook as the tests build it, its check against the oracle, and
the guards for the other spreadsheet programs. The fixtures that hold them are in conftest.py."""

import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tiktoken
from tiktoken_ext.openai_public import r50k_pat_str

from workbook_io import area, named, numbers, open_values
import libreoffice
from xlgpt import engine
from xlgpt.sheet.cells import XlError, written_values
from xlgpt.model import checkpoint, oracle, tokenizer
from xlgpt.workbook import attention, builder, names, predict
from xlgpt.workbook.stages import position_results, stage_name
from xlgpt.xlsx.packager import write_book

def cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """`xlgpt ARGS...` in a subprocess, as a user runs it, with its output captured."""
    return subprocess.run([sys.executable, "-m", "xlgpt.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def recalc(*args) -> subprocess.CompletedProcess:
    """`xlgpt recalc ARGS...`, which must succeed."""
    r = cli("recalc", *args)
    assert r.returncode == 0, r.stderr
    return r


PROMPT = "Mike is quick. He moves"
REL = 1e-9
# tiktoken with GPT-2's own pattern and ranks, read offline: the tokenizer's independent reference
REFERENCE = tiktoken.Encoding("gpt2-reference", pat_str=r50k_pat_str, mergeable_ranks=tokenizer.mergeable_ranks(),
                              special_tokens={"<|endoftext|>": 50256})


def need_libreoffice():
    if libreoffice.soffice() is None:
        if os.environ.get("XLGPT_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required here (XLGPT_REQUIRE_LIBREOFFICE) but soffice is not on PATH")
        pytest.skip("LibreOffice (soffice) is not installed")


def engine_and_libreoffice(book, folder, sheet="F", name="book.xlsx"):
    """Every formula cell of `sheet` as the engine and LibreOffice compute it: (block, i, j, engine's value,
    LibreOffice's value). The book is written, recalculated by the engine and by LibreOffice headless; each
    test applies its own rules of agreement (the known differences it states)."""
    need_libreoffice()
    write_book(book, folder / name)
    engine.recalculate(book)
    lo = open_values(libreoffice.recalculate(folder / name, folder / "lo"))
    computed = book.sheet(sheet).computed
    for b in book.sheet(sheet).blocks:
        theirs = area(lo, sheet, b.row, b.col, b.nrows, b.ncols)
        for (i, j), ours in np.ndenumerate(computed[b]):
            yield b, i, j, ours, theirs[i, j]


def need_gnumeric():
    if shutil.which("ssconvert") is None:
        if os.environ.get("XLGPT_REQUIRE_LIBREOFFICE"):
            pytest.fail("Gnumeric's ssconvert is required here (CI installs gnumeric) but is not on PATH")
        pytest.skip("Gnumeric (ssconvert) is not installed")


class Built:
    """A built workbook, the checkpoint it came from, and the oracle run on the weights as written."""

    def __init__(self, tmp, weights, layers=None, n_ctx=16, lens=None, sae=None, sae_top=5):
        self.ckpt = checkpoint.load(weights, seed=3, layers=layers)
        self.ids = tokenizer.encode(PROMPT)
        self.n_ctx = n_ctx
        self.path = tmp / "book.xlsx"
        self.sae, self.sae_top = sae, sae_top
        write_book(builder.build_workbook(self.ckpt, PROMPT, n_ctx, lens=lens, sae=sae, sae_top=sae_top), self.path)
        self.as_written = {k: written_values(v) for k, v in self.ckpt.params.items()}
        self.ref = oracle.forward(self.as_written, self.ckpt.config, self.ids)
        self.ref_top_ids, self.ref_top_probs = oracle.top_k(self.ref["logits"][-1], predict.TOP_K)


def _grid(wb, where, n):
    """The first n rows (the prompt's positions) of an area of a position tab, as numbers."""
    return numbers(area(wb, where.sheet, where.row, where.col, n, where.ncols))


def check_against_oracle(wb, built):
    """Every stage, the attention patterns, Logits, TopIds and TopProbs against the oracle."""
    cfg, n = built.ckpt.config, len(built.ids)
    # every stage of the registry is recorded in the workbook as a defined name; read each stage from there
    results = dict(position_results(cfg, built.n_ctx))
    recorded = {k for k in wb.defined_names if k.startswith("Stage_")}
    assert recorded == {stage_name(tab) for tab in results}, recorded ^ {stage_name(tab) for tab in results}
    for name in results:
        got, want = numbers(named(wb, stage_name(name)))[:n], built.ref[name]
        diff = np.max(np.abs(got - want))
        assert diff <= REL * np.max(np.abs(want)), f"{name}: max difference {diff:.3g} from the oracle"
    for i in range(cfg.n_layer):
        for tab, name in ((f"h.{i}.attn.scores", "attn.scores"), (f"h.{i}.attn.probs", "attn.probs")):
            for h in range(cfg.n_head):
                got = _grid(wb, attention.head_area(tab, h, built.n_ctx), n)[:, :n]
                want = built.ref[f"h.{i}.{name}"][h]
                causal = np.tril(np.ones((n, n), dtype=bool))
                diff = np.max(np.abs(got - want)[causal])
                assert diff <= REL * np.max(np.abs(want[causal])), f"{tab} head {h}: max difference {diff:.3g}"
                if name == "attn.scores":
                    assert np.all(got[~causal] == -1e30), f"{tab} head {h}: the causal mask is missing"
                else:
                    assert np.all(got[~causal] == 0), f"{tab} head {h}: masked keys have weight"
    logits = numbers(named(wb, names.LOGITS))[:, 0]
    want = built.ref["logits"][-1]
    assert logits.shape == (cfg.n_vocab,)
    diff = np.max(np.abs(logits - want))
    assert diff <= REL * np.max(np.abs(want)), f"Logits: max difference {diff:.3g}"
    assert numbers(named(wb, names.TOP_IDS))[:, 0].astype(int).tolist() == built.ref_top_ids.tolist()
    np.testing.assert_allclose(numbers(named(wb, names.TOP_PROBS))[:, 0], built.ref_top_probs, rtol=REL, atol=0)
    assert named(wb, names.NEXT_TOKEN)[0, 0] == tokenizer.token_text(built.ref_top_ids[0])
    assert named(wb, names.TOKEN_IDS)[:n, 0].tolist() == built.ids
    assert named(wb, names.TOKEN_COUNT)[0, 0] == n
    want = oracle.attribution(built.as_written, cfg, built.ids, *map(int, built.ref_top_ids[:2]))
    attribution_equal(lambda name: numbers(named(wb, name)), cfg, want, REL)
    if built.sae is not None:
        features_equal(lambda name: named(wb, name), built.sae, built.ref[built.sae.tab], built.sae_top)
    guide_equal(area(wb, "Guide", 0, 0, 80, built.n_ctx + 2), cfg, built.ids, built.ref, want)


def guide_equal(rows, cfg, ids, ref, attribution) -> None:
    """Every number the Guide tab quotes (each sits under its sentence, labelled in column A) against the
    oracle: the tokens and ids, the first token's embedding, each followed head's attention row at the last
    position with its largest weight, where and which token; the lens's guesses when the lens is in `ref`; and
    the three largest direct contributions named in the attribution sentence."""
    n = len(ids)
    label = {str(r[0]): i for i, r in enumerate(rows) if r[0] is not None}
    assert [int(x) for x in rows[label["id"]][1:n + 1]] == ids
    assert list(rows[label["token"]][1:n + 1]) == [tokenizer.token_text(i) for i in ids]
    assert all(x in (None, "") for x in rows[label["id"]][n + 1:])
    np.testing.assert_allclose(numbers(rows[label["first token's numbers"]][1:4]), ref["embed"][0, :3], rtol=REL)
    heads = [k for k in label if k.endswith(", last row")]
    assert heads, "no head followed"
    for key in heads:
        layer, head = (int(w) for w in key.replace(",", "").split()[1:4:2])
        want = ref[f"h.{layer}.attn.probs"][head][n - 1, :n]
        i = label[key]
        np.testing.assert_allclose(numbers(rows[i][1:n + 1]), want, rtol=REL, atol=REL)
        best = int(np.argmax(want))
        assert abs(rows[i + 1][1] - want[best]) <= REL and rows[i + 1][3] == best
        assert rows[i + 1][5] == tokenizer.token_text(ids[best])
    for key in (k for k in label if k.startswith("after block ")):
        layer = int(key.split()[-1])
        lens = oracle.softmax(ref["lens"][layer, n - 1])
        i = label[key]
        assert rows[i][1] == tokenizer.token_text(int(np.argmax(lens))) and abs(rows[i][3] - lens.max()) <= REL
    parts = {f"head{layer}.{head}": share for (layer, head), share in np.ndenumerate(attribution["heads"])}
    for layer in range(cfg.n_layer):
        parts[f"mlp{layer}"] = attribution["mlps"][layer]
        parts[f"attn{layer}.bias"] = attribution["attn_bias"][layer]
        parts[f"steer{layer}"] = attribution["steer"][layer]
    parts["embed.token"], parts["embed.position"] = attribution["embed"]
    top = sorted(parts, key=lambda k: -abs(parts[k]))[:3]
    sentence = next(str(r[0]) for r in rows if str(r[0]).startswith("Why "))
    assert [sentence.index(k + " (") for k in top] == sorted(sentence.index(k + " (") for k in top), sentence


def sae_oracle(sae, stream):
    """oracle.sae_features on the residual stream [n, d], with the SAE's tensors as the workbook holds them."""
    return oracle.sae_features(stream, written_values(sae.W_enc), written_values(sae.b_enc), written_values(sae.b_dec),
                               sae.apply_b_dec)


def features_equal(read, sae, stream, k: int, tolerance: float = REL) -> np.ndarray:
    """SaeActivations (features x positions, the prompt's positions) within `tolerance` of the oracle's largest
    activation, and FeatureIds and FeatureActs the k largest at each position: the ids exactly, "" past the
    active ones. Returns the oracle's activations [n, d_sae]."""
    want = sae_oracle(sae, stream)
    n = want.shape[0]
    got = numbers(read(names.SAE_ACTIVATIONS))[:, :n].T
    diff = np.max(np.abs(got - want))
    assert diff <= tolerance * np.max(want), f"SaeActivations: max difference {diff:.3g} (largest {np.max(want):.3g})"
    ids, acts = read(names.FEATURE_IDS)[:n], numbers(read(names.FEATURE_ACTS))[:n]
    for p in range(n):
        order = np.argsort(-want[p], kind="stable")[:k]
        active = [int(i) for i in order if want[p, i] > 0]
        assert [int(i) for i in ids[p][:len(active)]] == active, f"FeatureIds at position {p}"
        assert all(x in ("", None) for x in ids[p][len(active):]), f"FeatureIds past the active ones at {p}"
        np.testing.assert_allclose(acts[p], want[p, order], rtol=tolerance, atol=tolerance * np.max(want))
    return want


def attribution_shares(read, cfg) -> dict:
    """The Attribution tab's shares through its defined names (read(name) -> 2-D numbers), in the shape of
    oracle.attribution; the attention bias and steering columns beside AttrHeads and AttrMlps."""
    from xlgpt.workbook import attribution
    table = read(attribution.table_area(cfg).ref())
    heads = read(names.ATTR_HEADS)
    assert np.array_equal(heads, table[:, :cfg.n_head]) and np.array_equal(read(names.ATTR_MLPS)[:, 0],
                                                                          table[:, cfg.n_head + 1])
    return {"heads": heads, "attn_bias": table[:, cfg.n_head], "mlps": table[:, cfg.n_head + 1],
            "steer": table[:, cfg.n_head + 2], "embed": read(names.ATTR_EMBED)[:, 0],
            "sum": read(names.ATTR_SUM)[0, 0], "logit_diff": read(names.ATTR_LOGIT_DIFF)[0, 0]}


def attribution_equal(read, cfg, want: dict, tolerance: float) -> dict:
    """Every share of the tab within `tolerance` of the largest share of `want` (an oracle.attribution or
    reference.hf_attribution), the logit difference within it relatively, and the sum of the shares and the ln_f
    bias term equal to the difference within 1e-9. Returns the tab's shares."""
    got = attribution_shares(read, cfg)
    largest = max(np.max(np.abs(want[k])) for k in ("heads", "attn_bias", "mlps", "steer", "embed"))
    for k in ("heads", "attn_bias", "mlps", "steer", "embed"):
        diff = np.max(np.abs(np.asarray(got[k]) - want[k]))
        assert diff <= tolerance * largest, f"Attribution {k}: max difference {diff:.3g} (largest share {largest:.3g})"
    assert abs(got["logit_diff"] - want["logit_diff"]) <= tolerance * abs(want["logit_diff"])
    assert abs(got["sum"] - got["logit_diff"]) <= 1e-9 * max(abs(got["logit_diff"]), largest)
    return got


# Where Excel has a specific error, LibreOffice computes its generic Err:502 ("invalid argument") and writes
# it to .xlsx as #VALUE!: INDEX outside its range (Excel: #REF!), LARGE/SMALL with k out of range, and
# LN, LOG10 or SQRT outside their domain (Excel: #NUM!).
# And where an operator meets two errors, Excel returns the left operand's; LibreOffice has been seen to return
# the right one's when the left is such an Err:502: (LARGE(range,4))-(1/-0) is #NUM! in Excel and the engine,
# #DIV/0! in LibreOffice (issue 18: a random example of tests/test_engine_properties.py).
# The engine follows Excel; these pairs count as agreement, and no other pair of different errors does.
LIBREOFFICE_ERR_502 = {("#REF!", "#VALUE!"), ("#NUM!", "#VALUE!"), ("#REF!", "#DIV/0!"), ("#NUM!", "#DIV/0!")}


def same(a, b, excuse=False):
    if isinstance(a, XlError) and str(b).startswith("#"):
        return str(a) == str(b) or (excuse and (str(a), str(b)) in LIBREOFFICE_ERR_502)
    if isinstance(a, XlError) or isinstance(b, XlError) or isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    a, b = float(a), float(b)
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)
