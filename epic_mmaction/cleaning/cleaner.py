"""Drop segments that the training pipeline could not read.

A corrupted or truncated video kills a long training run hours in (the
reader raises, hangs or crashes inside the dataloader). :func:`clean_segments`
probes every video of a list once, up front and isolated in worker
processes, with the backend the configs read with, and writes a list of the
segments that decode, plus a JSON report saying what was dropped and why.

Decisions:

* an empty list is an error, and so is a list where most segments name
  videos that do not exist (a wrong data root): both are checked by stat
  before any video is probed; ``allow_missing`` drops them anyway.
* ``backend`` 'pyav' (default, as the configs), 'decord', or 'both' (for
  users who switch): with 'both' a video must pass with each, and videos on
  which the backends return different frames (or frame counts) are listed in
  the report; their segments are kept (which backend is right is known only
  for the configs' default, PyAV). Each video's record names its backend;
  the probe cache is keyed on it.
* a video that cannot be opened, has no video stream, no frames, no usable
  frame rate, fewer frames than its container declares (truncated), or of
  which no checked frame decodes is bad: all its segments
  are dropped ('bad_video'). So is one whose probe timed out or crashed.
* a video that opens but has some frames failing is not bad as a whole:
  only the segments containing a failing frame are dropped
  ('undecodable_frames'). Without ``full`` only each segment's first and last
  frame (and the video's last frame) are decoded, so damage inside a segment
  may go unseen.
* a segment reaching past the video's last frame is dropped
  ('out_of_range'), or with ``clamp`` cut at the last frame (still dropped
  if it starts past the end).
* a segment to the end of its video (``stop`` -1, whole-video lists) is
  kept with ``stop`` set to the last frame the probe counted, so the
  cleaned list says how long each video is.
* probe records are cached by backend, path, size, mtime and the frames checked, so
  a re-run only probes what changed; timeouts and crashes are not cached,
  they are retried.
"""
import hashlib
import json
import os
import os.path as osp
import sys
import time
import warnings
from contextlib import closing
from dataclasses import replace
from typing import Callable, Dict, List, Optional, TextIO, Tuple

from ..annotations.listfile import Segment, read_list, write_list
from ..utils.fileio import atomic_outputs, atomic_write
from ..utils.pool import TaskResult, default_workers, imap_isolated
from .probe import (DEFAULT_BACKEND, PROBE_BACKENDS, PROBE_VERSION, ProbeTask, Range,
                    empty_record, file_problem, merge_ranges, probe_video)
from ..utils import EpicError

DROP_REASONS = ('bad_video', 'out_of_range', 'undecodable_frames')
DEFAULT_TIMEOUT = 120.0
# --full decodes every frame of every segment: a long 1080p video takes minutes
DEFAULT_FULL_TIMEOUT = 1800.0
CACHE_VERSION = 2  # 2: records say which backend judged them
# more than this share of the segments naming missing videos means a wrong
# --data-root, not a few missing downloads: stop before probing anything
MISSING_LIMIT = 0.5
LAST_FRAME = 2 ** 62  # probe range end of a segment to the end (clipped to the video)


class CleanerError(EpicError, ValueError):
    """Arguments the cleaner cannot work with; the message says what to fix."""


def default_cache_path(out_path: str) -> str:
    return out_path + '.probe-cache.json'


class ProgressBar:
    """Progress on stderr: redrawn in place on a terminal, a line every 5% in logs."""

    def __init__(self, total: int, what: str = 'videos',
                 stream: Optional[TextIO] = None) -> None:
        self.total, self.what = total, what
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.start = time.monotonic()
        self._drawn_at = 0.0
        self._step = 0

    def update(self, n: int = 1) -> None:
        self.done += n
        elapsed = time.monotonic() - self.start
        if self.tty:
            if self.done < self.total and elapsed - self._drawn_at < 0.1:
                return
            self._drawn_at = elapsed
            width = 30
            filled = width * self.done // max(self.total, 1)
            eta = elapsed / self.done * (self.total - self.done) if self.done else 0
            self.stream.write(f'\r[{"#" * filled}{"." * (width - filled)}] '
                              f'{self.done}/{self.total} {self.what}, '
                              f'{elapsed:.0f}s elapsed, ETA {eta:.0f}s ')
        else:
            step = 20 * self.done // max(self.total, 1)
            if step <= self._step:
                return
            self._step = step
            self.stream.write(f'probed {self.done}/{self.total} {self.what} '
                              f'({100 * self.done // max(self.total, 1)}%), '
                              f'{elapsed:.0f}s elapsed\n')
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write('\n')
            self.stream.flush()


