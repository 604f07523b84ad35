"""Probe one video file with decord, the way the training pipeline reads it.

:func:`probe_video` runs inside a worker of :mod:`.pool`, because decord can
hang or crash in native code on a broken file. It never raises for a bad
file: the record it returns says what is wrong.

What decord 0.6.0 does on broken files (synthetic H.264, tests/cleaning):
opening fails for zero-byte, random, audio-only, index-less and most
truncated files, often with the cause only in its log (captured here); a
video stream without frames counts as no stream; a file cut exactly at a
packet boundary opens with fewer frames; one cut inside its last packet or
with damaged bytes in the middle opens, and ``get_batch`` raises "Error
sending packet" for some frames. No hang, crash or silently repeated frame
was seen. The error can surface on frames well *before* the damage (the
demuxer runs ahead of decord's decoder thread, up to a GOP under load),
recurs until the next seek and varies from run to run; so a failed chunk is
retried frame by frame after a fresh seek, and the frames flagged are ones
decord may fail on in training too.
"""
import contextlib
import math
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

# bump when a change here makes cached probe records stale
PROBE_VERSION = 2
# frames decoded per get_batch call: bounds memory on long 1080p videos
CHUNK_SIZE = 32
_LOG_LINES = 4

Range = Tuple[int, int]
_DECORD_PREFIX = re.compile(r'\[\d\d:\d\d:\d\d\] \S+?:\d+: ')
_FFMPEG_PREFIX = re.compile(r'\[([\w,]+) @ 0x[0-9a-f]+\] ')


@dataclass(frozen=True)
class ProbeTask:
    """A video to probe and the frames to decode (inclusive, merged ranges)."""
    path: str
    frames: Tuple[Range, ...] = ()


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


def empty_record(path: str) -> dict:
    """A probe record for ``path`` with nothing known yet (and not ok)."""
    return dict(path=path, ok=False, reason=None, num_frames=None, fps=None,
                checked_frames=0, bad_frames=[], frame_error=None, log=None)


def _decode_frames(reader, frames: List[int]) -> Tuple[List[int], Optional[str]]:
    """Decode ``frames`` (sorted) in chunks; the failing ones and the first error."""
    bad: List[int] = []
    first_error = None
    for lo in range(0, len(frames), CHUNK_SIZE):
        chunk = frames[lo:lo + CHUNK_SIZE]
        try:
            reader.get_batch(chunk)
            continue
        except Exception:  # find out which frames, below
            pass
        for frame in chunk:
            try:
                reader.seek(0)  # clear the decoder's error and read-ahead state
                reader.get_batch([frame])
            except Exception as e:
                bad.append(frame)
                first_error = first_error or clean_message(e)
    return bad, first_error


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


def probe_video(task: ProbeTask) -> dict:
    """Open ``task.path`` with decord and decode the requested frames.

    Also decodes the video's last frame (so ``--clamp`` can trust it).
    Requested frames past the end are skipped: the cleaner drops or clamps
    those segments. The video is bad when it cannot be opened, has no video
    stream, no frames or no usable frame rate, has fewer frames than its
    container declares (truncated), or when none of the checked frames
    decodes; otherwise ``bad_frames`` lists the frames that fail.
    """
    record = empty_record(task.path)
    problem = file_problem(task.path)
    if problem:
        record['reason'] = problem
        return record
    import decord

    log: List[str] = []
    message, fps, bad = '', math.nan, []
    with _captured_stderr(log):
        try:
            reader = decord.VideoReader(task.path, num_threads=1)
        except Exception as e:
            reader, message = None, clean_message(e)
        if reader is not None:
            num_frames, fps = len(reader), float(reader.get_avg_fps())
            record.update(num_frames=num_frames,
                          fps=fps if math.isfinite(fps) else None)
            if num_frames and math.isfinite(fps) and fps > 0:
                frames = sorted(set(_iter_frames(task.frames, num_frames))
                                | {num_frames - 1})
                bad, record['frame_error'] = _decode_frames(reader, frames)
                record.update(checked_frames=len(frames),
                              bad_frames=[list(r) for r in frames_to_ranges(bad)])
            del reader
        if record['num_frames']:
            record['declared_frames'] = _declared_frames(task.path)
    record['log'] = '\n'.join(log) or None
    if record['num_frames'] is None:
        if 'cannot find video stream' in message:
            record['reason'] = f'no video stream ({message})'
        else:
            # decord's own message can be just 'Error reading <path>...': the
            # cause is in what it and ffmpeg logged
            details = '; '.join(_open_causes(log, task.path))
            if message.startswith('Error reading') and details:
                record['reason'] = f'cannot open with decord: {details}'
            else:
                record['reason'] = (f'cannot open with decord: {message}'
                                    + (f' ({details})' if details else ''))
    elif record['num_frames'] == 0:
        record['reason'] = 'no frames (decord counts 0)'
    elif (record.get('declared_frames') or 0) > record['num_frames']:
        record['reason'] = (f"truncated: the container declares "
                            f"{record['declared_frames']} frames, decord finds "
                            f"{record['num_frames']}")
    elif not (math.isfinite(fps) and fps > 0):
        record['reason'] = f'unusable frame rate {fps!r}'
    elif len(bad) == record['checked_frames']:
        record['reason'] = (f'none of the {len(bad)} checked frames decodes: '
                            f'{record["frame_error"]}')
    else:
        record['ok'] = True
    return record
