"""Parse a formula of the dialect into a small tree.

References keep the coordinates written in the formula of the group's anchor cell, with their `$` flags;
the evaluator shifts the relative parts for each cell of a group.
"""

import re
from dataclasses import dataclass

from ..sheet import refs
from ..sheet.cells import ERROR_CODES, XlError


class FormulaError(ValueError):
    """The text is not a formula of the dialect."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class Err:
    value: XlError


@dataclass(frozen=True)
class Ref:
    """A cell or a rectangle; sheet None means the formula's own sheet. 0-based, inclusive corners."""
    sheet: str | None
    r0: int
    c0: int
    r1: int
    c1: int
    abs_r0: bool = False
    abs_c0: bool = False
    abs_r1: bool = False
    abs_c1: bool = False

    @property
    def is_cell(self) -> bool:
        return self.r0 == self.r1 and self.c0 == self.c1


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class Unary:
    op: str
    arg: object


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class ArrayConst:
    rows: tuple  # tuple of tuples of constants


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<err>\#NULL!|\#DIV/0!|\#VALUE!|\#REF!|\#NAME\?|\#NUM!|\#N/A)
  | (?P<sheet>(?:'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)
  | (?P<ref>(?:\$?[A-Za-z]{1,3}\$?[0-9]+(?::\$?[A-Za-z]{1,3}\$?[0-9]+)?
             |\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}|\$?[0-9]+:\$?[0-9]+)(?![A-Za-z0-9_.(!]))
  | (?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<func>[A-Za-z_][A-Za-z0-9_.]*(?=\())
  | (?P<name>[A-Za-z_\\][A-Za-z0-9_.]*)
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),;:{}])
""", re.VERBOSE)

_CELL = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)")
_COLUMNS = re.compile(r"\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}")
_ROWS = re.compile(r"\$?[0-9]+:\$?[0-9]+")

# Excel's limits on a formula (Microsoft's "Excel specifications and limits"): within them every formula
# evaluates; beyond them Excel refuses the formula, and so does xlgpt.
MAX_LENGTH, MAX_NESTING, MAX_ARGUMENTS = 8192, 64, 255


def tokenize(text: str):
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FormulaError(f"cannot read {text[pos:pos + 20]!r} in ={text}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def _cell(text: str):
    m = _CELL.fullmatch(text)
    row, col = int(m.group(4)) - 1, refs.col_index(m.group(2))
    if row < 0 or row >= refs.MAX_ROWS or col >= refs.MAX_COLS:
        raise FormulaError(f"reference {text} is outside a sheet")
    return row, col, m.group(3) == "$", m.group(1) == "$"


class _Parser:
    # binary operators by precedence, lowest first (Excel: comparison < & < +- < */ < ^)
    LEVELS = [("=", "<>", "<", ">", "<=", ">="), ("&",), ("+", "-"), ("*", "/"), ("^",)]

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        kind, v = self.peek()
        if kind is None or (value is not None and v != value):
            raise FormulaError(f"expected {value or 'more'} in ={self.text}")
        self.i += 1
        return kind, v

    def parse(self):
        node = self.expr(0)
        if self.i != len(self.tokens):
            raise FormulaError(f"unexpected {self.peek()[1]!r} in ={self.text}")
        return node

    def expr(self, level):
        if level == len(self.LEVELS):
            return self.unary()
        node = self.expr(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            op = self.take()[1]
            node = Binary(op, node, self.expr(level + 1))  # left-associative, ^ included, as in Excel
        return node

    def unary(self):
        if self.peek() in (("op", "-"), ("op", "+")):
            op = self.take()[1]
            return Unary(op, self.unary())  # binds tighter than ^: -2^2 = 4 in Excel
        node = self.primary()
        while self.peek() == ("op", "%"):
            self.take()
            node = Unary("%", node)
        return node

    def primary(self):
        kind, v = self.take()
        if kind == "num":
            return Num(float(v))
        if kind == "str":
            return Str(v[1:-1].replace('""', '"'))
        if kind == "err":
            return Err(ERROR_CODES[v])
        if kind == "sheet":
            sheet = v[:-1]
            if sheet.startswith("'"):
                sheet = sheet[1:-1].replace("''", "'")
            kind, v = self.take()
            if kind != "ref":
                raise FormulaError(f"expected a reference after {sheet}! in ={self.text}")
            return self.ref(sheet, v)
        if kind == "ref":
            return self.ref(None, v)
        if kind == "func":
            return self.call(v)
        if kind == "name":
            if v.upper() in ("TRUE", "FALSE"):
                return Bool(v.upper() == "TRUE")
            return Name(v)
        if v == "(":
            node = self.expr(0)
            self.take(")")
            return node
        if v == "{":
            return self.array()
        raise FormulaError(f"unexpected {v!r} in ={self.text}")

    def ref(self, sheet, text):
        first, _, last = text.partition(":")
        if _COLUMNS.fullmatch(text):  # A:C, whole columns
            (_, c0, _, ac0), (_, c1, _, ac1) = _cell(first + "1"), _cell(last + "1")
            r0, r1, ar0, ar1 = 0, refs.MAX_ROWS - 1, True, True
        elif _ROWS.fullmatch(text):  # 2:5, whole rows
            (r0, _, ar0, _), (r1, _, ar1, _) = _cell("A" + first), _cell("A" + last)
            c0, c1, ac0, ac1 = 0, refs.MAX_COLS - 1, True, True
        else:
            r0, c0, ar0, ac0 = _cell(first)
            r1, c1, ar1, ac1 = _cell(last) if last else (r0, c0, ar0, ac0)
        if r1 < r0:
            r0, r1, ar0, ar1 = r1, r0, ar1, ar0
        if c1 < c0:
            c0, c1, ac0, ac1 = c1, c0, ac1, ac0
        return Ref(sheet, r0, c0, r1, c1, ar0, ac0, ar1, ac1)

    def call(self, name):
        self.take("(")
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise FormulaError(f"more than {MAX_NESTING} levels of nested functions, Excel's limit")
        args = []
        if self.peek() != ("op", ")"):
            while True:
                if self.peek() in (("op", ","), ("op", ")")):
                    args.append(None)  # an omitted argument, as in INDEX(A1:B2,,1)
                else:
                    args.append(self.expr(0))
                if self.peek() == ("op", ","):
                    self.take()
                    continue
                break
        self.take(")")
        self.depth -= 1
        if len(args) > MAX_ARGUMENTS:
            raise FormulaError(f"{name} has {len(args)} arguments; Excel allows {MAX_ARGUMENTS}")
        upper = name.upper()
        return Call(upper if not upper.startswith("_XLFN.") else upper[6:], tuple(args))

    def array(self):
        rows, row = [], []
        while True:
            sign = -1.0 if self.peek() == ("op", "-") and self.take() else 1.0
            node = self.primary()
            if isinstance(node, Num):
                row.append(sign * node.value)
            elif isinstance(node, (Str, Bool, Err)) and sign == 1.0:
                row.append(node.value)
            else:
                raise FormulaError(f"an array constant holds only constants: ={self.text}")
            kind, v = self.take()
            if v == ",":
                continue
            rows.append(tuple(row))
            row = []
            if v == ";":
                continue
            if v == "}":
                break
            raise FormulaError(f"unexpected {v!r} in an array constant in ={self.text}")
        if len({len(r) for r in rows}) != 1:
            raise FormulaError(f"the rows of an array constant differ in length: ={self.text}")
        return ArrayConst(tuple(rows))


def walk(node):
    """Every node of a tree; iterative, since a long formula is a deep chain of operations."""
    stack = [node]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Call):
            stack.extend(a for a in reversed(node.args) if a is not None)
        elif isinstance(node, Unary):
            stack.append(node.arg)
        elif isinstance(node, Binary):
            stack += [node.right, node.left]


def parse(text: str):
    """Formula text without the leading '=' -> tree."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text):,} characters; Excel allows {MAX_LENGTH:,}")
    _deep_enough()
    return _Parser(text.lstrip("=")).parse()


def _deep_enough() -> None:
    """Room for the deepest tree a formula within Excel's limits makes: 8,192 characters of A1+A1+... is a
    chain of 2,730 operations, and each costs the parser and the evaluator a few Python frames."""
    import sys
    if sys.getrecursionlimit() < 40_000:
        sys.setrecursionlimit(40_000)