def probe_ranges(segments: List[Segment], full: bool) -> Dict[str, List[Range]]:
    """Frames to decode per video, in list order of first appearance."""
    wanted: Dict[str, List[Range]] = {}
    for seg in segments:
        ranges = wanted.setdefault(seg.video, [])
        # a segment to the end (stop -1) ends at the last frame, always probed
        stop = LAST_FRAME if seg.to_end else seg.stop
        if full:
            ranges.append((seg.start, stop))
        else:
            ranges += [(seg.start, seg.start), (stop, stop)]
    for video, ranges in wanted.items():
        wanted[video] = merge_ranges(ranges)
    return wanted


def _func_name(func: Callable) -> str:
    return (f"{getattr(func, '__module__', '')}."
            f"{getattr(func, '__qualname__', type(func).__name__)}")


def _cache_key(st: os.stat_result, ranges: List[Range], full: bool,
               probe_fn: Callable, backend: str) -> dict:
    digest = hashlib.sha1(json.dumps(ranges).encode()).hexdigest()
    return dict(size=st.st_size, mtime_ns=st.st_mtime_ns, frames=digest, full=full,
                backend=backend, probe=f'{_func_name(probe_fn)}/{PROBE_VERSION}')


def _cache_entry(path: str, backend: str) -> str:
    """One entry per video and backend: switching back and forth reuses both."""
    return f'{backend}:{path}'


def load_cache(path: Optional[str]) -> Dict[str, dict]:
    """Cache entries by backend and absolute video path; an unusable cache is
    ignored."""
    if not path or not osp.exists(path):
        return {}
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        if data.get('version') == CACHE_VERSION:
            return dict(data['entries'])
        warnings.warn(f'ignoring probe cache {path}: written by another version')
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        warnings.warn(f'ignoring unreadable probe cache {path} ({e}); '
                      'it will be rewritten')
    return {}


def save_cache(path: str, entries: Dict[str, dict]) -> None:
    with atomic_write(path) as f:
        json.dump(dict(version=CACHE_VERSION, entries=entries), f)


def _failed_record(path: str, result: TaskResult, backend: str) -> dict:
    record = empty_record(path, backend)
    record['log'] = result.log
    if result.status == 'error':
        record['reason'] = f'probe failed: {result.error}'
    else:  # 'timeout after 120s', 'crashed (signal SIGSEGV)'
        record['reason'] = result.error
    return record


def _bad_frames_in(record: dict, start: int, stop: int) -> List[int]:
    """Failing frames (range starts for long runs) within start..stop."""
    hits = []
    for a, b in record.get('bad_frames') or ():
        if a <= stop and b >= start:
            hits.append(max(a, start))
    return hits


def _check_arguments(list_path: str, data_root: str, workers: int,
                     timeout: float, probe_fn: Callable, backend: str) -> None:
    if not osp.isdir(data_root):
        raise CleanerError(
            f'data root {data_root} is not a directory: pass the folder that the '
            'video paths in the list are relative to')
    if osp.isdir(list_path):
        raise CleanerError(f'list file {list_path} is a directory: pass a segment '
                           'list file')
    if workers < 1:
        raise CleanerError(f'--workers must be >= 1, got {workers}')
    if timeout <= 0:
        raise CleanerError(f'--timeout must be > 0 seconds, got {timeout}')
    if backend not in PROBE_BACKENDS:
        raise CleanerError(f'--backend must be one of {", ".join(PROBE_BACKENDS)}, '
                           f'got {backend!r}')
    if probe_fn is probe_video:
        modules = {'pyav': ['av'], 'decord': ['decord'], 'both': ['av', 'decord']}
        for module in modules[backend]:
            try:
                __import__(module)
            except ImportError as e:
                raise CleanerError(f'cannot import {module} ({e}) for --backend '
                                   f'{backend}: install it with "pip install '
                                   f'{module}"') from None


def _check_not_empty(list_path: str, segments: List[Segment]) -> None:
    if not segments:
        raise CleanerError(
            f'{list_path}: the list has no segments: pass a list written by '
            'tools/build_annotations.py (or check that it is the right file)')


