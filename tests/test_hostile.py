"""Hostile and careless input: every workbook and checkpoint here is one a test made to break xlgpt.

Each case runs `xlgpt` in a subprocess under an address-space limit (2 GB) and a time limit (60 s), so a
regression fails the test instead of taking the machine down; each reports its peak memory and time
(pytest -s shows them). What must hold: one line on stderr that names the file, tab or cell, a documented
exit status, nothing silently different from what the file says, and no file left behind.
"""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from safetensors.numpy import load_file, save_file

from helpers import REFERENCE, need_libreoffice  # REFERENCE: tiktoken with GPT-2's own pattern and ranks, offline
from workbook_io import named, numbers, open_values
from xlgpt.workbook import names
import libreoffice
from xlgpt.xlsx import sheet_cache

LIMIT_BYTES = 2 << 30
LIMIT_SECONDS = 60
EXIT_INPUT, EXIT_IO, EXIT_TERMINATED = 2, 3, 143


class Run:
    def __init__(self, code, out, err, peak_mb, seconds):
        self.code, self.out, self.err, self.peak_mb, self.seconds = code, out, err, peak_mb, seconds

    @property
    def message(self) -> str:
        """stderr without progress lines: what the user is told."""
        return "\n".join(l for l in self.err.splitlines()
                         if not l.startswith(("reading tab", "evaluating", "writing tab")))


# The command line (`python -m xlgpt.cli` runs the same main) under an address-space limit, reporting its own
# peak resident memory (VmHWM) when it exits. wait4's ru_maxrss cannot be used: Linux folds the memory of the
# process that forked the child (this test process, large after the GPT-2-small tests) into the child's peak.
RUN = """
import atexit, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]),) * 2)
def report():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            with open(os.environ["XLGPT_TEST_PEAK"], "w") as f:
                f.write(line.split()[1])
atexit.register(report)
sys.argv = ["xlgpt"] + sys.argv[2:]
from xlgpt.cli import main
sys.exit(main())
"""


def xlgpt(*args, env=None, cwd=None, limit=LIMIT_BYTES, timeout=LIMIT_SECONDS) -> Run:
    """The command line in a subprocess under an address-space limit, with its peak memory."""
    import tempfile
    import threading
    t = time.perf_counter()
    peak_file = Path(tempfile.mkstemp(prefix="xlgpt-peak-")[1])
    p = subprocess.Popen([sys.executable, "-c", RUN, str(limit), *map(str, args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=cwd,
                         env={**os.environ, **(env or {}), "XLGPT_TEST_PEAK": str(peak_file)})
    streams = {}
    readers = [threading.Thread(target=lambda n=n, f=f: streams.__setitem__(n, f.read()))
               for n, f in (("out", p.stdout), ("err", p.stderr))]
    for th in readers:
        th.start()
    timer = threading.Timer(timeout, p.kill)
    timer.start()
    _, status, usage = os.wait4(p.pid, 0)
    timed_out = not timer.is_alive()
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    for th in readers:
        th.join()
    if timed_out:
        pytest.fail(f"xlgpt {' '.join(map(str, args))} ran past {timeout} s")
    reported = peak_file.read_text().strip()
    peak_file.unlink()
    # VmHWM in kB when the process exited normally; after os._exit (SIGTERM) only wait4's upper bound is left
    peak_kb = int(reported) if reported else usage.ru_maxrss
    r = Run(p.returncode, streams["out"], streams["err"], peak_kb / 1024, time.perf_counter() - t)
    print(f"\n  xlgpt {' '.join(map(str, args))[:90]}: exit {r.code}, {r.seconds:.1f} s, "
          f"peak {r.peak_mb:.0f} MB: {r.message[:160]}")
    return r


def one_line(r: Run, code: int, *needles: str) -> None:
    """The run failed with `code` and said so in one line containing every needle (case-insensitive)."""
    assert r.code == code, (r.code, r.err)
    lines = [l for l in r.message.splitlines() if l.strip()]
    assert len(lines) == 1, r.err
    assert "Traceback" not in r.err
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])


def no_leftovers(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if p.name.endswith((".part", ".tmp"))]
    assert not left, left


@pytest.fixture(scope="module")
def tiny(tiny, tmp_path_factory):
    """A copy of the shared tiny workbook (conftest.py) as a path: the tests here damage copies of it."""
    path = tmp_path_factory.mktemp("hostile") / "tiny.xlsx"
    shutil.copy(tiny.path, path)
    return path


def _members(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def _sheet_part(path: Path, tab: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    index = wb.sheetnames.index(tab)
    wb.close()
    with zipfile.ZipFile(path) as z:
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        book = z.read("xl/workbook.xml").decode()
    import re
    rid = re.findall(r'<sheet [^>]*r:id="(rId\d+)"', book)[index]
    return "xl/" + re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels).group(1)


def _write_zip(path: Path, members: dict) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
         b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">')


def _one_sheet_book(path: Path, sheet_xml: bytes, workbook_xml: bytes | None = None, extra: dict | None = None):
    """A minimal package with one sheet S holding sheet_xml."""
    members = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               b'content-types"></Types>',
        "xl/workbook.xml": workbook_xml or (
            b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            b'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                                      b'package/2006/relationships"><Relationship Id="rId1" Type="x" '
                                      b'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
        **(extra or {}),
    }
    _write_zip(path, members)


def _bomb_member(path: Path, name: str, head: bytes, tail: bytes, size: int, members: dict) -> None:
    """members, and `name` as head + `size` spaces + tail, deflated as it streams (never whole in memory)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for n, data in members.items():
            if n != name:
                z.writestr(n, data)
        with z.open(name, "w", force_zip64=True) as f:
            f.write(head)
            block = b" " * (16 << 20)
            for _ in range(size // len(block)):
                f.write(block)
            f.write(tail)


# ---- the sheet cache cannot be fooled ----------------------------------------------------------------------

def _forge_crc(data: bytes, target_crc: int, at: int) -> bytes:
    """data with the 4 bytes at `at` replaced so that its CRC-32 is target_crc (CRC-32 is linear)."""
    base = bytearray(data)
    base[at:at + 4] = b"\0\0\0\0"
    # the CRC's change from each of the 32 bits at `at`, then solve the 32x32 system over GF(2)
    c0 = zlib.crc32(bytes(base))
    cols = []
    for bit in range(32):
        b = bytearray(base)
        b[at + bit // 8] ^= 1 << (bit % 8)
        cols.append(zlib.crc32(bytes(b)) ^ c0)
    want = c0 ^ target_crc
    # Gaussian elimination over GF(2): find x with XOR of cols[i] for x_i = 1 equal to want
    rows = [(cols[i], 1 << i) for i in range(32)]
    basis = {}
    for v, m in rows:
        for bit in reversed(range(32)):
            if not (v >> bit) & 1:
                continue
            if bit in basis:
                v, m = v ^ basis[bit][0], m ^ basis[bit][1]
            else:
                basis[bit] = (v, m)
                break
    x, v = 0, want
    for bit in reversed(range(32)):
        if (v >> bit) & 1:
            v, x = v ^ basis[bit][0], x ^ basis[bit][1]
    assert v == 0
    for bit in range(32):
        if (x >> bit) & 1:
            base[at + bit // 8] ^= 1 << (bit % 8)
    assert zlib.crc32(bytes(base)) == target_crc
    return bytes(base)


def test_equal_crc32_and_sizes_are_different_cache_keys():
    """Two members with the same CRC-32 and the same sizes: their stored bytes differ, so do their keys."""
    from xlgpt.xlsx.zipread import digest
    a = b"<c><v>0.5</v></c>" * 100
    b = _forge_crc(a.replace(b"0.5", b"9.5", 1), zlib.crc32(a), 50)
    assert zlib.crc32(a) == zlib.crc32(b) and len(a) == len(b) and a != b
    assert sheet_cache.key(digest(a)) != sheet_cache.key(digest(b))


def test_forged_member_cannot_plant_numbers_in_the_cache(tiny, tmp_path):
    """A workbook whose ln_f.bias tab claims the CRC-32 and sizes of another workbook's, with other numbers:
    the cache the victim filled is not used for it (the bytes are read, and do not match what they claim),
    and the victim's recalculation afterwards still computes from its own numbers."""
    cache = tmp_path / "cache"
    env = {"XLGPT_CACHE": str(cache)}
    victim = tmp_path / "victim.xlsx"
    r = xlgpt("recalc", tiny, "--out", victim, "--check", "--json", env=env)
    assert r.code == 0, r.err
    before = json.loads(r.out)
    part = _sheet_part(tiny, "ln_f.bias")
    with zipfile.ZipFile(victim) as z:
        info = z.getinfo(part)
        data = z.read(part)
    planted = data.replace(b"<v>", b"<v>9", 4)  # other numbers
    forged = tmp_path / "forged.xlsx"
    members = _members(victim)
    members[part] = planted
    _write_zip(forged, members)
    # rewrite the forged member's CRC-32 and sizes in both headers to the victim's
    raw = bytearray(forged.read_bytes())
    with zipfile.ZipFile(forged) as z:
        fi = z.getinfo(part)
    local = fi.header_offset
    raw[local + 14:local + 26] = struct.pack("<III", info.CRC, fi.compress_size, fi.file_size)
    pos = 0
    while (pos := raw.find(b"PK\x01\x02", pos + 1)) >= 0:
        n = struct.unpack("<H", raw[pos + 28:pos + 30])[0]
        if raw[pos + 46:pos + 46 + n] == part.encode():
            raw[pos + 16:pos + 20] = struct.pack("<I", info.CRC)
    forged.write_bytes(bytes(raw))
    r = xlgpt("recalc", forged, "--out", tmp_path / "f-out.xlsx", env=env)
    one_line(r, EXIT_INPUT, part, "CRC-32")
    r = xlgpt("recalc", victim, "--out", tmp_path / "again.xlsx", "--check", "--json", env=env)
    assert r.code == 0, r.err
    assert json.loads(r.out)["top"] == before["top"]


def test_damaged_deflate_data_is_an_error_naming_the_part_even_when_cached(tiny, tmp_path):
    env = {"XLGPT_CACHE": str(tmp_path / "cache")}
    assert xlgpt("recalc", tiny, "--out", tmp_path / "warm.xlsx", env=env).code == 0  # the cache knows every tab
    part = _sheet_part(tiny, "h.0.mlp.c_fc.weight")
    raw = bytearray(tiny.read_bytes())
    with zipfile.ZipFile(tiny) as z:
        info = z.getinfo(part)
    middle = info.header_offset + 30 + len(part) + info.compress_size // 2
    raw[middle:middle + 64] = bytes(64)
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(raw))
    r = xlgpt("recalc", damaged, "--out", tmp_path / "out.xlsx", env=env)
    one_line(r, EXIT_INPUT, part, "damaged")
    no_leftovers(tmp_path)


