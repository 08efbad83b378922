"""`xlgpt tokenize`: GPT-2's token ids and pieces of a text (tiktoken, with GPT-2's own tables)."""

from ..model import tokenizer


def piece(token_id: int) -> str | bytes:
    """A token's text, or its bytes when they are not whole UTF-8 characters (a piece of an emoji): shown as
    b'\\xf0\\x9f' rather than as replacement characters that hide which bytes they are."""
    raw = tokenizer.token_bytes(token_id)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def run(text: str) -> list[tuple[int, str | bytes]]:
    return [(i, piece(i)) for i in tokenizer.encode(text)]
