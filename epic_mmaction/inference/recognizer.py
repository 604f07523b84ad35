"""A trained recognizer that scores windows of a video with its config's test pipeline.

The model and the preprocessing both come from the config, so a window is
seen exactly as a test segment is (:class:`~.clips.ClipPipeline`), and scored
by the recognizer's own ``test_step`` (all of the pipeline's views averaged).
"""
import copy
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch

from .clips import (ClipPipeline, InferenceError, SplitPipeline, pipeline_backend,
                    split_test_pipeline)
from .windows import Window
from ..engine.checkpoint import CheckpointError, CheckpointMismatch, load_exact

__all__ = ['InferenceError', 'CheckpointError', 'CheckpointMismatch', 'SplitPipeline',
           'split_test_pipeline', 'pipeline_backend', 'load_weights', 'build_model',
           'WindowRecognizer']

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
    loading (see :class:`~.clips.ClipPipeline`).
    """

    def __init__(self, cfg, checkpoint: str, device: str = 'cpu') -> None:
        self.clips = ClipPipeline.from_config(cfg)
        self.pipeline = self.clips.split
        self.model = build_model(cfg, checkpoint, device)
        self.device = next(self.model.parameters()).device
        output = getattr(getattr(self.model, 'cls_head', None), 'output', None)
        if output is None or not hasattr(output, 'num_verbs'):
            raise InferenceError('the model has no EpicActionHead (cls_head with verb and '
                                 'noun outputs)')
        self.num_verbs, self.num_nouns = int(output.num_verbs), int(output.num_nouns)

    @property
    def on_decoded(self) -> Optional[Callable[[Window, dict], None]]:
        return self.clips.on_decoded

    @on_decoded.setter
    def on_decoded(self, hook: Optional[Callable[[Window, dict], None]]) -> None:
        self.clips.on_decoded = hook

    def clip_from_file(self, path: str, window: Window) -> Tuple[dict, np.ndarray]:
        """The packed clip(s) of ``window`` of a file, and the frames sampled."""
        return self.clips.from_file(path, window)

    def clip_from_frames(self, frames: Sequence[np.ndarray], window: Window,
                         fps: float) -> Tuple[dict, np.ndarray]:
        """As :meth:`clip_from_file`, from the window's RGB frames in memory."""
        return self.clips.from_frames(frames, window, fps)

    @torch.no_grad()
    def predict(self, clips: Sequence[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """``(verb [B, V], noun [B, N])`` probabilities of packed clips, one forward."""
        from mmengine.dataset import pseudo_collate
        samples = self.model.test_step(pseudo_collate(list(clips)))
        verb = torch.stack([s.verb_score for s in samples]).float().cpu().numpy()
        noun = torch.stack([s.noun_score for s in samples]).float().cpu().numpy()
        return verb, noun