def test_of_two_damaged_tabs_the_first_is_named_though_tabs_are_read_by_two_threads(tiny, tmp_path):
    """The reader reads tabs on two threads, one from each end (package._read_sheets); the error is the one reading
    them in order would give: the first damaged tab's, the same on every run."""
    raw = bytearray(tiny.read_bytes())
    parts = [_sheet_part(tiny, name) for name in ("embed", "ln_f.bias")]  # a formula tab early, a weight tab last
    with zipfile.ZipFile(tiny) as z:
        for part in parts:
            info = z.getinfo(part)
            middle = info.header_offset + 30 + len(part) + info.compress_size // 2
            raw[middle:middle + 8] = bytes(8)
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(raw))
    for _ in range(3):
        r = xlgpt("recalc", damaged, "--out", tmp_path / "out.xlsx", env={"XLGPT_CACHE": str(tmp_path / "cache")})
        one_line(r, EXIT_INPUT, parts[0], "damaged")
    no_leftovers(tmp_path)


def test_cache_is_capped_and_evicts_least_recently_used(tiny, tmp_path):
    def entries(cache):
        return {f.name: f.stat() for f in (cache / "sheets").iterdir()}
    full = tmp_path / "full"
    assert xlgpt("recalc", tiny, "--out", tmp_path / "a.xlsx", env={"XLGPT_CACHE": str(full)}).code == 0
    sizes = {n: st.st_size for n, st in entries(full).items()}
    total, biggest = sum(sizes.values()), max(sizes.values())
    cap = max(int(biggest * 1.5), total // 2)
    assert cap < total
    capped = tmp_path / "capped"
    r = xlgpt("recalc", tiny, "--out", tmp_path / "b.xlsx", env={"XLGPT_CACHE": str(capped),
                                                                  "XLGPT_CACHE_MAX_BYTES": str(cap)})
    assert r.code == 0, r.err
    kept = entries(capped)
    assert kept and sum(st.st_size for st in kept.values()) <= cap
    assert not [n for n in kept if n.endswith(".tmp")]
    assert set(sizes) - set(kept)


class _Planted:
    """A pickle that, if any reader unpickled it, would create the file `marker`."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_cache_entries_are_data_never_code_and_an_altered_entry_is_ignored(tiny, tmp_path):
    """Whoever can write into a cache folder must not run code nor change an answer: every .blocks entry
    replaced by a pickle that would create a file when loaded, every weight tab's entry with its numbers
    doubled (its seal left as it was). The next recalculation runs no code, ignores the altered entries and
    still equals the oracle."""
    import pickle
    cache = tmp_path / "cache"
    env = {"XLGPT_CACHE": str(cache)}
    r = xlgpt("recalc", tiny, "--out", tmp_path / "a.xlsx", "--check", "--json", env=env)
    assert r.code == 0, r.err
    before = json.loads(r.out)
    entries = list((cache / "sheets").iterdir())
    assert oct((cache / "sheets").stat().st_mode & 0o777) == "0o700" and oct(cache.stat().st_mode & 0o777) == "0o700"
    marker = tmp_path / "ran"
    planted = altered = 0
    for f in entries:
        if f.suffix == ".blocks":
            f.write_bytes(pickle.dumps(_Planted(str(marker))))
            planted += 1
        elif f.suffix == ".arr":
            raw = bytearray(f.read_bytes())
            n = int.from_bytes(raw[40:48], "little")
            offset = json.loads(raw[48:48 + n])["arrays"][0][0]
            data = np.frombuffer(bytes(raw[40 + offset:]), dtype="<f8")
            raw[40 + offset:] = (data * 2).tobytes()
            f.write_bytes(bytes(raw))
            altered += 1
    assert planted > 5 and altered > 5
    r = xlgpt("recalc", tiny, "--out", tmp_path / "b.xlsx", "--check", "--json", env=env)
    assert r.code == 0, r.err
    assert not marker.exists()
    after = json.loads(r.out)
    assert after["check"] == "ok" and after["top"] == before["top"]


def _small_book(path: Path) -> Path:
    """A workbook of a numbers tab and a formula tab: every kind of cache entry, in a fraction of a second."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "W"
    for i in range(1, 21):
        ws.append([i * 0.5, -i, i / 3])
    f = wb.create_sheet("F")
    f["A1"], f["A2"] = "=SUM(W!A1:C20)", '="total"'
    wb.save(path)
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder another user's needs root")
def test_cache_folder_of_another_user_or_writable_by_others_is_not_used(tmp_path):
    """As ssh and pip treat their folders: one warning line, the run goes on without the cache."""
    book = _small_book(tmp_path / "small.xlsx")
    cases = {"others": (0o777, None), "owner": (0o700, 65534)}
    for case, (mode, owner) in cases.items():
        cache = tmp_path / case
        (cache / "sheets").mkdir(parents=True)
        os.chmod(cache, mode)
        if owner is not None:
            os.chown(cache, owner, owner)
        r = xlgpt("recalc", book, "--out", tmp_path / f"{case}.xlsx", env={"XLGPT_CACHE": str(cache)})
        assert r.code == 0, r.err
        warnings = [l for l in r.message.splitlines() if "warning" in l]
        assert len(warnings) == 1 and str(cache) in warnings[0], r.err
        assert ("writable by group or others" if owner is None else "another user") in warnings[0]
        assert not list((cache / "sheets").iterdir())  # nothing was written there
    r = xlgpt("recalc", book, "--out", tmp_path / "private.xlsx", env={"XLGPT_CACHE": str(tmp_path / "private")})
    assert r.code == 0 and "warning" not in r.err, r.err
    assert list((tmp_path / "private" / "sheets").iterdir())  # a private folder is used: the test can fail


def test_a_new_cache_folder_is_made_private_with_its_parents(tmp_path):
    """A cache path whose parents do not exist yet (a new account's ~/.cache): they are made, the cache's own
    folders 0700, and the cache is used."""
    book = _small_book(tmp_path / "small.xlsx")
    cache = tmp_path / "new" / "deeper" / "cache"
    r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx", env={"XLGPT_CACHE": str(cache)})
    assert r.code == 0 and "warning" not in r.err, r.err
    assert oct(cache.stat().st_mode & 0o777) == "0o700" and oct((cache / "sheets").stat().st_mode & 0o777) == "0o700"
    assert list((cache / "sheets").iterdir())


@pytest.mark.parametrize("case", ["file", "unwritable"])
def test_a_cache_that_cannot_be_used_costs_time_never_the_run(tmp_path, case):
    book = _small_book(tmp_path / "small.xlsx")
    cache = tmp_path / "cache"
    if case == "file":
        cache.write_text("not a folder")
    else:
        cache.mkdir(mode=0o500)
    r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx", env={"XLGPT_CACHE": str(cache)})
    assert r.code == 0, r.err
    assert len([l for l in r.message.splitlines() if "warning" in l]) <= 1
    assert (tmp_path / "out.xlsx").is_file()
    no_leftovers(tmp_path)


def test_eviction_removes_the_least_recently_used_and_dead_writers_temporaries(tmp_path):
    for i in range(6):
        f = tmp_path / f"v2-{i}.npy"
        f.write_bytes(b"x" * 100)
        os.utime(f, ns=(i * 10**9, i * 10**9))  # entry i last used at second i
    (tmp_path / "v2-0.values").write_text("d")
    os.utime(tmp_path / "v2-0.values", ns=(10 * 10**9, 10 * 10**9))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"v2-9.npy.{dead.pid}.tmp").write_bytes(b"")
    (tmp_path / f"v2-8.npy.{os.getpid()}.tmp").write_bytes(b"")  # a live writer's: kept
    sheet_cache.evict(tmp_path, 301)
    # 601 bytes, at most 301 kept: entries 0, 1 and 2 (the least recently used .npy) go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v2-0.values", "v2-3.npy", "v2-4.npy", "v2-5.npy",
                                                         f"v2-8.npy.{os.getpid()}.tmp"]


