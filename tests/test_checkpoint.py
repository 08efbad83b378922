"""Checkpoint loading: every source the CLI accepts, and one clear error for each kind of bad input."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from xlgpt.model import checkpoint
from xlgpt.errors import XlgptError
from xlgpt.model.config import FAMILY, tensor_shapes


def test_random_tiny_randomizes_every_tensor():
    ckpt = checkpoint.load("random:tiny", seed=7)
    assert ckpt.config == FAMILY["tiny"]
    assert set(ckpt.params) == set(tensor_shapes(ckpt.config))
    for name, a in ckpt.params.items():
        assert a.dtype == np.float32 and a.std() > 0.01, f"{name} is not random"
        if name.endswith("bias"):
            assert abs(a.mean()) < 0.1 and np.all(a != 0), name
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            assert not np.allclose(a, 1), name


def test_random_is_seeded():
    a, b, c = (checkpoint.load("random:tiny", seed=s).params["h.0.mlp.c_fc.weight"] for s in (1, 1, 2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_gpt2_small_has_148_tensors_and_124m_parameters():
    shapes = tensor_shapes(FAMILY["gpt2"])
    assert len(shapes) == 148
    assert sum(int(np.prod(s)) for s in shapes.values()) == 124_439_808


def test_layers_keeps_the_first_blocks():
    ckpt = checkpoint.load("random:tiny", layers=1)
    assert ckpt.config.n_layer == 1 and not any(k.startswith("h.1.") for k in ckpt.params)
    with pytest.raises(XlgptError, match="--layers 3"):
        checkpoint.load("random:tiny", layers=3)


def test_loads_folder_and_file_and_ignores_buffers(hf_dir, tmp_path):
    by_folder = checkpoint.load(str(hf_dir))
    by_file = checkpoint.load(str(hf_dir / "model.safetensors"))
    assert by_folder.config == by_file.config == FAMILY["tiny"]
    # add the mask buffers the original gpt2 file carries, and drop config.json: the config comes from shapes
    tensors = load_file(str(hf_dir / "model.safetensors"))
    tensors["h.0.attn.bias"] = np.tril(np.ones((1, 1, 64, 64), dtype=np.float32))
    tensors["h.1.attn.masked_bias"] = np.array(-1e4, dtype=np.float32)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    inferred = checkpoint.load(str(tmp_path / "model.safetensors"))
    assert inferred.config == FAMILY["tiny"]
    for name, a in by_file.params.items():
        assert np.array_equal(a, inferred.params[name]), name


def _broken(hf_dir, tmp_path, edit):
    tensors = {k.removeprefix("transformer."): v for k, v in load_file(str(hf_dir / "model.safetensors")).items()}
    edit(tensors)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text((hf_dir / "config.json").read_text())
    return str(tmp_path)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.pop("h.1.mlp.c_fc.bias"), "tensor h.1.mlp.c_fc.bias is missing"),
    (lambda t: t.update({"h.0.ln_2.weight": np.ones(8, np.float32)}), r"tensor h.0.ln_2.weight has shape \[8\]"),
    (lambda t: t["h.0.attn.c_proj.weight"].__setitem__((0, 0), np.nan), "h.0.attn.c_proj.weight contains NaN"),
    (lambda t: t["wpe.weight"].__setitem__((1, 1), np.inf), "wpe.weight contains NaN or Inf"),
])
def test_bad_checkpoints_name_the_tensor(hf_dir, tmp_path, edit, message):
    with pytest.raises(XlgptError, match=message):
        checkpoint.load(_broken(hf_dir, tmp_path, edit))


def test_bad_sources(tmp_path):
    not_st = tmp_path / "model.safetensors"
    not_st.write_bytes(b"this is not a safetensors file")
    with pytest.raises(XlgptError, match="not a readable safetensors file"):
        checkpoint.load(str(not_st))
    with pytest.raises(XlgptError, match="no such file"):
        checkpoint.load(str(tmp_path / "missing.safetensors"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(XlgptError, match="no model.safetensors there"):
        checkpoint.load(str(empty))
    with pytest.raises(XlgptError, match="unknown model family"):
        checkpoint.load("random:gpt5")


def test_bad_config_json(hf_dir, tmp_path):
    folder = _broken(hf_dir, tmp_path, lambda t: None)
    (tmp_path / "config.json").write_text(json.dumps({"n_layer": 2}))
    with pytest.raises(XlgptError, match="not a GPT-2 config.json"):
        checkpoint.load(folder)
