"""Which frames a model asks for: EPIC-like segments and the configs' samplers.

Every loader in the benchmark decodes the same frame indices, drawn here once
with MMAction2's own samplers (training mode, seeded), so differences in time
come from decoding alone.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

# EPIC-100 segments: median ~2 s, long tail (a few over 30 s)
SEGMENT_MEDIAN_S = 2.0
SEGMENT_SIGMA = 0.8
SEGMENT_RANGE_S = (0.5, 30.0)


@dataclass(frozen=True)
class Scheme:
    """A config's sampler, as the transform dict the configs use."""
    name: str
    sampler: dict

    def build(self):
        from mmaction.registry import TRANSFORMS
        import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
        return TRANSFORMS.build(dict(self.sampler))


SCHEMES: Dict[str, Scheme] = {
    'x3d_13x6': Scheme('x3d_13x6', dict(type='SampleFrames', clip_len=13,
                                        frame_interval=6, num_clips=1)),
    'slowfast_32x2': Scheme('slowfast_32x2', dict(type='SampleFrames', clip_len=32,
                                                  frame_interval=2, num_clips=1)),
    'tsm_8uniform': Scheme('tsm_8uniform', dict(type='UniformSample', clip_len=8)),
}


@dataclass(frozen=True)
class Clip:
    """One sample: a segment of a video and the frames the sampler chose."""
    path: str
    start: int
    stop: int
    frame_inds: tuple


def parse_schemes(names: Sequence[str]) -> List[Scheme]:
    unknown = [n for n in names if n not in SCHEMES]
    if unknown:
        raise ValueError(f'unknown sampling scheme(s) {unknown}; choose from '
                         f'{sorted(SCHEMES)}')
    return [SCHEMES[n] for n in names]


def draw_segments(num_frames: int, fps: float, count: int,
                  rng: np.random.Generator) -> List[tuple]:
    """``count`` (start, stop) inclusive frame ranges with EPIC-like lengths."""
    lo, hi = SEGMENT_RANGE_S
    seconds = np.clip(rng.lognormal(np.log(SEGMENT_MEDIAN_S), SEGMENT_SIGMA, count),
                      lo, hi)
    out = []
    for s in seconds:
        length = min(num_frames, max(1, int(round(s * fps))))
        start = int(rng.integers(0, num_frames - length + 1))
        out.append((start, start + length - 1))
    return out


def draw_clips(paths: Sequence[str], lengths: Sequence[int], fps: Sequence[float],
               scheme: Scheme, count: int, seed: int = 0) -> List[Clip]:
    """``count`` clips over ``paths`` (shuffled across videos, as in training)."""
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # MMAction2's samplers draw from numpy's global state
    sampler = scheme.build()
    which = rng.integers(0, len(paths), count)
    clips = []
    for k in which:
        (start, stop), = draw_segments(lengths[k], fps[k], 1, rng)
        res = sampler(dict(total_frames=stop - start + 1, start_index=start))
        inds = np.asarray(res['frame_inds']).reshape(-1)
        clips.append(Clip(paths[k], start, stop, tuple(int(i) for i in inds)))
    return clips
