"""tools/reencode_videos.py end to end in a subprocess: lower rate, smaller size,
chunks, a broken video among good ones, the report and the printed table.
Error paths call ``main`` in this process (a subprocess spends seconds importing).
"""
import json
import os
import os.path as osp
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from epic_mmaction.annotations.listfile import read_list
from epic_mmaction.reencode import load_manifest, map_segment
from epic_mmaction.reencode.plan import output_frame_count, source_frame

from .. import conftest
from ..conftest import REPO
from .helpers import codes_of, decode_segment, segment_init

TOOL = osp.join(REPO, 'tools', 'reencode_videos.py')
BROKEN = 'P09/P09_01.MP4'


def load_tool():
    return conftest.load_tool('reencode_videos')


@pytest.fixture(scope='module')
def cli_run(source, tmp_path_factory):
    """--fps 30 --short-side 72 --chunk-seconds 1 over the lists plus a broken video."""
    tmp = tmp_path_factory.mktemp('cli')
    src = tmp / 'videos'  # the source videos (linked) and one that is not a video
    for plan in source.plans:
        os.makedirs(src / osp.dirname(plan.rel_path), exist_ok=True)
        os.symlink(osp.join(source.videos, plan.rel_path), src / plan.rel_path)
    os.makedirs(src / 'P09')
    (src / BROKEN).write_bytes(os.urandom(5000))
    broken_list = tmp / 'broken.txt'
    good = read_list(source.lists[0])[0]
    broken_list.write_text(f'# a comment line\n{BROKEN} 10 20 1 2 P09_01_0\n'
                           f'{good.to_line()}\n{BROKEN} 30 40 1 2 P09_01_1\n')
    lists = [*source.lists, str(broken_list)]
    out, out_lists, report = tmp / 'out', tmp / 'lists', tmp / 'report.json'
    proc = subprocess.run(
        [sys.executable, TOOL, str(src), str(out), '--lists', *lists,
         '--out-lists', str(out_lists), '--fps', '30', '--short-side', '72',
         '--chunk-seconds', '1', '--gop', '8', '--workers', '1', '--report',
         str(report), '--benchmark', '12'], cwd=REPO, capture_output=True, text=True, timeout=300)
    with open(report) as f:
        return proc, lists, str(out), str(out_lists), json.load(f)


def test_cli_report_and_table(source, cli_run):
    proc, lists, _, out_lists, report = cli_run
    assert proc.returncode == 1, proc.stderr  # a video failed
    assert f'FAILED {BROKEN}' in proc.stderr and 'Run again' in proc.stderr
    assert 'after/before' in proc.stdout and 'total (2 videos)' in proc.stdout
    assert 'report:' in proc.stdout
    assert report['counts']['videos'] == dict(total=3, encoded=2, kept=0, failed=1)
    assert report['failed_videos'][0]['video'] == BROKEN
    assert report['storage']['bytes_before'] == sum(
        osp.getsize(osp.join(source.videos, p.rel_path)) for p in source.plans)
    assert report['storage']['failed_bytes'] == 5000
    bench = report['benchmark']  # the same narrations, loaded before and after
    assert bench['scheme'] == 'x3d_13x6'
    assert bench['clips'] == min(12, report['lists'][0]['counts']['written']) > 0
    assert bench['before']['clips'] == bench['after']['clips'] == bench['clips']
    assert bench['speedup'] == pytest.approx(
        bench['after']['clips_per_s'] / bench['before']['clips_per_s'])
    assert f"loading (x3d_13x6, {bench['clips']} clips, one process)" in proc.stdout
    assert report['arguments']['settings']['fps'] == '30'
    broken = report['lists'][-1]
    assert broken['counts']['in'] == 3 and broken['counts']['written'] == 1
    assert [(d['line'], d['reason']) for d in broken['dropped_segments']] == [
        (2, 'video_failed'), (4, 'video_failed')]
    assert read_list(osp.join(out_lists, 'broken.txt'))[0].video.endswith('.chunks')


def test_cli_fps_change_maps_segments_onto_their_frames(source, cli_run):
    _, lists, out, out_lists, report = cli_run
    fps = {p.rel_path: Fraction(p.fps) for p in source.plans}
    for plan in source.plans:
        manifest = load_manifest(osp.join(out, plan.rel_path + '.chunks', 'chunks.json'))
        assert (manifest['width'], manifest['height']) == (128, 72)
        assert manifest['fps'] == '30' and manifest['chunk_frames'] == 30
        assert manifest['num_frames'] == output_frame_count(plan.num_frames, plan.fps, 30)
    init = segment_init('decord')
    nearest = 0
    for path, summary in zip(lists[:-1], report['lists']):
        changed = {c['line']: c for c in summary['changed_segments']}
        rows = [line for line in open(path) if line.strip()]
        after = read_list(osp.join(out_lists, osp.basename(path)))
        assert summary['counts']['written'] == len(rows) == len(after)
        for line, (seg, new) in enumerate(zip(read_list(path), after), 1):
            src_fps = fps[seg.video]
            mapped = map_segment(seg.start, seg.stop, len_of(source, seg.video),
                                 src_fps, Fraction(30))
            assert (new.start, new.stop) == (mapped.start, mapped.stop)
            if mapped.how != 'same':
                assert changed[line]['reason'] == mapped.how
                assert (changed[line]['new_start'], changed[line]['new_stop']) == (
                    new.start, new.stop)
            frames = decode_segment(init, osp.join(out, new.video), new.start, new.stop)
            assert frames.shape[1:] == (72, 128, 3)
            codes = codes_of(frames, size=source.size)
            expected = [source_frame(j, src_fps, Fraction(30))
                        for j in range(new.start, new.stop + 1)]
            np.testing.assert_array_equal(codes, expected)
            if mapped.how == 'nearest':
                nearest += 1
                assert abs(codes[0] - (seg.start + seg.stop) / 2) <= 1
            else:  # every output frame inside the segment, and no frame is left out
                assert seg.start <= codes.min() and codes.max() <= seg.stop
                assert codes[0] - seg.start < 2 and seg.stop - codes[-1] < 2
    assert nearest == sum(s['counts']['changed_by_reason']['nearest']
                          for s in report['lists']) >= 4


def len_of(source, video):
    return next(p.num_frames for p in source.plans if p.rel_path == video)


def test_cli_errors(source, tmp_path, capsys):
    tool = load_tool()
    lists = ['--lists', source.lists[0], '--out-lists', str(tmp_path / 'l')]
    assert tool.main([source.videos, source.videos, *lists]) == 2
    assert 'is the source root' in capsys.readouterr().err
    bad = tmp_path / 'bad.txt'
    bad.write_text('P01/P01_01.MP4 5 x 1 2 P01_01_0\n')
    assert tool.main([source.videos, str(tmp_path / 'o'), '--lists', str(bad),
                      '--out-lists', str(tmp_path / 'l')]) == 2
    assert f'{bad}:1' in capsys.readouterr().err
    bad.write_text('../P01/P01_01.MP4 5 8 1 2 P01_01_0\n')
    assert tool.main([source.videos, str(tmp_path / 'o'), '--lists', str(bad),
                      '--out-lists', str(tmp_path / 'l')]) == 2
    assert 'without ".."' in capsys.readouterr().err
    assert tool.main([source.videos, str(tmp_path / 'o'), *lists, '--crf', '99']) == 2
    assert '--crf' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main([source.videos, str(tmp_path / 'o'), *lists, '--fps', 'fast'])
    assert not osp.exists(tmp_path / 'o')  # nothing written on bad arguments
