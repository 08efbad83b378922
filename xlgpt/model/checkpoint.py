"""Loading GPT-2 weights: a model.safetensors path, a published name (hub.py: the Hugging Face cache, or a
download), or random.

Only I/O and validation live here; the math is in oracle.py.
"""

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import XlgptError
from .config import FAMILY, HUB_REPOS, GPT2_VOCAB, GPT2Config, tensor_shapes

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


def load(src: str, *, seed: int = 0, layers: int | None = None, fits=None) -> Checkpoint:
    """Resolve --weights SRC: a path, `random`, `random:NAME`, or a published name (`gpt2`, ...).

    fits(config), when given, is called as soon as the model's shape is known, before random weights are
    made (GPT-2 xl's take half a minute): it raises when a workbook of that shape cannot be built."""
    fits = fits or (lambda cfg: None)
    if src == "random" or src.startswith("random:"):
        family = src.partition(":")[2] or "gpt2"
        if family not in FAMILY:
            raise XlgptError(f"unknown model family {family!r} in --weights {src}: use one of {', '.join(FAMILY)}")
        cfg = FAMILY[family]
        fits(_kept(cfg, layers) if layers is not None else cfg)
        ckpt = random_checkpoint(cfg, seed=seed, source=src)
        return keep_layers(ckpt, layers) if layers is not None else ckpt
    if Path(src).exists():
        ckpt = load_path(Path(src))
    elif src in HUB_REPOS:
        from .hub import checkpoint_file
        ckpt = load_path(checkpoint_file(src), source=src)
    else:
        raise XlgptError(
            f"--weights {src}: no such file, and not a known name; give a path to a model.safetensors, "
            f"one of {', '.join(HUB_REPOS)}, or random[:{'|'.join(FAMILY)}]")
    ckpt = keep_layers(ckpt, layers) if layers is not None else ckpt
    fits(ckpt.config)
    return ckpt


def _kept(cfg: GPT2Config, k: int) -> GPT2Config:
    """The config of the first k blocks (--layers K)."""
    if not 1 <= k <= cfg.n_layer:
        raise XlgptError(f"--layers {k}: this model has {cfg.n_layer} layers; give 1 to {cfg.n_layer}")
    return replace(cfg, n_layer=k)


def keep_layers(ckpt: Checkpoint, k: int) -> Checkpoint:
    """The first k blocks (--layers K)."""
    cfg = _kept(ckpt.config, k)
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
    tensors = read_safetensors(file)
    params, lm_head = {}, None
    for key, array in tensors.items():
        name = key.removeprefix("transformer.")
        if name in params or (name == "lm_head.weight" and lm_head is not None):
            raise XlgptError(f"{file}: tensor {name} is there twice (as {name} and transformer.{name}); "
                             f"keep one of them")
        if name == "lm_head.weight":
            lm_head = array
        elif not _NOT_PARAMETERS.match(name):
            params[name] = array
    config_file = folder / "config.json"
    cfg = _config_from_json(config_file) if config_file.is_file() else config_from_shapes(params, file)
    validate_config(cfg, str(config_file if config_file.is_file() else file))
    _validate(params, cfg, file)
    if lm_head is not None and not (lm_head.shape == params["wte.weight"].shape
                                    and np.array_equal(lm_head, params["wte.weight"])):
        raise XlgptError(f"{file}: lm_head.weight differs from wte.weight (an untied output layer); GPT-2 ties "
                         f"them and the workbook's logits read wte.weight: remove lm_head.weight or tie it")
    return Checkpoint(cfg, {n: _float32(params[n]) for n in tensor_shapes(cfg)}, source or str(path))


def _float32(a: np.ndarray) -> np.ndarray:
    """float16 and bfloat16 widen to float32 exactly; float64 rounds to float32 as transformers does."""
    return np.ascontiguousarray(a, dtype=np.float32)


# safetensors dtypes -> NumPy; BF16 is read as its 16 bits and widened by hand (NumPy has no bfloat16)
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "BOOL": "?"}
_MAX_HEADER = 100 << 20  # the format's own cap on the JSON header


