"""Load the stage templates in templates/ and fill their placeholders.

templates/NAME.toml holds the formulas (and the titles) of the stage module workbook/NAME.py: the template
decides each formula's text and its kind (shared, array, cell); the module decides where it goes.
"""

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path


def _templates_dir():
    """Where the templates are: in an installed wheel, the package data xlgpt/stage_templates/ (setup.py puts
    them there); in a source checkout or an editable install, templates/ at the top of the repository."""
    installed = resources.files("xlgpt") / "stage_templates"
    if installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("xlgpt's formula templates are missing from this installation: reinstall xlgpt")


TEMPLATES_DIR = _templates_dir()


@dataclass(frozen=True)
class Template:
    stage: str
    block: str
    formula: str = ""  # empty for an entry that only titles a tab of constants
    kind: str = ""
    title: str = ""
    equation: str = ""

    def fill(self, **values) -> str:
        if not self.formula:
            raise KeyError(f"template {self.stage}.{self.block} has no formula")
        return _fill(self.formula, values, f"{self.stage}.{self.block}")

    def header(self, **values) -> tuple[str, str]:
        where = f"{self.stage}.{self.block}"
        return _fill(self.title, values, where), _fill(self.equation, values, where)


def _fill(text: str, values: dict, where: str) -> str:
    needed = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    missing = needed - values.keys()
    if missing:
        raise KeyError(f"template {where} needs {sorted(missing)}")
    return text.format(**values)


KINDS = ("shared", "array", "cell")  # see book.Formulas


@lru_cache(maxsize=None)
def stage(name: str) -> dict[str, Template]:
    """templates/NAME.toml as {block: Template}."""
    data = tomllib.loads((TEMPLATES_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    out = {}
    for block, t in data.items():
        formula, kind = t.get("formula", ""), t.get("kind", "")
        if formula and kind not in KINDS or kind and not formula:
            raise ValueError(f"template {name}.{block}: a formula needs a kind, one of {', '.join(KINDS)}")
        out[block] = Template(stage=name, block=block, formula=formula, kind=kind, title=t.get("title", ""),
                              equation=t.get("equation", ""))
    return out
