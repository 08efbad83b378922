"""A sparse autoencoder's encoder, as SAELens saves one: cfg.json and sae_weights.safetensors in a folder (or a
release/id that model/hub.py fetches into the Hugging Face cache).

Only the standard ReLU SAE is supported: features = ReLU((x - b_dec) . W_enc + b_enc), without b_dec when
cfg.json's apply_b_dec_to_input is false. Other architectures (TopK, JumpReLU, gated) and normalised inputs
compute something else, and are one line each rather than a wrong answer.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import XlgptError

# the residual streams an SAE may read (cfg.json's hook_name), as TransformerLens names them -> the workbook's tab
HOOKS = {"hook_resid_pre": "resid_pre", "hook_resid_mid": "resid_mid", "hook_resid_post": "resid_post"}
MAX_LABEL = 1000  # characters of a feature's description kept in its cell


@dataclass
class SAE:
    source: str  # what the user gave (a folder, or RELEASE/ID)
    layer: int
    hook: str  # resid_pre, resid_mid or resid_post
    W_enc: np.ndarray  # [d_in, d_sae], as in the file
    b_enc: np.ndarray  # [d_sae]
    b_dec: np.ndarray  # [d_in]
    apply_b_dec: bool
    folder: Path
    labels: dict[int, str] = field(default_factory=dict)  # feature -> description (--sae-labels)

    @property
    def d_sae(self) -> int:
        return self.W_enc.shape[1]

    @property
    def tab(self) -> str:
        """The workbook tab of the residual stream it reads: h.2.resid_pre."""
        return f"h.{self.layer}.{self.hook}"


def resolve(spec: str, what: str = "--sae") -> Path:
    """A folder holding cfg.json and sae_weights.safetensors, or SAELens' RELEASE/ID fetched into the cache."""
    if Path(spec).exists():
        folder = Path(spec)
        return folder if folder.is_dir() else folder.parent
    from .hub import sae_folder
    return sae_folder(spec, what)


