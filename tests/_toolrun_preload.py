"""Imported once by tests/toolrun.py's fork server: what every torch tool
imports first, so that the runs forked from it start with it imported."""
import warnings

with warnings.catch_warnings():  # a fresh process shows them; the tests ignore them
    warnings.simplefilter('ignore')
    import epic_mmaction.plugin  # noqa: F401
    import mmengine.runner  # noqa: F401
