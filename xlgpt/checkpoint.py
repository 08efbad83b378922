"""Loading GPT-2 weights: a model.safetensors path, a published name (Hugging Face cache or download), or random.

Only I/O and validation live here; the math is in oracle.py.
"""

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .errors import XlgptError
from .models import FAMILY, HUB_REPOS, GPT2Config, tensor_shapes

# Buffers some checkpoints carry that are not parameters (the causal mask), and the tied unembedding.
_NOT_PARAMETERS = re.compile(r"^h\.\d+\.attn\.(bias|masked_bias)$|^lm_head\.weight$")


@dataclass
class Checkpoint:
    config: GPT2Config
    params: dict[str, np.ndarray]  # Hugging Face names without the `transformer.` prefix, float32
    source: str  # what the user asked for, for the workbook's Start tab

    @property
    def n_params(self) -> int:
        return sum(a.size for a in self.params.values())


def load(src: str, *, seed: int = 0, layers: int | None = None) -> Checkpoint:
    """Resolve --weights SRC: a path, `random`, `random:NAME`, or a published name (`gpt2`, ...)."""
    if src == "random" or src.startswith("random:"):
        family = src.partition(":")[2] or "gpt2"
        if family not in FAMILY:
            raise XlgptError(f"unknown model family {family!r} in --weights {src}: use one of {', '.join(FAMILY)}")
        ckpt = random_checkpoint(FAMILY[family], seed=seed, source=src)
    elif Path(src).exists():
        ckpt = load_path(Path(src))
    elif src in HUB_REPOS:
        ckpt = load_path(_hub_file(src), source=src)
    else:
        raise XlgptError(
            f"--weights {src}: no such file, and not a known name; give a path to a model.safetensors, "
            f"one of {', '.join(HUB_REPOS)}, or random[:{'|'.join(FAMILY)}]")
    return keep_layers(ckpt, layers) if layers is not None else ckpt


def keep_layers(ckpt: Checkpoint, k: int) -> Checkpoint:
    """The first k blocks (--layers K)."""
    if not 1 <= k <= ckpt.config.n_layer:
        raise XlgptError(f"--layers {k}: this model has {ckpt.config.n_layer} layers; give 1 to {ckpt.config.n_layer}")
    cfg = replace(ckpt.config, n_layer=k)
    params = {name: ckpt.params[name] for name in tensor_shapes(cfg)}
    return Checkpoint(cfg, params, ckpt.source + (f" (first {k} layers)" if k < ckpt.config.n_layer else ""))


