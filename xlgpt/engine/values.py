"""Cell values inside the engine (the values themselves, errors included, are cells.py's).

A block of values is a NumPy array: float64 when every cell is a number or empty, object otherwise
(float, str, bool, XlError or None). In a float64 array NaN means an empty cell: the engine turns every
non-finite result into an error value, so a NaN can mean nothing else.
"""

import numpy as np

from ..sheet.cells import DIV0, ERROR_CODES, NA, NUM, XlError


def from_python(v):
    """A constant from a Texts block or a reader to the engine's element: float, str, bool, XlError, None."""
    if v is None or isinstance(v, (str, bool, XlError)):
        return ERROR_CODES.get(v, v) if isinstance(v, str) and not isinstance(v, XlError) and v in ERROR_CODES else v
    return float(v)


def block_array(data) -> np.ndarray:
    """A 2-D list or array of constants as a block: float64 if all numbers or empty, else object."""
    if isinstance(data, np.ndarray) and data.dtype != object:
        return np.asarray(data, dtype=np.float64)
    rows = len(data)
    cols = max((len(r) for r in data), default=0)
    out = np.empty((rows, cols), dtype=object)
    for i, r in enumerate(data):
        for j in range(cols):
            out[i, j] = from_python(r[j]) if j < len(r) else None
    numeric = all(v is None or (isinstance(v, float)) for v in out.flat)
    if numeric:
        return np.array([[np.nan if v is None else v for v in r] for r in out], dtype=np.float64).reshape(rows, cols)
    return out


def numeric_if_possible(a: np.ndarray) -> np.ndarray:
    """An object block back to float64 when every element is a float (no text, errors or empties)."""
    if a.dtype == object and all(type(v) is float for v in a.flat):
        return a.astype(np.float64)
    return a


def constant(v) -> np.ndarray:
    """One value as the engine's 4-D array [1, 1, 1, 1] (see evaluator.py)."""
    a = np.empty((1, 1, 1, 1), dtype=object)
    a[0, 0, 0, 0] = v
    return a


_TYPE = np.frompyfunc(type, 1, 1)  # the built-in called per element: no Python frame per cell


def is_error(a: np.ndarray) -> np.ndarray:
    """The mask of a block's error values (none in a float64 block). XlError has no subclasses, so comparing
    each element's type with it is the isinstance test, at a third of its cost."""
    if a.dtype != object:
        return np.zeros(a.shape, dtype=bool)
    return np.asarray(_TYPE(a) == XlError, dtype=bool).reshape(a.shape)


def finish(result: np.ndarray, error: XlError = NUM, div0=None) -> np.ndarray:
    """Non-finite results become error values (#DIV/0! where div0 marks a division by zero)."""
    bad = ~np.isfinite(result)
    if not bad.any():
        return result
    out = result.astype(object)
    out[bad] = error
    if div0 is not None:
        out[bad & np.broadcast_to(div0, bad.shape)] = DIV0
    return out


def broadcast_inner(*arrays):
    """Excel's array broadcasting: a 1-row or 1-column array repeats; where sizes differ otherwise, #N/A."""
    h = max(a.shape[2] for a in arrays)
    w = max(a.shape[3] for a in arrays)
    out = []
    for a in arrays:
        ah, aw = a.shape[2:]
        if (ah in (1, h)) and (aw in (1, w)):
            out.append(a)
            continue
        padded = np.full(a.shape[:2] + (h, w), NA, dtype=object)
        src = np.broadcast_to(a, a.shape[:2] + (ah if ah > 1 else h, aw if aw > 1 else w))
        padded[:, :, :src.shape[2], :src.shape[3]] = src
        out.append(padded)
    return out


class CellByCell(Exception):
    """The group cannot be evaluated as one operation (a range whose size changes from cell to cell, INDEX
    asked for a whole row of some cells): the evaluator takes its cells one at a time."""
