"""The segment list format shared by every tool and the dataset.

One segment a line, space separated::

    <video path relative to data root> <start> <stop> <verb_class> <noun_class> <narration_id>

``start``/``stop`` are 0-based and inclusive, in the video file's own frame
numbering; ``stop`` may be ``-1``: to the video's last frame, whose number is
read from the video when it is opened (whole-video lists whose builder did
not count frames). Unlabelled (test) rows carry ``-1 -1``. Paths may not
contain spaces (EPIC's never do). Lines starting with ``#`` are comments.

Single-label lists (whole-video datasets such as UCF50 or HRI30, where each
video is one clip of one class) use the same six columns: the class in the
``verb`` column, ``-1`` in the ``noun`` column and the clip's id (the file
name without extension) as ``narration_id``; ``-1`` as the class marks an
unlabelled (test) video. ``EpicSegmentVideoDataset(label_mode='single')``
reads them.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..utils.fileio import atomic_write
from ..utils import EpicError

UNLABELLED = -1
TO_END = -1  # ``stop`` of a segment that runs to the video's last frame


class ListFormatError(EpicError, ValueError):
    """A list file line that cannot be used; the message names file and line."""


class EmptyListError(ListFormatError):
    """A list without a single segment: nothing to train or test on."""


class DuplicateNarrationError(ListFormatError):
    """A narration id on two rows: results are kept per narration, so one would be lost."""


@dataclass(frozen=True)
class Segment:
    """One row of a list file."""
    video: str
    start: int
    stop: int
    verb: int
    noun: int
    narration_id: str

    @property
    def to_end(self) -> bool:
        """Whether ``stop`` is the video's last frame, unknown until it is opened."""
        return self.stop == TO_END

    @property
    def num_frames(self) -> Optional[int]:
        """Frames in the segment; None for a segment that runs to the end."""
        return None if self.to_end else self.stop - self.start + 1

    @property
    def participant_id(self) -> str:
        """``P01`` from ``P01_11_0`` (EPIC narration ids start with it)."""
        return self.narration_id.split('_', 1)[0]

    @property
    def labelled(self) -> bool:
        return self.verb != UNLABELLED and self.noun != UNLABELLED

    def to_line(self) -> str:
        return (f'{self.video} {self.start} {self.stop} {self.verb} {self.noun} '
                f'{self.narration_id}')


def parse_line(line: str, where: str = '<string>') -> Segment:
    """Parse one list line; ``where`` ('file:line') goes into the error."""
    fields = line.split()
    if len(fields) != 6:
        raise ListFormatError(
            f'{where}: expected 6 fields "<video> <start> <stop> <verb> <noun> '
            f'<narration_id>", got {len(fields)}: {line.strip()!r}. Rebuild the '
            'list with tools/build_annotations.py')
    video, start, stop, verb, noun, narration_id = fields
    try:
        start_i, stop_i, verb_i, noun_i = int(start), int(stop), int(verb), int(noun)
    except ValueError:
        raise ListFormatError(
            f'{where}: start, stop, verb and noun must be integers: '
            f'{line.strip()!r}') from None
    if start_i < 0 or (stop_i < start_i and stop_i != TO_END):
        raise ListFormatError(
            f'{where}: frame range {start_i}..{stop_i} is empty or negative '
            f'(stop is inclusive; -1 means to the last frame): {line.strip()!r}')
    if verb_i < UNLABELLED or noun_i < UNLABELLED:
        raise ListFormatError(f'{where}: class ids must be >= -1: {line.strip()!r}')
    return Segment(video, start_i, stop_i, verb_i, noun_i, narration_id)


def read_numbered_list(path: str) -> List[Tuple[int, Segment]]:
    """``(line number, segment)`` of every segment row, in order (for messages)."""
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.readlines()
    except OSError as e:
        raise ListFormatError(f'cannot read list file {path}: {e.strerror}') from e
    return [(number, parse_line(line, f'{path}:{number}'))
            for number, line in enumerate(lines, 1)
            if line.strip() and not line.lstrip().startswith('#')]


def check_list(path: str, rows: Sequence[Tuple[int, Segment]]) -> None:
    """Refuse a list no consumer can use: without segments, or with a narration twice.

    An empty list otherwise fails deep inside training ("need at least one
    array to concatenate"), and a duplicate id only when results are written,
    after the whole test run. ``rows`` as :func:`read_numbered_list` returns.
    """
    if not rows:
        raise EmptyListError(
            f'{path} has no segments (empty, or only comments): rebuild it with '
            'tools/build_annotations.py, and check --data-root if tools/'
            'clean_segments.py dropped every segment as a missing video')
    first: Dict[str, int] = {}
    for number, seg in rows:
        seen = first.setdefault(seg.narration_id, number)
        if seen != number:
            raise DuplicateNarrationError(
                f'{path}:{number}: narration id {seg.narration_id} is already on line '
                f'{seen}; each narration must appear once (remove one of the rows, or '
                'rebuild the list with tools/build_annotations.py)')


def read_list(path: str, check: bool = False) -> List[Segment]:
    """All segments of a list file, in order.

    ``check=True`` also refuses a list that is empty or names a narration
    twice (:func:`check_list`): what every consumer of a list as a dataset
    (training, testing, cleaning, clip checks) should ask for.
    """
    rows = read_numbered_list(path)
    if check:
        check_list(path, rows)
    return [seg for _, seg in rows]


def write_list(path: str, segments: Iterable[Segment]) -> int:
    """Write segments atomically; returns how many were written."""
    count = 0
    with atomic_write(path) as f:
        for seg in segments:
            if any(c.isspace() for c in seg.video + seg.narration_id):
                raise ListFormatError(
                    f'{path}: whitespace in video path or narration id of '
                    f'{seg.narration_id!r} ({seg.video!r}); rename the file')
            f.write(seg.to_line() + '\n')
            count += 1
    return count
