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
