"""Checkpoints that fit the config's model, checked before the expensive work.

mmengine loads a checkpoint non-strictly: weights that do not fit are left
as initialised and reported in a warning among hundreds of log lines, so a
checkpoint of another config tests as a random head and the run "succeeds".
Here:

- testing, inference and feature extraction take a checkpoint only if
  every weight of the config's model is in it with the model's shape and
  it has no other (:func:`check_checkpoint`), before anything runs;
- fine-tuning (``load_from``) may only differ in the classification head,
  as when a Kinetics checkpoint starts an EPIC or UCF model: the head
  weights that do not fit start from their initialisation and one log line
  names them (:func:`check_load_from`, :class:`FitCheckpointHook`); a
  backbone that does not fit is refused;
- resuming needs the exact model, as testing does.

An unreadable file (missing, truncated, not a checkpoint, a Codabench
``submission.pt``) is refused with what it is and what to give instead.
"""
import os.path as osp
import re
import zipfile
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ..utils import EpicError
from .model_spec import ModelSpec, model_spec

__all__ = ['CheckpointError', 'CheckpointMismatch', 'WeightsFit', 'read_checkpoint',
           'model_weights', 'compare_weights', 'check_checkpoint', 'check_load_from',
           'load_exact', 'fit_to_model', 'FitCheckpointHook', 'HEAD_PREFIX']

HEAD_PREFIX = 'cls_head.'  # what fine-tuning may replace
WRITTEN_BY_TRAIN = ('give a .pth file that tools/train.py wrote (work_dirs/<config>/'
                    'epoch_<N>.pth or best_*.pth)')
TRAINED_WITH = ("use the config the checkpoint was trained with (tools/train.py keeps a "
                "copy in the checkpoint's work dir) or change the config's model to match")


class CheckpointError(EpicError, ValueError):
    """A checkpoint file that cannot be used; names the file and what to give instead."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint's weights do not fit the model the config builds."""


def _is_remote(path: str) -> bool:
    return '://' in path  # http(s)://, torchvision://, open-mmlab://, s3:// ...


