"""The small XML helpers every part uses."""

import re

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# Characters XML 1.0 cannot hold, and a literal "_xHHHH_" that a reader would take for one: OOXML writes
# them as _xHHHH_ (ECMA-376 Part 1, 22.9.2.19 ST_Xstring). A carriage return is legal but every XML parser
# reads a raw one back as a line feed, so it is written as the character reference &#13;, which every
# parser (openpyxl's, LibreOffice's, Excel's, ElementTree) returns as a carriage return.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def attr(text: str) -> str:
    return escape(text).replace('"', "&quot;")


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """The inverse of escape() for text an XML parser has already decoded."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def text_element(tag: str, text: str) -> str:
    """<t>text</t>, preserving leading and trailing white space, which XML would otherwise let readers drop."""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f"<{tag}{space}>{escape(text)}</{tag}>"
