"""Official EPIC-KITCHENS-100 CSVs -> list files, pair vocabulary and meta files.

Segments are placed by timestamp times the video's *real* fps (from the file,
else ``EPIC_100_video_info.csv``, else a fixed ``fps``), which keeps them within
a frame of the annotated time anywhere in an hour-long 59.94 fps video. The
CSV frame columns, which count at a nominal 60/50 fps, can be used instead
(rescaled). Every dropped row is listed with its reason and CSV line in
``<list>.meta.json``.

Input errors (repeated narration ids, an output folder that cannot be written,
videos missing under ``data_root``) are found before any video is opened, and
the lists, their meta files and ``pairs.json`` are written together or not at
all: a list never sits beside the vocabulary or meta of another build.
"""
import json
import os.path as osp
import random
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..utils import UsageError
from ..utils.fileio import atomic_outputs
from .outdir import check_out_dir, check_targets
from .timestamps import nominal_fps, nominal_frames_to_times, time_range_to_frames
from .listfile import UNLABELLED, Segment, write_list
from .pairs import PairVocabulary
from .records import (AnnotationError, Narration, check_unique_ids, read_narrations,
                      read_video_info)
from .videometa import read_video_meta

SPLIT_CSVS = OrderedDict(train='EPIC_100_train.csv', val='EPIC_100_validation.csv',
                         test='EPIC_100_test_timestamps.csv')
VIDEO_INFO = 'EPIC_100_video_info.csv'
FPS_SOURCES = ('auto', 'file', 'video_info', 'flag')
FRAME_SOURCES = ('timestamps', 'csv_frames')

DROP_NO_TIME = 'missing start/stop timestamp'
DROP_ZERO = 'zero-length range'
DROP_REVERSED = 'reversed range (stop before start)'
DROP_PAST_END = 'starts after the end of the video'
MOST_MISSING = 0.5  # more videos than this share missing under data_root: an error


@dataclass
class BuildOptions:
    """What :func:`build_annotations` reads and how (see tools/build_annotations.py)."""
    annotations_dir: str
    out_dir: str = 'data_lists'
    data_root: Optional[str] = None
    video_info: Optional[str] = None  # default: <annotations_dir>/EPIC_100_video_info.csv
    fps: Optional[float] = None
    fps_source: str = 'auto'
    frame_source: str = 'timestamps'
    splits: Sequence[str] = ('train', 'val', 'test')
    pairs_from: str = 'train'  # 'train', 'val', 'train+val' or 'none'
    video_template: str = '{participant_id}/{video_id}.MP4'
    prefix: str = 'epic100'
    holdout_by: Optional[str] = None  # 'video' or 'participant'
    holdout_fraction: float = 0.1
    seed: int = 0
    # write the rows of videos missing under data_root even when most are missing
    allow_missing_videos: bool = False

    def __post_init__(self) -> None:
        if self.fps_source not in FPS_SOURCES:
            raise UsageError(f'fps_source must be one of {FPS_SOURCES}')
        if self.frame_source not in FRAME_SOURCES:
            raise UsageError(f'frame_source must be one of {FRAME_SOURCES}')
        for split in self.splits:
            if split not in SPLIT_CSVS:
                raise UsageError(f'unknown split {split!r}; use {list(SPLIT_CSVS)}')
        if self.pairs_from != 'none' and not set(self.pairs_from.split('+')) <= {'train', 'val'}:
            raise UsageError("pairs_from must be 'train', 'val', 'train+val' or 'none'")
        if self.holdout_by not in (None, 'video', 'participant'):
            raise UsageError("holdout_by must be 'video' or 'participant'")
        if not 0 < self.holdout_fraction < 1:
            raise UsageError('holdout_fraction must be in (0, 1)')


@dataclass
class VideoTiming:
    fps: float
    source: str
    num_frames: Optional[int] = None


