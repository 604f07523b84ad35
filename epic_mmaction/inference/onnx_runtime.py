"""An exported model (tools/export_onnx.py) scoring windows with onnxruntime.

Stands in for :class:`~.recognizer.WindowRecognizer` in the sliding-window
loops (same methods), with neither config nor checkpoint: the test pipeline,
input shape and class names come from the file's metadata. The graph takes
one view per clip; a pipeline with several views per window (``num_clips``)
feeds them as a batch and averages their probabilities, as ``test_step``
does with ``average_clips='prob'``.
"""
from typing import Sequence, Tuple

import numpy as np

from .clips import ClipPipeline, InferenceError
from .windows import Window

__all__ = ['OnnxRecognizer']


def _tuples(obj):
    """JSON made the pipeline's tuples lists; transforms such as Resize want tuples."""
    if isinstance(obj, dict):
        return {k: _tuples(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return tuple(_tuples(v) for v in obj)
    return obj


class OnnxRecognizer:
    """Verb and noun probabilities of video windows from an ONNX file, batched."""

    def __init__(self, path: str, threads: int = 0) -> None:
        from .onnx_export import INPUT, OUTPUTS, _session, read_metadata
        self.path = path
        self.meta = read_metadata(path)
        self.clips = ClipPipeline([_tuples(step) for step in self.meta['test_pipeline']])
        self.input_shape = tuple(self.meta['input_shape'])
        self.num_verbs, self.num_nouns = int(self.meta['num_verbs']), int(self.meta['num_nouns'])
        self.session = _session(path, threads)
        self._input, self._outputs = INPUT, list(OUTPUTS)

    @property
    def on_decoded(self):
        return self.clips.on_decoded

    @on_decoded.setter
    def on_decoded(self, hook) -> None:
        self.clips.on_decoded = hook

    @property
    def class_names(self) -> Tuple[Sequence[str], Sequence[str]]:
        return self.meta['verb_classes'], self.meta['noun_classes']

    def clip_from_file(self, path: str, window: Window) -> Tuple[dict, np.ndarray]:
        return self.clips.from_file(path, window)

    def clip_from_frames(self, frames: Sequence[np.ndarray], window: Window,
                         fps: float) -> Tuple[dict, np.ndarray]:
        return self.clips.from_frames(frames, window, fps)

    def views(self, packed: dict) -> np.ndarray:
        """A packed clip's views in the graph's input shape ``[V, *input_shape]``."""
        inputs = packed['inputs'].numpy().astype(np.float32)
        try:
            return inputs.reshape(-1, *self.input_shape)
        except ValueError:
            raise InferenceError(f'{self.path}: the pipeline gives {list(inputs.shape)}, '
                                 f'which is no batch of {list(self.input_shape)}') from None

    def predict(self, clips: Sequence[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """``(verb [B, V], noun [B, N])`` probabilities of packed clips, one run."""
        views = [self.views(c) for c in clips]
        counts = [len(v) for v in views]
        if len(set(counts)) > 1 or (counts[0] > 1 and self.meta['average_clips'] != 'prob'):
            raise InferenceError(f'{self.path}: {counts[0]} views per window need '
                                 "average_clips='prob'")
        verb, noun = self.session.run(self._outputs, {self._input: np.concatenate(views)})
        shape = (len(clips), counts[0])
        return (verb.reshape(*shape, -1).mean(1), noun.reshape(*shape, -1).mean(1))
