"""[Content_Types].xml: the type of every part in the package."""

from .theme import CONTENT_TYPE as THEME_TYPE, PART as THEME_PART
from .xml import DECLARATION

_TYPE = "application/vnd.openxmlformats-officedocument."
WORKSHEET_TYPE = _TYPE + "spreadsheetml.worksheet+xml"


def content_types_xml(n_sheets: int, parts: list[tuple[str, str]] = ()) -> str:
    """parts: (part name, content type) of the package's other parts (drawings, charts)."""
    overrides = [
        ("/docProps/app.xml", _TYPE + "extended-properties+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/xl/styles.xml", _TYPE + "spreadsheetml.styles+xml"),
        ("/" + THEME_PART, THEME_TYPE),
        ("/xl/workbook.xml", _TYPE + "spreadsheetml.sheet.main+xml"),
    ] + [(f"/xl/worksheets/sheet{i}.xml", WORKSHEET_TYPE) for i in range(1, n_sheets + 1)] + [
        (f"/{part}", content_type) for part, content_type in parts] + [
        ("/xl/sharedStrings.xml", _TYPE + "spreadsheetml.sharedStrings+xml"),
    ]
    return (DECLARATION + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            + "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides) + "</Types>")
