"""Clip loading throughput: loaders x sampling schemes x worker processes.

Each configuration runs in a fresh pool of worker processes (forked, like
DataLoader workers), each loader living in its worker for the whole run.
Clips are shuffled across ``distinct`` paths per video (symlinks), so reader
caches miss as they do when 700 videos are shuffled in training; the OS page
cache still holds the file, so storage speed is not measured. Generated
videos carry frame codes: every decoded frame is checked against the index
asked for, so a fast but wrong loader cannot win.
"""
import os
import os.path as osp
import resource
import time
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Dict, List, Optional, Sequence

import numpy as np

from epic_mmaction.synthetic.framecode import FrameCodeError, read_frame_codes
from .loaders import build_loader
from .schemes import Clip, Scheme, draw_clips


@dataclass
class LoadingResult:
    """One row of the table: a loader, a scheme and a worker count."""
    loader: str
    scheme: str
    workers: int
    clips: int
    median_ms: float
    p95_ms: float
    clips_per_s: float
    peak_rss_mb: float  # the largest growth of one worker's resident memory
    checked: int  # clips (loaded again after timing) whose frame codes were compared
    wrong: int  # of those, clips with any frame other than the one asked for

    def to_dict(self) -> dict:
        return asdict(self)


_STATE: Dict[str, object] = {}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _init_worker(loader: str, cache_size: int) -> None:
    import av  # noqa: F401  (first imports are not clip time)
    import decord  # noqa: F401
    _STATE['loader'] = build_loader(loader, cache_size)
    _STATE['rss0'] = _rss_mb()


def check_clip(frames: Optional[np.ndarray], clip: Clip) -> Optional[bool]:
    """True if every frame's code is the index asked for; None if uncheckable."""
    if frames is None:
        return None
    try:
        codes = read_frame_codes(frames)
    except FrameCodeError:  # not a generated video: nothing to check
        return None
    return bool(np.array_equal(codes, np.asarray(clip.frame_inds)))


def _run_shard(args) -> tuple:
    clips, verify = args
    loader = _STATE['loader']
    times = []
    began = time.perf_counter()  # CLOCK_MONOTONIC: comparable across workers
    for clip in clips:
        t0 = time.perf_counter()
        loader.load(clip)
        times.append(time.perf_counter() - t0)
    ended = time.perf_counter()
    checked = wrong = 0
    for clip in clips[:verify]:  # after the clock: reading codes is not loading
        ok = check_clip(loader.load(clip), clip)
        if ok is not None:
            checked += 1
            wrong += int(not ok)
    return times, _rss_mb() - float(_STATE['rss0']), checked, wrong, began, ended


def measure(loader: str, clips: Sequence[Clip], workers: int, cache_size: int = 4,
            verify: int = 4) -> tuple:
    """Wall time, per-clip times, peak RSS growth and checks of one pool run."""
    shards = [list(clips[w::workers]) for w in range(workers)]
    ctx = get_context('fork')
    with ctx.Pool(workers, initializer=_init_worker,
                  initargs=(loader, cache_size)) as pool:
        parts = pool.map(_run_shard, [(s, verify) for s in shards], chunksize=1)
    # from the first clip started to the last finished (pool start-up excluded)
    wall = max(p[5] for p in parts) - min(p[4] for p in parts)
    times = np.concatenate([np.asarray(p[0]) for p in parts])
    rss = max(p[1] for p in parts)
    return wall, times, rss, sum(p[2] for p in parts), sum(p[3] for p in parts)


def link_paths(videos: Sequence[str], distinct: int, link_dir: str) -> List[List[str]]:
    """``distinct`` paths (symlinks) per video, so caches see distinct videos."""
    os.makedirs(link_dir, exist_ok=True)
    out = []
    for v, video in enumerate(videos):
        stem, ext = osp.splitext(osp.basename(video))
        paths = []
        for k in range(distinct):
            link = osp.join(link_dir, f'{v:03d}_{stem}_{k:04d}{ext}')
            if not osp.lexists(link):
                os.symlink(osp.abspath(video), link)
            paths.append(link)
        out.append(paths)
    return out


