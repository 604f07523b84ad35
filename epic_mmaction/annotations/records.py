"""Typed rows of the official EPIC-KITCHENS-100 CSVs, read by header.

Every CSV here is opened with :func:`open_csv`: ``utf-8-sig`` and ``newline=''``
accept the byte-order mark and CRLF line ends that spreadsheet programs write
when they save a CSV, which would otherwise turn the first column's name into
``'\ufeffnarration_id'``.
"""
import csv
from dataclasses import dataclass
from typing import IO, Dict, Iterable, List, Optional, Sequence

from .timestamps import parse_timestamp
from ..utils.errors import AnnotationError

REQUIRED = ('narration_id', 'participant_id', 'video_id', 'start_timestamp',
            'stop_timestamp', 'start_frame', 'stop_frame')
LABELS = ('verb_class', 'noun_class')
SHOWN_DUPLICATES = 5  # duplicated ids named in the error; the rest are counted


def open_csv(path: str, what: str) -> IO[str]:
    """Open a CSV as spreadsheet programs save it too (BOM, CRLF)."""
    try:
        return open(path, newline='', encoding='utf-8-sig')
    except OSError as e:
        raise AnnotationError(f'cannot read {what} {path}: {e.strerror}') from e


def csv_reader(f: IO[str], path: str) -> csv.DictReader:
    """A DictReader whose header names are stripped of blanks.

    Reading the header here turns a file in another encoding (UTF-16, Latin-1)
    into an error that names it, not a ``UnicodeDecodeError`` traceback.
    """
    reader = csv.DictReader(f)
    try:
        header = reader.fieldnames
    except UnicodeDecodeError:
        raise AnnotationError(f'{path}: not UTF-8 text; save it as CSV UTF-8') from None
    if header:
        reader.fieldnames = [name.strip() for name in header]
    return reader


def _rows(reader: csv.DictReader, path: str) -> Iterable[Dict[str, str]]:
    """The reader's rows; a byte that is not UTF-8 is an error naming the line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise AnnotationError(
                f'{path}:{reader.line_num + 1}: not UTF-8 text; save the file as '
                'CSV UTF-8') from None
        yield row


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
    def line(self) -> int:
        """The CSV line of the row (the header is line 1)."""
        return int(self.where.rsplit(':', 1)[1])

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


def check_unique_ids(rows: Sequence[Narration]) -> None:
    """Refuse repeated narration ids, naming each with the CSV lines of both rows.

    Results are keyed by narration id: a repeated row is scored twice, and the
    leaderboard export refuses it only after the whole test run.
    """
    first: Dict[str, Narration] = {}
    repeats: List[tuple] = []
    for row in rows:
        seen = first.setdefault(row.narration_id, row)
        if seen is not row:
            repeats.append((seen, row))
    if not repeats:
        return
    shown = '; '.join(f'{a.narration_id} ({a.where} and {b.where})'
                      for a, b in repeats[:SHOWN_DUPLICATES])
    more = (f' and {len(repeats) - SHOWN_DUPLICATES} more'
            if len(repeats) > SHOWN_DUPLICATES else '')
    raise AnnotationError(
        f'{len(repeats)} repeated narration id(s): {shown}{more}; every narration '
        'id must appear once: remove the repeated rows (or give one of them a new id)')


def read_narrations(path: str, unique: bool = True) -> List[Narration]:
    """Rows of an EPIC narration CSV; labels are read when the columns exist.

    ``unique``: refuse repeated narration ids (:func:`check_unique_ids`).
    """
    with open_csv(path, 'annotation file') as f:
        reader = csv_reader(f, path)
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise AnnotationError(
                f'{path}:1: not an EPIC-KITCHENS-100 narration CSV, missing '
                f'columns {missing} (have {header})')
        has_labels = all(c in header for c in LABELS)
        rows = []
        for raw in _rows(reader, path):
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
    if unique:
        check_unique_ids(rows)
    return rows


def read_classes(path: str) -> List[str]:
    """Class keys by id from ``EPIC_100_{verb,noun}_classes.csv`` (ids 0..N-1)."""
    with open_csv(path, 'class file') as f:
        reader = csv_reader(f, path)
        if not {'id', 'key'} <= set(reader.fieldnames or []):
            raise AnnotationError(f'{path}:1: class CSV needs columns id,key '
                                  f'(have {reader.fieldnames})')
        keys: Dict[int, str] = {}
        lines: Dict[int, int] = {}
        for raw in _rows(reader, path):
            where = f'{path}:{reader.line_num}'
            try:
                class_id = int(raw['id'])
            except (TypeError, ValueError):
                raise AnnotationError(
                    f'{where}: id must be an integer, got {raw["id"]!r}') from None
            if class_id in keys:
                raise AnnotationError(f'{where}: class id {class_id} is also on line '
                                      f'{lines[class_id]}; each id must appear once')
            keys[class_id], lines[class_id] = (raw['key'] or '').strip(), reader.line_num
    if sorted(keys) != list(range(len(keys))):
        raise AnnotationError(f'{path}: class ids are not 0..{len(keys) - 1}')
    return [keys[i] for i in range(len(keys))]


def read_video_info(path: str) -> Dict[str, dict]:
    """``EPIC_100_video_info.csv`` -> {video_id: {'fps', 'duration', 'resolution'}}."""
    with open_csv(path, 'video info') as f:
        reader = csv_reader(f, path)
        if not {'video_id', 'fps'} <= set(reader.fieldnames or []):
            raise AnnotationError(f'{path}:1: video info CSV needs video_id,fps '
                                  f'(have {reader.fieldnames})')
        info = {}
        for raw in _rows(reader, path):
            where = f'{path}:{reader.line_num}'
            try:
                fps = float(raw['fps'])
                duration = float(raw['duration']) if raw.get('duration') else None
            except (TypeError, ValueError):
                raise AnnotationError(f'{where}: fps/duration must be numbers') from None
            if not fps > 0:
                raise AnnotationError(f'{where}: fps must be > 0, got {raw["fps"]!r}')
            info[(raw['video_id'] or '').strip()] = dict(
                fps=fps, duration=duration, resolution=raw.get('resolution'))
    return info
