"""Storage before/after a re-encode, as report numbers and a printed table."""
from typing import List, Sequence


def _ratio(before: int, after: int) -> float:
    return round(after / before, 4) if before else None


def storage_summary(videos: Sequence[dict]) -> dict:
    """Bytes of the sources and outputs of the videos that were re-encoded.

    ``ratio`` is after / before (0.25: the outputs take a quarter of the
    space). Failed videos are counted apart.
    """
    done = [v for v in videos if v['status'] != 'failed']
    before = sum(v['src_bytes'] or 0 for v in done)
    after = sum(v['out_bytes'] or 0 for v in done)
    return dict(videos=len(done), bytes_before=before, bytes_after=after,
                ratio=_ratio(before, after), saved_bytes=before - after,
                failed_videos=len(videos) - len(done),
                failed_bytes=sum(v['src_bytes'] or 0 for v in videos
                                 if v['status'] == 'failed'))


def human_bytes(n) -> str:
    """'83.1 kB', '1.24 GB' (decimal units, as disk sizes are quoted)."""
    if n is None:
        return '-'
    for unit, scale in (('TB', 1e12), ('GB', 1e9), ('MB', 1e6), ('kB', 1e3)):
        if n >= scale:
            return f'{n / scale:.1f} {unit}'
    return f'{n} B'


def format_storage_table(report: dict, limit: int = 20) -> str:
    """A plain-text table: the largest ``limit`` videos, then the total."""
    rows: List[Sequence[str]] = [('video', 'status', 'frames', 'size', 'before',
                                  'after', 'after/before')]
    videos = sorted(report['videos'], key=lambda v: -(v['src_bytes'] or 0))
    for v in videos[:limit]:
        frames = size = '-'
        if v['status'] != 'failed':
            frames = f'{v["src_frames"]}->{v["num_frames"]}'
            size = '{}x{}->{}x{}'.format(*v['src_size'], *v['size'])
        ratio = _ratio(v['src_bytes'], v['out_bytes']) if v['out_bytes'] else None
        rows.append((v['video'], v['status'], frames, size,
                     human_bytes(v['src_bytes']), human_bytes(v['out_bytes']),
                     '-' if ratio is None else f'{ratio:.3f}'))
    if len(videos) > limit:
        rows.append((f'... {len(videos) - limit} more in the report', '', '', '', '',
                     '', ''))
    s = report['storage']
    rows.append((f'total ({s["videos"]} videos)', '', '', '',
                 human_bytes(s['bytes_before']), human_bytes(s['bytes_after']),
                 '-' if s['ratio'] is None else f'{s["ratio"]:.3f}'))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.ljust(w) if i < 4 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append('  '.join(cells).rstrip())
        if k == 0 or k == len(rows) - 2:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)
