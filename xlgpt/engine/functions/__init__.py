"""The function table (table.py): every function the engine knows, declared once, in families: maths,
statistics, lookup, logic, text. The evaluator's run_function is the one place where a call's arity, argument
modes, defaults and error propagation are handled (as HyperFormula's runFunction); the dialect's rules
(engine/dialect.py) are derived from the table.

Each entry says how its arguments are evaluated: "value" (outside an array formula a range is intersected
with the formula's cell), "array" (a reference passes whole; an expression is evaluated as the formula is),
or "force" (the whole argument is evaluated as an array formula, as SUMPRODUCT and MMULT do in Excel).
And how errors in its arguments propagate: "each" (element by element: where an argument holds an error, the
first such argument's error is the result there, as for ABS or MID), "any" (an error anywhere in the
arguments is the whole result, as for SUM), or "own" (the function decides: IF, IFERROR, ISNUMBER, INDEX,
MATCH, COUNT...). For "each" and "any" the implementation never sees an error: run_function puts an empty
cell in its place and the error over the result. An optional argument left out takes its declared default
(LOG's base 10, LEFT's and RIGHT's 1 character, MATCH's type 1), and an argument with a declared type
("number", "integer", "text") arrives converted as Excel coerces it, with a neutral value of its type where
an error was: the text functions and ROUND see only strings and whole numbers.
Implementations take and return 4-D arrays [R, C, h, w] (see evaluator.py).
"""

# the families register themselves in the table
from . import logic, lookup, maths, statistics, text
from .table import FUNCTIONS, NEWER, Function, register, scalar

FAMILIES = (maths, statistics, lookup, logic, text)
__all__ = ["FAMILIES", "FUNCTIONS", "NEWER", "Function", "register", "scalar"]
