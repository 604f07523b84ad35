"""EPIC-KITCHENS-100 action recognition from full-length videos, for MMAction2.

Importing the package applies the stack fixes in :mod:`epic_mmaction.compat`
and registers every module into MMAction2's registries, so a config needs only
``custom_imports = dict(imports=['epic_mmaction'], allow_failed_imports=False)``.
"""
from . import compat

compat.apply_all()

from .datasets import *  # noqa: F401,F403,E402  (registers DATASETS, TRANSFORMS)
from .engine import *  # noqa: F401,F403,E402  (registers HOOKS)
from .evaluation import *  # noqa: F401,F403,E402  (registers METRICS)
from .models import *  # noqa: F401,F403,E402  (registers MODELS)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
