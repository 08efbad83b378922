"""Published checkpoints and SAEs through huggingface_hub, offline: a fake hub on localhost serves the files,
huggingface_hub's own download fills the real cache layout, and every later use of the cache needs no
network. Each run of xlgpt is a subprocess, since huggingface_hub reads HF_* variables when imported."""

import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import openpyxl
import pytest
from safetensors.numpy import save_file

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """A hub endpoint on 127.0.0.1 serving {repo: {file: bytes}} as /REPO/resolve/REVISION/FILE, with the
    headers huggingface_hub reads (X-Repo-Commit, ETag, Content-Length); it counts the requests it answers."""

    def __init__(self, files: dict):
        self.files, self.requests = files, []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bool):
                hub.requests.append(self.path)
                parts = self.path.split("?")[0].strip("/").split("/")
                # /ORG/NAME/resolve/REVISION/FILE...
                if len(parts) < 5 or parts[2] != "resolve":
                    self.send_error(404)
                    return
                repo, name = "/".join(parts[:2]), "/".join(parts[4:])
                data = hub.files.get(repo, {}).get(name)
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self):
                self._answer(False)

            def do_GET(self):
                self._answer(True)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def xlgpt(*args, env):
    return subprocess.run([sys.executable, "-m", "xlgpt.cli", *map(str, args)], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("HF_")} | env, timeout=300)


@pytest.fixture
def checkpoint_files(hf_dir):
    return {"model.safetensors": (hf_dir / "model.safetensors").read_bytes(),
            "config.json": (hf_dir / "config.json").read_bytes()}