def video_info(path: str) -> tuple:
    """(frames, fps, width, height) of a video, from its container."""
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        return int(s.frames), float(s.average_rate), s.width, s.height


def run_loading_benchmark(videos: Sequence[str], schemes: Sequence[Scheme],
                          loaders: Sequence[str], workers: Sequence[int],
                          clips_per_worker: int, link_dir: str, distinct: int = 64,
                          cache_size: int = 4, seed: int = 0, verify: int = 4,
                          log=print) -> List[LoadingResult]:
    """Every loader x scheme x worker count on the same clips per scheme.

    ``verify`` clips per worker are loaded again after the timed run and
    their frame codes compared with the indices asked for.
    """
    info = [video_info(v) for v in videos]
    linked = link_paths(videos, distinct, link_dir)
    paths = [p for group in linked for p in group]
    lengths = [info[v][0] for v, group in enumerate(linked) for _ in group]
    fps = [info[v][1] for v, group in enumerate(linked) for _ in group]
    results = []
    for scheme in schemes:
        for n in workers:
            clips = draw_clips(paths, lengths, fps, scheme, clips_per_worker * n, seed)
            for loader in loaders:
                wall, times, rss, checked, wrong = measure(
                    loader, clips, n, cache_size, verify)
                r = LoadingResult(loader, scheme.name, n, len(clips),
                                  float(np.median(times) * 1e3),
                                  float(np.percentile(times, 95) * 1e3),
                                  len(clips) / wall, rss, checked, wrong)
                log(f'{scheme.name} workers={n} {loader}: {r.clips_per_s:.1f} clips/s, '
                    f'median {r.median_ms:.1f} ms, peak RSS +{r.peak_rss_mb:.0f} MB')
                results.append(r)
    return results


def _ratio(num: Optional[float], den: Optional[float]) -> str:
    return f'{num / den:.2f}x' if num and den else '-'


def format_table(results: Sequence[LoadingResult]) -> str:
    """Markdown: clips/s vs stock (speed-up) and time vs the decode bound."""
    by_key = {(r.scheme, r.workers, r.loader): r for r in results}
    lines = ['| scheme | workers | loader | median ms | p95 ms | clips/s | '
             'speed-up vs stock | time vs lower bound | peak RSS MB/worker | '
             'frames checked |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in results:
        stock = by_key.get((r.scheme, r.workers, 'stock'))
        bound = by_key.get((r.scheme, r.workers, 'lower_bound'))
        check = ('-' if not r.checked else
                 f'{r.checked} ok' if not r.wrong else f'**{r.wrong}/{r.checked} WRONG**')
        lines.append(
            f'| {r.scheme} | {r.workers} | {r.loader} | {r.median_ms:.1f} | '
            f'{r.p95_ms:.1f} | {r.clips_per_s:.1f} | '
            f'{_ratio(r.clips_per_s, stock.clips_per_s if stock else None)} | '
            f'{_ratio(bound.clips_per_s if bound else None, r.clips_per_s)} | '
            f'{r.peak_rss_mb:.0f} | {check} |')
    return '\n'.join(lines)


def time_list_loading(segments: Sequence[tuple], scheme: Scheme, backend: str = 'pyav',
                      cache_size: int = 4, seed: int = 0) -> dict:
    """Load one clip per ``(path, start, stop)`` in this process, shuffled.

    For before/after comparisons (``tools/reencode_videos.py --benchmark``):
    one worker, this project's loader, the scheme's sampler in training mode.
    """
    from .loaders import SegmentLoader
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    sampler = scheme.build()
    loader = SegmentLoader(backend, cache_size)
    times = []
    for k in rng.permutation(len(segments)):
        path, start, stop = segments[k]
        res = sampler(dict(total_frames=stop - start + 1, start_index=start))
        clip = Clip(path, start, stop, tuple(int(i) for i in
                                             np.asarray(res['frame_inds']).reshape(-1)))
        t0 = time.perf_counter()
        loader.load(clip)
        times.append(time.perf_counter() - t0)
    times = np.asarray(times)
    return dict(clips=len(times), median_ms=float(np.median(times) * 1e3),
                clips_per_s=float(len(times) / times.sum()) if len(times) else None)
