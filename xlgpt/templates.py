"""Load the stage templates in templates/ and fill their placeholders."""

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class Template:
    stage: str
    block: str
    formula: str
    kind: str
    title: str = ""
    equation: str = ""

    def fill(self, **values) -> str:
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


@lru_cache(maxsize=None)
def stage(name: str) -> dict[str, Template]:
    """templates/NAME.toml as {block: Template}."""
    with open(TEMPLATES_DIR / f"{name}.toml", "rb") as f:
        data = tomllib.load(f)
    return {block: Template(stage=name, block=block, formula=t["formula"], kind=t["kind"],
                            title=t.get("title", ""), equation=t.get("equation", ""))
            for block, t in data.items()}
