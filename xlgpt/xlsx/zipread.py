"""Reading the members of a workbook someone may have forged: bounded, verified, and named in every error.

A zip member says how big it is, but nothing makes it true, and deflate turns 5 MB into 5 GB. So, like
Apache POI's ZipSecureFile, a member is refused when its inflated size passes a cap or inflates more than a
plausible ratio, and inflating stops at the size it declared: memory follows what the file really holds.
Every inflated member's CRC-32 is checked. OOXML parts never carry a DTD (ECMA-376 Part 2, rule M1.18:
implementers "shall treat the presence of DTD declarations as an error"), so a part with a DOCTYPE is
refused, in any encoding, by expat reading its prolog with handlers that refuse a DOCTYPE or an entity (as
defusedxml does), before any reader parses the part: no entity is ever expanded by one reader and kept
literally by another. UTF-16 parts are transcoded to UTF-8 on the way in. The archive's members are checked
as Python's zipfile checks them before anything is read (open_package).

The limits are environment variables, documented in docs/UNTRUSTED.md:
  XLGPT_MAX_PART_BYTES     the largest inflated member (default 4 GiB: GPT-2 xl's wte tab is about 1.6 GB)
  XLGPT_MAX_INFLATE_RATIO  the largest inflated/compressed ratio of a member over 16 MB (default 200; GPT-2
                           small's tabs over 16 MB inflate at most 6 times, a sheet of spaces 1,000 times)
"""

import hashlib
import mmap
import os
import re
import struct
from xml.parsers import expat
import zipfile

from isal import isal_zlib

from ..errors import XlgptError
from ..sheet.parallel import ordered_map
from .xml import DECLARATION

_RATIO_FROM = 16 << 20  # small members may compress as well as they like: they cannot hurt


def max_part_bytes() -> int:
    return _env_number("XLGPT_MAX_PART_BYTES", 4 << 30)


def max_ratio() -> float:
    return _env_number("XLGPT_MAX_INFLATE_RATIO", 200)


def _env_number(name: str, default):
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise XlgptError(f"{name}={raw!r} is not a number; unset it or give a positive number") from None
    if not value > 0:
        raise XlgptError(f"{name}={raw!r} must be positive")
    return type(default)(value)


def open_package(path) -> zipfile.ZipFile:
    """The archive at `path`, its members checked as Python's own zipfile checks them when it opens one
    (which xlgpt bypasses to read stored bytes directly): no two members with one name, no encrypted
    member, every local header's name equal to its central entry's, and no member's bytes overlapping
    another's or the central directory (2,000 entries pointing at one 15 MB member would otherwise inflate it
    2,000 times)."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise XlgptError(f"{path}: not an .xlsx workbook ({e})") from None
    try:
        _check_members(z)
    except XlgptError as e:
        z.close()
        raise XlgptError(f"{path}: {e}") from None
    except BaseException:
        z.close()
        raise
    return z


def _check_members(z: zipfile.ZipFile) -> None:
    infos = z.infolist()
    seen = set()
    for info in infos:
        if info.filename in seen:
            raise XlgptError(f"{info.filename}: the package holds two members of this name; the workbook is "
                             f"damaged or forged")
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise XlgptError(f"{info.filename}: encrypted; xlgpt reads unencrypted workbooks only (save it "
                             f"without a password)")
    end_of_members = z.start_dir
    f = z.fp
    spans = []
    for info in infos:
        f.seek(info.header_offset)
        header = f.read(30)
        begin = _data_offset(header, info)
        local_name = f.read(struct.unpack("<H", header[26:28])[0])  # right after the 30 bytes just read
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if local_name.decode(encoding, "replace") != info.orig_filename:
            raise XlgptError(f"{info.filename}: its local header names it {local_name.decode(encoding, 'replace')!r}; "
                             f"the workbook is damaged or forged")
        spans.append((info.header_offset, begin + info.compress_size, info.filename))
    spans.sort()
    for (a0, a1, a), (b0, _, b) in zip(spans, spans[1:]):
        if a1 > b0:
            raise XlgptError(f"{a}: its bytes overlap those of {b}; the workbook is damaged or forged")
    if spans and spans[-1][1] > end_of_members:
        raise XlgptError(f"{spans[-1][2]}: its bytes run into the central directory; the workbook is damaged "
                         f"or forged")


def check_size(info: zipfile.ZipInfo) -> None:
    """Refuse a member whose declared size or ratio is implausible, before anything is inflated."""
    limit, ratio = max_part_bytes(), max_ratio()
    if info.file_size > limit:
        raise XlgptError(f"{info.filename}: inflates to {info.file_size:,} bytes, over the limit of {limit:,}; "
                         f"if the workbook is trusted, raise XLGPT_MAX_PART_BYTES")
    if info.file_size > _RATIO_FROM and info.file_size > ratio * max(info.compress_size, 1):
        raise XlgptError(f"{info.filename}: inflates {info.file_size / max(info.compress_size, 1):,.0f} times "
                         f"(to {info.file_size:,} bytes), more than the {ratio:g} a real sheet does; if the "
                         f"workbook is trusted, raise XLGPT_MAX_INFLATE_RATIO")


def stored_bytes(z: zipfile.ZipFile, info: zipfile.ZipInfo):
    """A member's data as stored in the archive (compressed), without inflating it: a view into the file
    mapped in memory (no copy; the page cache holds it), or bytes read when the file cannot be mapped."""
    mapped = _mapped(z)
    if mapped is None:
        return _read_stored(z, info)
    view = memoryview(mapped)
    begin = _data_offset(bytes(view[info.header_offset:info.header_offset + 30]), info)
    if begin + info.compress_size > len(view):
        raise XlgptError(f"{info.filename}: the file ends inside this member; the workbook is truncated")
    return view[begin:begin + info.compress_size]


def release(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Drop a member's mapped pages from this process (they stay in the page cache): a mapping otherwise
    keeps every page it touched counted as the process's memory until it is closed."""
    mapped = getattr(z, "_xlgpt_map", None)
    if not mapped or not hasattr(mmap, "MADV_DONTNEED"):
        return
    start = info.header_offset - info.header_offset % mmap.PAGESIZE
    end = min(len(mapped), info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
              + info.compress_size + mmap.PAGESIZE)
    try:
        mapped.madvise(mmap.MADV_DONTNEED, start, end - start)
    except (OSError, ValueError):
        pass


