"""The commands' options as typed objects. What several commands share (where a workbook is written, which
weights, which knobs) is declared once here, and once in cli.py's parser."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import XlgptError
from ..model.knobs import SurgeryRequest


@dataclass(frozen=True)
class Output:
    """Where a command writes a workbook: --out PATH (--force to replace a file there) or --in-place."""
    out: Path | None = None
    in_place: bool = False
    force: bool = False

    def given(self) -> bool:
        return self.out is not None or self.in_place

    def for_tab(self, src: Path, write_tab: bool, command: str) -> Path | None:
        """Where a command that writes nothing but --write-tab writes (sweep, patch): None without it."""
        if self.given() and not write_tab:
            raise XlgptError(f"--out and --in-place go with --write-tab ({command} writes nothing else)")
        return self.target(src) if write_tab else None

    def target(self, src: Path) -> Path:
        """The path to write, checked before any work: the source itself with --in-place."""
        if not src.is_file():
            raise XlgptError(f"{src}: no such workbook")
        if self.in_place and self.out:
            raise XlgptError("--in-place and --out exclude each other: overwrite the workbook, or write PATH")
        if self.in_place:
            return src
        if not self.out:
            raise XlgptError("say where to write: --out PATH, or --in-place to overwrite the workbook")
        return writable(self.out, self.force)


def writable(out: Path, force: bool) -> Path:
    """out, checked before any work: .xlsx, not an existing file unless --force, in a folder we may write."""
    if out.suffix.lower() != ".xlsx":
        raise XlgptError(f"--out {out}: the workbook must end in .xlsx")
    if out.is_dir():
        raise XlgptError(f"--out {out} is a folder; give a file name ending in .xlsx")
    if out.exists() and not force:
        raise XlgptError(f"{out} exists: pass --force to overwrite it, or choose another --out")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise XlgptError(f"--out {out}: cannot write to the folder {out.parent}; create it or choose another --out")
    return out


@dataclass(frozen=True)
class Weights:
    """Which checkpoint: a file or folder, a published name, or random[:FAMILY]; --layers keeps the first K."""
    source: str
    seed: int = 0
    layers: int | None = None


@dataclass(frozen=True)
class BuildOptions:
    weights: Weights
    prompt: str
    context: int = 16
    word_bytes: int = 24
    out: Path | None = None  # None: output/WEIGHTS-N.xlsx
    force: bool = False
    lens: bool | None = None  # None: when the lens is small
    surgery: SurgeryRequest = field(default_factory=SurgeryRequest)
    sae: str | None = None  # --sae: a sparse autoencoder for the Features tab (a folder, or RELEASE/ID)
    sae_top: int = 10
    sae_labels: Path | None = None


@dataclass(frozen=True)
class RecalcOptions:
    book: Path
    output: Output
    sets: tuple[str, ...] = ()
    check: bool = False
    print_only: bool = False  # recalculate in memory and print; write nothing


@dataclass(frozen=True)
class SweepOptions:
    book: Path
    prompts: str
    sets: tuple[str, ...] = ()
    keep_only: str | None = None
    write_tab: bool = False
    output: Output = Output()
    csv: Path | None = None
    json: bool = False
    feature: int | None = None  # --feature F: the prompts that light feature F of the workbook's SAE
    features: bool = False  # --features: the most active features at each prompt's last position


@dataclass(frozen=True)
class PredictOptions:
    prompt: str
    weights: Weights
    top: int = 10


@dataclass(frozen=True)
class GenerateOptions:
    book: Path
    tokens: int = 10
    temperature: float = 0.0
    top_k: int = 0
    seed: int = 0


@dataclass(frozen=True)
class PatchOptions:
    book: Path
    clean: str
    corrupt: str
    target: str | None = None  # None: the clean run's top token
    versus: str | None = None  # None: the corrupted run's top token
    components: tuple[str, ...] = ("heads", "mlps")
    write_tab: bool = False
    output: Output = Output()
    json: bool = False
