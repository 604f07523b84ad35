"""Probe one video file with the backend training reads it with.

:func:`probe_video` runs inside a worker of :mod:`epic_mmaction.utils.pool`,
because a decoder can hang or crash in native code on a broken file. It never
raises for a bad file: the record it returns says what is wrong. Every read
goes through :func:`epic_mmaction.video.open_video_reader`, the function the
pipeline uses, so the probe judges a video as training will read it:
``backend`` 'pyav' (the configs' default), 'decord', or 'both' (for users who
switch: a video must pass with each, and frames on which the two backends
disagree are reported).

What decord 0.6.0 does on broken files (synthetic H.264, tests/cleaning):
opening fails for zero-byte, random, audio-only, index-less and most
truncated files, often with the cause only in its log (captured here); a
video stream without frames counts as no stream; a file cut exactly at a
packet boundary opens with fewer frames; one cut inside its last packet or
with damaged bytes in the middle opens, and ``get_batch`` raises "Error
sending packet" for some frames. No hang or crash was seen. The error can
surface on frames well *before* the damage (the demuxer runs ahead of
decord's decoder thread, up to a GOP under load), recurs until the next seek
and varies from run to run; so a failed chunk is retried frame by frame after
a fresh seek, and the frames flagged are ones decord may fail on in training
too. decord is not a safe judge of *which* frame it returns either: on an
open-GOP file with a B-pyramid it returns a later frame after some seeks
(frame 29 -> 30, 150 -> 153), and on a file whose MP4 edit list drops the
first frames it counts the dropped frames too and repeats the last frame in
their place, silently.

What PyAV (the frame-index reader of :mod:`epic_mmaction.video`) does on the
same files: opening fails for zero-byte, random and index-less files
("Invalid data found", "End of file"); audio-only files and a video stream
without frames have no video stream. A faststart file keeps its index when
cut, so PyAV opens it, its frame index counting only the frames whose packets
are left; the container still declares them all, so the probe counts the
packets in the file (demuxing, no decoding) and calls it truncated, as with
decord. Cut inside its last packet, it opens with one frame less (the cut
packet is not indexed) and every frame reads: segments reaching the last
frame are dropped as out of range, or clamped. With 3000 zeroed bytes in the
middle, the frames from the damaged one to the end of its GOP fail
("avcodec_send_packet" invalid data, seen with --full) and the ones before it
read. After such an error a PyAV reader cannot go on, so a failed chunk is
retried frame by frame, each on a fresh reader. No hang or crash was seen.
"""
import contextlib
import math
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

# bump when a change here makes cached probe records stale
PROBE_VERSION = 3
# frames decoded per get_batch call: bounds memory on long 1080p videos
CHUNK_SIZE = 32
_LOG_LINES = 4
BACKENDS = ('pyav', 'decord')
PROBE_BACKENDS = BACKENDS + ('both', )
DEFAULT_BACKEND = 'pyav'  # SegmentVideoInit's default: what the configs read with
# two decodes of one frame differ by less than this mean absolute pixel value
# when they are the same frame (rgb conversion rounding; measured 0.0)
MISMATCH_TOLERANCE = 1.0

Range = Tuple[int, int]
_DECORD_PREFIX = re.compile(r'\[\d\d:\d\d:\d\d\] \S+?:\d+: ')
_FFMPEG_PREFIX = re.compile(r'\[([\w,]+) @ 0x[0-9a-f]+\] ')


@dataclass(frozen=True)
class ProbeTask:
    """A video to probe, the frames to decode (inclusive, merged ranges) and
    the backend to judge it with ('pyav', 'decord' or 'both')."""
    path: str
    frames: Tuple[Range, ...] = ()
    backend: str = DEFAULT_BACKEND


