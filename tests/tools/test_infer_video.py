"""tools/infer_video.py as a subprocess on a synthetic video: the CSV covers
the video with the computed windows and the class CSVs' names, the annotated
MP4 has every frame, and stream mode (OpenCV, ring buffer) agrees with file
mode. Error paths call ``main`` in this process (a subprocess spends ~5 s
importing MMAction2)."""
import os.path as osp

import numpy as np
import pandas as pd
import pytest

from epic_mmaction.annotations.records import read_classes
from epic_mmaction.inference import sliding_windows

from .. import conftest, toolrun
from ..conftest import REPO
from ..inference.helpers import DEMO_CONFIG, make_videos, save_untrained_checkpoint

TOOL = osp.join(REPO, 'tools', 'infer_video.py')
TASKS = ('verb', 'noun', 'action')


def run(*args):
    return toolrun.run_tool(TOOL, *args, timeout=300)


def load_tool():
    return conftest.load_tool('infer_video')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer_tool')
    data = make_videos(str(root / 'data'))
    ckpt = save_untrained_checkpoint(str(root / 'untrained.pth'))
    return data, ckpt, root


@pytest.fixture(scope='module')
def file_run(setup):
    data, ckpt, root = setup
    out, video_out = root / 'file.csv', root / 'file.mp4'
    proc = run(DEMO_CONFIG, ckpt, data['videos']['P01_01'][0], '--verb-classes',
               data['verb_csv'], '--noun-classes', data['noun_csv'], '--out', out,
               '--out-video', video_out, '--batch-size', 4)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc, pd.read_csv(out, keep_default_na=False), str(video_out)


def check_ranked(table, k=5):
    for task in TASKS:
        scores = table[[f'{task}_{r}_score' for r in range(1, k + 1)]].to_numpy()
        assert ((scores >= 0) & (scores <= 1)).all()
        assert (np.diff(scores, axis=1) <= 0).all()  # best first
    # the best action is the best verb with the best noun, scored p(v) * p(n)
    assert (table['action_1'] == table['verb_1'] + ' ' + table['noun_1']).all()
    np.testing.assert_allclose(table['action_1_score'],
                               table['verb_1_score'] * table['noun_1_score'], atol=2e-6)


@pytest.mark.slow
def test_file_mode_csv_covers_the_video(setup, file_run):
    data, _, _ = setup
    proc, table, _ = file_run
    _, num_frames, fps = data['videos']['P01_01']
    windows = sliding_windows(num_frames, fps, 2.0, 1.0)
    assert table[['start_frame', 'stop_frame']].to_records(index=False).tolist() == [
        (w.start_frame, w.stop_frame) for w in windows]
    np.testing.assert_allclose(table['start'], [w.start for w in windows], atol=1e-6)
    np.testing.assert_allclose(table['end'], [w.end for w in windows], atol=1e-6)
    assert table['stop_frame'].iloc[-1] == num_frames - 1
    verbs, nouns = read_classes(data['verb_csv']), read_classes(data['noun_csv'])
    for r in range(1, 6):
        assert set(table[f'verb_{r}']) <= set(verbs)
        assert set(table[f'noun_{r}']) <= set(nouns)
        assert set(table[f'action_{r}']) <= {f'{v} {n}' for v in verbs for n in nouns}
    check_ranked(table)
    assert f'{len(windows)} windows over 12.0s of video ({num_frames} frames at 59.940 ' \
        'fps)' in proc.stdout
    assert 'frames/s' in proc.stdout and 'x real time' in proc.stdout


@pytest.mark.slow
def test_annotated_video_has_every_frame(setup, file_run):
    import decord
    data, _, _ = setup
    _, num_frames, fps = data['videos']['P01_01']
    reader = decord.VideoReader(file_run[2])
    assert len(reader) == num_frames and reader.get_avg_fps() == pytest.approx(fps, abs=0.01)
    assert reader[0].shape == (96, 96, 3)
    assert f'({num_frames} frames' in file_run[0].stdout


@pytest.mark.slow
def test_stream_mode_agrees_with_file_mode(setup, file_run):
    """--stream reads the file with OpenCV into a ring buffer and feeds the
    pipeline from arrays: same windows, same frames, (nearly) same scores,
    also while it writes the annotated video from the same frames."""
    data, ckpt, root = setup
    out, video_out = root / 'stream.csv', root / 'stream.mp4'
    proc = run(DEMO_CONFIG, ckpt, data['videos']['P01_01'][0], '--stream', '--verb-classes',
               data['verb_csv'], '--noun-classes', data['noun_csv'], '--out', out,
               '--out-video', video_out, '--batch-size', 3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stream, table = pd.read_csv(out, keep_default_na=False), file_run[1]
    assert stream[['start_frame', 'stop_frame']].equals(table[['start_frame', 'stop_frame']])
    scores = [c for c in table.columns if c.endswith('_score')]
    np.testing.assert_allclose(stream[scores], table[scores], atol=1e-4)
    assert 'reading ' in proc.stdout and '1. ' in proc.stdout  # live lines per window
    import decord
    assert len(decord.VideoReader(str(video_out))) == data['videos']['P01_01'][1]


@pytest.mark.slow
def test_stream_mode_stops_after_max_seconds(setup):
    data, ckpt, root = setup
    path, _, fps = data['videos']['P02_101']  # 25 fps
    out = root / 'short.csv'
    proc = run(DEMO_CONFIG, ckpt, path, '--stream', '--max-seconds', 5, '--window', 3,
               '--stride', 1.5, '--out', out, '--batch-size', 1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = pd.read_csv(out)
    expected = sliding_windows(125, fps, 3, 1.5)
    assert table['stop_frame'].tolist() == [w.stop_frame for w in expected]
    assert table['verb_1'].str.match(r'verb_\d$').all()  # no class CSVs: generic names
    assert table['noun_1'].str.match(r'noun_\d+$').all()
    check_ranked(table)


def expect_error(capsys, argv, message):
    assert load_tool().main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith('infer_video.py: error: ') and message in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_errors_are_one_line(setup, capsys, tmp_path):
    data, ckpt, root = setup
    video = data['videos']['P01_01'][0]
    missing = tmp_path / 'P09_99.MP4'
    expect_error(capsys, [DEMO_CONFIG, ckpt, missing], f'video not found: {missing}')
    broken = tmp_path / 'broken.MP4'
    broken.write_bytes(b'not a video at all' * 100)
    expect_error(capsys, [DEMO_CONFIG, ckpt, broken], f'cannot open video {broken}')
    expect_error(capsys, [DEMO_CONFIG, tmp_path / 'none.pth', video],
                 f'checkpoint not found: {tmp_path}/none.pth')
    other = save_untrained_checkpoint(str(tmp_path / 'five_nouns.pth'), num_nouns=5)
    expect_error(capsys, [DEMO_CONFIG, other, video],
                 f'five_nouns.pth does not fit the config {DEMO_CONFIG}: 2 shape(s) differ')
    expect_error(capsys, [DEMO_CONFIG, ckpt, video, '--verb-classes', data['noun_csv']],
                 'has 12 verb classes but the model predicts 6')
    expect_error(capsys, [DEMO_CONFIG, ckpt, video, '--window', 1, '--stride', 2],
                 'longer than the window')
    expect_error(capsys, [DEMO_CONFIG, ckpt, video, '--max-seconds', 3],
                 '--max-seconds is for cameras and streams')
    expect_error(capsys, [DEMO_CONFIG, ckpt, video, '--device', 'cuda:9'], 'cuda:9')
    expect_error(capsys, [DEMO_CONFIG, ckpt, '97'], 'OpenCV cannot open camera 97')
