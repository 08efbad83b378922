"""The one error type the command line turns into a single clear line (no traceback)."""


class XlgptError(Exception):
    """Bad input or an unmet precondition: the message says what is wrong and what to do."""