def test_published_name_is_downloaded_into_the_real_cache_layout_then_used_offline(checkpoint_files, tmp_path):
    hub = FakeHub({"openai-community/gpt2": checkpoint_files})
    cache = tmp_path / "hub"
    try:
        r = xlgpt("predict", "--weights", "gpt2", "--prompt", "Hello", "--json",
                  env={"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache), "HF_HUB_DISABLE_XET": "1"})
        assert r.returncode == 0, r.stderr
        downloaded = json.loads(r.stdout)
        assert any("model.safetensors" in p for p in hub.requests)
    finally:
        hub.close()
    repo = cache / "models--openai-community--gpt2"
    assert (repo / "refs" / "main").read_text() == COMMIT
    snapshot = repo / "snapshots" / COMMIT
    for name, data in checkpoint_files.items():
        assert (snapshot / name).read_bytes() == data
    # the endpoint is gone: offline, and with the network allowed but unreachable, the cache answers alike
    for env in ({"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": hub.url}):
        r = xlgpt("predict", "--weights", "gpt2", "--prompt", "Hello", "--json", env={"HF_HUB_CACHE": str(cache), **env})
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == downloaded


def test_offline_with_an_empty_cache_is_one_line(tmp_path):
    r = xlgpt("build", "--weights", "gpt2", "--out", tmp_path / "b.xlsx",
              env={"HF_HUB_CACHE": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "HF_HUB_OFFLINE=1" in lines[0]
    assert "--weights PATH" in lines[0] and "--weights random" in lines[0]


def test_no_network_is_one_line_at_once(tmp_path):
    """No network (a hub endpoint nothing listens on; a name that does not resolve): one line, without
    huggingface_hub's retries (about 25 s) and without its warnings, for a checkpoint and an SAE alike."""
    import time
    for endpoint in ("http://127.0.0.1:9", "http://no-such-host.invalid"):
        for args in (("--weights", "gpt2"), ("--weights", "random:tiny", "--sae",
                                             "gpt2-small-res-jb/blocks.1.hook_resid_pre")):
            t = time.monotonic()
            r = xlgpt("build", *args, "--out", tmp_path / "b.xlsx",
                      env={"HF_HUB_CACHE": str(tmp_path / "empty"), "HF_ENDPOINT": endpoint})
            seconds = time.monotonic() - t
            lines = r.stderr.strip().splitlines()
            assert r.returncode == 2 and len(lines) == 1 and "no network" in lines[0], r.stderr
            assert seconds <= 5, f"{seconds:.1f} s before the error"


def test_a_cache_in_the_documented_layout_is_found_offline(checkpoint_files, tmp_path):
    """huggingface_hub's cache layout, written by hand: blobs by hash, snapshots/COMMIT/ holding links to
    them, refs/main naming the commit."""
    repo = tmp_path / "hub" / "models--distilbert--distilgpt2"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    (repo / "blobs").mkdir()
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    for name, data in checkpoint_files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (repo / "snapshots" / COMMIT / name).symlink_to(os.path.relpath(blob, repo / "snapshots" / COMMIT))
    r = xlgpt("predict", "--weights", "distilgpt2", "--prompt", "Hi", "--json",
              env={"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["top"]) == 10


def test_hf_home_is_honoured(checkpoint_files, tmp_path):
    hub = FakeHub({"distilbert/distilgpt2": checkpoint_files})
    try:
        r = xlgpt("predict", "--weights", "distilgpt2", "--prompt", "Hi",
                  env={"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "home"), "HF_HUB_DISABLE_XET": "1"})
        assert r.returncode == 0, r.stderr
    finally:
        hub.close()
    assert (tmp_path / "home" / "hub" / "models--distilbert--distilgpt2" / "snapshots" / COMMIT /
            "model.safetensors").is_file()


def test_sae_by_release_and_id_steers_with_its_decoder_row(tmp_path):
    """--steer-sae gpt2-small-res-jb/blocks.1.hook_resid_pre fetches that SAE's files as SAELens lays them out
    in its hub repository; the Surgery tab's steering row is the feature's decoder row, before block 1 (the
    layer its cfg.json names)."""
    rng = np.random.default_rng(0)
    w_dec = rng.standard_normal((32, 16)).astype(np.float32)  # a tiny model's width: 16
    weights = tmp_path / "sae.safetensors"
    save_file({"W_dec": w_dec, "W_enc": w_dec.T.copy(), "b_enc": np.zeros(32, np.float32),
               "b_dec": np.zeros(16, np.float32)}, str(weights))
    folder = "blocks.1.hook_resid_pre"
    hub = FakeHub({"jbloom/GPT2-Small-SAEs-Reformatted": {
        f"{folder}/cfg.json": json.dumps({"hook_name": folder, "d_in": 16, "d_sae": 32}).encode(),
        f"{folder}/sae_weights.safetensors": weights.read_bytes()}})
    out = tmp_path / "steered.xlsx"
    try:
        r = xlgpt("build", "--weights", "random:tiny", "--steer-sae", f"gpt2-small-res-jb/{folder}",
                  "--feature", "7", "--coeff", "2", "--out", out,
                  env={"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_DISABLE_XET": "1"})
        assert r.returncode == 0, r.stderr
        # the same SAE's encoder for the Features tab, by the same name (from the cache now)
        features = tmp_path / "features.xlsx"
        r = xlgpt("build", "--weights", "random:tiny", "--sae", f"gpt2-small-res-jb/{folder}", "--out", features,
                  env={"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_DISABLE_XET": "1"})
        assert r.returncode == 0, r.stderr
    finally:
        hub.close()
    from helpers import features_equal
    from workbook_io import named, open_values
    from xlgpt.model import checkpoint, oracle, sae, tokenizer
    from xlgpt.sheet.cells import written_values
    ckpt = checkpoint.load("random:tiny", seed=0)
    ref = oracle.forward({k: written_values(v) for k, v in ckpt.params.items()}, ckpt.config,
                         tokenizer.encode_ordinary("If today is Monday, tomorrow is"))
    local = tmp_path / "local"
    local.mkdir()
    (local / "sae_weights.safetensors").write_bytes(weights.read_bytes())
    (local / "cfg.json").write_text(json.dumps({"hook_name": folder, "d_in": 16, "d_sae": 32}))
    book = open_values(features)
    features_equal(lambda name: named(book, name), sae.load(str(local), 16, 2), ref["h.1.resid_pre"], 10)
    wb = openpyxl.load_workbook(out, read_only=True)
    rows = [[c for c in row] for row in wb["Surgery"].iter_rows(values_only=True)]
    matches = [row for row in rows if sum(isinstance(c, (int, float)) for c in row) >= 16
               and np.allclose([c for c in row if isinstance(c, (int, float))][-16:], w_dec[7], rtol=1e-7)]
    assert matches, "the decoder row of feature 7 is not on the Surgery tab"
    # an id the release does not have, and a release xlgpt does not know: one line each
    for spec, needle in (("gpt2-small-res-jb/blocks.99.hook_resid_pre", "has the SAEs"),
                         ("nosuch-release/x", "not a release xlgpt knows")):
        r = xlgpt("build", "--weights", "random:tiny", "--steer-sae", spec, "--feature", "1",
                  "--out", tmp_path / "x.xlsx", env={"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")})
        assert r.returncode == 2 and needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
