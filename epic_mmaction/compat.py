"""Fixes for the published OpenMMLab stack, applied once before MMAction2 is used.

Each fix names the upstream problem it works around and is a no-op where the
installed packages do not have it. Every fix must run before ``mmaction.models``
is imported for the first time, which is why :mod:`epic_mmaction.plugin` and
every package that imports MMAction2 (datasets, models, engine,
evaluation.metrics) call :func:`apply_all` before anything else. Importing
this module itself is cheap (torch and mmengine are imported inside the fixes).

(a) ``mmaction2==1.2.0`` on PyPI ships without ``mmaction/models/localizers/drn``
    (open-mmlab/mmaction2#2714), so ``import mmaction.models`` raises
    ``ModuleNotFoundError``. We register a placeholder module whose ``DRN``
    raises a clear ``ImportError`` when built; nothing in this project uses DRN.
(b) With ``transformers>=5`` installed, ``mmaction.models.multimodal.vindlu``
    fails to import (``apply_chunking_to_forward`` was removed; VindLU also
    needs the undeclared ``timm``). We register placeholders for the VindLU
    models instead, the same way mmaction does when transformers is missing.
(c) On ``torch>=2.6`` ``torch.load`` defaults to ``weights_only=True`` and
    mmengine 0.10.7 cannot load its own checkpoints (``Unsupported global ...
    HistoryBuffer``), so ``--resume`` fails. Inside mmengine's checkpoint
    loader only, we allow-list exactly the types a checkpoint's
    ``message_hub`` holds (``torch.serialization.safe_globals``); loading stays
    ``weights_only``, so arbitrary pickles are still refused.
"""
import importlib.util
import os.path as osp
import re
import sys
import types
import warnings
from importlib import metadata
from typing import List, Optional

MMCV_MIN = (2, 0, 0)
MMCV_MAX = (2, 2, 0)  # exclusive, asserted by mmaction/__init__.py

_applied: List[str] = []


def _version_tuple(version: str) -> tuple:
    """``'2.1.0rc4'`` -> ``(2, 1, 0)``: enough to compare release lines."""
    parts = []
    for piece in version.split('.')[:3]:
        digits = re.match(r'\d*', piece).group()  # '0rc4' -> '0'
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def _dist_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_mmcv() -> str:
    """Fail early, with the fix, when no usable mmcv is installed.

    A cluster user's full ``mmcv`` (with CUDA ops) is kept; otherwise
    ``mmcv-lite`` is what setup.py installs. Both at once overwrite each
    other's files, which breaks in confusing ways, so that is refused too.
    """
    full, lite = _dist_version('mmcv'), _dist_version('mmcv-lite')
    if full and lite:
        raise ImportError(
            f'Both mmcv {full} and mmcv-lite {lite} are installed; they '
            'share the `mmcv` package directory. Keep one: '
            '`pip uninstall mmcv-lite` (to keep your full mmcv) or '
            '`pip uninstall mmcv mmcv-lite && pip install "mmcv-lite>=2.1,<2.2"`.')
    installed = full or lite
    if installed is None:
        raise ImportError(
            'epic_mmaction needs mmcv 2.0-2.1: run `pip install '
            '"mmcv-lite>=2.1,<2.2"` (or keep a full `mmcv` 2.0/2.1 build).')
    if not MMCV_MIN <= _version_tuple(installed) < MMCV_MAX:
        name = 'mmcv' if full else 'mmcv-lite'
        raise ImportError(
            f'{name} {installed} is installed, but mmaction2 1.2.0 needs '
            '2.0.0rc4 <= mmcv < 2.2.0: run `pip install "mmcv-lite>=2.1,<2.2"` '
            '(or a full mmcv 2.1.x).')
    return installed


def _mmaction_dir() -> Optional[str]:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def _placeholder_class(name: str, why: str) -> type:
    """A class that can be registered but explains itself when built."""

    def __init__(self, *args, **kwargs):
        raise ImportError(f'{name} is unavailable: {why}')

    return type(name, (), {'__init__': __init__, '__doc__': why})


def _register_placeholders(names: List[str], why: str) -> dict:
    """Register explanatory placeholders in MMAction2's MODELS registry."""
    from mmaction.registry import MODELS
    classes = {}
    for name in names:
        classes[name] = _placeholder_class(name, why)
        if name not in MODELS.module_dict:
            MODELS.register_module(name=name, module=classes[name])
    return classes


def patch_missing_drn() -> bool:
    """(a) Stand in for ``mmaction.models.localizers.drn`` if the wheel lacks it."""
    root = _mmaction_dir()
    if root is None or 'mmaction.models.localizers.drn' in sys.modules:
        return False
    if osp.exists(osp.join(root, 'models', 'localizers', 'drn', '__init__.py')):
        return False
    why = ('the PyPI mmaction2 1.2.0 wheel omits mmaction/models/localizers/drn '
           '(open-mmlab/mmaction2#2714); install mmaction2 from source to use DRN.')
    pkg = types.ModuleType('mmaction.models.localizers.drn')
    pkg.__path__ = []  # a package, so `drn.drn` can be imported from it
    mod = types.ModuleType('mmaction.models.localizers.drn.drn')
    mod.DRN = _register_placeholders(['DRN'], why)['DRN']
    pkg.drn = mod
    sys.modules[pkg.__name__] = pkg
    sys.modules[mod.__name__] = mod
    _applied.append('drn placeholder (mmaction2#2714)')
    return True


