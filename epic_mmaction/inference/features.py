"""Dense clip features over whole videos: the input of anticipation, detection and
long-range models (RULSTM, ActionFormer-style detectors, TIM-style models).

Each video is cut into windows by the sliding-window planner
(:func:`~.windows.sliding_windows`: window ``k`` starts at frame
``round(k * stride * fps)``, exact over an hour at 59.94 fps), each window
goes through the config's test pipeline for one view and
:meth:`~.clipmodel.ClipModel.features`, streamed a batch at a time (a video's
frames are never held). Per video, ``OUT/<video_id>.npy`` (``[num_windows,
dim]``) is written atomically, then (``lmdb``) its vectors under RULSTM's keys,
then its entry in ``OUT/index.json``: a video is finished when its entry is
there, so an interrupted run redoes only unfinished videos. Several
processes (``torchrun``/``srun``) share the videos by rank; ``index.json`` is
updated under a file lock. A video that cannot be read is reported and
skipped; the run goes on.
"""
import contextlib
import fcntl
import json
import os
import os.path as osp
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from glob import glob
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .windows import Window
from ..utils import EpicError, UsageError

__all__ = ['VideoItem', 'videos_from_list', 'videos_from_root', 'dist_rank', 'shard',
           'window_centres', 'lmdb_key', 'FeatureExtractor', 'ExtractionSummary',
           'extract_features', 'read_index', 'INDEX_FILE']

INDEX_FILE = 'index.json'
LMDB_DIR = 'features.lmdb'
DTYPES = ('float32', 'float16')


@dataclass(frozen=True)
class VideoItem:
    """A video to extract: its id (output file name) and path."""
    video_id: str
    path: str


