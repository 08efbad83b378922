"""Charts as DrawingML parts, written as Excel (and XlsxWriter, which tests against Excel's own files) writes them.

A sheet with charts points to one drawing part (xl/drawings/drawingN.xml) through its relationships part; the
drawing anchors each chart between two cells and points to its chart part (xl/charts/chartM.xml). A chart's
series refer to cells, so Excel and LibreOffice draw what the cells hold after every recalculation. No cached
copy of those values is written: recalc rewrites cells without rewriting chart parts, and a cache would go stale.
"""

from ..sheet.book import Chart, Sheet
from .relationships import DOC, rels_xml
from .xml import DECLARATION, REL_NS, escape

C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
XDREL_NS = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
DRAWING_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
CHART_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"

WIDTH_PX, HEIGHT_PX = 480, 288  # a chart's size, Excel's default
COLOR = "4472C4"  # the bars' and lines' colour (Office's first accent)
EMU_PER_PX = 9525
_DEFAULT_COL_PX, _ROW_PX = 64, 20  # a column of the default width (8.43 characters), a row of 15 points


def sheet_rels_xml(drawing: int) -> str:
    """xl/worksheets/_rels/sheetN.xml.rels: the sheet's drawing, as rId1 (the sheet's <drawing r:id="rId1"/>)."""
    return rels_xml([(DOC + "drawing", f"../drawings/drawing{drawing}.xml")])


def drawing_rels_xml(charts: list[int]) -> str:
    """xl/drawings/_rels/drawingN.xml.rels: rId1.. are the drawing's charts in order."""
    return rels_xml([(DOC + "chart", f"../charts/chart{n}.xml") for n in charts])


def drawing_xml(sheet: Sheet) -> str:
    """The sheet's drawing: each chart anchored from its cell to where its default size ends."""
    anchors = []
    for i, chart in enumerate(sheet.charts, 1):
        (c1, dx), (r1, dy) = _span(chart.col, WIDTH_PX, lambda c: _col_px(sheet, c)), \
            _span(chart.row, HEIGHT_PX, lambda r: _ROW_PX)
        anchors.append(
            f"<xdr:twoCellAnchor><xdr:from><xdr:col>{chart.col}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{chart.row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f"<xdr:to><xdr:col>{c1}</xdr:col><xdr:colOff>{dx * EMU_PER_PX}</xdr:colOff>"
            f"<xdr:row>{r1}</xdr:row><xdr:rowOff>{dy * EMU_PER_PX}</xdr:rowOff></xdr:to>"
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{i + 1}" name="Chart {i}"/>'
            f"<xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>"
            f'<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{C_NS}"><c:chart xmlns:c="{C_NS}" xmlns:r="{REL_NS}" r:id="rId{i}"/>'
            f"</a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>")
    return DECLARATION + f'<xdr:wsDr xmlns:xdr="{XDREL_NS}" xmlns:a="{A_NS}">' + "".join(anchors) + "</xdr:wsDr>"


def _col_px(sheet: Sheet, col: int) -> int:
    """A column's width in pixels, as Excel converts a width in characters (Calibri 11)."""
    width = sheet.col_widths.get(col)
    if width is None:
        return _DEFAULT_COL_PX
    return int(width * 12 + 0.5) if width < 1 else int(width * 7 + 0.5) + 5


def _span(start: int, pixels: int, size) -> tuple[int, int]:
    """(the row or column where `pixels` from the start of `start` end, the pixels into it)."""
    at = start
    while pixels >= size(at):
        pixels -= size(at)
        at += 1
    return at, pixels