def vindlu_blocker() -> Optional[str]:
    """Why mmaction's VindLU cannot import here, or None if it can.

    mmaction imports VindLU whenever ``transformers>=4.28`` is installed, but
    VindLU also needs ``transformers<5`` and the undeclared ``timm``.
    """
    version = _dist_version('transformers')
    if version is None:
        return None  # mmaction registers its own placeholders
    if _version_tuple(version) >= (5, 0, 0):
        return (f'mmaction2 1.2.0 VindLU needs transformers<5 (found {version}, '
                'which removed `apply_chunking_to_forward`); `pip install '
                '"transformers<5" timm` to use it.')
    if importlib.util.find_spec('timm') is None:
        return ('mmaction2 1.2.0 VindLU needs `timm`, which it does not declare; '
                '`pip install timm` to use it.')
    return None


def patch_vindlu_for_transformers5() -> bool:
    """(b) Register VindLU placeholders when its imports would fail."""
    name = 'mmaction.models.multimodal.vindlu'
    why = vindlu_blocker()
    if why is None or name in sys.modules:
        return False
    mod = types.ModuleType(name)
    mod.__path__ = []
    mod.__all__ = []  # `from .vindlu import *` imports nothing
    sys.modules[name] = mod
    _register_placeholders(['VindLUVQA', 'VindLURetrievalMC', 'VindLURetrieval'], why)
    _applied.append(f'VindLU placeholders ({why.split(";")[0]})')
    return True


def _history_buffer_getattr(obj, name):
    """``getattr`` as a pickle of ``HistoryBuffer`` needs it, and nothing more.

    ``HistoryBuffer._statistics_methods`` pickles its functions as
    ``getattr(HistoryBuffer, 'min')``. A real ``getattr`` would let a crafted
    file reach any attribute (and from there ``os.system``), so only public
    methods of ``HistoryBuffer`` itself are handed out.
    """
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and not name.startswith('_') and callable(
            getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise AttributeError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint')


def safe_checkpoint_globals() -> list:
    """The globals inside an mmengine checkpoint beyond tensors and containers."""
    import numpy as np
    from mmengine.logging import HistoryBuffer

    core = getattr(np, '_core', None) or np.core
    found = [HistoryBuffer, np.ndarray, np.dtype, core.multiarray._reconstruct,
             core.multiarray.scalar]
    # numpy pickles dtypes as instances of per-type classes (np.dtypes.*DType)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes)
                  if n.endswith('DType') and isinstance(getattr(dtypes, n), type)]
    # pickles name numpy's core module by whichever path wrote them
    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        found += [(core.multiarray._reconstruct, f'{mod}._reconstruct'),
                  (core.multiarray.scalar, f'{mod}.scalar')]
    found += [(_history_buffer_getattr, 'builtins.getattr'),
              (_history_buffer_getattr, '__builtin__.getattr')]
    return found


def patch_checkpoint_loading() -> bool:
    """(c) Let ``weights_only`` torch.load read mmengine's own checkpoints.

    The allow-list is active only inside mmengine's ``CheckpointLoader`` (the
    files a user names with ``load_from``/``--resume``), never globally.
    """
    import torch
    if not hasattr(torch.serialization, 'safe_globals'):
        return False  # torch < 2.5: no weights_only default to work around
    from mmengine.runner.checkpoint import CheckpointLoader
    original = CheckpointLoader.load_checkpoint.__func__
    if getattr(original, '_epic_safe_globals', False):
        return False

    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        with torch.serialization.safe_globals(safe_checkpoint_globals()):
            return original(cls, filename, map_location, logger)

    load_checkpoint._epic_safe_globals = True
    load_checkpoint.__doc__ = original.__doc__
    CheckpointLoader.load_checkpoint = classmethod(load_checkpoint)
    _applied.append('mmengine checkpoint types allow-listed in CheckpointLoader')
    return True


def quiet_mmcv_lite_warning() -> None:
    """mmcv-lite has no compiled ops by design; its import warning says so on
    every ``import mmaction.models`` and buries real messages in tool output."""
    if _dist_version('mmcv-lite'):
        warnings.filterwarnings(
            'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
            category=UserWarning)


def apply_all() -> List[str]:
    """Run every fix once; returns what was applied (for logs and tests)."""
    if _applied:
        return list(_applied)
    check_mmcv()
    quiet_mmcv_lite_warning()
    patch_missing_drn()
    patch_vindlu_for_transformers5()
    patch_checkpoint_loading()
    if not _applied:
        _applied.append('none needed')
    return list(_applied)


def applied() -> List[str]:
    return list(_applied)