def _video_id(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def _dedup(items: List[Tuple[VideoItem, str]]) -> List[VideoItem]:
    seen: Dict[str, Tuple[VideoItem, str]] = {}
    for item, where in items:
        other = seen.get(item.video_id)
        if other is None:
            seen[item.video_id] = (item, where)
        elif other[0].path != item.path:
            raise UsageError(f'{where}: video id {item.video_id} is also {other[0].path} '
                             f'({other[1]}): outputs are named by id, make ids unique')
    return [item for item, _ in seen.values()]


def videos_from_list(list_file: str, data_root: str = '') -> List[VideoItem]:
    """Videos of a list file: one path a line, or a segment list (its videos).

    Paths are relative to ``data_root`` (absolute ones are kept); lines
    starting with ``#`` and blank lines are skipped. The id is the file name
    without its extension.
    """
    items = []
    with open(list_file, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields or fields[0].startswith('#'):
                continue
            if len(fields) not in (1, 6):
                raise UsageError(f'{list_file}:{number}: expected a video path, or the 6 '
                                 f'fields of a segment list, got {len(fields)}: '
                                 f'{line.strip()!r}')
            path = osp.join(data_root, fields[0]) if data_root else fields[0]
            items.append((VideoItem(_video_id(path), path), f'{list_file}:{number}'))
    if not items:
        raise UsageError(f'{list_file}: no videos listed')
    return _dedup(items)


def videos_from_root(video_root: str, template: str) -> List[VideoItem]:
    """Videos under ``video_root`` matching ``template`` (e.g. ``{participant_id}/{video_id}.MP4``).

    Every ``{field}`` matches one path component part; the id is the
    ``{video_id}`` field if the template has one, else the file name stem.
    """
    if not osp.isdir(video_root):
        raise UsageError(f'--video-root {video_root} is not a directory')
    fields = re.findall(r'{(\w+)}', template)
    if not fields and '*' not in template:
        raise UsageError(f'--video-template {template!r} has no {{field}} or *: it names '
                         'one file')
    pattern = re.sub(r'{\w+}', '*', template)
    regex, used = '', set()
    for part in re.split(r'({\w+})', template):
        name = re.fullmatch(r'{(\w+)}', part)
        if name is None:
            regex += re.escape(part).replace(r'\*', '[^/]*')
        else:
            regex += '[^/]+' if name[1] in used else f'(?P<{name[1]}>[^/]+)'
            used.add(name[1])
    items = []
    for path in sorted(glob(osp.join(video_root, pattern))):
        rel = osp.relpath(path, video_root)
        match = re.fullmatch(regex, rel)
        if match is None or not osp.isfile(path):
            continue
        vid = match.groupdict().get('video_id') or _video_id(path)
        items.append((VideoItem(vid, path), path))
    if not items:
        raise UsageError(f'no videos match {osp.join(video_root, template)}: check '
                         '--video-root and --video-template')
    return _dedup(items)


def dist_rank() -> Tuple[int, int]:
    """``(rank, world_size)`` from torchrun (``RANK``/``WORLD_SIZE``) or SLURM."""
    for rank, world in (('RANK', 'WORLD_SIZE'), ('SLURM_PROCID', 'SLURM_NTASKS')):
        if rank in os.environ and world in os.environ:
            r, w = int(os.environ[rank]), int(os.environ[world])
            if not 0 <= r < w:
                raise UsageError(f'{rank}={r} is not in 0..{world}-1={w - 1}')
            return r, w
    return 0, 1


def shard(items: Sequence[VideoItem], rank: int, world: int) -> List[VideoItem]:
    """This rank's videos: every ``world``-th of the list, so each is done by one rank."""
    return list(items[rank::world])


def window_centres(windows: Sequence[Window]) -> Tuple[np.ndarray, np.ndarray]:
    """``(frames, seconds)`` of the windows' centres.

    The centre frame is the middle frame of the inclusive range (the earlier
    of two for an even count); the centre time is the middle of the window's
    span, ``(start + end) / 2`` with ``end`` the end of its last frame.
    """
    frames = np.array([(w.start_frame + w.stop_frame) // 2 for w in windows], dtype=np.int64)
    seconds = np.array([(w.start + w.end) / 2 for w in windows], dtype=np.float64)
    return frames, seconds


def lmdb_key(video_id: str, centre_frame: int) -> str:
    """RULSTM's key of a feature: the window's centre frame, counted from 1."""
    return f'{video_id}_frame_{centre_frame + 1:010d}.jpg'


class FeatureExtractor:
    """A config + checkpoint turned into ``features(path, windows)``, a batch at a time."""

    def __init__(self, cfg, checkpoint: str, device: str = 'cpu',
                 batch_size: int = 8) -> None:
        from .clipmodel import ClipModel
        from .clips import ClipPipeline
        from .recognizer import build_model
        if batch_size < 1:
            raise UsageError(f'batch_size must be >= 1, got {batch_size}')
        self.clips = ClipPipeline.from_config(cfg, one_view=True)
        self.model = ClipModel(build_model(cfg, checkpoint, device))
        self.device = next(self.model.parameters()).device
        self.batch_size = batch_size

    @property
    def feature_layer(self) -> str:
        return self.model.feature_layer

    def _load(self, path: str, windows: Sequence[Window]):
        import torch
        return torch.cat([self.model.clips_from_inputs(self.clips.from_file(path, w)[0]['inputs'])
                          for w in windows])

    def features(self, path: str, windows: Sequence[Window]) -> Iterator[np.ndarray]:
        """``[b, dim]`` float32 features of consecutive batches of ``windows``.

        The next batch is decoded in a thread while the model runs.
        """
        import torch
        batches = [windows[i:i + self.batch_size]
                   for i in range(0, len(windows), self.batch_size)]
        if not batches:
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(self._load, path, batches[0])
            for i in range(len(batches)):
                clips = future.result()
                if i + 1 < len(batches):
                    future = pool.submit(self._load, path, batches[i + 1])
                with torch.no_grad():
                    yield self.model.features(clips.to(self.device)).float().cpu().numpy()


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    with open(path, 'a') as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def read_index(out_dir: str) -> dict:
    """``OUT/index.json`` (``{'videos': {}, 'failed': {}}`` when there is none)."""
    path = osp.join(out_dir, INDEX_FILE)
    if not osp.exists(path):
        return dict(videos={}, failed={})
    try:
        with open(path, encoding='utf-8') as f:
            index = json.load(f)
    except json.JSONDecodeError as e:
        raise UsageError(f'{path}: not valid JSON ({e}): remove it to redo every video') \
            from None
    index.setdefault('videos', {})
    index.setdefault('failed', {})
    return index


def _update_index(out_dir: str, update: Callable[[dict], None]) -> None:
    from ..utils.fileio import atomic_write
    with _locked(osp.join(out_dir, f'.{INDEX_FILE}.lock')):
        index = read_index(out_dir)
        update(index)
        with atomic_write(osp.join(out_dir, INDEX_FILE)) as f:
            json.dump(index, f)


@dataclass
class ExtractionSummary:
    """What one process did."""
    done: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)
    windows: int = 0
    seconds: float = 0.0

    @property
    def windows_per_s(self) -> float:
        return self.windows / self.seconds if self.seconds > 0 else 0.0


def _finished(index: dict, item: VideoItem, settings: dict, out_dir: str) -> bool:
    entry = index['videos'].get(item.video_id)
    return (entry is not None and all(entry.get(k) == v for k, v in settings.items())
            and osp.isfile(osp.join(out_dir, entry['file'])))


def _write_lmdb(path: str, video_id: str, centres: np.ndarray, feats: np.ndarray,
                map_size: int) -> None:
    import lmdb
    env = lmdb.open(path, map_size=map_size, subdir=True, lock=True)
    try:
        with env.begin(write=True) as txn:
            for frame, vector in zip(centres.tolist(), feats):
                txn.put(lmdb_key(video_id, frame).encode(),
                        np.ascontiguousarray(vector, dtype=np.float32).tobytes())
    finally:
        env.close()


def extract_video(extractor: FeatureExtractor, item: VideoItem, out_dir: str,
                  stride: float, window: float, dtype: str = 'float32',
                  lmdb_path: Optional[str] = None, lmdb_map_size: int = 1 << 36,
                  on_batch: Optional[Callable[[int], None]] = None) -> dict:
    """Extract one video; returns its ``index.json`` entry (not yet recorded there)."""
    from .sources import probe_file
    from .windows import sliding_windows
    from ..utils.fileio import atomic_outputs
    num_frames, fps = probe_file(item.path, extractor.clips.backend)
    windows = sliding_windows(num_frames, fps, window, stride)
    parts = []
    for feats in extractor.features(item.path, windows):
        parts.append(feats)
        if on_batch is not None:
            on_batch(len(feats))
    feats = np.concatenate(parts)
    npy = osp.join(out_dir, f'{item.video_id}.npy')
    with atomic_outputs([npy]) as (tmp, ):
        with open(tmp, 'wb') as f:
            np.save(f, feats.astype(dtype))
    centres, seconds = window_centres(windows)
    if lmdb_path is not None:
        _write_lmdb(lmdb_path, item.video_id, centres, feats, lmdb_map_size)
    return dict(path=item.path, file=osp.basename(npy), fps=fps, num_frames=num_frames,
                num_windows=len(windows), dim=int(feats.shape[1]),
                centre_frames=centres.tolist(), centres=[round(s, 9) for s in seconds],
                ranges=[[w.start_frame, w.stop_frame] for w in windows])


def extract_features(extractor: FeatureExtractor, videos: Sequence[VideoItem], out_dir: str,
                     stride: float = 1.0, window: Optional[float] = None,
                     dtype: str = 'float32', lmdb: bool = False, config: str = '',
                     checkpoint: str = '', rank: int = 0, world: int = 1,
                     lmdb_map_size: int = 1 << 36, progress: bool = True,
                     log=print) -> ExtractionSummary:
    """Extract this rank's share of ``videos`` into ``out_dir`` (see the module doc)."""
    from .onnx_export import file_sha256
    if dtype not in DTYPES:
        raise UsageError(f'dtype must be one of {DTYPES}, got {dtype!r}')
    window = stride if window is None else window
    os.makedirs(out_dir, exist_ok=True)
    settings = dict(stride=stride, window=window, dtype=dtype,
                    checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None,
                    config=osp.abspath(config) if config else None,
                    feature_layer=extractor.feature_layer)
    lmdb_path = osp.join(out_dir, LMDB_DIR) if lmdb else None
    mine = shard(videos, rank, world)
    index = read_index(out_dir)
    summary = ExtractionSummary()
    todo = []
    for item in mine:
        (summary.skipped if _finished(index, item, settings, out_dir) else todo).append(item)
    if summary.skipped:
        log(f'[rank {rank}/{world}] {len(summary.skipped)} of {len(mine)} videos already '
            f'extracted in {out_dir}, skipped')
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), unit='video', file=sys.stderr, dynamic_ncols=True,
                   desc=f'rank {rank}' if world > 1 else 'videos', disable=None)
    start = time.perf_counter()
    for item in todo:
        t0 = time.perf_counter()
        counted = []

        def on_batch(n: int) -> None:
            counted.append(n)
            if bar is not None:
                rate = (summary.windows + sum(counted)) / max(time.perf_counter() - start,
                                                              1e-9)
                bar.set_postfix_str(f'{rate:.1f} windows/s')
        try:
            entry = extract_video(extractor, item, out_dir, stride, window, dtype,
                                  lmdb_path, lmdb_map_size, on_batch)
        except (EpicError, OSError, RuntimeError, ValueError) as e:
            reason = f'{type(e).__name__}: {e}'.splitlines()[0]
            summary.failed[item.video_id] = reason
            log(f'[rank {rank}/{world}] FAILED {item.video_id} ({item.path}): {reason}; '
                'skipped')

            def record_failure(index: dict, vid=item.video_id, why=reason) -> None:
                index['failed'][vid] = why
            _update_index(out_dir, record_failure)
        else:
            entry.update(settings, rank=rank)

            def record(index: dict, vid=item.video_id, entry=entry) -> None:
                index['videos'][vid] = entry
                index['failed'].pop(vid, None)
            _update_index(out_dir, record)
            summary.done.append(item.video_id)
            summary.windows += entry['num_windows']
            seconds = time.perf_counter() - t0
            log(f'[rank {rank}/{world}] wrote {item.video_id}: {entry["num_windows"]} '
                f'windows x {entry["dim"]} in {seconds:.1f}s '
                f'({entry["num_windows"] / max(seconds, 1e-9):.1f} windows/s)')
        if bar is not None:
            bar.update(1)
    summary.seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return summary
