"""What recalc remembers about sheets it has seen, on disk, keyed by a part's CRC-32 and sizes in the zip.

- a weight tab's numbers (.npy), so an unchanged weight tab is not parsed again;
- a formula tab's blocks (.blocks, pickled), so it is not parsed again either;
- the digest of the cached values a formula tab carries (.values), recorded when recalc writes the tab: when
  a later recalculation of a tab with that key computes values with the same digest, the tab's compressed
  bytes are copied instead of written anew.

The directory is ~/.cache/xlgpt/sheets, or $XLGPT_CACHE/sheets. A cache that cannot be read or written only
costs time: every failure falls back to reading the workbook.
"""

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

from ..book import Formulas


def cache_dir() -> Path:
    return Path(os.environ.get("XLGPT_CACHE") or Path.home() / ".cache" / "xlgpt") / "sheets"


def key(crc: int, compressed: int, size: int) -> str:
    return f"{crc:08x}-{compressed}-{size}"


def blocks_key(sheet_key: str, strings_key: str) -> str:
    """A formula tab's key for its parsed blocks: its text constants may be shared strings."""
    return f"{sheet_key}-{strings_key}"


def load_array(k: str):
    file = cache_dir() / f"{k}.npy"
    try:
        return np.load(file, mmap_mode="r") if file.exists() else None
    except (OSError, ValueError):
        return None


def remember_array(k: str, data: np.ndarray) -> None:
    _write(cache_dir() / f"{k}.npy", lambda f: np.save(f, data))


def load_blocks(k: str):
    return _load_pickle(cache_dir() / f"{k}.blocks")


def remember_blocks(k: str, blocks: list) -> None:
    _write(cache_dir() / f"{k}.blocks", lambda f: pickle.dump(blocks, f, protocol=pickle.HIGHEST_PROTOCOL))


def load_digest(k: str):
    try:
        return (cache_dir() / f"{k}.values").read_text()
    except OSError:
        return None


def remember_digest(k: str, digest: str) -> None:
    _write(cache_dir() / f"{k}.values", lambda f: f.write(digest.encode()))


def values_digest(blocks: list) -> str:
    """A digest of the formula cells' values, cell by cell (however the cells are grouped into blocks): two
    tabs with the same formulas carry the same cached values exactly when their digests agree."""
    formulas = [b for b in blocks if isinstance(b, Formulas)]
    rows = max((b.row + b.nrows for b in formulas), default=0)
    cols = max((b.col + b.ncols for b in formulas), default=0)
    numbers = np.full((rows, cols), np.nan)
    kinds = np.zeros((rows, cols), dtype=np.uint8)  # 0 no formula, 1 number, 2 other value, 3 not computed
    others = []
    for b in formulas:
        where = (slice(b.row, b.row + b.nrows), slice(b.col, b.col + b.ncols))
        if b.values is None:
            kinds[where] = 3
        elif b.values.dtype == np.float64:
            numbers[where], kinds[where] = b.values, 1
        else:
            kinds[where] = 2
            others += [(b.row + i, b.col + j, type(x).__name__, str(x))
                       for i, row in enumerate(b.values.tolist()) for j, x in enumerate(row)]
    h = hashlib.blake2b(digest_size=20)
    h.update(np.array([rows, cols]).tobytes())
    h.update(kinds.tobytes())
    h.update(numbers.tobytes())
    h.update(repr(sorted(others)).encode())
    return h.hexdigest()


def _load_pickle(file: Path):
    try:
        with open(file, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError):
        return None


def _write(file: Path, dump) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f"{file.suffix}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            dump(f)
        tmp.replace(file)
    except OSError:
        pass