def _subfolder_with(data_root: str, video: str) -> Optional[str]:
    """A direct sub-folder of ``data_root`` that holds ``video`` (root too high)."""
    try:
        subs = sorted(e.path for e in os.scandir(data_root) if e.is_dir())
    except OSError:
        return None
    return next((sub for sub in subs[:200] if osp.isfile(osp.join(sub, video))), None)


def check_missing(list_path: str, data_root: str, segments: List[Segment],
                  problems: Dict[str, Optional[str]], allow_missing: bool) -> None:
    """Refuse a run where most segments name missing videos (a wrong root).

    A few missing videos (an unfinished download) are dropped and reported
    as usual; most of them missing means the paths are wrong, and an empty
    clean list would only fail later, in training, naming nothing.
    """
    missing = [s for s in segments
               if (problems.get(s.video) or '').startswith('missing file')]
    if allow_missing or len(missing) <= MISSING_LIMIT * len(segments):
        return
    root = osp.abspath(data_root)
    example = missing[0].video
    sub = _subfolder_with(root, example)
    fix = (f'it is under {sub}: pass --data-root {sub}' if sub else
           "check --data-root (the folder the list's video paths are relative to)")
    raise CleanerError(
        f'{list_path}: {len(missing)} of {len(segments)} segments name videos '
        f'missing under the data root {root} ({len({s.video for s in missing})} of '
        f'{len(problems)} videos; e.g. expected {osp.join(root, example)}); {fix}, '
        'or pass --allow-missing to drop those segments')