def random_checkpoint(cfg: GPT2Config, *, seed: int = 0, source: str = "random") -> Checkpoint:
    """Every tensor random, LayerNorm gains and biases included, so a swapped gain and bias cannot pass a test."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in tensor_shapes(cfg).items():
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            mean, std = 1.0, 0.2
        elif name.endswith(".bias"):
            mean, std = 0.0, 0.05
        elif name in ("wte.weight", "wpe.weight"):
            mean, std = 0.0, 0.1
        else:  # scaled so activations stay O(1) at every width
            mean, std = 0.0, 1.0 / np.sqrt(shape[0])
        a = rng.standard_normal(shape, dtype=np.float32)
        a *= np.float32(std)
        a += np.float32(mean)
        params[name] = a
    return Checkpoint(cfg, params, source)


def load_path(path: Path, source: str | None = None) -> Checkpoint:
    """A model.safetensors file, or a folder holding one (and config.json when present)."""
    folder = path if path.is_dir() else path.parent
    file = path / "model.safetensors" if path.is_dir() else path
    if not file.is_file():
        raise XlgptError(f"{path}: no model.safetensors there; give the path to a GPT-2 model.safetensors or its folder")
    tensors = _read_safetensors(file)
    params = {}
    for key, array in tensors.items():
        name = key.removeprefix("transformer.")
        if not _NOT_PARAMETERS.match(name):
            params[name] = array
    config_file = folder / "config.json"
    cfg = _config_from_json(config_file) if config_file.is_file() else config_from_shapes(params, file)
    _validate(params, cfg, file)
    return Checkpoint(cfg, {n: params[n].astype(np.float32) for n in tensor_shapes(cfg)}, source or str(path))


def _read_safetensors(file: Path) -> dict[str, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
    try:
        return load_file(str(file))
    except (SafetensorError, ValueError, OSError, TypeError) as e:
        raise XlgptError(f"{file}: not a readable safetensors file ({e}); give a Hugging Face model.safetensors") from None


def _config_from_json(file: Path) -> GPT2Config:
    try:
        c = json.loads(file.read_text())
        return GPT2Config(n_layer=int(c["n_layer"]), n_head=int(c["n_head"]), n_embd=int(c["n_embd"]),
                          n_ctx=int(c.get("n_positions", c.get("n_ctx", 1024))), n_vocab=int(c["vocab_size"]),
                          eps=float(c.get("layer_norm_epsilon", 1e-5)))
    except (ValueError, KeyError, TypeError) as e:
        raise XlgptError(f"{file}: not a GPT-2 config.json ({e!r} missing or invalid); fix it or remove it") from None


def config_from_shapes(params: dict[str, np.ndarray], file: Path) -> GPT2Config:
    """No config.json: width, vocabulary and context come from shapes; heads from the family of that width."""
    for name in ("wte.weight", "wpe.weight"):
        if name not in params or params[name].ndim != 2:
            raise XlgptError(f"{file}: tensor {name} is missing or not 2-D; is this a GPT-2 checkpoint?")
    n_vocab, n_embd = params["wte.weight"].shape
    layers = {int(m.group(1)) for k in params if (m := re.match(r"h\.(\d+)\.", k))}
    heads = {c.n_embd: c.n_head for c in FAMILY.values()}
    if n_embd not in heads:
        raise XlgptError(f"{file}: width {n_embd} is not a GPT-2 family width and there is no config.json beside it; "
                         "add the model's config.json")
    return GPT2Config(n_layer=len(layers), n_head=heads[n_embd], n_embd=n_embd,
                      n_ctx=params["wpe.weight"].shape[0], n_vocab=n_vocab)


def _validate(params: dict[str, np.ndarray], cfg: GPT2Config, file: Path) -> None:
    for name, shape in tensor_shapes(cfg).items():
        if name not in params:
            raise XlgptError(f"{file}: tensor {name} is missing; is this a complete GPT-2 checkpoint?")
        a = params[name]
        if a.shape != shape:
            raise XlgptError(f"{file}: tensor {name} has shape {list(a.shape)}, expected {list(shape)} for this config")
        if not np.issubdtype(a.dtype, np.floating):
            raise XlgptError(f"{file}: tensor {name} has dtype {a.dtype}, expected floating point")
        if not np.isfinite(a).all():
            raise XlgptError(f"{file}: tensor {name} contains NaN or Inf values")


HUB_URL = "https://huggingface.co"


def _download(url: str, dest: Path) -> None:
    """Fetch url to dest through a temporary file, so an interrupted download leaves nothing behind."""
    import sys
    import urllib.request
    if dest.is_file():
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=20) as r, open(part, "wb") as f:
        total, done = int(r.headers.get("Content-Length") or 0), 0
        while chunk := r.read(1 << 22):
            f.write(chunk)
            done += len(chunk)
            if total:
                print(f"\rdownloading {dest.name}: {done / total:.0%}", end="", file=sys.stderr)
    print(file=sys.stderr)
    part.replace(dest)


def _hub_file(name: str) -> Path:
    """A published checkpoint: from the Hugging Face cache, else downloaded (with its config.json) when online."""
    repo = HUB_REPOS[name]
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    for folder in (f"models--{repo.replace('/', '--')}", f"models--{name}"):
        found = sorted((hub / folder / "snapshots").glob("*/model.safetensors"))
        if found:
            return found[-1]
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        reason = "HF_HUB_OFFLINE=1 forbids a download"
    else:
        try:
            snapshot = hub / f"models--{repo.replace('/', '--')}" / "snapshots" / "main"
            for file in ("config.json", "model.safetensors"):
                _download(f"{HUB_URL}/{repo}/resolve/main/{file}", snapshot / file)
            return snapshot / "model.safetensors"
        except OSError as e:  # offline, or the hub refused: one line, no traceback
            reason = f"the download failed ({e})"
    raise XlgptError(f"--weights {name}: not in the Hugging Face cache ({hub}) and {reason}; "
                     f"use --weights PATH to a model.safetensors, or --weights random")
