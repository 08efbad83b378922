"""A streaming zip writer: each member deflated as it is written (isal, level 1), sizes in data descriptors.

Python's zipfile deflates with zlib, several times slower than isal at the same ratio; the format is small
enough to write by hand. Members stay under 4 GiB each (a check says so); ZIP64 records are added to the
central directory when the archive itself passes 4 GiB, as GPT-2 large and xl do.
"""

import os
import queue
import struct
import threading
import time

from isal import isal_zlib

_LIMIT = 0xFFFFFFFF


class ZipWriter:
    """Deflating runs in a second thread (isal releases the GIL), beside the thread that makes the XML."""

    def __init__(self, fileobj):
        self.f = fileobj
        self.entries = []  # (name, crc, compressed, size, offset)
        self._dostime, self._dosdate = _dos_now()
        self._jobs = queue.Queue(maxsize=4)  # bounded: at most a few chunks wait in memory
        self._error = None
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    def _work(self):
        while (job := self._jobs.get()) is not None:
            try:
                if self._error is None:
                    job()
            except BaseException as e:  # handed to the producing thread at its next call
                self._error = e

    def _submit(self, job) -> None:
        if self._error is not None:
            raise self._error
        self._jobs.put(job)

    def _drain(self) -> None:
        done = threading.Event()
        self._jobs.put(done.set)
        done.wait()
        if self._error is not None:
            raise self._error

    def member(self, name: str) -> "_Member":
        return _Member(self, name)

    def write_deflated(self, name: str, deflated: "Deflated | StoredRange") -> None:
        """A member whose data was deflated elsewhere (another thread, or another package's zip)."""
        def job():
            offset = self.f.tell()
            raw = name.encode()
            self.f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0808, 8, self._dostime, self._dosdate,
                                     0, 0, 0, len(raw), 0) + raw)
            deflated.write_to(self.f)
            self.f.write(struct.pack("<IIII", 0x08074B50, deflated.crc, deflated.csize, deflated.size))
            self.entries.append((name, deflated.crc, deflated.csize, deflated.size, offset))
        if deflated.size >= _LIMIT or deflated.csize >= _LIMIT:
            raise ValueError(f"{name} is {deflated.size} bytes: over the 4 GiB a zip member may hold here")
        self._submit(job)

    def writestr(self, name: str, data: bytes) -> None:
        with self.member(name) as m:
            m.write(data)

    def abandon(self) -> None:
        """Stop the deflating thread without finishing the archive (the caller discards the file)."""
        self._error = self._error or RuntimeError("abandoned")
        self._jobs.put(None)
        self._worker.join()

    def close(self) -> None:
        self._drain()
        self._jobs.put(None)
        self._worker.join()
        start = self.f.tell()
        for name, crc, csize, size, offset in self.entries:
            raw = name.encode()
            extra = b""
            if offset >= _LIMIT:
                extra = struct.pack("<HHQ", 0x0001, 8, offset)
            self.f.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 20, 0x0808, 8, self._dostime,
                                     self._dosdate, crc, csize, size, len(raw), len(extra), 0, 0, 0, 0,
                                     min(offset, _LIMIT)))
            self.f.write(raw + extra)
        end = self.f.tell()
        n, cd_size = len(self.entries), end - start
        if start >= _LIMIT or n >= 0xFFFF:
            self.f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, start))
            self.f.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
        self.f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                                 min(cd_size, _LIMIT), min(start, _LIMIT), 0))


class _Member:
    """One file in the archive, written in pieces; flag 0x08: CRC and sizes follow the data."""

    def __init__(self, zw: ZipWriter, name: str):
        self.zw, self.name = zw, name
        zw._submit(self._start)

    def _start(self):
        zw = self.zw
        self.offset = zw.f.tell()
        raw = self.name.encode()
        zw.f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0808, 8, zw._dostime, zw._dosdate,
                               0, 0, 0, len(raw), 0) + raw)
        self.deflate = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
        self.crc, self.size, self.csize = 0, 0, 0

    def write(self, data) -> None:
        """data: bytes, or a C-contiguous array, which must not change afterwards (another thread reads it)."""
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B")
        self.zw._submit(lambda: self._write(data))

    def _write(self, data) -> None:
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self.deflate.compress(data)
        self.csize += len(out)
        self.zw.f.write(out)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.zw._submit(self._finish)

    def _finish(self) -> None:
        out = self.deflate.flush()
        self.csize += len(out)
        self.zw.f.write(out)
        if self.size >= _LIMIT or self.csize >= _LIMIT:
            raise ValueError(f"{self.name} is {self.size} bytes: over the 4 GiB a zip member may hold here")
        self.zw.f.write(struct.pack("<IIII", 0x08074B50, self.crc, self.csize, self.size))
        self.zw.entries.append((self.name, self.crc, self.csize, self.size, self.offset))


def _dos_now():
    t = time.localtime()
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


class Deflated:
    """A member's data deflated in memory: raw deflate pieces, CRC-32 and sizes."""

    def __init__(self):
        self._deflate = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
        self.pieces, self.crc, self.size, self.csize = [], 0, 0, 0

    def write(self, data) -> "Deflated":
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B")
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self._deflate.compress(data)
        if out:
            self.pieces.append(out)
            self.csize += len(out)
        return self

    def close(self) -> "Deflated":
        out = self._deflate.flush()
        self.pieces.append(out)
        self.csize += len(out)
        return self

    def write_to(self, f) -> None:
        for piece in self.pieces:
            f.write(piece)


class StoredRange:
    """A member's deflated data as another zip file stores it: `csize` bytes at `offset` of the open file
    `source`, copied by the kernel (os.copy_file_range: no trip through this process's memory; a file system
    that shares blocks makes it a reflink) or, where that is not available, read and written in pieces."""

    PIECE = 16 << 20

    def __init__(self, source, offset: int, crc: int, csize: int, size: int):
        self.source, self.offset, self.crc, self.csize, self.size = source, offset, crc, csize, size

    def write_to(self, f) -> None:
        f.flush()
        src, dst = self.source.fileno(), f.fileno()
        at, left = self.offset, self.csize
        if hasattr(os, "copy_file_range"):
            start = f.tell()
            try:
                while left:
                    n = os.copy_file_range(src, dst, min(left, 1 << 30), at)
                    if n == 0:
                        break  # the source ends early: the check below says so
                    at, left = at + n, left - n
            except OSError:  # not between these files (an older kernel across file systems, a pipe): copy
                os.ftruncate(dst, start + self.csize - left)  # nothing of a failed call stays behind
            f.seek(start + self.csize - left)  # the kernel moved the descriptor's offset; the file object follows
        while left:
            piece = os.pread(src, min(left, self.PIECE), at)
            if not piece:
                raise ValueError("the workbook being copied ends inside a member; it is truncated")
            f.write(piece)
            at, left = at + len(piece), left - len(piece)

