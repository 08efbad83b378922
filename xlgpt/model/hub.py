"""Published checkpoints and sparse autoencoders, found and fetched through `huggingface_hub`.

The hub library every GPT-2 user already has gives the real cache layout (refs and snapshots by commit) and
honours HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT (a mirror) and HF_TOKEN. A file already in the
cache is used without any network; a missing one is downloaded when the network allows, else one line says
what to do instead.
"""

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from ..errors import XlgptError
from .config import HUB_REPOS

# SAELens' releases that xlgpt can steer GPT-2 with: release -> (hub repository, {SAE id: folder in it}),
# as SAELens' pretrained_saes.yaml lists them. Each folder holds cfg.json and sae_weights.safetensors.
SAE_RELEASES = {
    "gpt2-small-res-jb": ("jbloom/GPT2-Small-SAEs-Reformatted",
                          {f"blocks.{layer}.hook_resid_pre": f"blocks.{layer}.hook_resid_pre" for layer in range(12)}),
}


def checkpoint_file(name: str) -> Path:
    """A published checkpoint's model.safetensors (its config.json beside it, in the same snapshot)."""
    repo = HUB_REPOS[name]
    config, model = fetch(repo, ["config.json", "model.safetensors"], f"--weights {name}",
                          "use --weights PATH to a model.safetensors, or --weights random")
    return model


def sae_folder(spec: str, what: str = "--steer-sae") -> Path:
    """--steer-sae or --sae RELEASE/ID (SAELens' names, e.g. gpt2-small-res-jb/blocks.2.hook_resid_pre): the cached
    folder holding that SAE's cfg.json and sae_weights.safetensors."""
    release, _, sae_id = spec.partition("/")
    if release not in SAE_RELEASES:
        raise XlgptError(f"{what} {spec}: no such folder, and not a release xlgpt knows "
                         f"({', '.join(SAE_RELEASES)}); give a folder with sae_weights.safetensors, or RELEASE/ID")
    repo, ids = SAE_RELEASES[release]
    if sae_id not in ids:
        raise XlgptError(f"{what} {spec}: {release} has the SAEs {next(iter(ids))} ... {list(ids)[-1]}; "
                         f"give one of them as {release}/ID")
    folder = ids[sae_id]
    cfg, weights = fetch(repo, [f"{folder}/cfg.json", f"{folder}/sae_weights.safetensors"], f"{what} {spec}",
                         "give a local folder holding the SAE's cfg.json and sae_weights.safetensors")
    return weights.parent


PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
PROBE_SECONDS = 3.0


def unreachable(endpoint: str) -> str | None:
    """Why the hub's host cannot be reached (a TCP connection within PROBE_SECONDS), or None when it can, or
    when a proxy stands between (then huggingface_hub's own attempt decides). Without it, no network costs
    huggingface_hub's retries, about 25 s, before its error."""
    if any(os.environ.get(k) for k in PROXIES):
        return None
    url = urlparse(endpoint)
    host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=PROBE_SECONDS).close()
    except OSError as e:
        return f"{host}:{port} cannot be reached: {e.strerror or e}"
    return None


def fetch(repo: str, files: list[str], what: str, instead: str) -> list[Path]:
    """Each file of `repo` from the Hugging Face cache, else downloaded into it."""
    from huggingface_hub import constants, errors, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.utils import logging as hub_logging
    hub_logging.set_verbosity_error()  # its retry warnings would be lines before xlgpt's one line
    out = []
    for name in files:
        cached = try_to_load_from_cache(repo, name)
        if isinstance(cached, str):
            out.append(Path(cached))
            continue
        why = None if constants.HF_HUB_OFFLINE else unreachable(constants.ENDPOINT)
        if why is not None:
            raise XlgptError(f"{what}: {repo}/{name} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
                             f"and there is no network ({why}); {instead}")
        try:
            out.append(Path(hf_hub_download(repo, name)))
        except (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError) as e:
            reason = ("HF_HUB_OFFLINE=1 forbids a download" if constants.HF_HUB_OFFLINE
                      else f"the download failed ({_first_line(e)})")
            raise XlgptError(f"{what}: {repo}/{name} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) "
                             f"and {reason}; {instead}") from None
        except (errors.HfHubHTTPError, errors.HFValidationError, OSError, ValueError) as e:
            raise XlgptError(f"{what}: fetching {repo}/{name} from {constants.ENDPOINT} failed "
                             f"({_first_line(e)}); {instead}") from None
    return out


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
