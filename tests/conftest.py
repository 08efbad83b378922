import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import Built, need_gnumeric, need_libreoffice  # noqa: E402
from reference import make_hf_model, make_sae, save_hf_model  # noqa: E402
from workbook_io import open_values  # noqa: E402


@pytest.fixture(scope="session")
def hf_tiny():
    return make_hf_model("tiny")


@pytest.fixture(scope="session")
def hf_small2():
    return make_hf_model("small-2")


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory, hf_tiny):
    """A saved tiny transformers model (with the `transformer.` prefix) and its config.json."""
    folder = tmp_path_factory.mktemp("hf_tiny")
    save_hf_model(hf_tiny, folder)
    return folder


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """The tiny workbook every module checks (random:tiny, seed 3, helpers.PROMPT, 16 positions), built once,
    with a sparse autoencoder on h.1.resid_pre (the Features tab: LibreOffice and Gnumeric check it with the
    rest). Without the logit lens: it would double what LibreOffice and Gnumeric compute, and the lens has tests
    of its own (test_surgery.py). Tests that change the file work on a copy."""
    from xlgpt.model import sae
    folder = make_sae(tmp_path_factory.mktemp("tiny_sae") / "sae", 16)
    return Built(tmp_path_factory.mktemp("tiny"), "random:tiny", lens=False, sae=sae.load(str(folder), 16, 2))


def shared(tmp_path_factory, name: str, make):
    """A folder that make(folder) fills once for all the workers of a run (pytest-xdist runs one process a core):
    the first worker to ask makes it while holding a lock, the others wait for it and reuse it."""
    import fcntl
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' folders share their parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").exists():
            folder.mkdir(exist_ok=True)
            make(folder)
            (folder / ".done").touch()
    return folder


@pytest.fixture(scope="session")
def tiny_lo(tiny, tmp_path_factory):
    """The tiny workbook as LibreOffice recalculated and saved it: (its path, its values through openpyxl).
    LibreOffice runs once per test run: every worker's tiny workbook is the same (same seed, prompt, context)."""
    import libreoffice
    need_libreoffice()
    folder = shared(tmp_path_factory, "tiny_lo", lambda f: libreoffice.recalculate(tiny.path, f))
    saved = folder / tiny.path.name
    return saved, open_values(saved)


@pytest.fixture(scope="session")
def tiny_gn(tiny, tmp_path_factory):
    """The tiny workbook recalculated by Gnumeric (ssconvert --recalc) and saved as .xlsx with its values."""
    import subprocess
    need_gnumeric()
    out = tmp_path_factory.mktemp("tiny_gn") / "gn.xlsx"
    r = subprocess.run(["ssconvert", "--recalc", str(tiny.path), str(out)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0 and out.exists(), r.stderr
    return open_values(out)


@pytest.fixture(scope="session", autouse=True)
def sheet_cache(tmp_path_factory):
    """Each test run keeps its own cache of parsed weight sheets, never the user's."""
    os.environ["XLGPT_CACHE"] = str(tmp_path_factory.mktemp("xlgpt-cache"))


# The property tests run the same examples on every run, in CI and on a clean clone alike (the suite gives
# one verdict); XLGPT_EXPLORE=1 lets hypothesis explore new examples on a developer's machine.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("fixed", derandomize=True)
_hypothesis_settings.register_profile("explore", derandomize=False)
_hypothesis_settings.load_profile("explore" if os.environ.get("XLGPT_EXPLORE") and not os.environ.get("CI") else "fixed")


def pytest_collection_modifyitems(config, items):
    """The long tests (LibreOffice, GPT-2-small-shaped models) first: the workers of `make test` then end
    together instead of one waiting for a long test that started last."""
    items.sort(key=lambda item: not (item.get_closest_marker("libreoffice") or item.get_closest_marker("slow")))
