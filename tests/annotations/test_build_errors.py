"""tools/build_annotations.py on bad input: one line naming the file, exit 2,
nothing written; and the input that only looks bad (BOM, CRLF) is accepted.

Real CSV files (the official header), real videos, the tool as a subprocess.
"""
import csv
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from epic_mmaction.annotations.listfile import read_list
from epic_mmaction.synthetic.clips import write_class_clip

from ..conftest import REPO

HEADER = ('narration_id,participant_id,video_id,narration_timestamp,start_timestamp,'
          'stop_timestamp,start_frame,stop_frame,narration,verb,verb_class,noun,'
          'noun_class,all_nouns,all_noun_classes').split(',')
TEST_HEADER = HEADER[:8]  # EPIC_100_test_timestamps.csv has no labels


def row(nid, video, start, stop, verb=0, noun=2):
    """A row as the official CSVs have it (times HH:MM:SS.ss)."""
    return dict(narration_id=nid, participant_id=video.split('_')[0], video_id=video,
                narration_timestamp=start + '0', start_timestamp=start,
                stop_timestamp=stop, start_frame=1, stop_frame=20, narration='take plate',
                verb='take', verb_class=verb, noun='plate', noun_class=noun,
                all_nouns="['plate']", all_noun_classes=f'[{noun}]')


def rows_of(video, count, first=0):
    return [row(f'{video}_{first + i}', video, f'00:00:00.{10 + 5 * i:02d}',
                f'00:00:00.{40 + 5 * i:02d}', verb=i % 3) for i in range(count)]