def stored_offset(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Where a member's stored (compressed) bytes start in the archive's file, checked to end inside it."""
    f = z.fp
    f.seek(info.header_offset)
    begin = _data_offset(f.read(30), info)
    if begin + info.compress_size > os.fstat(f.fileno()).st_size:
        raise XlgptError(f"{info.filename}: the file ends inside this member; the workbook is truncated")
    return begin


def mapped(z: zipfile.ZipFile):
    """The archive mapped read-only (made once per open ZipFile: call it before threads read members), or None
    where mapping is impossible: then members are read through the ZipFile's one file object, by one thread."""
    return _mapped(z)


def _mapped(z: zipfile.ZipFile):
    """The archive mapped read-only, once per open ZipFile; None where mapping is impossible."""
    if not hasattr(z, "_xlgpt_map"):
        try:
            z._xlgpt_map = mmap.mmap(z.fp.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, AttributeError):
            z._xlgpt_map = None
    return z._xlgpt_map


def _read_stored(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    f = z.fp
    f.seek(info.header_offset)
    f.seek(_data_offset(f.read(30), info))
    data = f.read(info.compress_size)
    if len(data) != info.compress_size:
        raise XlgptError(f"{info.filename}: the file ends inside this member; the workbook is truncated")
    return data


def _data_offset(header: bytes, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts: after its local header, whose own name and extra lengths count (they
    may differ from the central directory's)."""
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise XlgptError(f"{info.filename}: its local header is missing or damaged; the workbook is damaged")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


_DIGEST_PIECE = 16 << 20


def digest(stored) -> str:
    """The cryptographic digest the sheet cache trusts, of a member's stored bytes: SHA-256 (which these
    processors compute in hardware at 2 GB/s a core), on both cores: 16 MB pieces hashed apart, then the
    pieces' digests hashed together (the split is fixed, so the digest does not depend on the machine)."""
    if len(stored) <= _DIGEST_PIECE:
        return hashlib.sha256(stored).hexdigest()
    view = memoryview(stored)
    pieces = ordered_map(lambda a: hashlib.sha256(view[a:a + _DIGEST_PIECE]).digest(),
                         range(0, len(stored), _DIGEST_PIECE))
    return hashlib.sha256(b"".join(pieces) + len(stored).to_bytes(8, "little")).hexdigest()


def inflate(z: zipfile.ZipFile, info: zipfile.ZipInfo, stored=None) -> bytes:
    """A member's bytes, bounded and CRC-checked; isal inflates (several times faster than zlib)."""
    if stored is None:
        try:
            return inflate(z, info, stored_bytes(z, info))
        finally:
            release(z, info)
    # one piece, the whole member (joining a single piece makes no copy)
    return b"".join(inflate_pieces(info, stored, first=info.file_size + 1, feed=max(1, len(stored))))


def inflate_pieces(info: zipfile.ZipInfo, stored, first: int = 1 << 20, piece: int = 16 << 20, feed: int = 4 << 20):
    """A member's bytes a piece at a time (the first small, to tell a tab's kind cheaply; `feed` bytes of the
    stored data given to isal at a time, since the part it leaves unconsumed is copied), bounded and checked:
    never more than the member declares (a member that lies about its size cannot take more memory), its size
    and CRC-32 verified after the last piece (a consumer acts on the pieces only once the generator has ended)."""
    check_size(info)
    if info.compress_type == zipfile.ZIP_STORED:
        data = bytes(stored)
        _check_inflated(info, len(data), isal_zlib.crc32(data))
        yield data
        return
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise XlgptError(f"{info.filename}: compressed with method {info.compress_type}; xlsx uses deflate")
    d = isal_zlib.decompressobj(-15)
    view, at, pending, total, crc, size = memoryview(stored), 0, b"", 0, 0, first
    try:
        while not d.eof:
            if not pending and at < len(view):
                pending, at = view[at:at + feed], at + feed
            # max_length >= 1 always: 0 would mean no limit
            out = d.decompress(pending, max(1, min(size, info.file_size + 1 - total)))
            pending = d.unconsumed_tail
            total += len(out)
            if total > info.file_size:
                raise XlgptError(f"{info.filename}: inflates past the {info.file_size:,} bytes it declares; "
                                 f"the workbook is damaged or forged")
            crc = isal_zlib.crc32(out, crc)
            if out:
                yield out
                size = piece
            elif not pending and at >= len(view):
                break  # all input given and no more output: the stream is short (checked below)
    except isal_zlib.error as e:
        raise XlgptError(f"{info.filename}: its deflate data is damaged ({e}); the workbook is damaged") from None
    _check_inflated(info, total, crc)


def _check_inflated(info: zipfile.ZipInfo, size: int, crc: int) -> None:
    if size != info.file_size:
        raise XlgptError(f"{info.filename}: holds {size:,} bytes, not the {info.file_size:,} it declares; "
                         f"the workbook is damaged")
    if crc != info.CRC:
        raise XlgptError(f"{info.filename}: CRC-32 mismatch; the workbook is damaged")


def inflate_xml(z: zipfile.ZipFile, info: zipfile.ZipInfo, stored=None) -> bytes:
    """An XML part, inflated as above and refused if it carries a DTD."""
    return no_dtd(inflate(z, info, stored), info.filename)


def read_xml(z: zipfile.ZipFile, name: str) -> bytes:
    """An XML part by name (inflate_xml), or one line when the package lacks it."""
    try:
        info = z.getinfo(name)
    except KeyError:
        raise XlgptError(f"{name}: missing from the package; the workbook is damaged") from None
    return inflate_xml(z, info)


def no_dtd(xml: bytes, name: str) -> bytes:
    """xml as UTF-8, refused if it declares a DTD, whatever its encoding.

    OOXML parts are UTF-8 or UTF-16 (ECMA-376 Part 2, M1.17): a UTF-16 part is transcoded here, so every
    reader after this one (the regular expressions of reader.py included) sees UTF-8 and nobody sees a DTD
    that a byte scan for "<!" in one encoding would miss in another. Expat reads the prolog and stops at the
    root element: a DOCTYPE can only come before it (XML 1.0, 2.8), and parsing whole parts cost 3 s of a
    GPT-2 small recalculation."""
    xml = _utf8(xml, name)
    parser = expat.ParserCreate()

    def dtd(*_):
        raise XlgptError(f"{name}: carries a DTD (<!DOCTYPE>), which OOXML parts never do; refusing it "
                         f"(entities could expand without bound)")

    def root(*_):
        raise _Root

    parser.StartDoctypeDeclHandler = dtd
    parser.EntityDeclHandler = dtd
    parser.StartElementHandler = root
    try:
        for at in range(0, len(xml), 1 << 16):
            parser.Parse(xml[at:at + (1 << 16)], False)
        parser.Parse(b"", True)
    except _Root:
        pass  # the root element: nothing after it can declare entities
    except expat.ExpatError:
        pass  # malformed before the root: the XML reader that parses the part says so, naming it
    return xml


class _Root(Exception):
    """The prolog is over."""


_DECLARATION = re.compile(rb"<\?xml[^>]*?\?>")
_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")


def _utf8(xml: bytes, name: str) -> bytes:
    """The part's text in UTF-8, its declaration saying so."""
    if xml.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"  # the byte order mark says which
    elif xml.startswith(b"<\0?\0"):
        codec = "utf-16-le"
    elif xml.startswith(b"\0<\0?"):
        codec = "utf-16-be"
    else:
        declared = _DECLARATION.match(xml[3:] if xml.startswith(b"\xef\xbb\xbf") else xml)
        encoding = _ENCODING.search(declared.group()) if declared else None
        if encoding and encoding.group(1).upper().replace(b"_", b"-") not in (b"UTF-8", b"UTF8"):
            raise XlgptError(f"{name}: declares the encoding {encoding.group(1).decode()!r} but is not UTF-16; "
                             f"OOXML parts are UTF-8 or UTF-16, so the workbook is damaged")
        return xml
    try:
        text = xml.decode(codec)
    except UnicodeDecodeError as e:
        raise XlgptError(f"{name}: not valid UTF-16 ({e.reason} at byte {e.start}); the workbook is "
                         f"damaged") from None
    body = text.lstrip("\ufeff").encode("utf-8")
    declared = _DECLARATION.match(body)
    return DECLARATION.encode() + (body[declared.end():] if declared else body)
