"""`xlgpt tokenize`: GPT-2's token ids and pieces of a text (tiktoken, with GPT-2's own tables)."""

from ..model import tokenizer


def run(text: str) -> list[tuple[int, str]]:
    return [(i, tokenizer.token_text(i)) for i in tokenizer.encode(text)]