class FpsResolver:
    """The real fps of each video, from the first source that knows it."""

    def __init__(self, opts: BuildOptions) -> None:
        self.opts = opts
        info_path = opts.video_info or osp.join(opts.annotations_dir, VIDEO_INFO)
        self.info: Dict[str, dict] = {}
        if opts.fps_source in ('auto', 'video_info') and osp.isfile(info_path):
            self.info = read_video_info(info_path)
        elif opts.fps_source == 'video_info':
            raise AnnotationError(f'--fps-source video_info, but {info_path} is missing')
        if opts.fps_source == 'flag' and not opts.fps:
            raise AnnotationError('--fps-source flag needs --fps')
        if opts.fps_source == 'file' and not opts.data_root:
            raise AnnotationError('--fps-source file needs --data-root')
        self._cache: Dict[str, VideoTiming] = {}

    def video_path(self, row: Narration) -> str:
        return self.opts.video_template.format(
            participant_id=row.participant_id, video_id=row.video_id)

    def __call__(self, row: Narration) -> VideoTiming:
        if row.video_id not in self._cache:
            self._cache[row.video_id] = self._resolve(row)
        return self._cache[row.video_id]

    def _resolve(self, row: Narration) -> VideoTiming:
        source = self.opts.fps_source
        if source in ('auto', 'file') and self.opts.data_root:
            path = osp.join(self.opts.data_root, self.video_path(row))
            if osp.isfile(path):
                try:
                    meta = read_video_meta(path)
                    return VideoTiming(meta.fps, 'file', meta.num_frames)
                except ValueError:
                    if source == 'file':
                        raise
            elif source == 'file':
                raise AnnotationError(
                    f'{row.where}: video {path} not found (--fps-source file)')
        if source in ('auto', 'video_info') and row.video_id in self.info:
            return VideoTiming(self.info[row.video_id]['fps'], 'video_info')
        if source in ('auto', 'flag') and self.opts.fps:
            return VideoTiming(float(self.opts.fps), 'flag')
        raise AnnotationError(
            f'{row.where}: no fps for video {row.video_id}: give --data-root '
            f'with the videos, an {VIDEO_INFO} that lists it, or --fps')


def narration_to_segment(row: Narration, timing: VideoTiming, video: str,
                         frame_source: str) -> Tuple[Optional[Segment], Optional[str]]:
    """One CSV row -> (segment, None) or (None, reason it was dropped)."""
    if frame_source == 'csv_frames':
        if row.start_frame is None or row.stop_frame is None:
            return None, 'missing start/stop frame'
        start, stop = nominal_frames_to_times(row.start_frame, row.stop_frame,
                                              nominal_fps(row.video_id))
    else:
        if row.start is None or row.stop is None:
            return None, DROP_NO_TIME
        start, stop = row.start, row.stop
    if stop == start:
        return None, DROP_ZERO
    if stop < start:
        return None, DROP_REVERSED
    first, last = time_range_to_frames(start, stop, timing.fps)
    if timing.num_frames is not None:
        if first >= timing.num_frames:
            return None, DROP_PAST_END
        if last == timing.num_frames:  # ends on the video's end: rounding
            last = timing.num_frames - 1
    verb = row.verb_class if row.labelled else UNLABELLED
    noun = row.noun_class if row.labelled else UNLABELLED
    return Segment(video, first, last, verb, noun, row.narration_id), None


def convert(rows: List[Narration], resolver: FpsResolver, frame_source: str
            ) -> Tuple[List[Segment], Counter, Counter, List[dict]]:
    """Rows -> segments, with drop reasons, notes (kept rows' oddities) and the
    dropped rows themselves (id, CSV line, reason) for the meta file."""
    segments, dropped, notes, dropped_rows = [], Counter(), Counter(), []
    for row in rows:
        if row.narration_timestamp is None:
            notes['missing narration_timestamp (kept: not needed)'] += 1
        seg, reason = narration_to_segment(row, resolver(row), resolver.video_path(row),
                                           frame_source)
        if seg is None:
            dropped[reason] += 1
            dropped_rows.append(dict(narration_id=row.narration_id, line=row.line,
                                     reason=reason))
        else:
            segments.append(seg)
    return segments, dropped, notes, dropped_rows


def check_list_fields(rows: Sequence[Narration], resolver: FpsResolver) -> None:
    """List files are space-separated: ids and video paths must have no blanks."""
    for row in rows:
        for what, value in (('narration_id', row.narration_id),
                            ('video path', resolver.video_path(row))):
            if any(c.isspace() for c in value):
                raise AnnotationError(
                    f'{row.where}: whitespace in the {what} {value!r}; list files are '
                    'space-separated: fix the CSV (or --video-template)')


