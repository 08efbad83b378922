"""The powers of ten the decimal arithmetic uses: float64 (cells.py) and extended precision (xlsx/formula_cells.py);
the compiled loops of xlsx/_speedups.c are handed these very tables, so that both compute with the same numbers."""

import numpy as np

POW10 = 10.0 ** np.arange(-300, 301)  # index power + 300; as exact as 10.0**power
LD_POW10 = np.power(np.longdouble(10), np.arange(-350, 351).astype(np.longdouble))  # index power + 350
