"""What recalc remembers about sheets it has seen, on disk, keyed by a cryptographic digest of their bytes.

- a weight tab's numbers (.arr), so an unchanged weight tab is not parsed again;
- a formula tab's blocks (.blocks), so it is not parsed again either;
- the digest of the cached values a formula tab carries (.values), recorded when recalc writes the tab: when
  a later recalculation of a tab with that key computes values with the same digest, the tab's compressed
  bytes are copied instead of written anew.

A key is the SHA-256 digest of the member's stored (compressed) bytes, with the cache's format version: a
CRC-32 can be forged in a second (it is linear), a digest cannot, so no workbook can plant numbers for
another, and damaged bytes never find an entry (they are inflated, and their CRC-32 fails).

An entry is data only, never code: nothing here is unpickled or evaluated. Each file is

    MAGIC (8 bytes) | seal (32 bytes) | header length (8 bytes, little-endian) | JSON header | padding | arrays

where the arrays are raw little-endian float64 at 64-byte-aligned offsets the header gives, and the seal is
SHA-256 over the entry's key, the digest of the length and header, and the digest of each array. An entry whose seal does not match
(damaged, altered, or copied under another key) is ignored and the tab read from the workbook.

The folder is ~/.cache/xlgpt/sheets, or $XLGPT_CACHE/sheets, created 0700. Like ssh and pip, xlgpt does not
use a folder that another user owns or that group or others may write (one warning line; the run goes on
without the cache): whoever can write it could choose what a workbook computes. It holds at most
$XLGPT_CACHE_MAX_BYTES (default 4 GB; 0 turns the cache off); past that the least recently used entries go.
Every entry is written to a temporary file and renamed, and a failed write leaves nothing. A cache that
cannot be read or written only costs time: every failure falls back to reading the workbook.
"""

import hashlib
import json
import mmap
import os
import stat
import sys
import threading
from pathlib import Path

import numpy as np

from ..sheet.book import Formulas, Texts, Values
from ..sheet.cells import ERROR_CODES, XlError
from .atomic import process_alive, track, untrack
from .zipread import digest

FORMAT = "v3"  # bump when what an entry holds changes: older entries are then never found
MAGIC = b"XLGPTC3\n"
DEFAULT_MAX_BYTES = 4_000_000_000
_ALIGN = 64


def cache_dir() -> Path:
    return Path(os.environ.get("XLGPT_CACHE") or Path.home() / ".cache" / "xlgpt") / "sheets"


def max_bytes() -> int:
    raw = os.environ.get("XLGPT_CACHE_MAX_BYTES", "")
    try:
        return max(0, int(float(raw))) if raw else DEFAULT_MAX_BYTES
    except (ValueError, OverflowError):
        return DEFAULT_MAX_BYTES


def enabled() -> bool:
    return max_bytes() > 0 and folder() is not None


_FOLDERS: dict = {}  # cache_dir() -> the folder when it may be used, else None (decided once per process)


def folder() -> Path | None:
    """The cache's folder, created 0700 if missing, or None (after one warning line) when it must not be used
    or cannot be: owned by another user, writable by group or others, not a folder, not writable."""
    where = cache_dir()
    if where not in _FOLDERS:
        problem = _unsafe(where)
        if problem:
            print(f"xlgpt: warning: not using the sheet cache {where}: {problem}; recalculating without it",
                  file=sys.stderr, flush=True)
        _FOLDERS[where] = None if problem else where
    return _FOLDERS[where]


