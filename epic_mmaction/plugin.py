"""The MMAction2 plugin: stack fixes, then every registered module.

A config names this module in its single ``custom_imports`` line, and the
tools that build models or datasets (``tools/train.py``, ``test.py``,
``infer_video.py``, ``check_clips.py``) import it; nothing else does, so
``import epic_mmaction`` and the torch-free tools stay cheap. This mirrors
MMAction2's ``register_all_modules``: registration is one explicit import.
"""
from .compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .datasets import *  # noqa: F401,F403,E402  (DATASETS, TRANSFORMS)
from .engine import *  # noqa: F401,F403,E402  (HOOKS)
from .evaluation.metrics import *  # noqa: F401,F403,E402  (METRICS)
from .models import *  # noqa: F401,F403,E402  (MODELS)


def register_all_modules() -> None:
    """Registration happens on import; this exists for MMAction2-style callers."""


__all__ = ['register_all_modules']