def write_csv(path, rows, header=HEADER, encoding='utf-8', lineterminator='\n'):
    """Official layout; ``encoding``/``lineterminator`` as a program would save it."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', newline='', encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction='ignore',
                                lineterminator=lineterminator)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def run_tool(*args):
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'build_annotations.py'), *map(str, args)],
        capture_output=True, text=True, cwd=REPO)


VAL = ('--splits', 'val', '--pairs-from', 'val', '--fps', '30')


def assert_one_line_error(result, *parts):
    assert result.returncode == 2, result.stderr
    assert 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('build_annotations.py: error: ')
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


# --- repeated narration ids ----------------------------------------------------------


def test_repeated_ids_named_with_both_lines_nothing_written(tmp_path):
    rows = rows_of('P01_11', 6)
    # lines: header 1, rows 2..7; repeats of rows 2 and 5 at lines 8 and 9
    path = write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv',
                     rows + [rows[1], rows[4]])
    out = tmp_path / 'out'
    result = run_tool(tmp_path / 'csv', *VAL, '--out-dir', out)
    assert_one_line_error(result, '2 repeated narration id(s)',
                          f'P01_11_1 ({path}:3 and {path}:8)',
                          f'P01_11_4 ({path}:6 and {path}:9)')
    assert not out.exists()


def test_many_repeated_ids_show_a_handful_and_the_count(tmp_path):
    rows = rows_of('P01_11', 12)
    write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', rows + rows)
    line = assert_one_line_error(run_tool(tmp_path / 'csv', *VAL,
                                          '--out-dir', tmp_path / 'out'),
                                 '12 repeated narration id(s)', 'and 7 more')
    assert line.count(' and ') == 6  # five pairs of lines, then "and 7 more"
    assert not (tmp_path / 'out').exists()


def test_ids_repeated_across_splits_are_refused(tmp_path):
    val = write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', rows_of('P01_11', 3))
    test = write_csv(tmp_path / 'csv' / 'EPIC_100_test_timestamps.csv',
                     rows_of('P01_12', 2) + [rows_of('P01_11', 3)[2]], TEST_HEADER)
    result = run_tool(tmp_path / 'csv', '--splits', 'val', 'test', '--pairs-from', 'val',
                      '--fps', '30', '--out-dir', tmp_path / 'out')
    assert_one_line_error(result, f'P01_11_2 ({val}:4 and {test}:4)')
    assert not (tmp_path / 'out').exists()


def test_failed_build_keeps_the_earlier_outputs(tmp_path):
    """A refused build changes nothing; stale temporaries of a killed run go."""
    rows = rows_of('P01_11', 4)
    write_csv(tmp_path / 'good' / 'EPIC_100_validation.csv', rows)
    out = tmp_path / 'out'
    assert run_tool(tmp_path / 'good', *VAL, '--out-dir', out).returncode == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    assert set(before) == {'epic100_val.txt', 'epic100_val.meta.json', 'pairs.json'}

    write_csv(tmp_path / 'bad' / 'EPIC_100_validation.csv', rows + rows[:1])
    assert_one_line_error(run_tool(tmp_path / 'bad', *VAL, '--out-dir', out),
                          'P01_11_0')
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before

    # a temporary as a SIGKILLed writer leaves it (a pid that no longer runs)
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    host = ''.join(c if c.isalnum() or c == '_' else '_' for c in socket.gethostname())
    stale = out / f'.pairs.json.{host}-{dead}.abc123.tmp'
    stale.write_text('half')
    assert run_tool(tmp_path / 'good', *VAL, '--out-dir', out).returncode == 0
    assert sorted(os.listdir(out)) == sorted(before)


# --- the output folder ---------------------------------------------------------------


def test_out_dir_that_is_a_file(tmp_path):
    write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', rows_of('P01_11', 3))
    target = tmp_path / 'lists'
    target.write_text('not a folder\n')
    assert_one_line_error(run_tool(tmp_path / 'csv', *VAL, '--out-dir', target),
                          f'--out-dir {target} is a file, not a folder')
    assert_one_line_error(run_tool(tmp_path / 'csv', *VAL, '--out-dir', target / 'sub'),
                          f'cannot be created: {target} is a file')
    assert target.read_text() == 'not a folder\n'


def test_out_dir_not_writable_checked_before_the_csvs(tmp_path):
    # no CSV at all: the output folder is what is reported
    result = run_tool(tmp_path / 'nothing', *VAL, '--out-dir', '/proc/epic_lists')
    assert_one_line_error(result, '--out-dir /proc/epic_lists (its parent /proc) is '
                          'not writable')
    if os.geteuid() != 0:  # root writes anywhere: the /proc case stands for it
        locked = tmp_path / 'locked'
        locked.mkdir()
        locked.chmod(0o500)
        try:
            assert_one_line_error(run_tool(tmp_path / 'nothing', *VAL,
                                           '--out-dir', locked),
                                  f'--out-dir {locked} is not writable')
        finally:
            locked.chmod(0o700)


# --- spreadsheet-saved CSVs ----------------------------------------------------------


def test_csv_with_bom_and_crlf_gives_the_same_lists(tmp_path):
    rows = rows_of('P01_11', 4) + rows_of('P01_12', 3)
    write_csv(tmp_path / 'plain' / 'EPIC_100_validation.csv', rows)
    saved = write_csv(tmp_path / 'excel' / 'EPIC_100_validation.csv', rows,
                      encoding='utf-8-sig', lineterminator='\r\n')
    raw = open(saved, 'rb').read()
    assert raw.startswith(b'\xef\xbb\xbfnarration_id,') and raw.count(b'\r\n') == 8
    for name in ('plain', 'excel'):
        result = run_tool(tmp_path / name, *VAL, '--out-dir', tmp_path / f'{name}_out')
        assert result.returncode == 0, result.stderr
    plain = read_list(tmp_path / 'plain_out' / 'epic100_val.txt')
    assert len(plain) == 7
    assert read_list(tmp_path / 'excel_out' / 'epic100_val.txt') == plain
    assert ((tmp_path / 'excel_out' / 'pairs.json').read_text()
            == (tmp_path / 'plain_out' / 'pairs.json').read_text())


def test_csv_not_utf8_names_the_file(tmp_path):
    path = tmp_path / 'csv' / 'EPIC_100_validation.csv'
    write_csv(path, rows_of('P01_11', 3), encoding='utf-16')
    assert_one_line_error(run_tool(tmp_path / 'csv', *VAL, '--out-dir', tmp_path / 'o'),
                          f'{path}', 'not UTF-8')


# --- dropped rows --------------------------------------------------------------------


def test_dropped_rows_listed_in_the_meta_file(tmp_path):
    rows = rows_of('P01_11', 5)
    rows[1]['start_timestamp'], rows[1]['stop_timestamp'] = '00:00:02.00', '00:00:01.00'
    rows[3]['stop_timestamp'] = rows[3]['start_timestamp']
    write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', rows)
    out = tmp_path / 'out'
    result = run_tool(tmp_path / 'csv', *VAL, '--out-dir', out)
    assert result.returncode == 0, result.stderr
    meta_file = out / 'epic100_val.meta.json'
    assert f'{meta_file}' in result.stdout and 'dropped_rows' in result.stdout
    meta = json.loads(meta_file.read_text())
    assert meta['dropped_rows'] == [
        dict(narration_id='P01_11_1', line=3, reason='reversed range (stop before start)'),
        dict(narration_id='P01_11_3', line=5, reason='zero-length range')]
    assert [s.narration_id for s in read_list(out / 'epic100_val.txt')] == [
        'P01_11_0', 'P01_11_2', 'P01_11_4']


def test_every_row_dropped_is_an_error_not_an_empty_list(tmp_path):
    rows = rows_of('P01_11', 2)
    for r in rows:
        r['stop_timestamp'] = r['start_timestamp']
    csv_file = write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', rows)
    out = tmp_path / 'out'
    result = run_tool(tmp_path / 'csv', *VAL, '--out-dir', out)
    assert_one_line_error(result, csv_file, 'all 2 row(s) dropped', '2 zero-length range')
    assert not out.exists() or not os.listdir(out)


def test_header_only_csv_gives_an_empty_list_and_says_so(tmp_path):
    """A split without rows (a synthetic set with no test videos) is not an error
    here: its list is empty, the summary says 0/0, and every consumer refuses it."""
    write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', [])
    out = tmp_path / 'out'
    result = run_tool(tmp_path / 'csv', *VAL[:2], '--pairs-from', 'none', '--fps', '30',
                      '--out-dir', out)
    assert result.returncode == 0, result.stderr
    assert f'{out / "epic100_val.txt"}: 0/0 rows' in result.stdout
    assert read_list(out / 'epic100_val.txt') == []


# --- videos missing under the data root ----------------------------------------------


@pytest.fixture(scope='module')
def partial_videos(tmp_path_factory):
    """Real H.264 files for P01_11 and P01_12; P01_13 is not downloaded."""
    root = tmp_path_factory.mktemp('videos')
    for video in ('P01_11', 'P01_12'):
        write_class_clip(str(root / 'P01' / f'{video}.MP4'), 0, num_frames=25, fps=25.0,
                         size=(64, 64))
    csvs = root.parent / f'{root.name}_csv'
    write_csv(csvs / 'EPIC_100_validation.csv',
              rows_of('P01_11', 2) + rows_of('P01_12', 2) + rows_of('P01_13', 2))
    return root, csvs


def test_some_videos_missing_warns_once(partial_videos, tmp_path):
    root, csvs = partial_videos
    result = run_tool(csvs, *VAL, '--data-root', root, '--out-dir', tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if 'warning' in line]
    expected = osp.join(str(root), 'P01', 'P01_13.MP4')
    assert len(warnings) == 1 and '1 of 3 videos not found' in warnings[0]
    assert expected in warnings[0] and f'--data-root {root}' in warnings[0]
    meta = json.loads((tmp_path / 'epic100_val.meta.json').read_text())
    assert meta['videos_missing'] == dict(data_root=str(root), videos=['P01/P01_13.MP4'])
    assert meta['fps_sources'] == {'file': 2, 'flag': 1}
    assert len(read_list(tmp_path / 'epic100_val.txt')) == 6


def test_most_videos_missing_is_an_error(partial_videos, tmp_path):
    root, csvs = partial_videos
    wrong = root / 'P01'  # one level too deep
    result = run_tool(csvs, *VAL, '--data-root', wrong, '--out-dir', tmp_path / 'out')
    assert_one_line_error(result, f'3 of 3 videos not found under --data-root {wrong}',
                          osp.join(str(wrong), 'P01', 'P01_11.MP4'),
                          '--video-template', '--allow-missing-videos')
    assert not (tmp_path / 'out').exists()
    result = run_tool(csvs, *VAL, '--data-root', wrong, '--out-dir', tmp_path / 'out',
                      '--allow-missing-videos')
    assert result.returncode == 0, result.stderr
    assert '3 of 3 videos not found' in result.stderr
    # --fps-source file needs every video
    result = run_tool(csvs, *VAL, '--data-root', root, '--fps-source', 'file',
                      '--out-dir', tmp_path / 'file')
    assert_one_line_error(result, '1 of 3 videos not found', '--fps-source file')
    assert not (tmp_path / 'file').exists()


# --- whole-video formats (same output folder rule, outputs together) ----------------


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    """UCF layout: 2 classes x 3 groups of real clips."""
    root = tmp_path_factory.mktemp('clips') / 'UCFtiny'
    for c, name in enumerate(('Apply', 'Brush')):
        for g in (1, 2, 3):
            write_class_clip(str(root / name / f'v_{name}_g0{g}_c01.avi'), c,
                             num_frames=4, size=(64, 64))
    return root


def test_whole_video_out_dir_that_is_a_file(clips, tmp_path):
    target = tmp_path / 'lists'
    target.write_text('x')
    result = run_tool(clips, '--format', 'class-folders', '--out-dir', target)
    assert_one_line_error(result, f'--out-dir {target} is a file, not a folder')


def test_whole_video_failed_build_keeps_the_earlier_set(clips, tmp_path):
    out = tmp_path / 'out'
    args = (clips, '--format', 'class-folders', '--split-ratios', '0.34', '0.33', '0.33',
            '--out-dir', out)
    assert run_tool(*args).returncode == 0
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    assert set(before) == {'ucftiny_train.txt', 'ucftiny_val.txt', 'ucftiny_test.txt',
                           'ucftiny_classes.txt', 'ucftiny_split.json'}
    # a classes file without Brush: refused after the scan, before any write
    classes = tmp_path / 'classes.txt'
    classes.write_text('Apply\n')
    assert_one_line_error(run_tool(*args, '--classes', classes), f'{classes}', 'Brush')
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    # the same classes file as a Windows editor saves it (BOM, CRLF) is read as is
    classes.write_bytes(b'\xef\xbb\xbfBrush\r\nApply\r\n')
    assert run_tool(*args, '--classes', classes).returncode == 0
    assert (out / 'ucftiny_classes.txt').read_text() == 'Brush\nApply\n'


def test_output_name_taken_by_a_folder(tmp_path):
    write_csv(tmp_path / 'csv' / 'EPIC_100_validation.csv', rows_of('P01_11', 3))
    out = tmp_path / 'out'
    (out / 'epic100_val.txt').mkdir(parents=True)
    assert_one_line_error(run_tool(tmp_path / 'csv', *VAL, '--out-dir', out),
                          f'{out / "epic100_val.txt"} is a folder')
    assert os.listdir(out) == ['epic100_val.txt']
