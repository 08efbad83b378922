"""A streaming zip writer: each member deflated as it is written (isal, level 1), sizes in data descriptors.

Python's zipfile deflates with zlib, several times slower than isal at the same ratio; the format is small
enough to write by hand. Members stay under 4 GiB each (a check says so); ZIP64 records are added to the
central directory when the archive itself passes 4 GiB, as GPT-2 large and xl do.
"""

import struct
import time

from isal import isal_zlib

_LIMIT = 0xFFFFFFFF


class ZipWriter:
    def __init__(self, fileobj):
        self.f = fileobj
        self.entries = []  # (name, crc, compressed, size, offset)
        self._dostime, self._dosdate = _dos_now()

    def member(self, name: str) -> "_Member":
        return _Member(self, name)

    def writestr(self, name: str, data: bytes) -> None:
        with self.member(name) as m:
            m.write(data)

    def close(self) -> None:
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
        self.offset = zw.f.tell()
        raw = name.encode()
        zw.f.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0808, 8, zw._dostime, zw._dosdate,
                               0, 0, 0, len(raw), 0) + raw)
        self.deflate = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
        self.crc, self.size, self.csize = 0, 0, 0

    def write(self, data) -> None:
        self.crc = isal_zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self.deflate.compress(data)
        self.csize += len(out)
        self.zw.f.write(out)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            return
        out = self.deflate.flush()
        self.csize += len(out)
        self.zw.f.write(out)
        if self.size >= _LIMIT or self.csize >= _LIMIT:
            raise ValueError(f"{self.name} is {self.size} bytes: over the 4 GiB a zip member may hold here")
        self.zw.f.write(struct.pack("<IIII", 0x08074B50, self.crc, self.csize, self.size))
        self.zw.entries.append((self.name, self.crc, self.csize, self.size, self.offset))


def _dos_now():
    t = time.localtime()
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((t.tm_year - 1980) << 9) | (t.tm_mon << 4) | t.tm_mday