def load(spec: str, n_embd: int, n_layer: int) -> SAE:
    """The SAE's encoder, checked against the model (width, blocks) and SAELens' config."""
    folder = resolve(spec)
    where = f"--sae {spec}"
    try:
        cfg = json.loads((folder / "cfg.json").read_text(encoding="utf-8"))
    except OSError as e:
        raise XlgptError(f"{where}: cannot read {folder / 'cfg.json'} ({e.strerror}); an SAELens SAE has one") from None
    except ValueError as e:
        raise XlgptError(f"{where}: {folder / 'cfg.json'} is not JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise XlgptError(f"{where}: {folder / 'cfg.json'} is not a JSON object")
    arch = str(cfg.get("architecture", "standard")).lower()
    act = str(cfg.get("activation_fn_str", "relu")).lower()
    norm = str(cfg.get("normalize_activations", "none")).lower()
    if arch != "standard" or act != "relu":
        kind = f"a {arch} SAE" if arch != "standard" else f"an SAE with {act} activations"
        raise XlgptError(f"{where}: {kind} (cfg.json); xlgpt computes the standard ReLU SAE only, "
                         f"ReLU((x - b_dec) W_enc + b_enc)")
    if norm not in ("none", "null", ""):
        raise XlgptError(f"{where}: its inputs are normalised ({norm}); xlgpt computes SAEs on the raw residual "
                         f"stream only")
    m = re.fullmatch(r"blocks\.(\d+)\.(hook_resid_(?:pre|mid|post))", str(cfg.get("hook_name", "")))
    if m is None:
        raise XlgptError(f"{where}: cfg.json's hook_name {cfg.get('hook_name')!r} is not a residual stream "
                         f"(blocks.L.hook_resid_pre, _mid or _post)")
    layer = int(m.group(1))
    if not 0 <= layer < n_layer:
        raise XlgptError(f"{where}: it reads block {layer}; this model has blocks 0 to {n_layer - 1}")
    tensors = read_tensors(folder, where, ("W_enc", "b_enc", "b_dec"))
    w, b_enc, b_dec = tensors["W_enc"], tensors["b_enc"], tensors["b_dec"]
    if w.ndim != 2 or w.shape[0] != n_embd:
        raise XlgptError(f"{where}: W_enc is {list(w.shape)}; this model needs [{n_embd}, features]")
    if b_enc.shape != (w.shape[1],) or b_dec.shape != (n_embd,):
        raise XlgptError(f"{where}: b_enc is {list(b_enc.shape)} and b_dec {list(b_dec.shape)}; W_enc "
                         f"{list(w.shape)} needs [{w.shape[1]}] and [{n_embd}]")
    for name, t in (("W_enc", w), ("b_enc", b_enc), ("b_dec", b_dec)):
        if not np.isfinite(t).all():
            raise XlgptError(f"{where}: {name} holds NaN or Inf")
    return SAE(spec, layer, HOOKS[m.group(2)], np.asarray(w, dtype=np.float32), np.asarray(b_enc, dtype=np.float32),
               np.asarray(b_dec, dtype=np.float32), bool(cfg.get("apply_b_dec_to_input", True)), folder)


def read_tensors(path: Path, where: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The tensors `names` of SAELens' sae_weights.safetensors (in the folder `path`, or the file itself), or one
    line saying what is missing; `where` starts it (--sae SPEC, --steer-sae SPEC)."""
    from .checkpoint import read_safetensors
    path = Path(path)
    file = path / "sae_weights.safetensors" if path.is_dir() else path
    if not file.is_file():
        raise XlgptError(f"{where}: no SAELens sae_weights.safetensors in {path}")
    try:
        tensors = read_safetensors(file)
    except XlgptError as e:
        raise XlgptError(f"{where}: {e}") from None
    missing = [k for k in names if k not in tensors]
    if missing:
        raise XlgptError(f"{where}: {file} has no {', '.join(missing)} (found {', '.join(sorted(tensors)) or 'none'})")
    return tensors


def read_labels(path: Path, d_sae: int) -> dict[int, str]:
    """Feature -> description from --sae-labels: JSON as Neuronpedia exports it (a list of objects with "index"
    and "description", or {"index": description}), or CSV with a feature column (index, feature, id) and a
    description column (description, label, explanation)."""
    where = f"--sae-labels {path}"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise XlgptError(f"{where}: cannot read it as UTF-8 text ({e})") from None
    pairs = []
    if Path(path).suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as e:
            raise XlgptError(f"{where}: not JSON ({e})") from None
        if isinstance(data, dict):
            pairs = list(data.items())
        elif isinstance(data, list) and all(isinstance(x, dict) for x in data):
            pairs = [(x.get("index", x.get("feature")), x.get("description", x.get("explanation"))) for x in data]
        else:
            raise XlgptError(f"{where}: give a list of {{\"index\", \"description\"}} objects or an object of "
                             f"index -> description")
    elif Path(path).suffix.lower() == ".csv":
        try:
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as e:
            raise XlgptError(f"{where}: not a CSV file xlgpt can read ({e})") from None
        key = next((k for k in ("index", "feature", "id") if rows and k in rows[0]), None)
        desc = next((k for k in ("description", "label", "explanation") if rows and k in rows[0]), None)
        if key is None or desc is None:
            raise XlgptError(f"{where}: give the columns index (or feature) and description (or label)")
        pairs = [(r[key], r[desc]) for r in rows]
    else:
        raise XlgptError(f"{where}: give a .json or .csv file of feature index -> description")
    out = {}
    for n, (index, description) in enumerate(pairs, 1):
        try:
            i = int(str(index).strip())
        except ValueError:
            raise XlgptError(f"{where}: entry {n}'s index {str(index)[:40]!r} is not a feature number") from None
        if not 0 <= i < d_sae:
            raise XlgptError(f"{where}: entry {n} names feature {i}; the SAE has features 0 to {d_sae - 1}")
        if not isinstance(description, str):
            raise XlgptError(f"{where}: entry {n} (feature {i}) has no description text")
        clean = "".join(ch for ch in description if ch >= " " and not "\ud800" <= ch <= "\udfff")
        out[i] = clean[:MAX_LABEL]
    return out
