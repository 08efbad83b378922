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


FUNCTIONS: dict[str, Function] = {}


def register(name, modes, min_args, max_args=-1, errors="each", defaults=()):
    def wrap(fn):
        FUNCTIONS[name] = Function(fn, tuple(modes), min_args, min_args if max_args == -1 else max_args, errors,
                                   tuple(defaults))
        return fn
    return wrap


def scalar(name: str) -> bool:
    """Whether every argument of the function is one value: given a range outside an array formula, a
    spreadsheet intersects it with the formula's cell (the dialect's SCALAR)."""
    modes = FUNCTIONS[name].modes
    return bool(modes) and all(m == "value" for m in modes)
