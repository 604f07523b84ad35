"""EPIC-like long videos for loading benchmarks, generated on the spot.

Decoding cost depends on resolution, frame rate, GOP and bitrate, so the
benchmark videos imitate head-mounted kitchen footage where it matters: a
textured scene panned by a wandering camera with sensor grain (a bitrate close
to camera footage, unlike the flat synthetic dataset), at EPIC's sizes and
frame rates. Every frame carries the synthetic frame code, so the benchmark can
check that every loader decoded exactly the frames it was asked for.
"""
import os
import os.path as osp
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

import numpy as np

from epic_mmaction.synthetic.framecode import draw_frame_code
from epic_mmaction.synthetic.generator import fps_fraction

SPEC_RE = re.compile(
    r'^(?P<w>\d+)x(?P<h>\d+)@(?P<fps>[\d.]+):(?P<dur>[\d.]+)(?P<unit>[sm])'
    r':gop(?P<gop>\d+)$')


@dataclass(frozen=True)
class VideoSpec:
    """What a generated benchmark video looks like; ``name`` is its file stem."""
    width: int
    height: int
    fps: float
    seconds: float
    gop: int
    crf: int = 20
    bframes: int = 2

    @classmethod
    def parse(cls, text: str) -> 'VideoSpec':
        """``640x360@59.94:10m:gop250`` (``s`` or ``m`` for the duration)."""
        m = SPEC_RE.match(text.strip())
        if not m:
            raise ValueError(
                f'bad video spec {text!r}: expected WxH@FPS:DURATION(s|m):gopN, '
                'e.g. 640x360@59.94:10m:gop250')
        seconds = float(m['dur']) * (60 if m['unit'] == 'm' else 1)
        spec = cls(int(m['w']), int(m['h']), float(m['fps']), seconds, int(m['gop']))
        if spec.width % 2 or spec.height % 2 or spec.width < 64:
            raise ValueError(f'bad video spec {text!r}: width/height must be even '
                             'and width >= 64 (the frame code needs it)')
        if spec.gop < 1 or spec.seconds <= 0:
            raise ValueError(f'bad video spec {text!r}: gop and duration must be > 0')
        return spec

    @property
    def num_frames(self) -> int:
        return int(round(self.seconds * float(fps_fraction(self.fps))))

    @property
    def name(self) -> str:
        dur = (f'{self.seconds / 60:g}m' if self.seconds >= 60
               else f'{self.seconds:g}s')
        return f'{self.width}x{self.height}_{self.fps:g}fps_{dur}_gop{self.gop}'

    def __str__(self) -> str:
        dur = (f'{self.seconds / 60:g}m' if self.seconds >= 60
               else f'{self.seconds:g}s')
        return f'{self.width}x{self.height}@{self.fps:g}:{dur}:gop{self.gop}'


def _texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A kitchen-like clutter of blobs and edges at several scales."""
    import cv2
    img = np.zeros((height, width, 3), np.float32)
    for scale, amp in ((64, 90.0), (16, 50.0), (4, 30.0)):
        small = rng.uniform(-1, 1, (max(2, height // scale), max(2, width // scale), 3))
        img += amp * cv2.resize(small.astype(np.float32), (width, height),
                                interpolation=cv2.INTER_CUBIC)
    for _ in range(int(width * height / 4000)):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(float(c) for c in rng.uniform(-120, 120, 3))
        size = int(rng.integers(3, max(4, height // 12)))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + 2 * size, y + size), colour, -1)
        else:
            cv2.circle(img, (x, y), size, colour, -1)
    return np.clip(img + 128, 0, 255).astype(np.uint8)


def _camera_path(num_frames: int, max_x: int, max_y: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Smooth head-motion-like offsets, (num_frames, 2) ints inside the texture."""
    steps = rng.normal(0, 1.0, (num_frames, 2))
    vel = np.zeros_like(steps)
    for i in range(1, num_frames):  # damped random walk: pans, stops, turns
        vel[i] = 0.97 * vel[i - 1] + 0.25 * steps[i]
    pos = np.cumsum(vel, axis=0)
    out = np.empty((num_frames, 2), np.int64)
    for k, limit in enumerate((max_x, max_y)):
        p = np.mod(pos[:, k], 2 * limit)  # bounce inside [0, limit]
        out[:, k] = np.where(p > limit, 2 * limit - p, p).astype(np.int64)
    return out


def write_benchmark_video(path: str, spec: VideoSpec, seed: int = 0,
                          preset: str = 'veryfast') -> str:
    """Encode ``spec`` to ``path`` with libx264 (temp name, then rename)."""
    import av
    rng = np.random.default_rng([seed, spec.width, spec.height, spec.gop])
    w, h = spec.width, spec.height
    texture = _texture(2 * h, 2 * w, rng)
    grain = rng.normal(0, 6, (8, h, w, 1)).astype(np.int16)
    offsets = _camera_path(spec.num_frames, w, h, rng)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.part'
    fps = fps_fraction(spec.fps)
    with av.open(tmp, 'w', format='mp4') as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = 'yuv420p'
        stream.codec_context.time_base = Fraction(1) / fps
        stream.options = {'crf': str(spec.crf), 'preset': preset,
                          'g': str(spec.gop), 'keyint_min': str(spec.gop),
                          'bf': str(spec.bframes), 'sc_threshold': '0'}
        for i in range(spec.num_frames):
            x, y = offsets[i]
            img = texture[y:y + h, x:x + w].astype(np.int16) + grain[i % len(grain)]
            img = np.clip(img, 0, 255).astype(np.uint8)
            draw_frame_code(img, i)
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.replace(tmp, path)
    return path


def ensure_benchmark_video(cache_dir: str, spec: VideoSpec, seed: int = 0) -> str:
    """The cached video for ``spec``, generated if missing (reused across runs)."""
    path = osp.join(cache_dir, f'{spec.name}_seed{seed}.mp4')
    if not osp.exists(path):
        write_benchmark_video(path, spec, seed)
    return path


def video_bitrate(path: str) -> Optional[float]:
    """Mean video bitrate in Mbit/s (from the file size and duration)."""
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        if s.duration is None or s.time_base is None:
            return None
        seconds = float(s.duration * s.time_base)
    return os.path.getsize(path) * 8 / 1e6 / seconds if seconds > 0 else None
