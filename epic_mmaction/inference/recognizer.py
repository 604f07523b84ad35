"""A trained recognizer that scores windows of a video with its config's test pipeline.

The model and the preprocessing both come from the config, so a window is
seen exactly as a test segment is: the test pipeline
(``cfg.test_dataloader.dataset.pipeline``) is split into

- *loading*: ``SegmentVideoInit`` -> sampling (``SampleFrames`` ...) ->
  ``DecordDecode``;
- *the rest*: resize/crop/``FormatShape``/``PackActionInputs``.

From a file, a window is given to ``SegmentVideoInit`` as a segment, so only
frames inside it are sampled and decoded. From a camera or stream, the
frames are already in memory (a ring buffer): the init and decode steps are
skipped and the config's own sampling transforms pick frames from the
buffered window (the same ``clip_len``/``frame_interval``/``num_clips`` and
the same indices as from a file), then the rest of the pipeline runs as is.
"""
import copy
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .windows import Window
from ..engine.checkpoint import CheckpointError, CheckpointMismatch, load_exact
from ..utils import EpicError

__all__ = ['InferenceError', 'CheckpointError', 'CheckpointMismatch', 'SplitPipeline',
           'split_test_pipeline', 'pipeline_backend', 'load_weights', 'build_model',
           'WindowRecognizer']

INITS = ('SegmentVideoInit', )
DECODE = 'DecordDecode'


class InferenceError(EpicError, RuntimeError):
    """A config, checkpoint or device that cannot be used; one line, for users."""


@dataclass(frozen=True)
class SplitPipeline:
    """A test pipeline cut around its loading steps (see the module docstring)."""
    init: dict
    sampling: List[dict]
    decode: dict
    rest: List[dict]

    @property
    def loading(self) -> List[dict]:
        return [self.init, *self.sampling, self.decode]


def split_test_pipeline(pipeline: Sequence[dict]) -> SplitPipeline:
    """Split a test pipeline; it must load with ``SegmentVideoInit`` and ``DecordDecode``."""
    steps = [copy.deepcopy(dict(step)) for step in pipeline]
    types = [step.get('type') for step in steps]
    if not types or types[0] not in INITS or DECODE not in types:
        raise InferenceError(
            f'the test pipeline must start with {INITS[0]} and decode with {DECODE} '
            f'(as every config of this project does), got {types}')
    decode = types.index(DECODE)
    return SplitPipeline(steps[0], steps[1:decode], steps[decode], steps[decode + 1:])


def pipeline_backend(pipeline: Sequence[dict]) -> str:
    """The video backend the test pipeline reads with (``SegmentVideoInit(backend=...)``)."""
    return split_test_pipeline(pipeline).init.get('backend', 'pyav')


def load_weights(model: torch.nn.Module, checkpoint: str, config: Optional[str] = None) -> dict:
    """Load ``checkpoint`` into ``model``, refusing any missing, extra or reshaped weight.

    A checkpoint trained with another config (other classes, another
    backbone) fails here with the first differences named
    (:class:`CheckpointMismatch`, naming ``config`` too), instead of
    predicting from half-random weights. Returns the checkpoint's ``meta``.
    """
    loaded = load_exact(model, checkpoint, config)
    return (loaded.get('meta', {}) if isinstance(loaded, dict) else {}) or {}


def _check_device(device: str) -> torch.device:
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise InferenceError(f'bad --device {device!r}: {e}') from None
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise InferenceError(f'--device {device}: CUDA is not available here '
                                 '(use --device cpu)')
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InferenceError(f'--device {device}: only {torch.cuda.device_count()} '
                                 'CUDA device(s)')
    return dev


