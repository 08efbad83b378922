"""Cell values inside the engine.

A block of values is a NumPy array: float64 when every cell is a number or empty, object otherwise
(float, str, bool, XlError or None). In a float64 array NaN means an empty cell: the engine turns every
non-finite result into an error value, so a NaN can mean nothing else.
"""

import numpy as np


class XlError(str):
    """An Excel error value such as #DIV/0!; a str so that it prints and compares as its code."""

    def __repr__(self):
        return f"XlError({str(self)!r})"


NULL, DIV0, VALUE, REF, NAME, NUM, NA = (XlError(c) for c in
                                         ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
ERROR_CODES = {str(e): e for e in (NULL, DIV0, VALUE, REF, NAME, NUM, NA)}


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
