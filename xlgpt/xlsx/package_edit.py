"""Adding a sheet to a package another program (or xlgpt) wrote, keeping every other byte: the entries that
name it in xl/workbook.xml, xl/_rels/workbook.xml.rels and [Content_Types].xml. The parts are edited as text
at their closing tags, so nothing else in them changes."""

import re

from ..errors import XlgptError
from .contenttypes import WORKSHEET_TYPE
from .relationships import DOC
from .xml import REL_NS, attr

WORKBOOK, RELS, TYPES = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"


def new_part(names: set[str]) -> str:
    """A worksheet part name the package does not use yet."""
    n = 1
    while f"xl/worksheets/sheet{n}.xml" in names:
        n += 1
    return f"xl/worksheets/sheet{n}.xml"


def with_sheet(parts: dict[str, bytes], name: str, part: str) -> dict[str, bytes]:
    """The three parts (by name) with the sheet `name` at `part` added after the last sheet."""
    wb, rels, types = (parts[p].decode("utf-8") for p in (WORKBOOK, RELS, TYPES))
    used_ids = set(re.findall(r'\bId="([^"]*)"', rels))
    rid = next(f"rId{n}" for n in range(1, len(used_ids) + 2) if f"rId{n}" not in used_ids)
    sheet_ids = [int(x) for x in re.findall(r'<(?:\w+:)?sheet\b[^>]*\bsheetId="(\d+)"', wb)]
    prefix = re.search(r'xmlns:(\w+)="' + re.escape(REL_NS) + '"', wb)
    if prefix is None:
        raise XlgptError(f"{WORKBOOK} declares no relationships namespace; the workbook is damaged")
    tag = re.search(r"</(\w+:)?sheets>", wb)
    if tag is None:
        raise XlgptError(f"{WORKBOOK} has no <sheets> list; the workbook is damaged")
    ns = tag.group(1) or ""
    entry = (f'<{ns}sheet name="{attr(name)}" sheetId="{max(sheet_ids, default=0) + 1}" '
             f'{prefix.group(1)}:id="{rid}"/>')
    wb = wb[:tag.start()] + entry + wb[tag.start():]
    rels = _before_last(rels, "Relationships", f'<Relationship Id="{rid}" Type="{DOC}worksheet" '
                                               f'Target="/{part}"/>')
    types = _before_last(types, "Types", f'<Override PartName="/{part}" ContentType="{WORKSHEET_TYPE}"/>')
    return {WORKBOOK: wb.encode("utf-8"), RELS: rels.encode("utf-8"), TYPES: types.encode("utf-8")}


def _before_last(xml: str, element: str, entry: str) -> str:
    m = list(re.finditer(rf"</(\w+:)?{element}>", xml))
    if not m:
        raise XlgptError(f"no </{element}> in the package; the workbook is damaged")
    at = m[-1].start()
    return xml[:at] + entry + xml[at:]