def find_missing_videos(rows: Sequence[Narration], resolver: FpsResolver,
                        opts: BuildOptions) -> Dict[str, Narration]:
    """Videos of ``rows`` not found under ``data_root`` -> the first row of each.

    Without a data root nothing can be checked ({}). A row of a missing video
    is still written (its fps comes from the video info or ``--fps``, as with
    ``--fps-source auto``), but when most videos are missing the data root or
    the template is wrong, and the lists would name files that are not there:
    that is an error unless ``allow_missing_videos`` (a partial download).
    ``--fps-source file`` needs every video.
    """
    if not opts.data_root:
        return {}
    if not osp.isdir(opts.data_root):
        raise AnnotationError(f'--data-root {opts.data_root} is not a folder; give the '
                              'folder the list paths are relative to, or leave it out')
    first: Dict[str, Narration] = {}
    for row in rows:
        first.setdefault(resolver.video_path(row), row)
    missing = {v: r for v, r in first.items()
               if not osp.isfile(osp.join(opts.data_root, v))}
    if not missing:
        return {}
    video, row = next(iter(missing.items()))
    example = (f'{len(missing)} of {len(first)} videos not found under --data-root '
               f'{opts.data_root}, e.g. {osp.join(opts.data_root, video)} (for '
               f'{row.where})')
    if opts.fps_source == 'file':
        raise AnnotationError(f'{example}; --fps-source file reads the fps of every '
                              'video: check --data-root and --video-template '
                              f"'{opts.video_template}', or use --fps-source auto")
    if len(missing) > MOST_MISSING * len(first) and not opts.allow_missing_videos:
        raise AnnotationError(
            f"{example}; check --data-root and --video-template '{opts.video_template}'"
            ' (the path under the root), or add --allow-missing-videos to write their '
            'rows anyway (e.g. a partial download)')
    return missing


def holdout_split(segments: List[Segment], by: str, fraction: float,
                  seed: int) -> Tuple[List[Segment], List[Segment]]:
    """Split labelled segments into (kept, held out) by whole videos or participants."""
    key = (lambda s: s.video) if by == 'video' else (lambda s: s.participant_id)
    groups = sorted({key(s) for s in segments})
    if len(groups) < 2:
        raise AnnotationError(f'cannot hold out by {by}: only {len(groups)} group(s)')
    count = min(len(groups) - 1, max(1, round(fraction * len(groups))))
    held = set(random.Random(seed).sample(groups, count))
    return ([s for s in segments if key(s) not in held],
            [s for s in segments if key(s) in held])


def check_split_options(opts: BuildOptions) -> None:
    """Options that need splits not asked for, refused before any work."""
    if opts.holdout_by and 'train' not in opts.splits:
        raise AnnotationError('--holdout-by needs the train split')
    if opts.pairs_from != 'none':
        missing = [s for s in opts.pairs_from.split('+') if s not in opts.splits]
        if missing:
            raise AnnotationError(
                f'--pairs-from {opts.pairs_from} needs the {missing} split(s); '
                f'add them to --splits or use --pairs-from '
                f'{"val" if "val" in opts.splits else "none"}')


def meta_path(list_path: str) -> str:
    """``epic100_val.txt`` -> ``epic100_val.meta.json``."""
    base = list_path[:-4] if list_path.endswith('.txt') else list_path
    return base + '.meta.json'


