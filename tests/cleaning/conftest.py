"""Real videos, good and broken, for the cleaner's tests (no mocks of decord)."""
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, List

import numpy as np
import pytest

from epic_mmaction.annotations.listfile import Segment
from epic_mmaction.synthetic.generator import SyntheticConfig, VideoPlan, generate

# broken file -> a phrase its bad-video reason must contain
BROKEN = {
    'broken/empty.MP4': 'empty file',
    'broken/random.MP4': 'cannot open',
    'broken/missing.MP4': 'missing file',
    'broken/dir.MP4': 'not a regular file',
    'broken/audio_only.MP4': 'no video stream',
    'broken/audio_only.mkv': 'no video stream',
    # moov (the index) at the end: any cut loses it
    'broken/trunc_10.MP4': 'cannot open',
    'broken/trunc_50.MP4': 'cannot open',
    'broken/trunc_90.MP4': 'cannot open',
    'broken/trunc_minus1000.MP4': 'cannot open',
    # faststart: the index survives, decord fails reading the packets; PyAV
    # opens from the index, the packet count shows the cut
    'broken/fs_trunc_10.MP4': 'cannot open',
    'broken/fs_trunc_50.MP4': ('cannot open', 'truncated'),
    'broken/fs_trunc_90.MP4': ('cannot open', 'truncated'),
    # where this cut lands (inside a packet, or on a packet boundary) depends on
    # the content: decord then fails to open it, or opens it with frames missing
    'broken/fs_trunc_minus1000.MP4': ('cannot open', 'truncated'),
}
# a video stream without frames: decord does not find the stream at all
NO_FRAMES = 'broken/no_frames.MP4'
# faststart cut inside the last packet: opens, the last frame fails
LAST_FRAME_BROKEN = 'broken/fs_trunc_minus1.MP4'
# what each backend says about that last frame
SEND_PACKET_ERROR = {'decord': 'Error sending packet', 'pyav': 'avcodec_send_packet'}
# faststart cut exactly before the last packet: decord opens it one frame
# short; the index still declares every frame, so it is flagged truncated
ONE_FRAME_SHORT = 'broken/fs_cut_last_packet.MP4'
# faststart with 3000 zeroed bytes in the middle of the frame data
DAMAGED_MIDDLE = 'broken/fs_damaged_middle.MP4'


@dataclass
class Corpus:
    """A data root of real good and broken videos, with what to expect."""
    root: str
    source: VideoPlan  # the plan every broken file was cut from
    good: Dict[str, VideoPlan] = field(default_factory=dict)  # rel path -> plan
    broken: Dict[str, object] = field(default_factory=lambda: dict(BROKEN))
    no_frames: str = NO_FRAMES
    last_frame_broken: str = LAST_FRAME_BROKEN
    one_frame_short: str = ONE_FRAME_SHORT
    damaged_middle: str = DAMAGED_MIDDLE

    def reason_matches(self, rel: str, reason: str) -> bool:
        """Whether a broken file's reason holds its phrase (or one of them)."""
        phrases = self.broken[rel]
        phrases = (phrases, ) if isinstance(phrases, str) else phrases
        return any(p in reason for p in phrases)

    def good_segments(self) -> List[Segment]:
        """Every annotated event of every good video (all decodable, in range)."""
        return [Segment(rel, e.start, e.stop, e.verb, e.noun,
                        f'{osp.splitext(osp.basename(rel))[0]}_{k}')
                for rel, plan in self.good.items()
                for k, e in enumerate(ev for ev, a in zip(plan.events, plan.annotated)
                                      if a)]

    def first_and_last(self, rel: str, tag: str) -> List[Segment]:
        """The source's first and last event, as segments of ``rel``."""
        first, last = self.source.events[0], self.source.events[-1]
        return [Segment(rel, first.start, first.stop, 1, 2, f'{tag}_first'),
                Segment(rel, last.start, last.stop, 1, 2, f'{tag}_last')]


def _write_audio_only(path: str, fmt: str) -> None:
    import av
    with av.open(path, 'w', format=fmt) as container:
        stream = container.add_stream('aac', rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                               format='fltp', layout='mono')
            frame.sample_rate, frame.pts = 16000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def _write_no_frames(path: str) -> None:
    import av
    with av.open(path, 'w', format='mp4') as container:
        stream = container.add_stream('libx264', rate=Fraction(50))
        stream.width, stream.height, stream.pix_fmt = 128, 72, 'yuv420p'
        container.start_encoding()  # header and index, but no packets


def _last_packet_offset(path: str) -> int:
    import av
    with av.open(path) as container:
        return max(p.pos for p in container.demux(container.streams.video[0])
                   if p.size)


