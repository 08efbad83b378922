"""`xlgpt generate`: the workbook writes on, its own formulas re-tokenizing and re-predicting in memory."""

from ..workbook.generate import generate
from .options import GenerateOptions


def run(o: GenerateOptions, write=print) -> str:
    return generate(o.book, o.tokens, o.temperature, o.top_k, o.seed, write=write)
