"""The function table: each function's implementation, argument modes, arity, error propagation and defaults
(see the package's docstring). The families register into it."""

from dataclasses import dataclass

# Functions introduced after Excel 2007, stored in the file with the _xlfn. prefix.
NEWER = frozenset({"UNICODE", "UNICHAR"})


@dataclass(frozen=True)
class Function:
    impl: object
    modes: tuple  # per argument; the last repeats for variadic functions
    min_args: int
    max_args: int | None  # None: any number
    errors: str  # "each", "any" or "own" (see above)
    defaults: tuple = ()  # values of the optional arguments left out, from the first optional one on
    types: tuple = ()  # per argument (the last repeats): "any", "number", "integer" or "text"

    def type_of(self, i: int) -> str:
        return self.types[min(i, len(self.types) - 1)] if self.types else "any"


# What an argument of each type holds where an error was (run_function puts the error over the result there):
# implementations of typed arguments see only values of their type
NEUTRAL = {"any": None, "number": 0.0, "integer": 0.0, "text": ""}

FUNCTIONS: dict[str, Function] = {}


def register(name, modes, min_args, max_args=-1, errors="each", defaults=(), types=()):
    """types: how each argument is converted before the implementation sees it, as Excel coerces: "number"
    (empty 0, TRUE 1, numeric text its number, other text #VALUE!), "integer" (a number truncated toward
    zero), "text" (numbers as Excel shows them, TRUE as TRUE), "any" (as it is)."""
    assert all(t in NEUTRAL for t in types), types

    def wrap(fn):
        FUNCTIONS[name] = Function(fn, tuple(modes), min_args, min_args if max_args == -1 else max_args, errors,
                                   tuple(defaults), tuple(types))
        return fn
    return wrap


def scalar(name: str) -> bool:
    """Whether every argument of the function is one value: given a range outside an array formula, a
    spreadsheet intersects it with the formula's cell (the dialect's SCALAR)."""
    modes = FUNCTIONS[name].modes
    return bool(modes) and all(m == "value" for m in modes)
