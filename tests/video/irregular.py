"""Real irregular video files, written with PyAV, whose frames carry frame codes.

Each writer sets the packet/frame timestamps itself, as cameras and cutting
tools leave them; :func:`sequential_codes` is the reference every reader test
compares against: the frame codes of a sequential libav decode of the file.
"""
from fractions import Fraction
from typing import Dict, Optional, Sequence

import av
import numpy as np

from epic_mmaction.synthetic.framecode import draw_frame_code, read_frame_codes

SIZE = (96, 64)
# x264 with an open GOP and a B-pyramid: leading B-frames reference the GOP before
OPEN_GOP = {'x264-params': 'keyint=24:min-keyint=24:scenecut=0:open-gop=1:'
                           'bframes=3:b-pyramid=normal'}
CLOSED_GOP = {'x264-params': 'keyint=24:min-keyint=24:scenecut=0'}


def write_video(path: str, pts: Sequence[int], time_base: Fraction, rate,
                options: Optional[Dict[str, str]] = None, fmt: str = 'mp4',
                codec: str = 'libx264', pix_fmt: str = 'yuv420p',
                audio_first: float = 0.0) -> None:
    """Frame ``i`` shows code ``i`` at timestamp ``pts[i]`` (in ``time_base``).

    ``audio_first`` > 0 adds an AAC track whose first ``audio_first`` seconds
    are muxed before any video packet.
    """
    with av.open(path, 'w', format=fmt) as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height = SIZE
        s.pix_fmt = pix_fmt
        s.codec_context.time_base = time_base
        s.options = dict(CLOSED_GOP if options is None else options)
        a = c.add_stream('aac', rate=48000) if audio_first else None
        if a is not None:
            samples = int(audio_first * 48000)
            for start in range(0, samples, 1024):
                af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                                format='fltp', layout='mono')
                af.sample_rate, af.pts = 48000, start
                c.mux(a.encode(af))
        for i, p in enumerate(pts):
            img = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
            img[SIZE[1] // 2:] = (37 * i) % 200  # some motion for the encoder
            draw_frame_code(img, i)
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            frame.pts = p
            c.mux(s.encode(frame))
        c.mux(s.encode())
        if a is not None:
            c.mux(a.encode())


def stream_copy_cut(src: str, dst: str, cut: int) -> None:
    """``ffmpeg -ss -c copy``: copy from the keyframe before frame ``cut`` on,
    timestamps shifted so frame ``cut`` is at 0; the earlier packets become
    negative and the MP4 muxer writes an edit list that hides them."""
    with av.open(src) as s_in:
        pts = sorted(p.pts for p in s_in.demux(video=0) if p.pts is not None)
    shift = pts[cut]
    with av.open(src) as s_in, av.open(dst, 'w', format='mp4') as s_out:
        vin = s_in.streams.video[0]
        vout = s_out.add_stream_from_template(vin)
        packets = [p for p in s_in.demux(vin) if p.dts is not None]
        first = max(i for i, p in enumerate(packets) if p.is_keyframe and p.pts <= shift)
        for packet in packets[first:]:
            packet.pts -= shift
            packet.dts -= shift
            packet.stream = vout
            s_out.mux(packet)


def sequential_codes(path: str) -> np.ndarray:
    """Frame codes of every frame a sequential decode outputs, in order; like
    the ffmpeg tool, a packet the decoder refuses (cut off) is skipped."""
    frames = []
    with av.open(path) as c:
        stream = c.streams.video[0]
        packets = c.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError:  # the file ends inside a packet
                packet = None
            try:
                frames += stream.codec_context.decode(packet)
            except av.InvalidDataError:
                pass
            if packet is None:
                break
    return read_frame_codes(f.to_ndarray(format='rgb24') for f in frames)


def frame_sets(n: int, seed: int = 0, around: Sequence[int] = ()):
    """Frame sets a loader asks for: every frame, clips, the end, repeats,
    unordered sets, single frames backwards, and frames around ``around``."""
    rng = np.random.default_rng(seed)
    sets = [list(range(n)), [n - 1], [0], list(range(n - 5, n)), [5, 5, 3],
            rng.integers(0, n, 8).tolist(), sorted(rng.integers(0, n, 8).tolist())]
    for g in around:
        sets.append([i for i in range(g - 3, g + 4) if 0 <= i < n])
        sets.append(list(range(max(0, g - 40), min(n, g + 40), 6)))
    sets += [[i] for i in range(n - 1, -1, -max(1, n // 17))]  # single, backwards
    return sets
