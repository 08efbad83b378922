import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reference import make_hf_model, save_hf_model  # noqa: E402


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


def soffice_path():
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="session", autouse=True)
def sheet_cache(tmp_path_factory):
    """Each test run keeps its own cache of parsed weight sheets, never the user's."""
    os.environ["XLGPT_CACHE"] = str(tmp_path_factory.mktemp("xlgpt-cache"))


# In CI the property tests run the same examples every time (a failure there must be reproducible); on a
# developer's machine they explore new ones.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")