def _unsafe(where: Path) -> str | None:
    """Why the folder must not be used, or None. Its parent (the xlgpt folder) is checked too: whoever may
    rename entries in it could swap the whole folder."""
    try:
        where.parent.parent.mkdir(parents=True, exist_ok=True)  # ~/.cache on a new account: ordinary folders
    except OSError:
        pass  # the first level below says why it cannot be used
    for level in (where.parent, where):
        try:
            level.mkdir(mode=0o700, exist_ok=True)
        except FileExistsError:
            return f"{level} is not a folder"
        except OSError as e:
            return f"cannot create {level} ({e.strerror or e})"
        try:
            st = os.stat(level)
        except OSError as e:
            return f"cannot read {level} ({e.strerror or e})"
        if not stat.S_ISDIR(st.st_mode):
            return f"{level} is not a folder"
        if st.st_uid != os.geteuid():
            return f"{level} is owned by another user (uid {st.st_uid})"
        if st.st_mode & 0o022:
            return (f"{level} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}); "
                    f"chmod 700 it to use it")
    if not os.access(where, os.W_OK | os.X_OK):
        return f"{where} is not writable"
    return None


def key(member_digest: str) -> str:
    """A member's key: the digest of its stored bytes (zipread.digest)."""
    return f"{FORMAT}-{member_digest}"


def blocks_key(sheet_key: str, strings_key: str) -> str:
    """A formula tab's key for its parsed blocks: its text constants may be shared strings."""
    return f"{sheet_key}-{strings_key[-40:]}"


# ---- entries: a sealed JSON header and raw float64 arrays -------------------------------------------------

def _seal(k: str, head, arrays: list) -> bytes:
    """SHA-256 over the key, the digest of the entry's head (length, JSON header) and each array's digest:
    computed from the buffers where they are when an entry is written (no copy of a 300 MB tab), and from
    the mapped file when it is read."""
    parts = [k.encode(), bytes.fromhex(digest(head))] + [bytes.fromhex(digest(a)) for a in arrays]
    return hashlib.sha256(b"".join(parts)).digest()


