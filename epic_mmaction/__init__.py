"""EPIC-KITCHENS-100 action recognition from full-length videos, for MMAction2.

``import epic_mmaction`` is cheap: it imports neither torch, mmengine nor
mmaction. The MMAction2 side (stack fixes and registration) lives in
:mod:`epic_mmaction.plugin`, which configs name in ``custom_imports``.
"""
from .version import __version__

__all__ = ['__version__']