def build_model(cfg, checkpoint: str, device: str = 'cpu') -> torch.nn.Module:
    """The config's recognizer with the checkpoint's weights, in eval mode on ``device``."""
    from mmengine.registry import init_default_scope

    from mmaction.registry import MODELS
    dev = _check_device(device)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get('backbone', {}).get('pretrained'):
        model_cfg['backbone']['pretrained'] = None  # the checkpoint has every weight
    model = MODELS.build(model_cfg)
    load_weights(model, checkpoint, getattr(cfg, 'filename', None))
    model.cfg = cfg
    return model.to(dev).eval()


class WindowRecognizer:
    """Verb and noun probabilities of video windows, batched.

    ``on_decoded(window, results)``, if set, sees each clip right after
    loading (``imgs`` at the source resolution, absolute ``frame_inds``),
    before resizing: for tests and debugging of what was decoded.
    """

    def __init__(self, cfg, checkpoint: str, device: str = 'cpu') -> None:
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
        init_default_scope(cfg.get('default_scope', 'mmaction'))
        try:
            pipeline = cfg.test_dataloader.dataset.pipeline
        except AttributeError:
            raise InferenceError('the config has no test_dataloader.dataset.pipeline') from None
        self.pipeline = split_test_pipeline(pipeline)
        self.load = Compose(self.pipeline.loading)
        self.sample = Compose(self.pipeline.sampling)
        self.rest = Compose(self.pipeline.rest)
        self.model = build_model(cfg, checkpoint, device)
        self.device = next(self.model.parameters()).device
        output = getattr(getattr(self.model, 'cls_head', None), 'output', None)
        if output is None or not hasattr(output, 'num_verbs'):
            raise InferenceError('the model has no EpicActionHead (cls_head with verb and '
                                 'noun outputs)')
        self.num_verbs, self.num_nouns = int(output.num_verbs), int(output.num_nouns)
        self.on_decoded: Optional[Callable[[Window, dict], None]] = None

    def _finish(self, window: Window, results: dict) -> Tuple[dict, np.ndarray]:
        if self.on_decoded is not None:
            self.on_decoded(window, results)
        frame_inds = np.asarray(results['frame_inds']).reshape(-1).copy()
        return self.rest(results), frame_inds

    def clip_from_file(self, path: str, window: Window) -> Tuple[dict, np.ndarray]:
        """The packed clip(s) of ``window`` of a file, and the frames sampled."""
        results = self.load(dict(filename=path, segment_start=window.start_frame,
                                 segment_stop=window.stop_frame, modality='RGB'))
        return self._finish(window, results)

    def clip_from_frames(self, frames: Sequence[np.ndarray], window: Window,
                         fps: float) -> Tuple[dict, np.ndarray]:
        """As :meth:`clip_from_file`, from the window's RGB frames in memory.

        ``frames[i]`` is frame ``window.start_frame + i``.
        """
        if len(frames) != window.num_frames:
            raise ValueError(f'{len(frames)} frames for a window of {window.num_frames}')
        results = self.sample(dict(total_frames=len(frames), start_index=window.start_frame,
                                   avg_fps=fps, modality='RGB'))
        inds = np.asarray(results['frame_inds']).reshape(-1)
        offsets = inds - window.start_frame
        if offsets.min() < 0 or offsets.max() >= len(frames):
            raise ValueError(f'sampling picked frames {inds.min()}..{inds.max()} outside '
                             f'the window {window.start_frame}..{window.stop_frame}')
        imgs = [frames[i] for i in offsets.tolist()]
        results.update(frame_inds=inds, imgs=imgs, original_shape=imgs[0].shape[:2],
                       img_shape=imgs[0].shape[:2])
        return self._finish(window, results)

    @torch.no_grad()
    def predict(self, clips: Sequence[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """``(verb [B, V], noun [B, N])`` probabilities of packed clips, one forward."""
        from mmengine.dataset import pseudo_collate
        samples = self.model.test_step(pseudo_collate(list(clips)))
        verb = torch.stack([s.verb_score for s in samples]).float().cpu().numpy()
        noun = torch.stack([s.noun_score for s in samples]).float().cpu().numpy()
        return verb, noun