def _unreadable_reason(path: str, error: Exception) -> str:
    """What the file is, in words, instead of torch's advice to unpickle it unsafely."""
    found = re.search(r'Unsupported global: GLOBAL (\S+)', str(error))
    if found:
        return (f'it holds Python objects other than tensors ({found.group(1)}), which '
                'torch does not load from files it cannot trust; save the weights alone '
                "(torch.save({'state_dict': model.state_dict()}, path))")
    if _is_remote(path):
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ''
        return f'{type(error).__name__}: {first}'
    with open(path, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK'):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            return ('a truncated or damaged zip archive (an interrupted copy, download '
                    'or save?); copy it again or use another checkpoint')
        if not any(n.endswith('data.pkl') for n in names):
            return (f'a zip archive without PyTorch data (holds {names[:3]}: a results '
                    f'.npz or a leaderboard zip?); {WRITTEN_BY_TRAIN}')
        return 'a damaged PyTorch archive; copy it again or use another checkpoint'
    if head[:1] == b'\x80':
        return ('truncated or damaged pickle data (an interrupted copy or save?); copy '
                'it again or use another checkpoint')
    return f'not a PyTorch checkpoint; {WRITTEN_BY_TRAIN}'


def read_checkpoint(path: str):
    """The object a checkpoint file (or ``load_from`` URL) holds, read on the CPU."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if not _is_remote(path):
        if not osp.exists(path):
            raise CheckpointError(f'checkpoint not found: {path}; {WRITTEN_BY_TRAIN}')
        if osp.isdir(path):
            raise CheckpointError(f'checkpoint {path} is a directory; {WRITTEN_BY_TRAIN}')
        if osp.getsize(path) == 0:
            raise CheckpointError(f'cannot load checkpoint {path}: the file is empty (an '
                                  'interrupted copy or save?); copy it again or use '
                                  'another checkpoint')
    try:
        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    except PermissionError as e:
        raise CheckpointError(f'cannot load checkpoint {path}: {e.strerror}') from None
    except Exception as e:  # any failure to unpickle is about the file, not a bug here
        raise CheckpointError(f'cannot load checkpoint {path}: '
                              f'{_unreadable_reason(path, e)}') from None


def _strip_prefix(state: Mapping, prefix: str = 'module.') -> dict:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)


def _is_submission(obj) -> bool:
    keys = {'narration_id', 'verb_output', 'noun_output'}
    if isinstance(obj, Mapping):
        return keys <= set(obj)
    return (isinstance(obj, (list, tuple)) and bool(obj) and isinstance(obj[0], Mapping)
            and keys <= set(obj[0]))


def model_weights(checkpoint, path: str) -> dict:
    """The model weights of a loaded checkpoint: its ``state_dict``, without ``module.``."""
    if _is_submission(checkpoint):
        raise CheckpointError(
            f'{path} is a Codabench submission (tools/export_codabench.py writes it), '
            f'not a model checkpoint; {WRITTEN_BY_TRAIN}')
    state = checkpoint
    if isinstance(checkpoint, Mapping) and 'state_dict' in checkpoint:
        state = checkpoint['state_dict']
    if (not isinstance(state, Mapping) or not state
            or not all(hasattr(v, 'shape') for v in state.values())):
        what = (f'keys {sorted(map(str, checkpoint))[:5]}' if isinstance(checkpoint, Mapping)
                else f'a {type(checkpoint).__name__}')
        raise CheckpointError(f'{path} holds no model weights (no state_dict; {what}); '
                              f'{WRITTEN_BY_TRAIN}')
    return _strip_prefix(state)


@dataclass
class WeightsFit:
    """How a checkpoint's weights differ from a model's."""
    missing: List[str] = field(default_factory=list)  # in the model only
    unexpected: List[str] = field(default_factory=list)  # in the checkpoint only
    # (name, shape in the checkpoint, shape in the model)
    reshaped: List[Tuple[str, tuple, tuple]] = field(default_factory=list)
    matched: int = 0

    @property
    def fits(self) -> bool:
        return not (self.missing or self.unexpected or self.reshaped)

    def split(self, prefix: str = HEAD_PREFIX) -> Tuple['WeightsFit', 'WeightsFit']:
        """(the differences under ``prefix``, the others)."""
        def part(inside: bool) -> 'WeightsFit':
            pick = (lambda k: k.startswith(prefix) == inside)
            return WeightsFit([k for k in self.missing if pick(k)],
                              [k for k in self.unexpected if pick(k)],
                              [r for r in self.reshaped if pick(r[0])], self.matched)
        return part(True), part(False)

    def describe(self) -> str:
        """``4 shape(s) differ, e.g. ...; 2 weight(s) missing, e.g. ...``."""
        parts = []
        if self.reshaped:
            name, theirs, ours = self.reshaped[0]
            parts.append(f'{len(self.reshaped)} shape(s) differ, e.g. {name} {theirs} in '
                         f'the checkpoint, {ours} in the model')
        if self.missing:
            parts.append(f'{len(self.missing)} weight(s) missing, e.g. {self.missing[0]}')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} unexpected weight(s), e.g. '
                         f'{self.unexpected[0]}')
        return '; '.join(parts)

    def dropped(self) -> str:
        """Every difference by name, for the one fine-tuning log line."""
        names = [f'{k} {theirs}->{ours}' for k, theirs, ours in self.reshaped]
        names += [f'{k} (not in the checkpoint)' for k in self.missing]
        text = ', '.join(names)
        if self.unexpected:
            text += (f'; {len(self.unexpected)} checkpoint weight(s) the model does not '
                     f'have are ignored: {", ".join(self.unexpected)}')
        return text


def compare_weights(shapes: Mapping[str, tuple], state: Mapping) -> WeightsFit:
    """Compare a model's weight shapes (name -> shape) with a state dict."""
    fit = WeightsFit()
    for name, shape in shapes.items():
        if name not in state:
            fit.missing.append(name)
        elif tuple(state[name].shape) != tuple(shape):
            fit.reshaped.append((name, tuple(state[name].shape), tuple(shape)))
        else:
            fit.matched += 1
    fit.unexpected = [k for k in state if k not in shapes]
    return fit


def _config_name(config: Optional[str]) -> str:
    return f' {config}' if config else ''


def _require_fit(fit: WeightsFit, checkpoint: str, config: Optional[str]) -> None:
    if not fit.fits:
        raise CheckpointMismatch(
            f'checkpoint {checkpoint} does not fit the config{_config_name(config)}: '
            f'{fit.describe()}; {TRAINED_WITH}')


def check_checkpoint(cfg, checkpoint: str, config: Optional[str] = None,
                     spec: Optional[ModelSpec] = None):
    """Refuse a checkpoint that does not hold exactly the weights of ``cfg.model``.

    For testing, inference and feature extraction, before the runner or the
    model is built. ``config`` (the config file, for the message) defaults
    to ``cfg.filename``; ``spec`` is :func:`model_spec` of ``cfg`` if the
    caller has it. Returns the loaded checkpoint.
    """
    loaded = read_checkpoint(checkpoint)
    state = model_weights(loaded, checkpoint)
    _require_fit(compare_weights((spec or model_spec(cfg)).shapes, state), checkpoint,
                 config or getattr(cfg, 'filename', None))
    return loaded


def load_exact(model, checkpoint: str, config: Optional[str] = None):
    """Load ``checkpoint`` into a built ``model``, refusing any missing, extra or
    reshaped weight (:func:`check_checkpoint` for a model already built).

    Returns the loaded checkpoint.
    """
    loaded = read_checkpoint(checkpoint)
    state = model_weights(loaded, checkpoint)
    own = model.state_dict()
    _require_fit(compare_weights({k: tuple(v.shape) for k, v in own.items()}, state),
                 checkpoint, config)
    model.load_state_dict(state, strict=True)
    return loaded


def check_load_from(cfg, checkpoint: str, config: Optional[str] = None,
                    spec: Optional[ModelSpec] = None) -> WeightsFit:
    """Refuse a fine-tuning checkpoint whose weights outside the head do not fit.

    Returns how the head differs (the weights that will start from their
    initialisation).
    """
    config = config or getattr(cfg, 'filename', None)
    state = model_weights(read_checkpoint(checkpoint), checkpoint)
    head, rest = compare_weights((spec or model_spec(cfg)).shapes, state).split()
    if not rest.fits:
        raise CheckpointMismatch(
            f'load_from {checkpoint} does not fit the model of config'
            f'{_config_name(config)} outside its head: {rest.describe()}; only the '
            f'classification head ({HEAD_PREFIX}*) may differ when fine-tuning: give a '
            'checkpoint of the same backbone, or set load_from=None to train from scratch')
    return head


def fit_to_model(state: Mapping, own: Mapping, checkpoint: str,
                 head_may_differ: bool) -> Tuple[dict, WeightsFit]:
    """``state`` made to fit a model whose state dict is ``own``.

    Head weights that do not fit keep the model's values (``own``) when
    ``head_may_differ``; any other difference raises :class:`CheckpointMismatch`.
    """
    fit = compare_weights({k: tuple(v.shape) for k, v in own.items()}, state)
    head, rest = fit.split()
    if not rest.fits or (not head_may_differ and not head.fits):
        what = 'resume from' if not head_may_differ else 'load_from'
        raise CheckpointMismatch(
            f'cannot {what} checkpoint {checkpoint}: it does not fit the model: '
            f'{fit.describe()}; {TRAINED_WITH}')
    fitted = {k: state[k] if k in state and tuple(state[k].shape) == tuple(v.shape) else v
              for k, v in own.items()}
    return fitted, head


class FitCheckpointHook(Hook):
    """Load ``load_from`` as MMAction2 does, reporting a replaced head in one line.

    On ``after_load_checkpoint`` the checkpoint's state dict is made to fit
    the model before mmengine loads it: when fine-tuning, head weights that
    do not fit (a Kinetics classifier on an EPIC or UCF head) keep their
    initialisation and one log line names them, instead of mmengine's
    multi-line warning; any other difference, or any at all when resuming,
    is a :class:`CheckpointMismatch`.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        resuming = bool(runner.cfg.get('resume', False))
        path = runner.cfg.get('load_from') or f'the last checkpoint in {runner.work_dir}'
        container = checkpoint.get('state_dict', checkpoint)
        state = model_weights(container, str(path))
        fitted, head = fit_to_model(state, model.state_dict(), str(path),
                                    head_may_differ=not resuming)
        if 'state_dict' in checkpoint:
            checkpoint['state_dict'] = fitted
        else:
            checkpoint.clear()
            checkpoint.update(fitted)
        if not head.fits:
            print_log(f'load_from {path}: {head.matched} weights loaded; the head weights '
                      f'that do not fit this config start from their initialisation: '
                      f'{head.dropped()}', logger='current', level=30)
