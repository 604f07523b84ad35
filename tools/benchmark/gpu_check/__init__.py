"""``tools/gpu_check.py``: a GPU node's acceptance run, step by step.

``run`` orchestrates the steps (``steps``), each in its own process under a
time budget (``profile``, ``proc``); ``report`` writes report.md and
report.json after every step, so a killed run still leaves a valid report.
Harness code: it stays out of the ``epic_mmaction`` package.
"""
