"""`--check`: the oracle run on the weights, tokens and surgery knobs as the workbook holds them, compared
stage by stage."""

import numpy as np

from .. import engine
from ..sheet import refs
from ..sheet.book import Book
from ..model import oracle
from ..model.checkpoint import config_from_shapes
from ..model.config import tensor_shapes
from . import names, surgery
from .stages import position_results

REL = 1e-9


def workbook_model(book: Book):
    """(params, config, token ids) read from the workbook's weight tabs and Tokens."""
    params = {}
    for sheet in book.sheets:
        if sheet.name.endswith((".weight", ".bias")):  # a weight tab: the tensor from A1, a vector as one row
            rows, cols = sheet.extent
            params[sheet.name] = engine.read_range(book, refs.qualified(sheet.name, refs.area(0, 0, rows, cols)))
    cfg = config_from_shapes(params, "the workbook")
    for name, shape in tensor_shapes(cfg).items():
        params[name] = np.asarray(params[name], dtype=np.float64).reshape(shape)
    count = int(engine.read_range(book, names.TOKEN_COUNT)[0, 0])
    ids = engine.read_range(book, names.TOKEN_IDS)[:count, 0].astype(int).tolist()
    return params, cfg, ids


def check(book: Book) -> list[tuple[str, float, bool]]:
    """(stage, max difference relative to the stage's largest value, within 1e-9) for every stage."""
    params, cfg, ids = workbook_model(book)
    n_ctx = engine.read_range(book, names.TOKEN_IDS).shape[0]
    ref = oracle.forward(params, cfg, ids, surgery.read_knobs(book, cfg, n_ctx))
    n = len(ids)
    rows = []
    for name, area in position_results(cfg, n_ctx):
        rows.append(_compare(area.sheet, engine.read_range(book, area.rows(0, n).ref()), ref[name]))
    rows.append(_compare(names.LOGITS, engine.read_range(book, names.LOGITS)[:, 0], ref["logits"][-1]))
    top_ids, top_probs = oracle.top_k(ref["logits"][-1], len(engine.read_range(book, names.TOP_IDS)))
    got_ids = engine.read_range(book, names.TOP_IDS)[:, 0]
    rows.append((names.TOP_IDS, float(np.sum(got_ids != top_ids)), bool(np.array_equal(got_ids, top_ids))))
    rows.append(_compare(names.TOP_PROBS, engine.read_range(book, names.TOP_PROBS)[:, 0], top_probs))
    return rows


def _compare(stage, got, want):
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return stage, float("inf"), False
    scale = float(np.max(np.abs(want))) or 1.0
    diff = float(np.max(np.abs(got - want))) / scale if got.shape == want.shape else float("inf")
    return stage, diff, diff <= REL