def chart_xml(chart: Chart, number: int) -> str:
    """chart `number` of the package (its axes' ids are numbered after it, as Excel's and XlsxWriter's are)."""
    cat_id, val_id = 50000000 + number * 10000 + 1, 50000000 + number * 10000 + 2
    axes = f'<c:axId val="{cat_id}"/><c:axId val="{val_id}"/>'
    # colours given, not left to the theme: LibreOffice has been seen to draw theme-coloured bars and lines of a
    # workbook without a theme part in no colour at all
    fill = f'<a:solidFill><a:srgbClr val="{COLOR}"/></a:solidFill>'
    if chart.kind == "line":
        look = (f'<c:spPr><a:ln w="28575">{fill}</a:ln></c:spPr><c:marker><c:symbol val="circle"/>'
                f'<c:size val="6"/><c:spPr>{fill}<a:ln>{fill}</a:ln></c:spPr></c:marker>')
    else:
        look = f"<c:spPr>{fill}</c:spPr>"
    series = (f'<c:ser><c:idx val="0"/><c:order val="0"/><c:tx><c:v>{escape(chart.series)}</c:v></c:tx>{look}'
              + f"<c:cat><c:strRef><c:f>{escape(chart.categories)}</c:f></c:strRef></c:cat>"
              f"<c:val><c:numRef><c:f>{escape(chart.values)}</c:f></c:numRef></c:val></c:ser>")
    if chart.kind == "bar":
        # horizontal bars: the categories run down the left axis, the values along the bottom
        plot = (f'<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/>{series}{axes}</c:barChart>')
        cat_pos, val_pos = "l", "t"  # the ranking reads from the top, so the value axis goes there
    elif chart.kind == "line":
        plot = f'<c:lineChart><c:grouping val="standard"/>{series}<c:marker val="1"/>{axes}</c:lineChart>'
        cat_pos, val_pos = "b", "l"
    else:
        raise ValueError(f"chart kind {chart.kind!r}")
    cat_ax = (f'<c:catAx><c:axId val="{cat_id}"/><c:scaling><c:orientation val="{_orientation(chart)}"/>'
              f'</c:scaling><c:axPos val="{cat_pos}"/>{_title(chart.x_title, axis=True)}'
              f'<c:tickLblPos val="nextTo"/><c:crossAx val="{val_id}"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/>'
              f'<c:lblOffset val="100"/></c:catAx>')
    val_ax = (f'<c:valAx><c:axId val="{val_id}"/><c:scaling><c:orientation val="minMax"/></c:scaling>'
              f'<c:axPos val="{val_pos}"/><c:majorGridlines/>{_title(chart.y_title, axis=True, rotated=val_pos == "l")}'
              + (f'<c:numFmt formatCode="{escape(chart.value_format)}" sourceLinked="0"/>' if chart.value_format
                 else '<c:numFmt formatCode="General" sourceLinked="1"/>') + '<c:tickLblPos val="nextTo"/>'
              f'<c:crossAx val="{cat_id}"/><c:crosses val="autoZero"/><c:crossBetween val="between"/></c:valAx>')
    return (DECLARATION + f'<c:chartSpace xmlns:c="{C_NS}" xmlns:a="{A_NS}" xmlns:r="{REL_NS}">'
            f'<c:lang val="en-US"/><c:chart>{_title(chart.title)}<c:plotArea><c:layout/>{plot}{cat_ax}{val_ax}'
            f'</c:plotArea><c:plotVisOnly val="1"/></c:chart><c:printSettings><c:headerFooter/>'
            f'<c:pageMargins b="0.75" l="0.7" r="0.7" t="0.75" header="0.3" footer="0.3"/><c:pageSetup/>'
            f"</c:printSettings></c:chartSpace>")


def _orientation(chart: Chart) -> str:
    # the first category (the most likely token) at the top of a bar chart, as one reads a ranking
    return "maxMin" if chart.kind == "bar" else "minMax"


def _title(text: str | None, axis: bool = False, rotated: bool = False) -> str:
    if not text:
        return ""
    body = '<a:bodyPr rot="-5400000" vert="horz"/>' if rotated else "<a:bodyPr/>"
    return (f"<c:title><c:tx><c:rich>{body}<a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:r>"
            f'<a:rPr lang="en-US"/><a:t>{escape(text)}</a:t></a:r></a:p></c:rich></c:tx><c:layout/></c:title>')
