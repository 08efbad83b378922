"""The Start tab: the prompt cell, the prediction shown from the tabs that compute it, the model, and a tour of
the tabs (templates/start.toml)."""

import numpy as np

from ..sheet.book import Chart, Sheet, Texts, Values
from . import names
from .grid import Area, place, titled
from .lens import PROBABILITY_FORMAT
from .templates import stage

TAB = "Start"
PROMPT = Area(TAB, 2, 1, 1, 1)  # B3: the cell a person types a prompt into
TOKEN_COUNT = Area(TAB, 3, 1, 1, 1)
NEXT_TOKEN = Area(TAB, 5, 1, 1, 1)  # the prediction, or the tokenizer's message when the prompt does not fit
NEXT_PROB = Area(TAB, 5, 2, 1, 1)
TOP_ROW = 8  # the top-k table's first row



def top_area(k: int, column: int) -> Area:
    """Column `column` (1 token, 2 prob, 3 id) of the top-k table."""
    return Area(TAB, TOP_ROW, column, k, 1)


def start_tab(s: Sheet, prompt: str, capacity: str, top: dict[str, Area], model: list[str],
              tour: list[tuple[str, str]]) -> None:
    """s: the Start sheet (added first, filled last); capacity: the workbook's limits in words; top: the
    predict tab's columns; model: the lines that describe the checkpoint; tour: (tab, what it shows) in the
    tabs' order (the stage registry's)."""
    t = stage("start")
    k = top["id"].nrows
    titled(s, t["start"])
    s.add(Texts(2, 0, [["Prompt"]], style="bold"))
    s.add(Texts(PROMPT.row, PROMPT.col, [[prompt]], style="input"))
    s.add(Texts(2, 2, [["Type a new prompt: the tabs chars, words, bpe and Tokens tokenize it, the rest predicts."]],
                style="note"))
    s.add(Texts(3, 0, [["Tokens"], ["Context"], ["Next token"]], style="bold"))
    place(s, t["show"], TOKEN_COUNT, ref=names.TOKEN_COUNT)
    s.add(Texts(4, 1, [[capacity]]))
    checked = dict(token_error=names.TOKEN_ERROR)
    place(s, t["show_checked"], NEXT_TOKEN, style="bold", ref=names.NEXT_TOKEN, **checked)
    place(s, t["show_checked"], NEXT_PROB, style="percent", ref=top["prob"].rows(0, 1).ref(), **checked)

    s.add(Texts(TOP_ROW - 1, 0, [[f"Top {k}", "token", "prob", "id"]], style="bold"))
    s.add(Values(TOP_ROW, 0, np.arange(1, k + 1, dtype=float)[:, None]))
    for col, name, style in ((1, "token", None), (2, "prob", "percent"), (3, "id", None)):
        place(s, t["show_column_checked"], top_area(k, col), style=style, ref=top[name].first(), **checked)
    title, series = t["chart"].header()
    # the axis in percent, or in scientific notation when every probability is tiny (random weights)
    s.charts.append(Chart("bar", title, series, top_area(k, 1).ref(), top_area(k, 2).ref(), row=TOP_ROW - 1, col=5,
                          value_format=PROBABILITY_FORMAT))

    row = TOP_ROW + 1 + k
    s.add(Texts(row, 0, [["Model"], ["Shape"], ["Parameters"]], style="bold"))
    s.add(Texts(row, 1, [[line] for line in model]))
    row += 4
    s.add(Texts(row, 0, [["Tour"]], style="bold"))
    for i, (tab, what) in enumerate(tour, 1):
        s.add(Texts(row + i, 0, [[tab]], style="link"))
        s.add(Texts(row + i, 1, [[what]]))
        s.links.append((row + i, 0, Area(tab, 0, 0, 1, 1).first(), tab))
