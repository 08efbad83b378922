"""What recalc remembers about sheets it has seen, on disk, keyed by a cryptographic digest of their bytes.

- a weight tab's numbers (.npy), so an unchanged weight tab is not parsed again;
- a formula tab's blocks (.blocks, pickled), so it is not parsed again either;
- the digest of the cached values a formula tab carries (.values), recorded when recalc writes the tab: when
  a later recalculation of a tab with that key computes values with the same digest, the tab's compressed
  bytes are copied instead of written anew.

A key is the SHA-256 digest of the member's stored (compressed) bytes, with the cache's format version: a
CRC-32 can be forged in a second (it is linear), a digest cannot, so no workbook can plant numbers for
another, and damaged bytes never find an entry (they are inflated, and their CRC-32 fails).

The directory is ~/.cache/xlgpt/sheets, or $XLGPT_CACHE/sheets. It holds at most $XLGPT_CACHE_MAX_BYTES
(default 4 GB; 0 turns the cache off); past that the least recently used entries go. Every entry is written
to a temporary file and renamed, and a failed write leaves nothing. A cache that cannot be read or written
only costs time: every failure falls back to reading the workbook.
"""

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

from ..book import Formulas
from .atomic import process_alive, track, untrack

FORMAT = "v2"  # bump when what an entry holds changes: older entries are then never found
DEFAULT_MAX_BYTES = 4_000_000_000


def cache_dir() -> Path:
    return Path(os.environ.get("XLGPT_CACHE") or Path.home() / ".cache" / "xlgpt") / "sheets"


def max_bytes() -> int:
    raw = os.environ.get("XLGPT_CACHE_MAX_BYTES", "")
    try:
        return max(0, int(float(raw))) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def enabled() -> bool:
    return max_bytes() > 0


def key(member_digest: str) -> str:
    """A member's key: the digest of its stored bytes (zipread.digest)."""
    return f"{FORMAT}-{member_digest}"


def blocks_key(sheet_key: str, strings_key: str) -> str:
    """A formula tab's key for its parsed blocks: its text constants may be shared strings."""
    return f"{sheet_key}-{strings_key[-40:]}"


def load_array(k: str):
    file = cache_dir() / f"{k}.npy"
    try:
        data = np.load(file, mmap_mode="r")
    except (OSError, ValueError):
        return None
    _touch(file)
    return data


def remember_array(k: str, data: np.ndarray) -> None:
    _write(cache_dir() / f"{k}.npy", lambda f: np.save(f, data))


def load_blocks(k: str):
    return _load_pickle(cache_dir() / f"{k}.blocks")


def remember_blocks(k: str, blocks: list) -> None:
    _write(cache_dir() / f"{k}.blocks", lambda f: pickle.dump(blocks, f, protocol=pickle.HIGHEST_PROTOCOL))


def load_digest(k: str):
    file = cache_dir() / f"{k}.values"
    try:
        text = file.read_text()
    except OSError:
        return None
    _touch(file)
    return text


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
            blocks = pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ValueError, ImportError, IndexError, TypeError):
        return None
    _touch(file)
    return blocks


def _touch(file: Path) -> None:
    """Mark an entry used now: eviction goes by modification time, which every file system keeps."""
    try:
        os.utime(file)
    except OSError:
        pass


_written = 0  # bytes of entries written since the folder was last scanned for eviction


def _write(file: Path, dump) -> None:
    if not enabled():
        return
    tmp = file.with_suffix(f"{file.suffix}.{os.getpid()}.tmp")
    track(tmp)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            dump(f)
        tmp.replace(file)
    except (OSError, ValueError, pickle.PickleError):
        tmp.unlink(missing_ok=True)  # a full disk leaves no empty or partial entry behind
        return
    finally:
        untrack(tmp)
    # eviction scans the folder: do it when a twentieth of the cap has been written since the last scan
    # (a recalculation writes hundreds of small entries), so the cache passes its cap by at most that
    global _written
    _written += file.stat().st_size
    if _written * 20 >= max_bytes():
        _written = 0
        evict(file.parent, max_bytes())


def tidy() -> None:
    """Evict now: at the end of a run that wrote entries."""
    global _written
    if _written and enabled():
        _written = 0
        evict(cache_dir(), max_bytes())


def evict(folder: Path, limit: int) -> None:
    """Remove the least recently used entries until the folder holds at most `limit` bytes, and the
    temporary files of writers that are gone."""
    entries, total = [], 0
    try:
        with os.scandir(folder) as it:
            for e in it:
                try:
                    st = e.stat()
                except OSError:
                    continue
                if e.name.endswith(".tmp"):
                    pid = e.name.rsplit(".", 2)[-2]
                    if pid.isdigit() and not process_alive(int(pid)):
                        Path(e.path).unlink(missing_ok=True)
                    continue
                entries.append((st.st_mtime_ns, st.st_size, e.path))
                total += st.st_size
    except OSError:
        return
    if total <= limit:
        return
    for _, size, path in sorted(entries):
        Path(path).unlink(missing_ok=True)
        total -= size
        if total <= limit:
            break

