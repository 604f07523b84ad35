"""tools/benchmark_cleaning.py: segments, rows and table (times are not asserted)."""
import os.path as osp
import subprocess
import sys

from benchmark.cleaning import format_table, time_cleaning, video_segments
from benchmark.videos import VideoSpec, write_benchmark_video

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_video_segments_epic_like():
    segs = video_segments('v.mp4', 36000, 59.94, 11.2)
    assert len(segs) == 112  # 10 minutes at 11.2 per minute
    assert all(0 <= s.start <= s.stop < 36000 for s in segs)
    assert len({s.narration_id for s in segs}) == len(segs)


def test_time_cleaning_rows_and_table(tmp_path):
    spec = VideoSpec.parse('160x96@30:4s:gop30')
    path = write_benchmark_video(str(tmp_path / 'v.mp4'), spec)
    rows = time_cleaning(path, spec.num_frames, 30.0, '160x96', ['pyav', 'decord'],
                         ['default', 'full'], per_minute=60)
    assert [(r.backend, r.mode) for r in rows] == [
        ('pyav', 'default'), ('pyav', 'full'), ('decord', 'default'), ('decord', 'full')]
    for r in rows:
        assert r.segments == 4 and r.kept == 4 and r.seconds > 0 and r.cpu_seconds > 0
    # full mode decodes every frame of every segment, default only their ends
    assert rows[1].checked_frames > rows[0].checked_frames
    assert rows[0].checked_frames == rows[2].checked_frames
    table = format_table(rows, dataset_hours=100, workers=8).splitlines()
    assert len(table) == 2 + len(rows)
    assert all(line.count('|') == table[0].count('|') for line in table)
    assert '100 h, 8 workers' in table[0]


def test_cli_bad_spec_is_one_line():
    out = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'benchmark_cleaning.py'),
                          '--generate', '640x360@fast'], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 2 and 'Traceback' not in out.stderr
    assert out.stderr.strip().startswith('benchmark_cleaning.py: error: bad video spec')
