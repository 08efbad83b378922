"""Reading values out of a workbook that another program (LibreOffice) saved, with openpyxl: the test's eyes."""

import numpy as np
import openpyxl

from xlgpt.sheet import refs


def open_values(path):
    return openpyxl.load_workbook(path, data_only=True, read_only=True)


def area(wb, sheet: str, row: int, col: int, nrows: int, ncols: int) -> np.ndarray:
    """0-based rectangle as an object array (numbers, strings, None)."""
    rows = wb[sheet].iter_rows(min_row=row + 1, max_row=row + nrows, min_col=col + 1, max_col=col + ncols,
                               values_only=True)
    out = np.empty((nrows, ncols), dtype=object)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def named(wb, name: str) -> np.ndarray:
    """The values of a defined name that refers to one rectangle, or of a reference 'Sheet'!$A$1:$B$2."""
    if name in wb.defined_names:
        sheet, ref = next(iter(wb.defined_names[name].destinations))
    else:
        sheet, ref = name.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
    return area(wb, sheet, *refs.parse_area(ref.replace("$", "")))


def numbers(a) -> np.ndarray:
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"not all numbers: {a!r}") from None
