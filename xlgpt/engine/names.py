"""A workbook's defined names as the engine uses them: each one's tree, with the names it mentions replaced by
their own trees, so that evaluation and scheduling see references, constants and formulas only.

A name may hold a reference ('S'!$A$1:$B$2), a constant (0.5), a formula ('S'!$A$1*2) or another name, as in
Excel. A name that reaches itself, directly or through others, is a circular reference, and one that expands
into more than MAX_PARTS parts (A = B+B, B = C+C, ... doubles at each step) is refused: both are one line.
"""

from collections import Counter

from ..errors import XlgptError
from .parser import Binary, Call, FormulaError, Name, Unary, parse, walk

MAX_DEPTH = 64  # names within names, as deep as this
MAX_PARTS = 1 << 16  # nodes of one name's tree once the names in it are replaced


def parse_names(defined: dict) -> dict:
    """defined name in capitals -> its tree (names are case-insensitive: find one with `lookup`). A name whose
    text is not a formula is left out: where it is used it is #NAME?."""
    raw = {}
    for name, target in defined.items():
        try:
            raw[name.upper()] = (name, parse(target))
        except FormulaError:
            pass
    done, sizes = {}, {}

    def expand(key: str, chain: tuple):
        if key in done:
            return done[key]
        name, tree = raw[key]
        if key in chain:
            loop = " -> ".join(raw[k][0] for k in chain[chain.index(key):]) + f" -> {name}"
            raise XlgptError(f"the defined name {name} refers to itself ({loop}): a circular reference; "
                             f"change the name's formula")
        if len(chain) >= MAX_DEPTH:
            raise XlgptError(f"the defined name {raw[chain[0]][0]} goes through more than {MAX_DEPTH} other names; "
                             f"the workbook is damaged")
        nodes = list(walk(tree))
        mentioned = Counter(n.name.upper() for n in nodes if isinstance(n, Name) and n.name.upper() in raw)
        parts = len(nodes)
        for m, uses in mentioned.items():
            expand(m, chain + (key,))
            parts += sizes[m] * uses
        if parts > MAX_PARTS:
            raise XlgptError(f"the defined name {name} expands into more than {MAX_PARTS:,} parts through the "
                             f"names it uses; the workbook is damaged or forged")
        try:
            done[key] = _replaced(tree, done) if mentioned else tree
        except RecursionError:
            raise XlgptError(f"the defined name {name} is nested too deeply to evaluate") from None
        sizes[key] = parts
        return done[key]

    return {key: expand(key, ()) for key in raw}


def lookup(names: dict, name: str):
    """The tree of a defined name however it is spelt (parse_names keys them in capitals), or None."""
    return names.get(name.upper())


def _replaced(node, done: dict):
    """The tree with every Name found in `done` replaced by its tree."""
    if isinstance(node, Name):
        return done.get(node.name.upper(), node)
    if isinstance(node, Call):
        return Call(node.name, tuple(None if a is None else _replaced(a, done) for a in node.args))
    if isinstance(node, Unary):
        return Unary(node.op, _replaced(node.arg, done))
    if isinstance(node, Binary):
        return Binary(node.op, _replaced(node.left, done), _replaced(node.right, done))
    return node
