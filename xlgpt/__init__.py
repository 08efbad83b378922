"""xlgpt: GPT-2 as a spreadsheet in which every step of the forward pass is an ordinary formula."""

__version__ = "0.1.0"