def merge_ranges(ranges: Iterable[Range]) -> List[Range]:
    """Sorted, merged inclusive ranges: [(5, 9), (0, 2), (3, 4)] -> [(0, 9)]."""
    merged: List[List[int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(a, b) for a, b in merged]


def frames_to_ranges(frames: Iterable[int]) -> List[Range]:
    """Sorted frame indices as merged ranges (compact in reports and caches)."""
    return merge_ranges((f, f) for f in frames)


def _iter_frames(ranges: Sequence[Range], limit: int) -> Iterator[int]:
    for start, stop in ranges:
        yield from range(start, min(stop, limit - 1) + 1)


def file_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be a video, without decoding it; None if it may be."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return 'missing file (broken symlink)'
        return 'missing file'
    except OSError as e:
        return f'cannot stat file: {e.strerror}'
    if stat.S_ISDIR(st.st_mode):
        return 'not a regular file (a directory)'
    if not stat.S_ISREG(st.st_mode):
        return 'not a regular file'
    if st.st_size == 0:
        return 'empty file (0 bytes)'
    return None


def clean_message(text: str) -> str:
    """First line of a decord/ffmpeg message, without timestamps and source paths."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return _DECORD_PREFIX.sub('', lines[0]).strip() if lines else ''


def _clean_log(text: str) -> List[str]:
    lines: List[str] = []
    for line in text.splitlines():
        line = _FFMPEG_PREFIX.sub(r'\1: ', _DECORD_PREFIX.sub('', line)).strip()
        if line and line not in lines:
            lines.append(line)
    return lines[-_LOG_LINES:]


def _open_causes(log: List[str], path: str) -> List[str]:
    """Log lines without the component name and path, for a short reason."""
    causes = []
    for line in log:
        line = line.split(': ', 1)[1] if re.match(r'[\w,]+: ', line) else line
        line = line.replace(f'ERROR opening: {path}, ', '')
        causes.append(line)
    return causes


@contextlib.contextmanager
def _captured_stderr(lines: List[str]) -> Iterator[None]:
    """Collect what native code (ffmpeg, decord) writes to fd 2 into ``lines``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines.extend(_clean_log(tmp.read().decode('utf-8', 'replace')))


def empty_record(path: str, backend: str = DEFAULT_BACKEND) -> dict:
    """A probe record for ``path`` with nothing known yet (and not ok)."""
    return dict(path=path, backend=backend, ok=False, reason=None, num_frames=None,
                fps=None, checked_frames=0, bad_frames=[], frame_error=None,
                mismatch=None, log=None)


def _short(message: object, path: str) -> str:
    """A reader's message without the path and the advice to run this tool."""
    text = clean_message(message).replace(f"'{path}'", '').replace(path, '')
    for advice in ('. Run tools/', '; run tools/'):
        text = text.split(advice)[0]
    return text.strip(' :,')


def _open(path: str, backend: str):
    """(reader, None) or (None, the error message without the path)."""
    from ..video import open_video_reader
    try:
        return open_video_reader(path, backend, num_threads=1), None
    except Exception as e:  # VideoReadError, or whatever native code raises
        cause = e.__cause__ if e.__cause__ is not None else e
        if isinstance(cause, IndexError):  # PyAV: streams.video is empty
            return None, 'no video stream'
        return None, _short(cause, path)


def _packet_count(path: str) -> Optional[int]:
    """Video packets the file really holds (demuxed, not decoded); None if the
    demuxer fails. decord counts the same when it opens a file; PyAV opens
    from the index alone, so a file cut after its index is found here."""
    import av
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            return sum(1 for p in container.demux(stream) if p.size)
    except (av.FFmpegError, IndexError, OSError):
        return None


class _Decoder:
    """One backend's reader over a video, decoding chunks of wanted frames.

    A failed chunk is retried frame by frame from a fresh state (decord:
    seek to 0; PyAV: a new reader, as its decoder state after an error is
    not public), so only the frames that really fail are flagged.
    """

    def __init__(self, path: str, backend: str, reader) -> None:
        self.path, self.backend, self.reader = path, backend, reader
        self.num_frames = len(reader)
        self.fps = float(reader.get_avg_fps())
        self.bad: List[int] = []
        self.first_error: Optional[str] = None

    def _fresh(self):
        if hasattr(self.reader, 'seek'):  # decord: clears its error/read-ahead state
            self.reader.seek(0)
        else:
            self.reader, _ = _open(self.path, self.backend)
        return self.reader

    def decode(self, chunk: List[int], keep: bool = False) -> Dict[int, np.ndarray]:
        """Decode the frames of ``chunk`` (those past the end are skipped);
        with ``keep``, return those that decode (to compare backends)."""
        chunk = [f for f in chunk if f < self.num_frames]
        if not chunk:
            return {}
        try:
            batch = self.reader.get_batch(chunk).asnumpy()
            return dict(zip(chunk, batch)) if keep else {}
        except Exception:  # find out which frames, below
            pass
        frames = {}
        for frame in chunk:
            try:
                reader = self._fresh()
                if reader is None:
                    raise RuntimeError('cannot reopen the video')
                image = reader.get_batch([frame]).asnumpy()[0]
                if keep:
                    frames[frame] = image
            except Exception as e:
                self.bad.append(frame)
                self.first_error = self.first_error or _short(e, self.path)
        return frames


def _declared_frames(path: str) -> Optional[int]:
    """Frames the container's index declares (MP4 ``stts``), None if unknown.

    A file cut at a packet boundary opens in decord with the frames that are
    left; the index written before the cut still counts them all.
    """
    from ..annotations.videometa import read_video_meta
    try:
        return read_video_meta(path).num_frames
    except ValueError:
        return None


def _open_reason(backend: str, message: str, log: List[str], path: str) -> str:
    if message == 'no video stream':
        return message
    if 'cannot find video stream' in message:
        return f'no video stream ({message})'
    # decord's own message can be just 'Error reading <path>...': the cause
    # is in what it and ffmpeg logged
    details = '; '.join(_open_causes(log, path))
    if message.startswith('Error reading') and details:
        return f'cannot open with {backend}: {details}'
    return f'cannot open with {backend}: {message}' + (f' ({details})' if details else '')


def _mismatch(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return True
    return float(np.abs(a.astype(np.int16) - b).mean()) > MISMATCH_TOLERANCE


def probe_video(task: ProbeTask) -> dict:
    """Open ``task.path`` with ``task.backend`` and decode the requested frames.

    Also decodes the video's last frame (so ``--clamp`` can trust it).
    Requested frames past the end are skipped: the cleaner drops or clamps
    those segments. The video is bad when it cannot be opened, has no video
    stream, no frames or no usable frame rate, has fewer frames than its
    container declares (truncated), or when none of the checked frames
    decodes; otherwise ``bad_frames`` lists the frames that fail. With
    'both', each backend must pass, ``num_frames`` is the smaller count, and
    ``mismatch`` (None when they agree) says where the backends disagree:
    frame counts, and the checked frames that differ.
    """
    record = empty_record(task.path, task.backend)
    problem = file_problem(task.path)
    if problem:
        record['reason'] = problem
        return record
    backends = BACKENDS if task.backend == 'both' else (task.backend, )
    log: List[str] = []
    decoders: List[_Decoder] = []
    with _captured_stderr(log):
        for backend in backends:
            reader, message = _open(task.path, backend)
            if reader is None:
                record['reason'] = _open_reason(backend, message, log, task.path)
                break
            decoders.append(_Decoder(task.path, backend, reader))
        if decoders and len(decoders) == len(backends):
            _check(record, task, decoders)
        decoders.clear()
        if record['num_frames']:
            record['declared_frames'] = _declared_frames(task.path)
            # decord counts the packets when it opens a file
            record['packets'] = (record['num_frames'] if backends == ('decord', )
                                 else _packet_count(task.path))
    record['log'] = '\n'.join(log) or None
    if record['reason'] is None:
        record['reason'] = _verdict(record)
    record['ok'] = record['reason'] is None
    return record


def _check(record: dict, task: ProbeTask, decoders: List[_Decoder]) -> None:
    counts = {d.backend: d.num_frames for d in decoders}
    num_frames = min(counts.values())
    fps = decoders[0].fps
    record.update(num_frames=num_frames, fps=fps if math.isfinite(fps) else None)
    mismatch: Dict[str, object] = {}
    if len(set(counts.values())) > 1:
        mismatch['num_frames'] = counts
    if not (num_frames and math.isfinite(fps) and fps > 0):
        return
    frames = sorted(set(_iter_frames(task.frames, max(counts.values())))
                    | {d.num_frames - 1 for d in decoders})
    differ: List[int] = []
    for lo in range(0, len(frames), CHUNK_SIZE):
        chunk = frames[lo:lo + CHUNK_SIZE]
        decoded = [d.decode(chunk, keep=len(decoders) > 1) for d in decoders]
        if len(decoded) == 2:
            differ += [f for f, img in decoded[0].items()
                       if f in decoded[1] and _mismatch(img, decoded[1][f])]
    bad = sorted(set(f for d in decoders for f in d.bad))
    record.update(checked_frames=len(frames),
                  bad_frames=[list(r) for r in frames_to_ranges(bad)],
                  frame_error=next((f'{d.backend}: {d.first_error}' if len(decoders) > 1
                                    else d.first_error)
                                   for d in decoders if d.first_error) if bad else None)
    record['_all_bad'] = len(bad) == len(frames)
    if differ:
        mismatch['frames'] = [list(r) for r in frames_to_ranges(differ)]
    record['mismatch'] = mismatch or None


def _verdict(record: dict) -> Optional[str]:
    """Why an opened video is bad as a whole; None if it is usable."""
    all_bad = record.pop('_all_bad', False)
    num, fps = record['num_frames'], record['fps']
    judge = 'the reader' if record['backend'] == 'both' else record['backend']
    if num is None:
        return 'cannot open'
    if num == 0:
        return f'no frames ({judge} counts 0)'
    declared, packets = record.get('declared_frames'), record.get('packets')
    if declared and packets is not None and declared > packets:
        return (f'truncated: the container declares {declared} frames, the file '
                f'holds {packets}')
    if not (fps and math.isfinite(fps) and fps > 0):
        return f'unusable frame rate {fps!r}'
    if all_bad:
        return (f'none of the {record["checked_frames"]} checked frames decodes: '
                f'{record["frame_error"]}')
    return None