# ---- bounded by what the file really holds ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml"])
def test_zip_bombs_are_refused_before_they_inflate(tmp_path, name):
    """1 GiB of spaces in 1 MB: refused by its inflate ratio, naming the part and the limit to raise."""
    base = tmp_path / "base.xlsx"
    _one_sheet_book(base, SHEET + b"<sheetData/></worksheet>",
                    extra={"xl/sharedStrings.xml": b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'})
    bomb = tmp_path / "bomb.xlsx"
    members = _members(base)
    head, _, tail = members[name].rpartition(b"</")
    _bomb_member(bomb, name, head, b"</" + tail, 1 << 30, members)
    r = xlgpt("recalc", bomb, "--out", tmp_path / "out.xlsx")
    one_line(r, EXIT_INPUT, name, "XLGPT_MAX_INFLATE_RATIO")
    assert r.peak_mb < 500


def test_member_that_lies_about_its_size_stops_at_what_it_declared(tmp_path):
    """A sheet that declares 100 bytes but inflates to 64 MB: inflating stops after 101 bytes."""
    book = tmp_path / "liar.xlsx"
    _one_sheet_book(book, SHEET + b"<sheetData>" + b" " * (64 << 20) + b"</sheetData></worksheet>")
    raw = bytearray(book.read_bytes())
    part = b"xl/worksheets/sheet1.xml"
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = -1
        while (pos := raw.find(sig, pos + 1)) >= 0:
            name_at = pos + (30 if sig == b"PK\x03\x04" else 46)
            if raw[name_at:name_at + len(part)] == part:
                raw[pos + size_at:pos + size_at + 4] = struct.pack("<I", 100)
    book.write_bytes(bytes(raw))
    r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx")
    one_line(r, EXIT_INPUT, "sheet1.xml")
    assert r.peak_mb < 500


def _raw_zip(locals_: list, centrals: list) -> bytes:
    """A zip written by hand, to say what Python's writer will not: locals_ is [(name, data)] stored one after
    another (data stored, not deflated); centrals is [(name, index of the local record it points at, flags)].
    A local record may be given as bytes (already a whole record, placed as it is)."""
    out, offsets, records = bytearray(), [], {}
    for i, rec in enumerate(locals_):
        offsets.append(len(out))
        if isinstance(rec, bytes):
            out += rec
            continue
        name, data = rec
        records[i] = (zlib.crc32(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                           len(name.encode()), 0) + name.encode() + data
    start = len(out)
    for name, i, flags, crc_size in centrals:
        crc, size = crc_size or records[i]
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 0, 0, 0, crc, size, size,
                           len(name.encode()), 0, 0, 0, 0, 0, offsets[i]) + name.encode()
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(centrals), len(centrals), len(out) - start, start, 0)
    return bytes(out)


def _local(name: str, data: bytes, flags=0) -> bytes:
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0, zlib.crc32(data), len(data), len(data),
                       len(name.encode()), 0) + name.encode() + data


