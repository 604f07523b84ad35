"""A config's test pipeline as a clip maker: a window of a video -> the packed clip(s).

The test pipeline is split around its loading steps (``SegmentVideoInit`` ->
sampling -> ``DecordDecode``, then resize/crop/``FormatShape``/
``PackActionInputs``), so a window is seen exactly as a test segment is. From a
file, the window is given to ``SegmentVideoInit`` as a segment, so only frames
inside it are sampled and decoded. From a camera or stream the frames are in
memory already: the init and decode steps are skipped and the config's own
sampling picks the same frames from the buffered window.

``one_view=True`` keeps one clip per window (``num_clips=1``, no multi-crop):
what feature extraction and ONNX export need, one feature or one set of
probabilities per window.
"""
import copy
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from .windows import Window
from ..utils import EpicError

__all__ = ['InferenceError', 'SplitPipeline', 'split_test_pipeline', 'pipeline_backend',
           'one_view_pipeline', 'ClipPipeline', 'MULTI_VIEW_TRANSFORMS']

INITS = ('SegmentVideoInit', )
DECODE = 'DecordDecode'
MULTI_VIEW_TRANSFORMS = ('ThreeCrop', 'TenCrop')


class InferenceError(EpicError, RuntimeError):
    """A config, checkpoint, model or device that cannot be used; one line, for users."""


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

    @property
    def steps(self) -> List[dict]:
        return [*self.loading, *self.rest]


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


def one_view_pipeline(split: SplitPipeline) -> SplitPipeline:
    """``split`` with one clip per window: ``num_clips=1``, no ``twice_sample``.

    Multi-crop transforms (``ThreeCrop``/``TenCrop``) make several views of one
    clip and are refused: a feature or an exported model sees one view.
    """
    multi = [s['type'] for s in split.rest if s.get('type') in MULTI_VIEW_TRANSFORMS]
    if multi:
        raise InferenceError(f'the test pipeline makes several views with {multi[0]}: '
                             'use a pipeline with one crop (e.g. CenterCrop)')
    sampling = copy.deepcopy(split.sampling)
    for step in sampling:
        if 'num_clips' in step or step.get('type') in ('SampleFrames', 'UniformSample'):
            step['num_clips'] = 1
        if step.get('twice_sample'):
            step['twice_sample'] = False
    return SplitPipeline(split.init, sampling, split.decode, split.rest)


class ClipPipeline:
    """Packed clips of windows, from a file or from frames in memory.

    ``on_decoded(window, results)``, if set, sees each clip right after
    loading (``imgs`` at the source resolution, absolute ``frame_inds``),
    before resizing: for tests and debugging of what was decoded.
    """

    def __init__(self, pipeline: Sequence[dict], one_view: bool = False,
                 default_scope: str = 'mmaction') -> None:
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
        init_default_scope(default_scope)
        split = split_test_pipeline(pipeline)
        self.split = one_view_pipeline(split) if one_view else split
        self.load = Compose(self.split.loading)
        self.sample = Compose(self.split.sampling)
        self.rest = Compose(self.split.rest)
        self.on_decoded: Optional[Callable[[Window, dict], None]] = None

    @classmethod
    def from_config(cls, cfg, one_view: bool = False) -> 'ClipPipeline':
        """The pipeline of ``cfg.test_dataloader.dataset``."""
        try:
            pipeline = cfg.test_dataloader.dataset.pipeline
        except AttributeError:
            raise InferenceError('the config has no test_dataloader.dataset.pipeline') from None
        return cls(pipeline, one_view, cfg.get('default_scope', 'mmaction'))

    @property
    def backend(self) -> str:
        return self.split.init.get('backend', 'pyav')

    def _finish(self, window: Window, results: dict) -> Tuple[dict, np.ndarray]:
        if self.on_decoded is not None:
            self.on_decoded(window, results)
        frame_inds = np.asarray(results['frame_inds']).reshape(-1).copy()
        return self.rest(results), frame_inds

    def from_file(self, path: str, window: Window) -> Tuple[dict, np.ndarray]:
        """The packed clip(s) of ``window`` of a file, and the frames sampled."""
        results = self.load(dict(filename=path, segment_start=window.start_frame,
                                 segment_stop=window.stop_frame, modality='RGB'))
        return self._finish(window, results)

    def from_frames(self, frames: Sequence[np.ndarray], window: Window,
                    fps: float) -> Tuple[dict, np.ndarray]:
        """As :meth:`from_file`, from the window's RGB frames in memory.

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

    def from_random_frames(self, height: int = 256, width: int = 456,
                           seed: int = 0) -> dict:
        """A packed clip of random frames: the input shape the pipeline gives.

        For export, where no video is at hand; 456x256 is EPIC-100's
        resized resolution (pipelines that crop to a fixed size ignore it).
        """
        results = self.sample(dict(total_frames=100000, start_index=0, avg_fps=30.0,
                                   modality='RGB'))
        inds = np.asarray(results['frame_inds']).reshape(-1)
        rng = np.random.default_rng(seed)
        imgs = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in inds]
        results.update(frame_inds=inds, imgs=imgs, original_shape=(height, width),
                       img_shape=(height, width))
        return self.rest(results)
