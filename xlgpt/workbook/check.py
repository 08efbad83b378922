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
    knobs = surgery.read_knobs(book, cfg, n_ctx)
    ref = oracle.forward(params, cfg, ids, knobs)
    n = len(ids)
    rows = []
    for name, area in position_results(cfg, n_ctx):
        rows.append(_compare(area.sheet, engine.read_range(book, area.rows(0, n).ref()), ref[name]))
    rows.append(_compare(names.LOGITS, engine.read_range(book, names.LOGITS)[:, 0], ref["logits"][-1]))
    top_ids, top_probs = oracle.top_k(ref["logits"][-1], len(engine.read_range(book, names.TOP_IDS)))
    got_ids = engine.read_range(book, names.TOP_IDS)[:, 0]
    rows.append((names.TOP_IDS, float(np.sum(got_ids != top_ids)), bool(np.array_equal(got_ids, top_ids))))
    rows.append(_compare(names.TOP_PROBS, engine.read_range(book, names.TOP_PROBS)[:, 0], top_probs))
    rows += _attribution(book, params, cfg, ids, knobs)
    return rows


def _attribution(book: Book, params, cfg, ids, knobs) -> list:
    """The Attribution tab's shares against oracle.attribution, for the two tokens its cells name."""
    if names.ATTR_HEADS not in book.names:
        return []  # built before the tab existed
    target, versus = (engine.read_range(book, n)[0, 0] for n in (names.ATTR_TARGET_ID, names.ATTR_VERSUS_ID))
    if not all(isinstance(i, float) and 0 <= i < cfg.n_vocab for i in (target, versus)):
        return []  # the cells name no token: the tab says so
    want = oracle.attribution(params, cfg, ids, int(target), int(versus), knobs)
    got = {n: np.asarray(engine.read_range(book, n), dtype=object) for n in
           (names.ATTR_HEADS, names.ATTR_MLPS, names.ATTR_EMBED, names.ATTR_SUM)}
    scale = max(np.max(np.abs(want[k])) for k in ("heads", "mlps", "embed", "attn_bias", "steer"))
    return [_compare(names.ATTR_HEADS, got[names.ATTR_HEADS], want["heads"], scale),
            _compare(names.ATTR_MLPS, got[names.ATTR_MLPS][:, 0], want["mlps"], scale),
            _compare(names.ATTR_EMBED, got[names.ATTR_EMBED][:, 0], want["embed"], scale),
            _compare(names.ATTR_SUM, got[names.ATTR_SUM][0], np.array([want["logit_diff"]]))]


def _compare(stage, got, want, scale=None):
    """scale: what the difference is relative to (default: the largest value the oracle gives)."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return stage, float("inf"), False
    scale = scale or float(np.max(np.abs(want))) or 1.0
    diff = float(np.max(np.abs(got - want))) / scale if got.shape == want.shape else float("inf")
    return stage, diff, diff <= REL
