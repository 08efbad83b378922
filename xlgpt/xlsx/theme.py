"""xl/theme/theme1.xml: the workbook's theme (colours and fonts), which Excel's package rules require: without
one, the Open XML SDK's validator reports the workbook's theme relationship as missing. This is the Office
theme's content (its colours, Calibri and Cambria) in the fewest elements the DrawingML schema allows: three
fill, line, effect and background styles each."""

from .xml import DECLARATION

PART = "xl/theme/theme1.xml"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.theme+xml"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"

_COLOURS = [("dk1", '<a:sysClr val="windowText" lastClr="000000"/>'), ("lt1", '<a:sysClr val="window" lastClr="FFFFFF"/>'),
            ("dk2", "1F497D"), ("lt2", "EEECE1"), ("accent1", "4F81BD"), ("accent2", "C0504D"), ("accent3", "9BBB59"),
            ("accent4", "8064A2"), ("accent5", "4BACC6"), ("accent6", "F79646"), ("hlink", "0000FF"),
            ("folHlink", "800080")]


def _colour(value: str) -> str:
    return value if value.startswith("<") else f'<a:srgbClr val="{value}"/>'


def _fonts(kind: str, latin: str) -> str:
    return f'<a:{kind}><a:latin typeface="{latin}"/><a:ea typeface=""/><a:cs typeface=""/></a:{kind}>'


def theme_xml() -> str:
    colours = "".join(f"<a:{name}>{_colour(v)}</a:{name}>" for name, v in _COLOURS)
    solid = '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>'
    line = f'<a:ln w="9525" cap="flat" cmpd="sng" algn="ctr">{solid}<a:prstDash val="solid"/></a:ln>'
    effect = "<a:effectStyle><a:effectLst/></a:effectStyle>"
    return (DECLARATION + f'<a:theme xmlns:a="{_A}" name="Office Theme"><a:themeElements>'
            f'<a:clrScheme name="Office">{colours}</a:clrScheme>'
            f'<a:fontScheme name="Office">{_fonts("majorFont", "Cambria")}{_fonts("minorFont", "Calibri")}'
            f'</a:fontScheme>'
            f'<a:fmtScheme name="Office"><a:fillStyleLst>{solid * 3}</a:fillStyleLst>'
            f'<a:lnStyleLst>{line * 3}</a:lnStyleLst><a:effectStyleLst>{effect * 3}</a:effectStyleLst>'
            f'<a:bgFillStyleLst>{solid * 3}</a:bgFillStyleLst></a:fmtScheme>'
            f'</a:themeElements><a:objectDefaults/><a:extraClrSchemeLst/></a:theme>')