def write_open_gop(path: str, num_frames: int = 200) -> None:
    """Frame-coded H.264 with open GOPs and a B-pyramid, as some cameras write.

    Decoded from the start, decord and PyAV agree; after a seek decord
    returns later frames than asked (29 -> 30, 150 -> 153), PyAV the right ones.
    """
    import av
    from epic_mmaction.synthetic.framecode import draw_frame_code
    with av.open(path, 'w') as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 72, 'yuv420p'
        stream.options = {'x264-params': 'open-gop=1:bframes=3:b-pyramid=normal:'
                          'keyint=30:min-keyint=30:scenecut=0'}
        for i in range(num_frames):
            img = np.full((72, 128, 3), (i * 7) % 255, np.uint8)
            frame = av.VideoFrame.from_ndarray(draw_frame_code(img, i), format='rgb24')
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_edit_list(src: str, path: str, skip: int = 10) -> None:
    """Stream-copy ``src`` (25 fps) with every timestamp ``skip`` frames earlier:
    the MP4 muxer writes an edit list that starts at 0, so a decode outputs
    ``skip`` frames fewer, as a stream-copied cut does. decord counts every
    packet and repeats the last frame in place of the missing ones."""
    import av
    with av.open(src) as source, av.open(path, 'w') as target:
        stream = source.streams.video[0]
        out = target.add_stream_from_template(stream)
        shift = skip * int(1 / (stream.time_base * 25))
        for packet in source.demux(stream):
            if packet.dts is None:  # the flush packet
                continue
            packet.pts -= shift
            packet.dts -= shift
            packet.stream = out
            target.mux(packet)


@pytest.fixture(scope='session')
def open_gop_root(tmp_path_factory) -> str:
    """A data root with ``odd/open_gop.MP4`` (200 frames, see write_open_gop)
    and ``odd/edit_list.MP4`` (its copy behind an edit list: 190 frames)."""
    root = tmp_path_factory.mktemp('open_gop')
    os.makedirs(root / 'odd')
    write_open_gop(str(root / 'odd' / 'open_gop.MP4'))
    write_edit_list(str(root / 'odd' / 'open_gop.MP4'), str(root / 'odd' / 'edit_list.MP4'))
    return str(root)


@pytest.fixture(scope='session')
def corpus(tmp_path_factory) -> Corpus:
    """Two good synthetic videos (+ a faststart copy) and every kind of broken file."""
    base = tmp_path_factory.mktemp('cleaning')
    cfg = dict(videos={'train': 2, 'validation': 0, 'test': 0}, duration=8,
               width=128, height=72, quirks=False)
    plans = generate(str(base / 'plain'), SyntheticConfig(**cfg))
    generate(str(base / 'faststart'), SyntheticConfig(**cfg, faststart=True))
    root = str(base / 'root')
    corpus = Corpus(root, plans[0])

    def copy(src_dir: str, plan: VideoPlan, rel: str) -> str:
        dst = osp.join(root, rel)
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copyfile(str(base / src_dir / 'videos' / plan.rel_path), dst)
        return dst

    for plan in plans:
        copy('plain', plan, f'good/{plan.video_id}.MP4')
        corpus.good[f'good/{plan.video_id}.MP4'] = plan
    copy('faststart', plans[0], 'good/P01_01_faststart.MP4')
    corpus.good['good/P01_01_faststart.MP4'] = plans[0]

    plain = open(str(base / 'plain' / 'videos' / plans[0].rel_path), 'rb').read()
    fast_path = str(base / 'faststart' / 'videos' / plans[0].rel_path)
    fast = open(fast_path, 'rb').read()
    broken = osp.join(root, 'broken')
    os.makedirs(broken)

    def write(rel: str, data: bytes) -> None:
        with open(osp.join(root, rel), 'wb') as f:
            f.write(data)

    write('broken/empty.MP4', b'')
    write('broken/random.MP4', np.random.default_rng(0).bytes(len(plain)))
    os.makedirs(osp.join(root, 'broken/dir.MP4'))
    _write_audio_only(osp.join(root, 'broken/audio_only.MP4'), 'mp4')
    _write_audio_only(osp.join(root, 'broken/audio_only.mkv'), 'matroska')
    _write_no_frames(osp.join(root, NO_FRAMES))
    for prefix, data in (('trunc', plain), ('fs_trunc', fast)):
        for name, size in (('10', len(data) // 10), ('50', len(data) // 2),
                           ('90', len(data) * 9 // 10),
                           ('minus1000', len(data) - 1000)):
            write(f'broken/{prefix}_{name}.MP4', data[:size])
    write(LAST_FRAME_BROKEN, fast[:-1])
    write(ONE_FRAME_SHORT, fast[:_last_packet_offset(fast_path)])
    damaged = bytearray(fast)
    damaged[len(fast) // 2:len(fast) // 2 + 3000] = bytes(3000)
    write(DAMAGED_MIDDLE, bytes(damaged))
    return corpus
