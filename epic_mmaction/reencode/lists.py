"""Rewrite list files for re-encoded videos, so each segment shows the same content.

Each row's video path becomes its output's (the same file name, or its
``.chunks`` directory) and its frames are renumbered with
:func:`.plan.map_segment`: unchanged without a rate change, else the output
frames showing the segment's source frames. Rows of videos that failed are
dropped; every changed or dropped row is reported with its line and reason.
"""
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Dict, List, Mapping, Tuple

from ..annotations.listfile import ListFormatError, Segment, parse_line, write_list
from ..video.manifest import ManifestError
from .plan import map_segment, output_frame_count

CHANGE_REASONS = ('mapped', 'nearest')
DROP_REASONS = ('video_failed', 'out_of_range')


@dataclass(frozen=True)
class VideoOutput:
    """What list rewriting needs to know about one re-encoded video."""
    path: str  # list path of the output: the file or the chunk directory
    src_fps: Fraction
    fps: Fraction
    src_frames: int
    num_frames: int

    @classmethod
    def from_manifest(cls, manifest: dict, path: str) -> 'VideoOutput':
        out = cls(path, Fraction(manifest['source']['fps']), Fraction(manifest['fps']),
                  int(manifest['source']['num_frames']), int(manifest['num_frames']))
        expected = output_frame_count(out.src_frames, out.src_fps, out.fps)
        if expected != out.num_frames:
            raise ManifestError(f'{path}: {out.num_frames} output frames, but '
                                f'{out.src_frames} source frames give {expected}')
        return out


def read_numbered_list(path: str) -> List[Tuple[int, Segment]]:
    """(line number, segment) for every segment row of a list file."""
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.readlines()
    except OSError as e:
        raise ListFormatError(f'cannot read list file {path}: {e.strerror}') from e
    return [(number, parse_line(line, f'{path}:{number}'))
            for number, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith('#')]


def rewrite_list(list_path: str, out_path: str, outputs: Mapping[str, VideoOutput],
                 failures: Mapping[str, str]) -> dict:
    """Write ``out_path`` for the videos in ``outputs``; returns what happened.

    ``failures`` maps a video that could not be re-encoded to why: its rows
    are dropped with that reason.
    """
    kept: List[Segment] = []
    changed: List[dict] = []
    dropped: List[dict] = []
    rows = read_numbered_list(list_path)
    for line, seg in rows:
        entry = dict(line=line, narration_id=seg.narration_id, video=seg.video,
                     start=seg.start, stop=seg.stop)
        out = outputs.get(seg.video)
        if out is None:
            detail = failures.get(seg.video, 'the video was not re-encoded')
            dropped.append(dict(entry, reason='video_failed', detail=detail))
            continue
        try:
            mapped = map_segment(seg.start, seg.stop, out.src_frames, out.src_fps,
                                 out.fps)
        except ValueError as e:
            dropped.append(dict(entry, reason='out_of_range', detail=(
                f'{e}; run tools/clean_segments.py on the list first')))
            continue
        if mapped.how != 'same':
            changed.append(dict(entry, new_start=mapped.start, new_stop=mapped.stop,
                                reason=mapped.how))
        kept.append(replace(seg, video=out.path, start=mapped.start, stop=mapped.stop))
    write_list(out_path, kept)
    changed_by: Dict[str, int] = {r: 0 for r in CHANGE_REASONS}
    dropped_by: Dict[str, int] = {r: 0 for r in DROP_REASONS}
    for entry in changed:
        changed_by[entry['reason']] += 1
    for entry in dropped:
        dropped_by[entry['reason']] += 1
    return dict(list=list_path, out=out_path,
                counts={'in': len(rows), 'written': len(kept), 'changed': len(changed),
                        'changed_by_reason': changed_by, 'dropped': len(dropped),
                        'dropped_by_reason': dropped_by},
                changed_segments=changed, dropped_segments=dropped)