def _pack(k: str, header: dict, arrays: list):
    """(the body of an entry as pieces, its seal): header length, JSON header, then each array at an aligned
    offset (the header's "arrays" lists [offset, rows, cols] for each, offsets counted from the body's start)."""
    offsets, at = [], 0
    text = b""
    for _ in range(3):  # the header's length moves the offsets, which are in the header: settle it
        start = _aligned(8 + len(text) + 64)  # room for the header to grow a little
        offsets, at = [], start
        for a in arrays:
            offsets.append([at, int(a.shape[0]), int(a.shape[1])])
            at = _aligned(at + a.nbytes)
        text = json.dumps({**header, "arrays": offsets}, allow_nan=False, separators=(",", ":")).encode()
        if 8 + len(text) <= start:
            break
    else:
        raise ValueError("entry header does not settle")
    head = len(text).to_bytes(8, "little") + text
    pieces, data = [head, b"\0" * (start - len(head))], []
    pos = start
    for a, (offset, _, _) in zip(arrays, offsets):
        pieces.append(b"\0" * (offset - pos))
        contiguous = np.ascontiguousarray(a, dtype="<f8")
        data.append(memoryview(contiguous).cast("B"))
        pieces.append(data[-1])
        pos = offset + contiguous.nbytes
    return pieces, _seal(k, head, data)


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _open(file: Path, k: str):
    """(header, body as a read-only mapping) of a sealed entry, or None when it is missing, damaged, altered
    or belongs to another key. The arrays of the header are checked to lie inside the body."""
    try:
        with open(file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < len(MAGIC) + 32 + 8:
                return None
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    view = memoryview(mapped)
    if bytes(view[:len(MAGIC)]) != MAGIC:
        return None
    body = view[len(MAGIC) + 32:]
    n = int.from_bytes(body[:8], "little")
    if n > len(body) - 8:
        return None
    try:
        header = json.loads(bytes(body[8:8 + n]))
        arrays = header["arrays"]
        for offset, rows, cols in arrays:
            if not (all(type(x) is int and x >= 0 for x in (offset, rows, cols))
                    and offset % 8 == 0 and 8 + n <= offset and offset + rows * cols * 8 <= len(body)):
                return None
    except (ValueError, TypeError, KeyError):
        return None
    head = body[:8 + n]
    data = [body[offset:offset + rows * cols * 8] for offset, rows, cols in arrays]
    if _seal(k, head, data) != bytes(view[len(MAGIC):len(MAGIC) + 32]):
        return None  # the header was parsed only to find the arrays: nothing in it is used unless sealed
    _touch(file)
    return header, body


def _array(body, spec) -> np.ndarray:
    offset, rows, cols = spec
    return np.frombuffer(body, dtype="<f8", count=rows * cols, offset=offset).reshape(rows, cols)


def _load(k: str, suffix: str, kind: str):
    """(header, body) of the entry of key k when the cache is in use and the entry is there, sealed and of
    this kind; else None."""
    if not enabled():
        return None
    opened = _open(folder() / f"{k}{suffix}", k)
    return opened if opened is not None and opened[0].get("kind") == kind else None


def load_array(k: str):
    """A weight tab's numbers (read-only, mapped from the entry), or None."""
    opened = _load(k, ".arr", "array")
    if opened is None or len(opened[0]["arrays"]) != 1:
        return None
    return _array(opened[1], opened[0]["arrays"][0])


def remember_array(k: str, data: np.ndarray) -> None:
    _write(f"{k}.arr", k, {"kind": "array"}, [np.asarray(data).reshape(data.shape[0], -1)])


def load_blocks(k: str):
    """A formula tab's blocks as the reader made them (formulas without values), or None."""
    opened = _load(k, ".blocks", "blocks")
    if opened is None:
        return None
    header, body = opened
    try:
        return [_block(b, body, header["arrays"]) for b in header["blocks"]]
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def remember_blocks(k: str, blocks: list) -> None:
    arrays, out = [], []
    for b in blocks:
        if isinstance(b, Values):
            out.append({"t": "values", "at": [b.row, b.col], "style": b.style, "array": len(arrays)})
            arrays.append(np.asarray(b.data, dtype=np.float64))
        elif isinstance(b, Texts):
            out.append({"t": "texts", "at": [b.row, b.col], "style": b.style,
                        "data": [[_cell_json(v) for v in row] for row in b.data]})
        elif isinstance(b, Formulas):
            out.append({"t": "formulas", "at": [b.row, b.col, b.nrows, b.ncols], "text": b.text, "kind": b.kind,
                        "style": b.style})
        else:
            return  # a block this format does not know: not cached
    try:
        _write(f"{k}.blocks", k, {"kind": "blocks", "blocks": out}, arrays)
    except ValueError:  # a value JSON cannot hold (a non-finite number): not cached
        return


def _cell_json(v):
    if isinstance(v, XlError):
        return {"error": str(v)}
    if v is None or type(v) in (str, bool, float, int):
        return v
    raise ValueError(f"a cell of type {type(v).__name__}")


def _cell_value(v):
    if isinstance(v, dict):
        return ERROR_CODES[v["error"]]
    if v is None or type(v) in (str, bool, float, int):
        return v
    raise ValueError("not a cell value")


def _style(v):
    if v is None or type(v) in (int, str):
        return v
    raise ValueError("not a style")


def _ints(xs, n):
    if len(xs) != n or not all(type(x) is int and x >= 0 for x in xs):
        raise ValueError("not a position")
    return xs


def _block(b: dict, body, arrays: list):
    t = b["t"]
    if t == "values":
        r, c = _ints(b["at"], 2)
        return Values(r, c, _array(body, arrays[b["array"]]), style=_style(b["style"]))
    if t == "texts":
        r, c = _ints(b["at"], 2)
        return Texts(r, c, [[_cell_value(v) for v in row] for row in b["data"]], style=_style(b["style"]))
    if t == "formulas":
        r, c, nr, nc = _ints(b["at"], 4)
        if type(b["text"]) is not str or b["kind"] not in ("shared", "array", "cell"):
            raise ValueError("not a formula")
        return Formulas(r, c, nr, nc, b["text"], b["kind"], style=_style(b["style"]))
    raise ValueError(f"unknown block {t!r}")


def load_digest(k: str):
    opened = _load(k, ".values", "values")
    value = opened[0].get("values") if opened is not None else None
    return value if type(value) is str else None


def remember_digest(k: str, values: str) -> None:
    _write(f"{k}.values", k, {"kind": "values", "values": values}, [])


def remember_written(pieces: list, sheet, values: str | None = None) -> str | None:
    """Remember that a formula tab xlgpt has just written as `pieces` (its stored, compressed bytes) carries the
    values the sheet holds now, so that a recalculation reading those bytes again and computing the same values
    copies the tab as stored instead of writing it anew. values: values_digest(sheet) when the caller has it.
    Returns the tab's key, or None (no formulas, no cache)."""
    if not enabled() or not any(isinstance(b, Formulas) for b in sheet.blocks):
        return None
    k = key(digest(b"".join(pieces)))
    remember_digest(k, values or values_digest(sheet))
    return k


def values_digest(sheet) -> str:
    """A digest of the formula cells' values (sheet.computed), cell by cell (however the cells are grouped into
    blocks): two tabs with the same formulas carry the same cached values exactly when their digests agree."""
    formulas = [b for b in sheet.blocks if isinstance(b, Formulas)]
    rows = max((b.row + b.nrows for b in formulas), default=0)
    cols = max((b.col + b.ncols for b in formulas), default=0)
    numbers = np.full((rows, cols), np.nan)
    kinds = np.zeros((rows, cols), dtype=np.uint8)  # 0 no formula, 1 number, 2 other value, 3 not computed
    others = []
    for b in formulas:
        where = (slice(b.row, b.row + b.nrows), slice(b.col, b.col + b.ncols))
        values = sheet.computed.get(b)
        if values is None:
            kinds[where] = 3
        elif values.dtype == np.float64:
            numbers[where], kinds[where] = values, 1
        else:
            kinds[where] = 2
            others += [(b.row + i, b.col + j, type(x).__name__, str(x))
                       for i, row in enumerate(values.tolist()) for j, x in enumerate(row)]
    h = hashlib.blake2b(digest_size=20)
    h.update(np.array([rows, cols]).tobytes())
    h.update(kinds.tobytes())
    h.update(numbers.tobytes())
    h.update(repr(sorted(others)).encode())
    return h.hexdigest()


def _touch(file: Path) -> None:
    """Mark an entry used now: eviction goes by modification time, which every file system keeps."""
    try:
        os.utime(file)
    except OSError:
        pass


_written = 0  # bytes of entries written since the folder was last scanned for eviction


def _write(name: str, k: str, header: dict, arrays: list) -> None:
    """Seal and write an entry (raises ValueError when the header cannot be JSON: the caller skips it)."""
    if not enabled():
        return
    body, seal = _pack(k, header, arrays)
    where = folder()
    file = where / name
    tmp = where / f"{name}.{threading.get_ident()}.{os.getpid()}.tmp"  # threads of a process write apart too
    track(tmp)
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + seal)
            for piece in body:  # the arrays are written from where they are, never joined into one copy
                f.write(piece)
            size = f.tell()
        tmp.replace(file)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no empty or partial entry behind
        return
    finally:
        untrack(tmp)
    # eviction scans the folder: do it when a twentieth of the cap has been written since the last scan
    # (a recalculation writes hundreds of small entries), so the cache passes its cap by at most that
    global _written
    _written += size
    if _written * 20 >= max_bytes():
        _written = 0
        evict(where, max_bytes())


def tidy() -> None:
    """Evict now: at the end of a run that wrote entries."""
    global _written
    if _written and enabled():
        _written = 0
        evict(folder(), max_bytes())


def evict(where: Path, limit: int) -> None:
    """Remove the least recently used entries until the folder holds at most `limit` bytes, and the
    temporary files of writers that are gone."""
    entries, total = [], 0
    try:
        with os.scandir(where) as it:
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
