"""The sheet vocabulary everyone speaks: the in-memory workbook (book), what a cell holds (cells), A1 references
(refs), shifting a formula's references (formula_text), the --set edit language (edits), and the worker pool
that formats and parses numbers (parallel). It imports nothing else of xlgpt but errors."""
