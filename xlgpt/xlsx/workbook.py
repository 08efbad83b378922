"""xl/workbook.xml: the sheets in order, the defined names, and how to calculate."""

from .xml import DECLARATION, MAIN_NS, REL_NS, attr, escape


def workbook_xml(sheet_names: list[str], defined_names: dict[str, str], full_calc_on_load: bool) -> str:
    sheets = "".join(f'<sheet name="{attr(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(sheet_names, 1))
    names = "".join(f'<definedName name="{attr(n)}">{escape(ref)}</definedName>' for n, ref in sorted(defined_names.items()))
    # fullCalcOnLoad: Excel recalculates every formula when it opens the file. Without it, a calcId as high as
    # current Excel's (365) tells Excel the cached values are its own engine's, so it shows them at once
    # instead of recalculating GPT-2 on open (an older calcId makes Excel recalculate everything).
    calc = '<calcPr calcId="124519" fullCalcOnLoad="1"/>' if full_calc_on_load else '<calcPr calcId="191029"/>'
    return (DECLARATION + f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<fileVersion appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/>'
            '<workbookPr defaultThemeVersion="124226"/>'
            '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews>'
            f"<sheets>{sheets}</sheets>" + (f"<definedNames>{names}</definedNames>" if names else "") + calc
            + "</workbook>")