def build_annotations(opts: BuildOptions) -> dict:
    """Build every requested split; returns a summary (also in the meta files).

    Every input is checked before a video is opened or a file written.
    """
    check_split_options(opts)
    check_out_dir(opts.out_dir)
    resolver = FpsResolver(opts)
    sources: Dict[str, Tuple[str, List[Narration]]] = {}
    for split in opts.splits:
        csv_path = osp.join(opts.annotations_dir, SPLIT_CSVS[split])
        if not osp.isfile(csv_path):
            raise AnnotationError(
                f'{csv_path} not found: put the official CSVs in '
                f'{opts.annotations_dir} or drop {split!r} from --splits')
        sources[split] = (csv_path, read_narrations(csv_path))
    all_rows = [row for _, rows in sources.values() for row in rows]
    check_unique_ids(all_rows)  # within each CSV (read_narrations) and across them
    check_list_fields(all_rows, resolver)
    absent_videos = find_missing_videos(all_rows, resolver, opts)

    results: Dict[str, dict] = {}
    for split, (csv_path, rows) in sources.items():
        segments, dropped, notes, dropped_rows = convert(rows, resolver,
                                                         opts.frame_source)
        if rows and not segments:  # every consumer refuses an empty list: say why
            reasons = ', '.join(f'{n} {why}' for why, n in dropped.most_common(3))
            raise AnnotationError(
                f'{csv_path}: all {len(rows)} row(s) dropped ({reasons}); nothing '
                'would be left to train or test on: check the CSV and --fps')
        if split == 'test' and any(r.labelled for r in rows):
            notes['labels ignored in the test split'] += 1
        results[split] = dict(source=csv_path, rows=rows, segments=segments,
                              dropped=dropped, notes=notes, dropped_rows=dropped_rows)

    lists: Dict[str, List[Segment]] = {s: r['segments'] for s, r in results.items()}
    if opts.holdout_by:
        lists['train'], lists['holdout'] = holdout_split(
            lists['train'], opts.holdout_by, opts.holdout_fraction, opts.seed)

    summary = dict(options=asdict(opts), lists={})
    if absent_videos:
        video, row = next(iter(absent_videos.items()))
        summary['missing_videos'] = dict(
            count=len(absent_videos), total=len({resolver.video_path(r) for r in all_rows}),
            data_root=opts.data_root, example=osp.join(opts.data_root, video),
            example_row=row.where)
    # path -> writer of its temporary; committed together at the end
    outputs: Dict[str, Callable[[str], None]] = OrderedDict()
    vocab = None
    if opts.pairs_from != 'none':
        sources = opts.pairs_from.split('+')
        vocab = PairVocabulary.from_labels(
            ((s.verb, s.noun) for src in sources for s in lists[src] if s.labelled),
            sources=[SPLIT_CSVS[s] if s in SPLIT_CSVS else s for s in sources])
        pairs_path = osp.join(opts.out_dir, 'pairs.json')
        outputs[pairs_path] = vocab.save
        summary['pairs'] = dict(path=pairs_path, num_pairs=len(vocab), sources=sources)

    for name, segments in lists.items():
        origin = results['train' if name == 'holdout' else name]
        path = osp.join(opts.out_dir, f'{opts.prefix}_{name}.txt')
        fps_sources = {}
        for row in origin['rows']:
            timing = resolver(row)
            fps_sources[row.video_id] = dict(fps=timing.fps, source=timing.source)
        videos = {s.video.split('/')[-1].rsplit('.', 1)[0] for s in segments}
        meta = dict(
            source=origin['source'], list=path, rows_in=len(origin['rows']),
            rows_written=len(segments),
            rows_dropped=dict(origin['dropped']), notes=dict(origin['notes']),
            frame_source=opts.frame_source, video_template=opts.video_template,
            fps_per_video={v: fps_sources[v] for v in sorted(videos)},
            fps_sources=dict(Counter(fps_sources[v]['source'] for v in videos)),
            dropped_rows=origin['dropped_rows'])
        listed = {s.video for s in segments}
        absent = sorted(v for v in absent_videos if v in listed)
        if absent:
            meta['videos_missing'] = dict(data_root=opts.data_root, videos=absent)
        if name in ('train', 'holdout') and opts.holdout_by:
            meta['holdout'] = dict(by=opts.holdout_by, fraction=opts.holdout_fraction,
                                   seed=opts.seed, part=name)
        if vocab is not None:
            labelled = [s for s in segments if s.labelled]
            meta['pairs_in_vocabulary'] = sum((s.verb, s.noun) in vocab for s in labelled)
            meta['pairs_not_in_vocabulary'] = len(labelled) - meta['pairs_in_vocabulary']
        outputs[path] = _list_writer(segments)
        outputs[meta_path(path)] = _json_writer(meta)
        summary['lists'][name] = {k: meta[k] for k in (
            'list', 'rows_in', 'rows_written', 'rows_dropped', 'notes', 'fps_sources')}
        summary['lists'][name].update(meta=meta_path(path), missing_videos=len(absent))
    check_targets(list(outputs))
    with atomic_outputs(list(outputs)) as temps:
        for tmp, write in zip(temps, outputs.values()):
            write(tmp)
    return summary


def _list_writer(segments: List[Segment]) -> Callable[[str], None]:
    return lambda tmp: write_list(tmp, segments)


def _json_writer(data: dict) -> Callable[[str], None]:
    def write(tmp: str) -> None:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=1)
    return write
