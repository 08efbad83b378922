"""One module per command, holding its orchestration: each takes a typed options object (options.py) and
returns what the command line prints. cli.py only maps arguments onto these objects and prints."""
