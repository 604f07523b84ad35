"""Decode segments the way training does and read the synthetic frame codes back."""
import cv2
import numpy as np
from mmengine.registry import init_default_scope

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from epic_mmaction.synthetic.framecode import read_frame_codes
from mmaction.registry import TRANSFORMS

init_default_scope('mmaction')
BACKENDS = ('pyav', 'decord')


def segment_init(backend: str):
    """The real loader transform (its reader cache included)."""
    return TRANSFORMS.build(dict(type='SegmentVideoInit', backend=backend))


def decode_segment(init, path: str, start: int, stop: int) -> np.ndarray:
    """Every frame of ``start..stop`` through SegmentVideoInit's reader (RGB)."""
    results = init.transform(dict(filename=path, segment_start=start,
                                  segment_stop=stop))
    assert results['total_frames'] == stop - start + 1
    return results['video_reader'].get_batch(list(range(start, stop + 1))).asnumpy()


def codes_of(frames: np.ndarray, size=None) -> np.ndarray:
    """Frame codes; ``size`` (w, h) scales frames back to the size they were
    generated at first (the code is read at the generated resolution)."""
    if size is not None and (frames.shape[2], frames.shape[1]) != tuple(size):
        frames = [cv2.resize(f, tuple(size), interpolation=cv2.INTER_LINEAR)
                  for f in frames]
    return read_frame_codes(frames)


def keyframes(path: str) -> list:
    """Indices (presentation order) of the keyframes of a video file, by PyAV."""
    import av
    with av.open(path) as container:
        return [i for i, frame in enumerate(container.decode(video=0)) if frame.key_frame]
