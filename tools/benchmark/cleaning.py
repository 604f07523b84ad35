"""The cleaner's one-time cost per video-hour (``tools/benchmark_cleaning.py``).

One video at a time, one worker (timed by CPU time: the worker's and this
process's, so a busy machine does not inflate it), no probe cache and a fresh frame-index
cache for each run (what a first ``clean_segments.py`` run pays), with
EPIC-like segments (EPIC-100: about 11 per video-minute), for each backend
and mode. The cost scales with the video's length and the segments' frames,
so seconds per video-hour extrapolate to a dataset.
"""
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from epic_mmaction.annotations.listfile import Segment, write_list

from .schemes import draw_segments

# EPIC-100 train: 67,217 segments over ~100 hours of video
SEGMENTS_PER_MINUTE = 11.2
INDEX_CACHE_ENV = 'EPIC_MMACTION_CACHE_DIR'


@dataclass
class CleaningRow:
    video: str  # file name
    size: str  # WxH
    minutes: float
    segments: int
    backend: str
    mode: str  # 'default' (first+last frame) or 'full'
    checked_frames: int
    seconds: float  # wall clock
    cpu_seconds: float  # the probe worker's and this process's CPU time
    kept: int

    @property
    def s_per_hour(self) -> float:
        """CPU seconds of cleaning per hour of this kind of video: on a busy
        machine the wall clock says more about the neighbours than the cleaner."""
        return self.cpu_seconds * 60 / self.minutes

    def hours_for(self, video_hours: float, workers: int = 1) -> float:
        return self.s_per_hour * video_hours / workers / 3600


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def video_segments(rel: str, num_frames: int, fps: float, per_minute: float,
                   seed: int = 0) -> List[Segment]:
    """EPIC-like segments of one video (lengths as the loading benchmark's)."""
    count = max(1, int(round(num_frames / fps / 60 * per_minute)))
    ranges = sorted(draw_segments(num_frames, fps, count, np.random.default_rng(seed)))
    return [Segment(rel, a, b, 0, 0, f'bench_{k}') for k, (a, b) in enumerate(ranges)]


def time_cleaning(path: str, num_frames: int, fps: float, size: str,
                  backends: Sequence[str], modes: Sequence[str],
                  per_minute: float = SEGMENTS_PER_MINUTE) -> List[CleaningRow]:
    """Clean one video's segments with each backend and mode; a row per run."""
    from epic_mmaction.cleaning.cleaner import clean_segments
    root, name = os.path.split(os.path.abspath(path))
    segs = video_segments(name, num_frames, fps, per_minute)
    rows = []
    saved = os.environ.get(INDEX_CACHE_ENV)
    with tempfile.TemporaryDirectory(prefix='bench_clean_') as tmp:
        lst = os.path.join(tmp, 'list.txt')
        write_list(lst, segs)
        for backend in backends:
            for mode in modes:
                # a fresh frame-index cache: the workers build it, as a first run does
                os.environ[INDEX_CACHE_ENV] = tempfile.mkdtemp(dir=tmp)
                try:
                    start, cpu = time.perf_counter(), _cpu_seconds()
                    report = clean_segments(
                        lst, root, os.path.join(tmp, 'clean.txt'),
                        os.path.join(tmp, 'report.json'), workers=1, timeout=3600,
                        full=mode == 'full', cache_path=None, progress=False,
                        backend=backend)
                    seconds = time.perf_counter() - start
                    cpu = _cpu_seconds() - cpu
                finally:
                    if saved is None:
                        os.environ.pop(INDEX_CACHE_ENV, None)
                    else:
                        os.environ[INDEX_CACHE_ENV] = saved
                video = report['videos'][name]
                rows.append(CleaningRow(
                    name, size, num_frames / fps / 60, len(segs), backend, mode,
                    video['checked_frames'], seconds, cpu,
                    report['counts']['segments']['kept']))
    return rows


def format_table(rows: Sequence[CleaningRow], dataset_hours: float = 100,
                 workers: int = 8) -> str:
    """Markdown: time per run, per video-hour, and for ``dataset_hours`` of it."""
    head = ('| video | size | min | segments | backend | mode | frames checked | '
            f'wall s | CPU s | CPU s per video-hour | {dataset_hours:g} h, 1 core | '
            f'{dataset_hours:g} h, {workers} workers |')
    lines = [head, '|' + '---|' * (head.count('|') - 1)]
    for r in rows:
        lines.append(
            f'| {r.video} | {r.size} | {r.minutes:.1f} | {r.segments} | {r.backend} | '
            f'{r.mode} | {r.checked_frames} | {r.seconds:.1f} | {r.cpu_seconds:.1f} | '
            f'{r.s_per_hour:.0f} | '
            f'{r.hours_for(dataset_hours):.1f} h | '
            f'{r.hours_for(dataset_hours, workers):.1f} h |')
    return '\n'.join(lines)
