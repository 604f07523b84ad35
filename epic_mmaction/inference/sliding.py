"""The sliding-window loops: a file (random access) or a stream (frames as they come).

Both yield one :class:`WindowPrediction` per window, in order, and batch
``batch_size`` windows per forward. For files, the next batch is decoded in a
background thread while the model runs on the current one (decord calls C
through ctypes, which releases the GIL), which matters on a GPU, where
decoding is the bottleneck.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from .recognizer import WindowRecognizer
from .sources import FrameRing
from .windows import StreamWindows, Window, WindowPlan

__all__ = ['WindowPrediction', 'recognize_file', 'recognize_stream']


@dataclass(frozen=True)
class WindowPrediction:
    """One window's verb and noun probabilities and the frames its clip(s) sampled."""
    window: Window
    verb: np.ndarray  # [num_verbs]
    noun: np.ndarray  # [num_nouns]
    frame_inds: np.ndarray


def _batches(items: List, size: int) -> List[List]:
    if size < 1:
        raise ValueError(f'batch_size must be >= 1, got {size}')
    return [items[i:i + size] for i in range(0, len(items), size)]


def _predict(recognizer: WindowRecognizer,
             clips: List[Tuple[Window, dict, np.ndarray]]) -> List[WindowPrediction]:
    verb, noun = recognizer.predict([packed for _, packed, _ in clips])
    return [WindowPrediction(w, v, n, inds)
            for (w, _, inds), v, n in zip(clips, verb, noun)]


def recognize_file(recognizer: WindowRecognizer, path: str, windows: List[Window],
                   batch_size: int = 8) -> Iterator[WindowPrediction]:
    """Predictions for ``windows`` of the file ``path`` (see :func:`sliding_windows`)."""
    def load(batch):
        return [(w, *recognizer.clip_from_file(path, w)) for w in batch]

    batches = _batches(list(windows), batch_size)
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(load, batches[0])
        for i in range(len(batches)):
            clips = future.result()
            if i + 1 < len(batches):
                future = pool.submit(load, batches[i + 1])
            yield from _predict(recognizer, clips)


def recognize_stream(recognizer: WindowRecognizer, frames: Iterable[np.ndarray],
                     plan: WindowPlan, batch_size: int = 1,
                     max_frames: Optional[int] = None,
                     on_frame: Optional[Callable[[int, np.ndarray], None]] = None,
                     should_stop: Optional[Callable[[], bool]] = None
                     ) -> Iterator[WindowPrediction]:
    """Predictions for a stream of RGB frames, a window as soon as its last frame arrives.

    Frames are kept in a :class:`FrameRing` of one window; each window is
    sampled and preprocessed as soon as it is complete, so only ``batch_size``
    preprocessed clips wait for the model. The stream ends when ``frames``
    does, after ``max_frames``, or when ``should_stop()`` (e.g. Ctrl-C) says
    so; the tail is covered by a last window, as for files. ``on_frame(i,
    frame)`` sees every frame (e.g. to write an annotated video).
    """
    ring = FrameRing(plan.length)
    schedule = StreamWindows(plan)
    pending: List[Tuple[Window, dict, np.ndarray]] = []

    def prepare(ready: List[Window]) -> None:
        for w in ready:
            pending.append((w, *recognizer.clip_from_frames(
                ring.window(w.start_frame, w.stop_frame), w, plan.fps)))

    for frame in frames:
        ring.append(frame)
        if on_frame is not None:
            on_frame(ring.count - 1, frame)
        prepare(schedule.ready(ring.count))
        if len(pending) >= batch_size:
            yield from _predict(recognizer, pending)
            pending = []
        if (max_frames is not None and ring.count >= max_frames) or (
                should_stop is not None and should_stop()):
            break
    prepare(schedule.finish(ring.count))
    if pending:
        yield from _predict(recognizer, pending)