def clean_segments(list_path: str, data_root: str, out_path: str, report_path: str,
                   workers: Optional[int] = None, timeout: Optional[float] = None,
                   full: bool = False, clamp: bool = False,
                   cache_path: Optional[str] = None,
                   probe_fn: Callable[[ProbeTask], dict] = probe_video,
                   progress: bool = True, backend: str = DEFAULT_BACKEND,
                   allow_missing: bool = False) -> dict:
    """Probe the videos of ``list_path``; write the clean list and the report.

    Args:
        list_path: segment list to clean.
        data_root: folder the list's video paths are relative to.
        out_path: where the clean list goes (may be ``list_path`` itself).
        report_path: where the JSON report goes.
        workers: probe processes. Defaults to :func:`default_workers`.
        timeout: seconds per video before its probe is killed. Defaults to
            120, or 1800 with ``full``.
        full: decode every frame of every segment, not just the first and
            last ones.
        clamp: cut segments that run past the end instead of dropping them.
        cache_path: probe cache file; None disables caching.
        probe_fn: the probe, a module-level function (it runs in spawned
            workers); tests pass a hanging or crashing one.
        progress: draw a progress bar on stderr.
        backend: the reader that judges the videos: 'pyav' (the configs'
            default), 'decord', or 'both' (each must pass; frames on which
            they disagree are reported).
        allow_missing: drop the segments of missing videos even when they
            are most of the list (otherwise that is an error: a wrong root).

    Returns:
        The report, as also written to ``report_path``.

    Raises:
        CleanerError: unusable arguments, an empty list, or most segments
        naming missing videos. ListFormatError: unreadable or malformed list
        (the message names file and line).
    """
    started = time.monotonic()
    workers = default_workers() if workers is None else workers
    if timeout is None:
        timeout = DEFAULT_FULL_TIMEOUT if full else DEFAULT_TIMEOUT
    _check_arguments(list_path, data_root, workers, timeout, probe_fn, backend)
    segments = read_list(list_path)
    _check_not_empty(list_path, segments)
    wanted = probe_ranges(segments, full)
    paths = {video: osp.abspath(osp.join(data_root, video)) for video in wanted}
    problems = {video: file_problem(path) for video, path in paths.items()}
    check_missing(list_path, data_root, segments, problems, allow_missing)

    cache = load_cache(cache_path)
    records: Dict[str, dict] = {}
    tasks: List[ProbeTask] = []
    task_meta: List[Tuple[str, Optional[dict]]] = []
    for video, ranges in wanted.items():
        path, problem = paths[video], problems[video]
        if problem:  # no need to start a decoder for these
            records[video] = dict(empty_record(path, backend), reason=problem,
                                  cached=False)
            continue
        try:
            key = _cache_key(os.stat(path), ranges, full, probe_fn, backend)
        except OSError:  # vanished since: let the probe say so
            key = None
        entry = cache.get(_cache_entry(path, backend))
        if key is not None and entry and entry.get('key') == key:
            records[video] = dict(entry['record'], cached=True)
            continue
        tasks.append(ProbeTask(path, tuple(ranges), backend))
        task_meta.append((video, key))

    bar = None
    if progress and tasks:
        print(f'probing {len(tasks)} videos with {backend} in '
              f'{min(workers, len(tasks))} workers ({len(records)} settled without decoding or cached)',
              file=sys.stderr, flush=True)
        bar = ProgressBar(len(tasks))
    try:
        with closing(imap_isolated(probe_fn, tasks, workers, timeout)) as results:
            for result in results:
                video, key = task_meta[result.index]
                if result.ok:
                    record = result.value
                    if key is not None:
                        cache[_cache_entry(record['path'], backend)] = dict(
                            key=key, record=record)
                else:
                    record = _failed_record(result.task.path, result, backend)
                records[video] = dict(record, cached=False)
                if bar:
                    bar.update()
    finally:
        if bar:
            bar.close()

    kept: List[Segment] = []
    dropped: List[dict] = []
    clamped: List[dict] = []
    resolved = 0
    for seg in segments:
        record = records[seg.video]
        entry = dict(narration_id=seg.narration_id, video=seg.video,
                     start=seg.start, stop=seg.stop)
        if not record['ok']:
            dropped.append(dict(entry, reason='bad_video', detail=record['reason']))
            continue
        num_frames, stop = record['num_frames'], seg.stop
        if seg.to_end:  # whole-video rows get the frame count the probe found
            stop = num_frames - 1
            resolved += 1
        if stop >= num_frames:
            if not clamp or seg.start >= num_frames:
                dropped.append(dict(entry, reason='out_of_range', detail=(
                    f'frames {seg.start}..{seg.stop} but the video has '
                    f'{num_frames} (0..{num_frames - 1})')))
                continue
            stop = num_frames - 1
        bad = _bad_frames_in(record, seg.start, stop)
        if bad:
            dropped.append(dict(entry, reason='undecodable_frames', detail=(
                f'frame(s) {", ".join(map(str, bad[:5]))} fail to decode: '
                f'{record["frame_error"]}')))
            continue
        if stop != seg.stop and not seg.to_end:
            clamped.append(dict(entry, clamped_stop=stop, num_frames=num_frames))
        kept.append(replace(seg, stop=stop))

    if cache_path:
        save_cache(cache_path, cache)

    bad_videos = [dict(video=v, reason=r['reason'], log=r.get('log'))
                  for v, r in records.items() if not r['ok']]
    with_bad_frames = [dict(video=v, num_frames=r['num_frames'],
                            bad_frames=r['bad_frames'], frame_error=r['frame_error'])
                       for v, r in records.items() if r['ok'] and r['bad_frames']]
    mismatched = [dict(video=v, **r['mismatch'])
                  for v, r in records.items() if r.get('mismatch')]
    by_reason = {reason: 0 for reason in DROP_REASONS}
    for entry in dropped:
        by_reason[entry['reason']] += 1
    cached = sum(r['cached'] for r in records.values())
    report = dict(
        arguments=dict(list=list_path, data_root=data_root, out=out_path,
                       report=report_path, workers=workers, timeout=timeout,
                       full=full, clamp=clamp, cache=cache_path, backend=backend,
                       allow_missing=allow_missing),
        counts=dict(
            videos=dict(total=len(records), probed=len(tasks), cached=cached,
                        ok=len(records) - len(bad_videos), bad=len(bad_videos),
                        with_bad_frames=len(with_bad_frames),
                        frame_mismatch=len(mismatched)),
            segments={'in': len(segments), 'kept': len(kept), 'dropped': len(dropped),
                      'dropped_by_reason': by_reason, 'clamped': len(clamped),
                      'to_end_resolved': resolved}),
        bad_videos=bad_videos,
        videos_with_bad_frames=with_bad_frames,
        videos_with_frame_mismatch=mismatched,
        dropped_segments=dropped,
        clamped_segments=clamped,
        videos={v: dict(ok=r['ok'], backend=r.get('backend', backend),
                        num_frames=r['num_frames'], fps=r['fps'],
                        checked_frames=r['checked_frames'], cached=r['cached'],
                        mismatch=r.get('mismatch'))
                for v, r in records.items()},
        elapsed_s=round(time.monotonic() - started, 3))
    # the clean list and its report appear together or not at all
    with atomic_outputs([out_path, report_path]) as (tmp_list, tmp_report):
        write_list(tmp_list, kept)
        with open(tmp_report, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=1)
    return report