def test_zip_entries_that_overlap_mismatch_or_repeat_are_refused(tmp_path):
    """What Python's zipfile refuses when it opens a member, xlgpt refuses before it reads one: 2,000
    central entries over one 15 MB member (a 179 KB file) at once, a central name its local header
    contradicts, a member hidden inside another's bytes, two members of one name, the encrypted flag."""
    base = tmp_path / "base.xlsx"
    _one_sheet_book(base, SHEET + b"<sheetData/></worksheet>")
    members = _members(base)
    sheet = b"<!-- " + b" " * (15 << 20) + b" -->" + members["xl/worksheets/sheet1.xml"]
    # 2,000 central entries, each with its own name, all pointing at the one local record of sheet1.xml
    parts = [(n, d) for n, d in members.items() if n != "xl/worksheets/sheet1.xml"] + [("xl/worksheets/sheet1.xml", sheet)]
    with zipfile.ZipFile(tmp_path / "deflated.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts:
            z.writestr(n, d)
    many = bytearray((tmp_path / "deflated.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "deflated.zip") as z:
        central = bytes(many[z.start_dir:])
    pos = central.index(b"PK\x01\x02", central.index(b"xl/worksheets/sheet1.xml") - 46)
    entry = central[pos:pos + 46 + len("xl/worksheets/sheet1.xml")]
    extra = b"".join(entry[:46] + f"xl/worksheets/sheet{i:04d}.xml"[:24].encode() for i in range(2000))
    eocd = central[central.rindex(b"PK\x05\x06"):]
    count = struct.unpack("<H", eocd[10:12])[0] + 2000
    cd_size = struct.unpack("<I", eocd[12:16])[0] + len(extra)
    start = struct.unpack("<I", eocd[16:20])[0]
    bomb = tmp_path / "many.xlsx"
    bomb.write_bytes(bytes(many[:start]) + central[:central.rindex(b"PK\x05\x06")] + extra
                     + eocd[:8] + struct.pack("<HHI", count, count, cd_size) + eocd[16:])
    assert bomb.stat().st_size < 400_000
    r = xlgpt("recalc", bomb, "--out", tmp_path / "out.xlsx", timeout=20)
    one_line(r, EXIT_INPUT, "forged")
    assert r.seconds < 10

    named = dict(members)
    sheet_data = named.pop("xl/worksheets/sheet1.xml")
    order = list(named.items())
    centrals = [(n, i, 0, None) for i, (n, _) in enumerate(order)]
    # the local header says evil01.xml (same length), the central directory sheet1.xml
    mismatched = tmp_path / "mismatch.xlsx"
    mismatched.write_bytes(_raw_zip(order + [("xl/worksheets/evil01.xml", sheet_data)],
                                    centrals + [("xl/worksheets/sheet1.xml", len(order), 0, None)]))
    one_line(xlgpt("recalc", mismatched, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "evil01.xml", "local header")
    # sheet1.xml's record hidden inside the bytes of a stored member docProps/hidden.bin
    inner = _local("xl/worksheets/sheet1.xml", sheet_data)
    hiding = tmp_path / "overlap.xlsx"
    hiding.write_bytes(_raw_zip(order + [("docProps/hidden.bin", inner)],
                                centrals + [("docProps/hidden.bin", len(order), 0, None)]))
    raw = bytearray(hiding.read_bytes())  # add a central entry for sheet1.xml at the hidden record's offset
    with zipfile.ZipFile(hiding) as z:
        hidden = z.getinfo("docProps/hidden.bin")
    inner_at = hidden.header_offset + 30 + len("docProps/hidden.bin")
    eocd_at = raw.rindex(b"PK\x05\x06")
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, zlib.crc32(sheet_data),
                        len(sheet_data), len(sheet_data), 24, 0, 0, 0, 0, 0, inner_at) + b"xl/worksheets/sheet1.xml"
    n, size, start = struct.unpack("<H", raw[eocd_at + 10:eocd_at + 12])[0], *struct.unpack("<II", raw[eocd_at + 12:eocd_at + 20])
    raw[eocd_at:] = entry + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n + 1, n + 1, size + len(entry), start, 0)
    hiding.write_bytes(bytes(raw))
    one_line(xlgpt("recalc", hiding, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "overlap")
    # two members named sheet1.xml
    twice = tmp_path / "twice.xlsx"
    twice.write_bytes(_raw_zip(order + [("xl/worksheets/sheet1.xml", sheet_data)] * 2,
                               centrals + [("xl/worksheets/sheet1.xml", len(order), 0, None),
                                           ("xl/worksheets/sheet1.xml", len(order) + 1, 0, None)]))
    one_line(xlgpt("recalc", twice, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "two members")
    # the encrypted flag
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(_raw_zip(order + [_local("xl/worksheets/sheet1.xml", sheet_data, flags=1)],
                                centrals + [("xl/worksheets/sheet1.xml", len(order), 1,
                                             (zlib.crc32(sheet_data), len(sheet_data)))]))
    one_line(xlgpt("recalc", locked, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "encrypted")
    no_leftovers(tmp_path)


def test_sheet_names_differing_only_in_case_are_one_name(tmp_path):
    """Excel's sheet names are case-insensitive: a package with tabs S and s is damaged."""
    book = tmp_path / "cases.xlsx"
    wb = (b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
          b'<sheet name="S" sheetId="1" r:id="rId1"/><sheet name="s" sheetId="2" r:id="rId1"/></sheets></workbook>')
    _one_sheet_book(book, SHEET + b"<sheetData/></worksheet>", workbook_xml=wb)
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "'S'", "'s'")


def test_part_size_limit_is_an_environment_variable(tiny, tmp_path):
    r = xlgpt("recalc", tiny, "--out", tmp_path / "out.xlsx", env={"XLGPT_MAX_PART_BYTES": "100000"})
    one_line(r, EXIT_INPUT, "XLGPT_MAX_PART_BYTES", "inflates to")


def _formula_book(path: Path, cells: dict) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    for k, v in cells.items():
        ws[k] = v
    wb.save(path)


def _values(path: Path) -> dict:
    ws = openpyxl.load_workbook(path, data_only=True).active
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def test_huge_ranges_are_clipped_to_the_cells_that_exist(tmp_path):
    """Excel's answers over empty cells (0, the numbers that are there), in no time and no memory; whole
    columns and rows read as such."""
    book = tmp_path / "ranges.xlsx"
    _formula_book(book, {"A1": 1.5, "A2": 2, "C5": 4,
                         "B1": "=SUM(C3:XFD60000)", "B2": "=SUM(A:A)", "B3": "=MAX(1:1)+COUNT($C:$XFD)",
                         "B4": "=A:A"})
    wb = openpyxl.load_workbook(book)
    t = wb.create_sheet("T")
    t["A1"] = ArrayFormula("A1", "=SUM(S!B1:XFD100000*2)")
    t["A2"] = "=SUMPRODUCT(S!A1:XFD1000000,S!A1:XFD1000000)"
    wb.save(book)
    out = tmp_path / "out.xlsx"
    r = xlgpt("recalc", book, "--out", out)
    assert r.code == 0, r.err
    assert r.peak_mb < 1000
    v = _values(out)
    # by hand, as Excel defines these functions: C3:XFD60000 holds only C5 = 4; column A holds 1.5 and 2;
    # row 1 holds 1.5 and B1 = 4; C:XFD holds one number (C5); A4 is empty, so =A:A in row 4 shows 0
    assert v["B1"] == 4 and v["B2"] == 3.5 and v["B3"] == 4 + 1 and v["B4"] == 0
    t = openpyxl.load_workbook(out, data_only=True)["T"]
    assert t["A1"].value == 2 * (4 + 3.5 + 5 + 0 + 4)  # every number of S from column B on, doubled
    assert t["A2"].value == 1.5 ** 2 + 2 ** 2 + 4 ** 2 + 3.5 ** 2 + 5 ** 2 + 4 ** 2  # every number of S, squared


def test_reductions_cost_what_the_range_holds_not_its_area(tmp_path):
    """Two numbers at opposite corners of A1:IV1048576 (268 M cells, all but two empty): clipping to the used
    area does not help, so SUM, COUNT, MAX, MIN and AVERAGE read the blocks that hold cells. Values by hand,
    as Excel defines the functions (empty cells are passed over). This took over 4 GB before."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["IV1048576"] = 1.5, 4
    t = wb.create_sheet("T")
    for i, fn in enumerate(["SUM", "COUNT", "MAX", "MIN", "AVERAGE"], 1):
        t[f"A{i}"] = f"={fn}(S!A1:IV1048576)"
    t["A6"] = "=SUM(S!B2:IU1048575)"  # the empty middle: no block at all
    book, out = tmp_path / "corners.xlsx", tmp_path / "out.xlsx"
    wb.save(book)
    r = xlgpt("recalc", book, "--out", out)
    assert r.code == 0, r.err
    assert r.peak_mb < 600 and r.seconds < 20
    t = openpyxl.load_workbook(out, data_only=True)["T"]
    assert [t[f"A{i}"].value for i in range(1, 7)] == [5.5, 2, 4, 1.5, 2.75, 0]


def test_an_array_formula_over_the_whole_sheet_is_refused_at_once(tmp_path):
    """A 1 KB file whose one array formula covers A1:XFD1048576 (17 G cells) took 57 s and 3.95 GB before
    failing: its area is refused when it is read, naming the cell."""
    sheet = SHEET + (b'<sheetData><row r="1"><c r="A1"><f t="array" ref="A1:XFD1048576">1+1</f><v>2</v></c>'
                     b'</row></sheetData></worksheet>')
    for name, extra in (("plain", b""), ("typed", b' t="n"')):
        book = tmp_path / f"{name}.xlsx"
        _one_sheet_book(book, sheet.replace(b'<c r="A1">', b'<c r="A1"' + extra + b">"))
        assert book.stat().st_size < 2000
        r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx", timeout=20)
        one_line(r, EXIT_INPUT, "'S'", "A1", "A1:XFD1048576")
        assert r.seconds < 5 and r.peak_mb < 300


def test_rows_and_columns_outside_the_sheet_are_refused(tmp_path):
    for row, cell in (("99999999999", "A1"), ("1", "XFE1"), ("1048577", "A1048577")):
        book = tmp_path / f"far-{row}-{cell}.xlsx"
        _one_sheet_book(book, SHEET + f'<sheetData><row r="{row}"><c r="{cell}"><v>1</v></c></row></sheetData>'
                                      f'</worksheet>'.encode())
        r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx")
        one_line(r, EXIT_INPUT, "outside a sheet", "S")


# The bpe tab holds, per merge step (W - 1 of them), W - 1 pair ranks, lowest, place, W symbols as text and W
# ids, between 2 and 2 columns: 4 + (W - 1)(3W + 1) <= 16,384 columns gives W <= 74 (73 x 223 = 16,279).
@pytest.mark.parametrize("args, needle", [
    (["--word-bytes", "100000"], "--word-bytes 74 or less"),
    (["--weights", "random:gpt2-xl", "--context", "1024"], "--context 654 or less"),
])
def test_build_checks_the_sheet_limits_before_it_allocates(tmp_path, args, needle):
    r = xlgpt("build", "--weights", "random:tiny", *args, "--out", tmp_path / "b.xlsx")
    one_line(r, EXIT_INPUT, needle)
    assert r.seconds < 10 and r.peak_mb < 500


# ---- formulas: Excel's limits, cycles --------------------------------------------------------------------

def test_formulas_within_excels_limits_evaluate_and_beyond_them_one_line(tmp_path):
    terms = (8192 - 1) // 3  # "A1+" three characters a term: 2,730 terms in 8,189 characters
    nested = "ABS(" * 64 + "A1" + ")" * 64
    args = "SUM(" + ",".join(["A1"] * 255) + ")"
    book = tmp_path / "limits.xlsx"
    _formula_book(book, {"A1": 2, "B1": "=" + "+".join(["A1"] * terms), "B2": "=" + nested, "B3": "=" + args})
    out = tmp_path / "out.xlsx"
    r = xlgpt("recalc", book, "--out", out)
    assert r.code == 0, r.err
    v = _values(out)
    assert v["B1"] == 2 * terms and v["B2"] == 2 and v["B3"] == 2 * 255
    for text, needle in (("+".join(["A1"] * (terms + 2)), "8,192"), ("ABS(" * 65 + "A1" + ")" * 65, "64"),
                         ("SUM(" + ",".join(["A1"] * 256) + ")", "255")):
        _formula_book(book, {"A1": 2, "B1": "=" + text})
        one_line(xlgpt("recalc", book, "--out", tmp_path / "x.xlsx"), EXIT_INPUT, "'S'!B1", needle)


def _book_with_names(path: Path, defined: dict, formulas: dict) -> None:
    from openpyxl.workbook.defined_name import DefinedName
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"] = 10
    for cell, text in formulas.items():
        ws[cell] = text
    for name, text in defined.items():
        wb.defined_names[name] = DefinedName(name, attr_text=text)
    wb.save(path)


def test_defined_names_holding_constants_formulas_and_names_evaluate_as_in_excel(tmp_path):
    """Each crashed before (exit 70). Expected values worked by hand from Excel's rules: a name stands for
    its formula wherever it is used."""
    book = tmp_path / "names.xlsx"
    _book_with_names(book, {"Rate": "0.5", "Twice": "S!$A$1*2", "Alias": "Twice", "Cell": "S!$A$1",
                            "Label": '"per cent"'},
                     {"B1": "=Rate*4", "B2": "=Twice+1", "B3": "=Alias", "B4": "=SUM(Cell,Rate)", "B5": '=Label&"!"',
                      "B6": "=rate"})
    out = tmp_path / "out.xlsx"
    r = xlgpt("recalc", book, "--out", out)
    assert r.code == 0, r.err
    t = openpyxl.load_workbook(out, data_only=True)["S"]
    assert [t[f"B{i}"].value for i in range(1, 7)] == [2, 21, 20, 10.5, "per cent!", 0.5]


@pytest.mark.parametrize("defined, needle", [
    ({"Self": "Self"}, "Self -> Self"),
    ({"Ping": "Pong+1", "Pong": "Ping*2"}, "circular reference"),
    ({f"Laugh_{i}": f"Laugh_{i - 1}+Laugh_{i - 1}" for i in range(1, 41)} | {"Laugh_0": "S!$A$1"},
     "more than 65,536 parts"),
    ({"Odd": "WEBSERVICE(S!$A$1)"}, "WEBSERVICE is not in xlgpt's dialect"),  # checked through the name
])
def test_defined_names_that_reach_themselves_or_explode_are_one_line(tmp_path, defined, needle):
    book = tmp_path / "loop.xlsx"
    use = "Laugh_40" if "Laugh_0" in defined else next(reversed(defined))
    _book_with_names(book, defined, {"B1": f"={use}"})
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx", timeout=30), EXIT_INPUT, needle)


@pytest.mark.parametrize("cells, needle", [
    ({"B1": "=B1+1"}, "'S'!B1"),
    ({"A1": "=B1", "B1": "=A1*2"}, "circular reference"),
    ({"A1": "=SUM(A1:A3)"}, "'S'!A1"),
])
def test_cycles_are_errors_naming_the_cells(tmp_path, cells, needle):
    book = tmp_path / "cycle.xlsx"
    _formula_book(book, cells)
    r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx")
    one_line(r, EXIT_INPUT, "circular reference", needle)


# ---- nothing silently different ------------------------------------------------------------------------

PROMPT_WITH_CONTROLS = "a\rb\r\nc\x01 _x0041_ d"


def _openpyxl_view(text: str) -> str:
    """What openpyxl 3.1 shows for text: exact, but a character XML cannot hold stays in its escaped form
    _xHHHH_ (openpyxl decodes only _x005F_; it cannot write such characters at all)."""
    return text.replace("\x01", "_x0001_")


def xlgpt_prompt(path: Path) -> str:
    """The prompt as xlgpt reads the file (its sheet cache holds only what was parsed from the same bytes)."""
    from xlgpt import engine
    from xlgpt.xlsx.package import Package
    return engine.read_range(Package.read(path).book, names.PROMPT)[0, 0]


@pytest.mark.libreoffice
def test_control_characters_round_trip_through_xlgpt_openpyxl_and_libreoffice(tmp_path):
    """A carriage return, CR LF, a control character and a literal _x0041_ in the prompt: the built workbook,
    its recalculation, openpyxl and LibreOffice all read the prompt as typed, and the workbook's tokens are
    tiktoken's for it."""
    expected = REFERENCE.encode_ordinary(PROMPT_WITH_CONTROLS)
    book = tmp_path / "ctrl.xlsx"
    r = xlgpt("build", "--weights", "random:tiny", "--layers", "1", "--no-lens", "--prompt", PROMPT_WITH_CONTROLS,
              "--out", book)
    assert r.code == 0, r.err
    shown = named(open_values(book), names.PROMPT)[0, 0]
    assert shown == _openpyxl_view(PROMPT_WITH_CONTROLS)
    # recalc writes text as inline strings, where openpyxl 3.1 decodes no escape at all (not even _x005F_):
    # without a character XML cannot hold and without a literal _x, it shows the prompt exactly
    plain = "a\rb\r\nc d"
    r = xlgpt("recalc", book, "--out", tmp_path / "plain.xlsx", "--set", f"{names.PROMPT}={plain}")
    assert r.code == 0, r.err
    assert named(open_values(tmp_path / "plain.xlsx"), names.PROMPT)[0, 0] == plain
    assert list(numbers(named(open_values(book), names.TOKEN_IDS)).ravel()[:len(expected)]) == expected
    out = tmp_path / "again.xlsx"
    r = xlgpt("recalc", book, "--out", out, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["token_ids"] == expected
    assert xlgpt_prompt(out) == PROMPT_WITH_CONTROLS
    need_libreoffice()
    saved = libreoffice.recalculate(out, tmp_path / "lo")
    # LibreOffice's cells keep line breaks as LF only: it reads the CR and CR LF (&#13;) as LF, tokenizes
    # that, and saves it as &#10;. The rest (\x01, the literal _x0041_) comes back as typed, and xlgpt reads
    # exactly what LibreOffice wrote
    as_saved = PROMPT_WITH_CONTROLS.replace("\r\n", "\n").replace("\r", "\n")
    lo_ids = REFERENCE.encode_ordinary(as_saved)
    assert list(numbers(named(open_values(saved), names.TOKEN_IDS)).ravel()[:len(lo_ids)]) == lo_ids
    r = xlgpt("recalc", saved, "--out", tmp_path / "lo-again.xlsx", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["token_ids"] == REFERENCE.encode_ordinary(as_saved)
    assert xlgpt_prompt(saved) == as_saved


@pytest.mark.parametrize("edit, needle", [
    ("'h.0.ln_1.weight'!A1=nan", "is not one"),
    ("'h.0.ln_1.weight'!A1=inf", "is not one"),
    ("HeadGates(0,0)=nan", "is not one"),
    ("'wte.weight'!XFE1=1", "outside a sheet"),
    ("'wte.weight'!A1048577=1", "outside a sheet"),
    ("Start!A0=1", "outside a sheet"),
    ("'h.0.ln_1.weight'!A1=1_0", "is not one"),  # Python's float() reads 10
    ("'h.0.ln_1.weight'!A1=\u0661\u0662", "is not one"),  # Arabic-Indic 12
    ("HeadGates(1)=0", "give its row and column"),  # a layers x heads range: which way does 1 count?
    ("Prompt=" + "a" * 40_002, "at most 32,767"),
])
def test_set_takes_finite_numbers_and_cells_of_the_sheet(tiny, tmp_path, edit, needle):
    r = xlgpt("recalc", tiny, "--out", tmp_path / "out.xlsx", "--set", edit)
    one_line(r, EXIT_INPUT, needle)
    assert not (tmp_path / "out.xlsx").exists()


def test_set_with_bytes_that_are_not_utf8_is_one_line(tiny, tmp_path):
    r = xlgpt("recalc", tiny, "--out", tmp_path / "out.xlsx", "--set", os.fsdecode(b"Prompt=caf\xe9"))
    one_line(r, EXIT_INPUT, "not UTF-8")


@pytest.mark.parametrize("cell, needle", [
    (b'<c r="A1" t="s"><v>-1</v></c>', "shared string"),  # read as the last string before
    (b'<c r="A1" t="s"><v>7</v></c>', "shared string"),
    (b'<c r="A1"><v>1_000</v></c>', "not a finite number"),
    (b'<c r="A1" t="n"><v>1_000</v></c>', "not a finite number"),
    ("<c r=\"A1\"><v>\u0661\u0662</v></c>".encode(), "not a finite number"),
    (b'<c r="A1"><v>nan</v></c>', "not a finite number"),  # deleted the cell before
    (b'<c r="A1"><v>inf</v></c>', "not a finite number"),  # written back as inf before
    (b'<c r="A1"><v>1e999</v></c>', "not a finite number"),
    (b'<c r="A1" t="b"><v>2</v></c>', "not a boolean"),  # read as FALSE before
    (b'<c r="A1" t="e"><v>#BOGUS!</v></c>', "error values"),
])
def test_damaged_cell_values_are_one_line_naming_the_cell(tmp_path, cell, needle):
    """A value that is not what its type says is one line naming the tab and cell, never read as something
    else: numbers are xsd:double (ASCII digits, finite), booleans 0/1/true/false, string indexes in range."""
    book = tmp_path / "cell.xlsx"
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
               b'<si><t>only</t></si></sst>')
    _one_sheet_book(book, SHEET + b'<sheetData><row r="1">' + cell + b'</row></sheetData></worksheet>',
                    extra={"xl/sharedStrings.xml": strings})
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "'S'", "A1", needle)


def test_a_dense_tab_with_a_value_that_is_not_a_number_names_the_cell(tmp_path):
    """A weight tab as another program writes it, one value nan: not parsed as a number, nor dropped."""
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%s</v></c><c r="B%d"><v>0.5</v></c></row>'
                    % (i, i, b"nan" if i == 3 else b"1.25", i) for i in range(1, 6))
    book = tmp_path / "dense.xlsx"
    _one_sheet_book(book, SHEET + b"<sheetData>" + rows + b"</sheetData></worksheet>")
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "A3", "not a finite number")


@pytest.mark.parametrize("case", ["long", "surrogate"])
def test_sweep_prompt_files_that_cannot_be_prompts_are_one_line(tiny, tmp_path, case):
    if case == "long":
        prompts = tmp_path / "long.csv"
        prompts.write_text("prompt\n" + "a" * 140_000 + "\n")
        needle = "not a CSV file"
    else:
        prompts = tmp_path / "surrogate.jsonl"
        prompts.write_text('{"prompt": "half a pair \\ud83d here"}\n')
        needle = "lone surrogate"
    one_line(xlgpt("sweep", tiny, "--prompts", prompts), EXIT_INPUT, needle)


def test_text_results_stop_at_excels_limit(tmp_path):
    """Excel: a text result past 32,767 characters is #VALUE!. A doubling chain reaches it in 15 steps and
    would need gigabytes by step 30 without the limit."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "T"
    ws["A1"] = "x"
    for i in range(2, 32):
        ws[f"A{i}"] = f"=A{i - 1}&A{i - 1}"
    ws["B1"] = '=LEN(A15)'
    ws["B2"] = '=LEN(CONCATENATE(A15,A15))'
    ws["B3"] = '=IFERROR(LEN(A16),-1)'
    book = tmp_path / "long.xlsx"
    wb.save(book)
    out = tmp_path / "out.xlsx"
    r = xlgpt("recalc", book, "--out", out)
    assert r.code == 0, r.err
    t = openpyxl.load_workbook(out, data_only=True)["T"]
    assert t["B1"].value == 2 ** 14 and t["B3"].value == -1  # 2**15 = 32,768: one past the limit
    assert t["B2"].value == "#VALUE!" and t["A31"].value == "#VALUE!"


def test_recalc_keeps_what_the_file_says_about_rows_columns_and_cells(tmp_path):
    """A hidden row, a row height, a hidden row without cells, a styled formula cell, a formatted empty cell
    and a column width: all as they were after a recalculation that rewrites the tab (openpyxl reads both)."""
    from openpyxl.styles import Font, PatternFill
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["A2"], ws["A3"] = 1, 2, 3
    ws["B1"] = "=A1+A2+A3"
    ws["B1"].font = Font(bold=True)
    ws["C5"].fill = PatternFill("solid", fgColor="FFFF00")
    ws.row_dimensions[2].hidden = True
    ws.row_dimensions[3].height = 30
    ws.row_dimensions[7].hidden = True
    ws.column_dimensions["B"].width = 33
    book, out = tmp_path / "rows.xlsx", tmp_path / "out.xlsx"
    wb.save(book)
    r = xlgpt("recalc", book, "--out", out, "--set", "S!A1=5")
    assert r.code == 0, r.err
    t = openpyxl.load_workbook(out)["S"]
    assert openpyxl.load_workbook(out, data_only=True)["S"]["B1"].value == 10  # the tab was written anew
    assert t.row_dimensions[2].hidden and t.row_dimensions[7].hidden and not t.row_dimensions[1].hidden
    assert t.row_dimensions[3].height == 30
    assert t["B1"].font.bold and t["C5"].fill.fgColor.rgb == "00FFFF00"
    assert t.column_dimensions["B"].width == 33


def test_in_place_with_out_is_an_error(tiny, tmp_path):
    copy = tmp_path / "copy.xlsx"
    shutil.copy(tiny, copy)
    r = xlgpt("recalc", copy, "--in-place", "--out", tmp_path / "other.xlsx")
    one_line(r, EXIT_INPUT, "--in-place", "--out")
    assert copy.read_bytes() == tiny.read_bytes() and not (tmp_path / "other.xlsx").exists()


def test_a_part_with_a_dtd_is_refused_by_every_reader(tmp_path):
    entity = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "expanded">]>'
              b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
              b'<si><t>&e;</t></si></sst>')
    sheet = SHEET + b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><f>LEN(A1)</f></c></row></sheetData></worksheet>'
    book = tmp_path / "dtd.xlsx"
    _one_sheet_book(book, sheet, extra={"xl/sharedStrings.xml": entity})
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "sharedStrings.xml", "DTD")
    _one_sheet_book(book, SHEET.replace(b"<worksheet", b'<!DOCTYPE w [<!ENTITY e "1">]><worksheet', 1)
                    + b'<sheetData><row r="1"><c r="A1"><v>&e;</v></c></row></sheetData></worksheet>')
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "sheet1.xml", "DTD")


def _utf16(xml: bytes) -> bytes:
    """A part as UTF-16 with its byte order mark, its declaration saying so, as another writer may store it."""
    text = xml.decode("utf-8")
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2:]
    return '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>'.encode("utf-16") + text.encode("utf-16-le")


@pytest.mark.parametrize("bom", [True, False])
def test_a_dtd_in_a_utf16_part_is_refused_too(tmp_path, bom):
    """The DTD rule holds in every encoding: an entity in a UTF-16 sharedStrings.xml was expanded before."""
    entity = _utf16(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "expanded">]>'
                    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                    b'uniqueCount="1"><si><t>&e;</t></si></sst>')
    if not bom:
        entity = entity[2:]
    sheet = SHEET + b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><f>LEN(A1)</f></c></row></sheetData></worksheet>'
    book = tmp_path / "dtd16.xlsx"
    _one_sheet_book(book, sheet, extra={"xl/sharedStrings.xml": entity})
    one_line(xlgpt("recalc", book, "--out", tmp_path / "out.xlsx"), EXIT_INPUT, "sharedStrings.xml", "DTD")


def test_legal_utf16_parts_are_read_like_their_utf8_form(tmp_path):
    """A workbook whose every part is UTF-16 recalculates to the same values as its UTF-8 original."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["A2"], ws["A3"] = "caf\u00e9 \U0001F600", 2.5, 4
    ws["B1"], ws["B2"] = "=LEN(A1)", "=A2*A3"
    ws["C1"] = '=A1&"!"'
    utf8 = tmp_path / "utf8.xlsx"
    wb.save(utf8)
    members = _members(utf8)
    utf16 = tmp_path / "utf16.xlsx"
    _write_zip(utf16, {n: _utf16(d) if n.endswith((".xml", ".rels")) else d for n, d in members.items()})
    outs = []
    for book in (utf8, utf16):
        out = tmp_path / f"{book.stem}-out.xlsx"
        r = xlgpt("recalc", book, "--out", out)
        assert r.code == 0, r.err
        t = openpyxl.load_workbook(out, data_only=True)["S"]
        outs.append([t[c].value for c in ("B1", "B2", "C1")])
    assert outs[0] == outs[1] == [len("caf\u00e9 \U0001F600"), 10, "caf\u00e9 \U0001F600!"]


def test_in_place_writes_through_a_symlink_and_keeps_permissions_and_owner(tiny, tmp_path):
    """recalc --in-place on a link edits the workbook it points to (the link stays a link); a 0600 workbook
    stays 0600 and keeps its owner."""
    real = tmp_path / "real.xlsx"
    shutil.copy(tiny, real)
    os.chmod(real, 0o600)
    if os.geteuid() == 0:
        os.chown(real, 65534, 65534)
    link = tmp_path / "link.xlsx"
    link.symlink_to(real)
    before = real.stat()
    r = xlgpt("recalc", link, "--in-place", "--set", "Prompt=Hello there")
    assert r.code == 0, r.err
    assert link.is_symlink() and link.resolve() == real
    after = real.stat()
    assert after.st_ino != before.st_ino  # replaced by the new file, whole
    assert oct(after.st_mode & 0o777) == "0o600"
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert named(open_values(real), names.PROMPT)[0][0] == "Hello there"
    no_leftovers(tmp_path)


def test_sweep_never_replaces_a_users_own_experiments_tab(tiny, tmp_path):
    """A tab named Experiments that a sweep did not write (the user's notes) survives --write-tab --in-place:
    the sweep's tab takes the next free name, and a later sweep replaces its own tab, not the user's."""
    from xlgpt.sheet.book import Sheet, Texts
    from xlgpt.xlsx.package import Package
    book = tmp_path / "notes.xlsx"
    rb = Package.read(tiny, use_cache=False)
    rb.save(book, set(), added=[Sheet("Experiments", [Texts(0, 0, [["my notes"], ["keep me"]])])])
    prompts = tmp_path / "one.jsonl"
    prompts.write_text('{"prompt": "If today is Monday, tomorrow is", "expected": " Tuesday"}\n')
    for _ in range(2):
        r = xlgpt("sweep", book, "--prompts", prompts, "--write-tab", "--in-place")
        assert r.code == 0, r.err
        assert "Experiments 2" in r.err and "left as it was" in r.err
    wb = openpyxl.load_workbook(book, read_only=True)
    assert wb.sheetnames[-2:] == ["Experiments", "Experiments 2"]
    assert [row[0] for row in wb["Experiments"].iter_rows(values_only=True)] == ["my notes", "keep me"]
    assert "xlgpt sweep" in next(wb["Experiments 2"].iter_rows(values_only=True))[0]
    wb.close()


def test_concurrent_in_place_writers_take_turns_and_keep_both_edits(tiny, tmp_path):
    """Two recalc --in-place at once: both succeed, the file holds both edits, and its cached Logits are the
    ones its own inputs give (a third recalculation writes the same)."""
    book = tmp_path / "shared.xlsx"
    shutil.copy(tiny, book)
    env = {**os.environ, "XLGPT_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-m", "xlgpt.cli", "recalc", str(book), "--in-place", "--set", edit],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for edit in ("'h.0.ln_1.weight'!A1=3.5", "'h.1.ln_2.bias'!A1=-2.25")]
    for p in procs:
        _, err = p.communicate(timeout=LIMIT_SECONDS)
        assert p.returncode == 0, err
    wb = openpyxl.load_workbook(book, read_only=True)
    assert wb["h.0.ln_1.weight"]["A1"].value == 3.5 and wb["h.1.ln_2.bias"]["A1"].value == -2.25
    again = tmp_path / "again.xlsx"
    assert xlgpt("recalc", book, "--out", again, "--check").code == 0
    assert np.array_equal(numbers(named(open_values(book), names.LOGITS)), numbers(named(open_values(again), names.LOGITS)))
    no_leftovers(tmp_path)


def test_write_back_refuses_a_source_that_changed_meanwhile(tiny, tmp_path, monkeypatch):
    from xlgpt.commands import recalc
    from xlgpt.errors import XlgptError
    book = tmp_path / "moving.xlsx"
    shutil.copy(tiny, book)
    from xlgpt.xlsx.package import Package
    real = Package.save

    def meddle(rb, dest, edited, progress=None, still_source=None):
        book.write_bytes(tiny.read_bytes() + b"")  # another program saves the file meanwhile
        os.utime(book, ns=(1, 1))
        return real(rb, dest, edited, progress, still_source)
    monkeypatch.setattr(Package, "save", meddle)
    with pytest.raises(XlgptError, match="changed while it was being recalculated"):
        recalc.recalculate_file(book, book, ["'h.0.ln_1.weight'!A1=3.5"])
    assert book.read_bytes() == tiny.read_bytes()
    no_leftovers(tmp_path)


# ---- interrupted and failed runs leave nothing ------------------------------------------------------------

def _start_build(out: Path):
    return subprocess.Popen([sys.executable, "-m", "xlgpt.cli", "build", "--weights", "random:tiny", "--lens",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_part(folder: Path, p) -> None:
    deadline = time.monotonic() + LIMIT_SECONDS
    while not any(n.name.endswith(".part") for n in folder.iterdir()):
        assert p.poll() is None and time.monotonic() < deadline, "the build ended before writing"
        time.sleep(0.01)


def test_sigterm_removes_the_temporary_file(tmp_path):
    out = tmp_path / "b.xlsx"
    p = _start_build(out)
    _wait_for_part(tmp_path, p)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=LIMIT_SECONDS)
    assert p.returncode == EXIT_TERMINATED, err
    assert "terminated" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_killed_runs_leftover_goes_when_the_target_is_written_again(tmp_path):
    out = tmp_path / "b.xlsx"
    p = _start_build(out)
    _wait_for_part(tmp_path, p)
    p.kill()
    p.communicate()
    assert [n for n in tmp_path.iterdir() if n.name.endswith(".part")]
    r = xlgpt("build", "--weights", "random:tiny", "--out", out)
    assert r.code == 0, r.err
    assert [n.name for n in tmp_path.iterdir()] == ["b.xlsx"]


@pytest.fixture
def full_disk(tmp_path):
    """A 2 MB tmpfs (root only): a disk that fills up."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    where = tmp_path / "small"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", str(where)])


def test_full_disk_is_one_line_and_leaves_nothing(tiny, full_disk, tmp_path):
    r = xlgpt("build", "--weights", "random:tiny", "--out", full_disk / "b.xlsx")
    one_line(r, EXIT_IO, "No space left")
    r = xlgpt("recalc", tiny, "--out", full_disk / "r.xlsx")
    one_line(r, EXIT_IO, "No space left")
    assert list(full_disk.iterdir()) == []
    # a cache on the full disk costs only time: the recalculation succeeds and leaves no partial entries
    r = xlgpt("recalc", tiny, "--out", tmp_path / "ok.xlsx", env={"XLGPT_CACHE": str(full_disk / "cache")})
    assert r.code == 0, r.err
    for folder, _, files in os.walk(full_disk):
        assert not [f for f in files if f.endswith(".tmp")], files


def test_out_naming_a_folder_is_refused_before_the_build(tmp_path):
    folder = tmp_path / "x.xlsx"
    folder.mkdir()
    r = xlgpt("build", "--weights", "random:tiny", "--out", folder, "--force")
    one_line(r, EXIT_INPUT, "is a folder")
    assert r.seconds < 10


# ---- checkpoints that do not fit ----------------------------------------------------------------------------

def _checkpoint(hf_dir, tmp_path, edit=None, config=None) -> Path:
    folder = tmp_path / "ckpt"
    folder.mkdir(exist_ok=True)
    tensors = load_file(str(hf_dir / "model.safetensors"))
    if edit:
        edit(tensors)
    save_file(tensors, str(folder / "model.safetensors"))
    cfg = json.loads((hf_dir / "config.json").read_text())
    cfg.update(config or {})
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder


def _untied(t):
    t["lm_head.weight"] = t["transformer.wte.weight"] + 1


def _duplicate(t):
    t["wte.weight"] = t["transformer.wte.weight"].copy()


def _small_vocab(t):
    t["transformer.wte.weight"] = t["transformer.wte.weight"][:100].copy()


@pytest.mark.parametrize("edit, config, needle", [
    (None, {"n_head": 3}, "3 heads do not divide the width 16"),
    (_small_vocab, {"vocab_size": 100}, "50,257"),
    (None, {"n_layer": 1}, "tensor h.1."),
    (_untied, None, "lm_head.weight differs from wte.weight"),
    (_duplicate, None, "wte.weight is there twice"),
    (None, {"n_layer": 0}, "n_layer is 0"),
    (None, {"n_head": -2}, "n_head is -2"),
])
def test_checkpoints_that_do_not_fit_build_nothing(hf_dir, tmp_path, edit, config, needle):
    folder = _checkpoint(hf_dir, tmp_path, edit, config)
    out = tmp_path / "b.xlsx"
    r = xlgpt("build", "--weights", folder, "--out", out)
    one_line(r, EXIT_INPUT, needle)
    assert not out.exists()


def test_a_truncated_or_lying_safetensors_file_is_one_line(hf_dir, tmp_path):
    folder = _checkpoint(hf_dir, tmp_path)
    file = folder / "model.safetensors"
    data = file.read_bytes()
    file.write_bytes(data[:len(data) // 2])
    one_line(xlgpt("build", "--weights", folder, "--out", tmp_path / "b.xlsx"), EXIT_INPUT, "not a readable safetensors")
    file.write_bytes((10 ** 12).to_bytes(8, "little") + data[8:])
    one_line(xlgpt("build", "--weights", folder, "--out", tmp_path / "b.xlsx"), EXIT_INPUT, "header length")


def test_two_tensors_on_the_same_bytes_are_refused(hf_dir, tmp_path):
    """ln_f.bias pointed at ln_f.weight's bytes (same shape and dtype, so every other check passes): the
    safetensors library refuses such a file, and so does xlgpt, naming both."""
    from safetensors import safe_open
    folder = _checkpoint(hf_dir, tmp_path)
    file = folder / "model.safetensors"
    data = file.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    weight = next(k for k in header if k.endswith("ln_f.weight"))
    bias = next(k for k in header if k.endswith("ln_f.bias"))
    header[bias]["data_offsets"] = header[weight]["data_offsets"]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    file.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n:])
    with pytest.raises(Exception):  # the reference refuses it too
        with safe_open(str(file), "np") as f:
            f.get_tensor(bias)
    one_line(xlgpt("build", "--weights", folder, "--out", tmp_path / "b.xlsx"), EXIT_INPUT, "share bytes",
             weight, bias)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_checkpoints_load_and_match_transformers(hf_tiny, tmp_path, dtype):
    """A checkpoint saved by transformers in bfloat16 or float16: xlgpt widens it exactly, and its prediction
    equals transformers' on the same checkpoint (loaded in float32)."""
    import copy

    import torch
    import transformers
    folder = tmp_path / dtype
    # a copy: casting the session's model in place and back would round its weights for every later test
    copy.deepcopy(hf_tiny).to(getattr(torch, dtype)).save_pretrained(folder)
    ids = REFERENCE.encode_ordinary("Mike is quick. He moves")
    model = transformers.GPT2LMHeadModel.from_pretrained(folder, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits[0, -1].double().numpy()
    r = xlgpt("predict", "--weights", folder, "--prompt", "Mike is quick. He moves", "--top", "5", "--json")
    assert r.code == 0, r.err
    top = json.loads(r.out)["top"]
    assert [t["id"] for t in top] == list(np.argsort(-expected, kind="stable")[:5])
    scale = np.abs(expected).max()
    for t in top:
        assert abs(t["logit"] - expected[t["id"]]) <= 1e-5 * scale


# ---- numbers from the command line ---------------------------------------------------------------------------

@pytest.mark.parametrize("temperature", ["nan", "-1", "inf"])
def test_generate_refuses_a_temperature_that_is_not_one(tiny, temperature):
    one_line(xlgpt("generate", tiny, "--tokens", "1", "--temperature", temperature), EXIT_INPUT, "--temperature")


def test_generate_with_a_tiny_temperature_is_greedy(tiny):
    greedy = xlgpt("generate", tiny, "--tokens", "2")
    tiny_t = xlgpt("generate", tiny, "--tokens", "2", "--temperature", "1e-320")
    assert greedy.code == tiny_t.code == 0, tiny_t.err
    assert greedy.out == tiny_t.out


def test_a_workbook_whose_top_ids_are_errors_is_one_line(tiny, tmp_path):
    """TopIds' formulas edited into an error: recalc says which name holds what, instead of a traceback."""
    import re
    wb = openpyxl.load_workbook(tiny, read_only=True)
    sheet, ref = next(iter(wb.defined_names[names.TOP_IDS].destinations))
    wb.close()
    first = ref.replace("$", "").split(":")[0]
    part = _sheet_part(tiny, sheet)
    members = _members(tiny)
    xml, n = re.subn(rf'(<c r="{first}"[^>]*><f[^>]*>)[^<]*(</f>)'.encode(), rb"\g<1>1/0\g<2>", members[part])
    assert n == 1
    members[part] = xml
    book = tmp_path / "broken.xlsx"
    _write_zip(book, members)
    r = xlgpt("recalc", book, "--out", tmp_path / "out.xlsx")
    one_line(r, EXIT_INPUT, names.TOP_IDS, "#DIV/0!")
