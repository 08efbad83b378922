"""xl/styles.xml: the handful of cell styles the workbook uses, by name."""

from ..sheet.book import STYLES as BOOK_STYLES
from .xml import DECLARATION, MAIN_NS

# name -> (fontId, fillId, numFmtId)
STYLES = {
    None: (0, 0, 0),
    "bold": (1, 0, 0),
    "title": (2, 0, 0),
    "note": (3, 0, 0),
    "link": (4, 0, 0),
    "input": (1, 2, 0),
    "percent": (0, 0, 10),  # built-in 0.00%
}
assert tuple(STYLES) == BOOK_STYLES, "the cell formats must be written in the order blocks index them"

_FONTS = [
    '<font><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>',
    '<font><b/><sz val="11"/><color rgb="FF000000"/><name val="Calibri"/><family val="2"/></font>',
    '<font><b/><sz val="14"/><color rgb="FF1F497D"/><name val="Calibri"/><family val="2"/></font>',
    '<font><i/><sz val="11"/><color rgb="FF595959"/><name val="Calibri"/><family val="2"/></font>',
    '<font><u/><sz val="11"/><color rgb="FF0000FF"/><name val="Calibri"/><family val="2"/></font>',
]
_FILLS = [
    '<fill><patternFill patternType="none"/></fill>',
    '<fill><patternFill patternType="gray125"/></fill>',
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFF2CC"/><bgColor indexed="64"/></patternFill></fill>',
]


PADDING_DXF = 0  # the differential format of the padding positions: grey text on light grey
_DXFS = ['<dxf><font><color rgb="FFA6A6A6"/></font><fill><patternFill><bgColor rgb="FFF2F2F2"/></patternFill></fill>'
         '</dxf>']  # as Excel and XlsxWriter write a conditional format's fill: no pattern type, the colour as bgColor


def styles_xml() -> str:
    xfs = []
    for name, (font, fill, fmt) in STYLES.items():
        if name == "link":  # as Excel writes a cell in the built-in Hyperlink style
            xfs.append(f'<xf numFmtId="0" fontId="{font}" fillId="0" borderId="0" xfId="1" applyAlignment="1" '
                       'applyProtection="1"/>')
            continue
        applied = (' applyNumberFormat="1"' if fmt else "") + (' applyFont="1"' if font else "") + (
            ' applyFill="1"' if fill else "")
        xfs.append(f'<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"{applied}/>')
    link_font = STYLES["link"][0]
    return (DECLARATION + f'<styleSheet xmlns="{MAIN_NS}">'
            f'<fonts count="{len(_FONTS)}">{"".join(_FONTS)}</fonts>'
            f'<fills count="{len(_FILLS)}">{"".join(_FILLS)}</fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            f'<xf numFmtId="0" fontId="{link_font}" fillId="0" borderId="0" applyNumberFormat="0" applyFill="0" '
            'applyBorder="0" applyAlignment="0" applyProtection="0"><alignment vertical="top"/>'
            '<protection locked="0"/></xf></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="2"><cellStyle name="Hyperlink" xfId="1" builtinId="8"/>'
            '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            f'<dxfs count="{len(_DXFS)}">{"".join(_DXFS)}</dxfs><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
            'defaultPivotStyle="PivotStyleLight16"/></styleSheet>')