def read_safetensors(file: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file, mapped from the file (memory follows what is used), each checked
    against the file's size before it is touched; bfloat16 widened to float32."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as f:
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 2 <= n <= min(_MAX_HEADER, size - 8):
                raise ValueError(f"its header length {n} does not fit a file of {size:,} bytes")
            header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError("its header is not a JSON object")
        start, data_len = 8 + n, size - 8 - n
        raw = np.memmap(file, dtype=np.uint8, mode="r", offset=start, shape=(data_len,)) if data_len else np.zeros(0, np.uint8)
        out, spans = {}, []
        for name, t in header.items():
            if name == "__metadata__":
                continue
            if not isinstance(t, dict) or t.get("dtype") not in _DTYPES:
                raise ValueError(f"tensor {name}: dtype {t.get('dtype') if isinstance(t, dict) else t!r} is not one "
                                 f"of {', '.join(_DTYPES)}")
            shape, offsets = t.get("shape"), t.get("data_offsets")
            if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
                    and isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
                raise ValueError(f"tensor {name}: shape or data_offsets malformed")
            dtype = np.dtype(_DTYPES[t["dtype"]])
            b, e = offsets
            count = int(np.prod(shape, dtype=object))
            if not 0 <= b <= e <= data_len or e - b != count * dtype.itemsize:
                raise ValueError(f"tensor {name}: its bytes {b}..{e} do not hold {shape} of {t['dtype']} "
                                 f"inside the file's {data_len:,} bytes of data")
            spans.append((b, e, name))
            a = raw[b:e].view(dtype).reshape(shape)
            if t["dtype"] == "BF16":
                a = (a.astype(np.uint32) << 16).view(np.float32)
            out[name] = a
        spans.sort()
        for (_, e0, first), (b1, e1, second) in zip(spans, spans[1:]):
            if b1 < e0 and b1 < e1:  # two tensors on the same bytes, as the safetensors library refuses
                raise ValueError(f"tensors {first} and {second} share bytes {b1}..{min(e0, e1)}")
        return out
    except (OSError, ValueError, UnicodeDecodeError, OverflowError) as e:
        raise XlgptError(f"{file}: not a readable safetensors file ({e}); give a Hugging Face model.safetensors") from None


def _config_from_json(file: Path) -> GPT2Config:
    try:
        c = json.loads(file.read_text())
        return GPT2Config(n_layer=int(c["n_layer"]), n_head=int(c["n_head"]), n_embd=int(c["n_embd"]),
                          n_ctx=int(c.get("n_positions", c.get("n_ctx", 1024))), n_vocab=int(c["vocab_size"]),
                          eps=float(c.get("layer_norm_epsilon", 1e-5)))
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        raise XlgptError(f"{file}: not a GPT-2 config.json ({e!r} missing or invalid); fix it or remove it") from None


def validate_config(cfg: GPT2Config, where: str) -> None:
    """A config xlgpt can lay out: positive sizes, heads that divide the width, GPT-2's own vocabulary."""
    for field in ("n_layer", "n_head", "n_embd", "n_ctx"):
        if getattr(cfg, field) < 1:
            raise XlgptError(f"{where}: {field} is {getattr(cfg, field)}; it must be at least 1")
    if cfg.n_embd % cfg.n_head:
        raise XlgptError(f"{where}: {cfg.n_head} heads do not divide the width {cfg.n_embd}; fix n_head")
    if cfg.n_vocab != GPT2_VOCAB:
        raise XlgptError(f"{where}: a vocabulary of {cfg.n_vocab:,} tokens; the workbook's tokenizer is GPT-2's, "
                         f"{GPT2_VOCAB:,} tokens: use a GPT-2 checkpoint")
    if not (np.isfinite(cfg.eps) and cfg.eps > 0):
        raise XlgptError(f"{where}: layer_norm_epsilon is {cfg.eps}; it must be a positive number")


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
    expected = tensor_shapes(cfg)
    extra = [name for name in params if name not in expected]
    if extra:
        raise XlgptError(f"{file}: tensor {extra[0]} is not part of the model its config describes "
                         f"({cfg.n_layer} layers){f' (and {len(extra) - 1} more)' if len(extra) > 1 else ''}; "
                         f"fix n_layer in config.json, or use --layers K to keep the first K blocks")
    for name, shape in expected.items():
        if name not in params:
            raise XlgptError(f"{file}: tensor {name} is missing; is this a complete GPT-2 checkpoint?")
        a = params[name]
        if a.shape != shape:
            raise XlgptError(f"{file}: tensor {name} has shape {list(a.shape)}, expected {list(shape)} for this config")
        if not np.issubdtype(a.dtype, np.floating):
            raise XlgptError(f"{file}: tensor {name} has dtype {a.dtype}, expected floating point")
        if not np.isfinite(a).all():
            raise XlgptError(f"{file}: tensor {name} contains NaN or Inf values")
