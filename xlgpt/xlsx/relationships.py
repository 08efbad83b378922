"""_rels/.rels and xl/_rels/workbook.xml.rels: how the parts point at each other."""

from .xml import DECLARATION, PKG_REL_NS, REL_NS

DOC = REL_NS + "/"  # a relationship type is this and the kind: worksheet, styles, drawing, chart


def rels_xml(targets) -> str:
    """A relationships part: rId1.. are the (type, target) pairs in order."""
    return (DECLARATION + f'<Relationships xmlns="{PKG_REL_NS}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{t}" Target="{target}"/>'
                      for i, (t, target) in enumerate(targets, 1)) + "</Relationships>")


def package_rels_xml() -> str:
    return rels_xml([(DOC + "officeDocument", "xl/workbook.xml"),
                  ("http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
                   "docProps/core.xml"),
                  (DOC + "extended-properties", "docProps/app.xml")])


def workbook_rels_xml(n_sheets: int) -> str:
    """rId1..rIdN are the sheets in order, then styles, shared strings and the theme."""
    return rels_xml([(DOC + "worksheet", f"worksheets/sheet{i}.xml") for i in range(1, n_sheets + 1)]
                 + [(DOC + "styles", "styles.xml"), (DOC + "sharedStrings", "sharedStrings.xml"),
                    (DOC + "theme", "theme/theme1.xml")])
