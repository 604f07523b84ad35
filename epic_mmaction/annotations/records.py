"""Typed rows of the official EPIC-KITCHENS-100 CSVs, read by header."""
import csv
from dataclasses import dataclass
from typing import Dict, List, Optional

from .timestamps import parse_timestamp
from ..utils.errors import AnnotationError

REQUIRED = ('narration_id', 'participant_id', 'video_id', 'start_timestamp',
            'stop_timestamp', 'start_frame', 'stop_frame')
LABELS = ('verb_class', 'noun_class')



@dataclass(frozen=True)
class Narration:
    """One row of ``EPIC_100_{train,validation,test_timestamps}.csv``.

    ``start``/``stop`` are seconds (``None`` if the CSV left them empty);
    ``verb_class``/``noun_class`` are ``None`` in the test split.
    """
    narration_id: str
    participant_id: str
    video_id: str
    narration_timestamp: Optional[str]
    start: Optional[float]
    stop: Optional[float]
    start_frame: Optional[int]
    stop_frame: Optional[int]
    verb_class: Optional[int]
    noun_class: Optional[int]
    where: str  # 'file:line', for messages

    @property
    def labelled(self) -> bool:
        return self.verb_class is not None and self.noun_class is not None


def _optional(raw: Dict[str, str], key: str) -> Optional[str]:
    value = (raw.get(key) or '').strip()
    return value or None


def _int(raw: Dict[str, str], key: str, where: str) -> Optional[int]:
    value = _optional(raw, key)
    if value is None:
        return None
    try:
        return int(float(value)) if value.endswith('.0') else int(value)
    except ValueError:
        raise AnnotationError(f'{where}: {key} must be an integer, got {value!r}') from None


def _time(raw: Dict[str, str], key: str, where: str) -> Optional[float]:
    value = _optional(raw, key)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise AnnotationError(
            f'{where}: {key} must be HH:MM:SS.ss, got {value!r}') from None


def read_narrations(path: str) -> List[Narration]:
    """Rows of an EPIC narration CSV; labels are read when the columns exist."""
    try:
        f = open(path, newline='', encoding='utf-8')
    except OSError as e:
        raise AnnotationError(f'cannot read annotation file {path}: {e.strerror}') from e
    with f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise AnnotationError(
                f'{path}:1: not an EPIC-KITCHENS-100 narration CSV, missing '
                f'columns {missing} (have {header})')
        has_labels = all(c in header for c in LABELS)
        rows = []
        for raw in reader:
            where = f'{path}:{reader.line_num}'
            narration_id = _optional(raw, 'narration_id')
            video_id = _optional(raw, 'video_id')
            if narration_id is None or video_id is None:
                raise AnnotationError(f'{where}: empty narration_id or video_id')
            rows.append(Narration(
                narration_id=narration_id,
                participant_id=_optional(raw, 'participant_id') or narration_id.split('_')[0],
                video_id=video_id,
                narration_timestamp=_optional(raw, 'narration_timestamp'),
                start=_time(raw, 'start_timestamp', where),
                stop=_time(raw, 'stop_timestamp', where),
                start_frame=_int(raw, 'start_frame', where),
                stop_frame=_int(raw, 'stop_frame', where),
                verb_class=_int(raw, 'verb_class', where) if has_labels else None,
                noun_class=_int(raw, 'noun_class', where) if has_labels else None,
                where=where))
    return rows


def read_classes(path: str) -> List[str]:
    """Class keys by id from ``EPIC_100_{verb,noun}_classes.csv`` (ids 0..N-1)."""
    try:
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            if not {'id', 'key'} <= set(reader.fieldnames or []):
                raise AnnotationError(f'{path}:1: class CSV needs columns id,key')
            keys = {}
            for raw in reader:
                keys[int(raw['id'])] = raw['key']
    except OSError as e:
        raise AnnotationError(f'cannot read class file {path}: {e.strerror}') from e
    if sorted(keys) != list(range(len(keys))):
        raise AnnotationError(f'{path}: class ids are not 0..{len(keys) - 1}')
    return [keys[i] for i in range(len(keys))]


def read_video_info(path: str) -> Dict[str, dict]:
    """``EPIC_100_video_info.csv`` -> {video_id: {'fps', 'duration', 'resolution'}}."""
    try:
        with open(path, newline='', encoding='utf-8') as f:
            reader = csv.DictReader(f)
            if not {'video_id', 'fps'} <= set(reader.fieldnames or []):
                raise AnnotationError(f'{path}:1: video info CSV needs video_id,fps')
            info = {}
            for raw in reader:
                where = f'{path}:{reader.line_num}'
                try:
                    fps = float(raw['fps'])
                    duration = float(raw['duration']) if raw.get('duration') else None
                except ValueError:
                    raise AnnotationError(f'{where}: fps/duration must be numbers') from None
                info[raw['video_id']] = dict(fps=fps, duration=duration,
                                             resolution=raw.get('resolution'))
    except OSError as e:
        raise AnnotationError(f'cannot read video info {path}: {e.strerror}') from e
    return info
