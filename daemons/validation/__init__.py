"""Live against replay: the comparison behind "the backtest says X, live did Y: why?".

Pure modules (no I/O; a loader builds :mod:`daemons.validation.inputs` from the database):
matching, metrics with verdicts, reasons for unmatched fills, the first diverging
decision, gridcore's books and the accounting parity. The report modules turn a finished
comparison into HTML, Markdown and JSON. See docs/validation.md, "Comparison".
"""
