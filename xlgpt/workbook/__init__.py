"""The workbook: GPT-2 laid out as tabs of formulas, one stage module per templates/NAME.toml.

    builder.py   strings the stages together in the model's order (build_book, build_workbook)
    grid.py      where things sit: the grid of position tabs, Area, weight tabs, the title and formula helpers
    templates.py loads templates/*.toml
    names.py     the workbook's defined names
    tokenize, embed, residual, layer_norm, attention, mlp, logits, predict, lens, surgery, start, vocab:
                 one tab or family of tabs each, laid out from the template of the same name
"""
