"""The float64 powers of ten the decimal arithmetic uses (cells.py, and the compiled loops of xlsx/_speedups.c, which
are handed this very table so that both divide by the same numbers)."""

import numpy as np

POW10 = 10.0 ** np.arange(-300, 301)  # index power + 300; as exact as 10.0**power
