"""tools/extract_features.py on real synthetic H.264 videos: features equal the
recognizer's own pooled backbone output, window centres land on the frames
read back from the frame codes, two torchrun (gloo) ranks write each video
once, a SIGKILLed run resumes, broken videos are reported and skipped."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config

from epic_mmaction.inference import sliding_windows
from epic_mmaction.inference.features import (FeatureExtractor, lmdb_key, read_index,
                                              videos_from_list, videos_from_root,
                                              window_centres)
from epic_mmaction.synthetic.framecode import read_frame_code

from .. import conftest
from ..conftest import REPO
from ..inference.helpers import DEMO_CONFIG, make_videos, save_untrained_checkpoint
from .helpers import EXTRACT


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('extract')
    data = make_videos(str(root / 'data'))
    ckpt = save_untrained_checkpoint(str(root / 'untrained.pth'))
    return data, ckpt, root


@pytest.fixture(scope='module')
def extractor(setup):
    _, ckpt, _ = setup
    return FeatureExtractor(Config.fromfile(DEMO_CONFIG), ckpt, batch_size=4)


@pytest.fixture(scope='module')
def extracted(setup):
    """One run of the tool in this process over both videos, with LMDB."""
    data, ckpt, root = setup
    out = root / 'features'
    tool = conftest.load_tool('extract_features')
    code = tool.main([DEMO_CONFIG, ckpt, '--video-root', str(root / 'data' / 'videos'),
                      '--out', str(out), '--lmdb', '--no-progress', '--stride', '1',
                      '--window', '2'])
    assert code == 0
    return out, read_index(str(out))


def test_features_equal_the_recognizers_pooled_backbone(setup, extractor):
    data, _, _ = setup
    path, num_frames, fps = data['videos']['P01_01']
    windows = sliding_windows(num_frames, fps, 2.0, 1.0)[:5]
    feats = np.concatenate(list(extractor.features(path, windows)))
    model = extractor.model
    recognizer_inputs = []
    for w in windows:
        recognizer_inputs.append(extractor.clips.from_file(path, w)[0])
    # the recognizer's own path: data_preprocessor -> extract_feat (test mode)
    from mmengine.dataset import pseudo_collate
    from epic_mmaction.models.heads.temporal import spatial_pool
    from epic_mmaction.inference.recognizer import build_model
    full = build_model(Config.fromfile(DEMO_CONFIG), setup[1])
    with torch.no_grad():
        batch = full.data_preprocessor(pseudo_collate(recognizer_inputs), False)
        backbone, _ = full.extract_feat(batch['inputs'], test_mode=True)
        expected = full.cls_head.temporal(spatial_pool(backbone)).numpy()
    assert feats.shape == (5, 432) and model.feature_layer.startswith('backbone output')
    np.testing.assert_allclose(feats, expected, atol=1e-5, rtol=0)


def test_lstm_head_features_are_the_lstm_output():
    """TSM-R50+BiLSTM: the feature is the LSTM's pooled output, [B, 2 * hidden]."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope

    import epic_mmaction.plugin  # noqa: F401
    from epic_mmaction.inference.clipmodel import ClipModel
    from epic_mmaction.models.heads.temporal import spatial_pool
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'tsm',
                                   'tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py'))
    cfg.model.backbone.depth = 18
    cfg.model.cls_head.in_channels = 512
    init_default_scope('mmaction')
    torch.manual_seed(0)
    recognizer = MODELS.build(cfg.model).eval()
    model = ClipModel(recognizer)
    clip = torch.randint(0, 256, (2, 8, 3, 64, 64)).float()
    with torch.no_grad():
        feats = model.features(clip)
        x = recognizer.data_preprocessor(dict(inputs=list(clip.to(torch.uint8)),
                                              data_samples=None), False)
        backbone, _ = recognizer.extract_feat(x['inputs'], test_mode=True)
        expected = recognizer.cls_head.temporal(spatial_pool(backbone))
    assert feats.shape == (2, 1024) and 'LSTM' in model.feature_layer
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=0)


def test_outputs_index_and_lmdb(setup, extracted, extractor):
    data, ckpt, _ = setup
    out, index = extracted
    assert sorted(index['videos']) == ['P01_01', 'P02_101'] and not index['failed']
    for vid, (path, num_frames, fps) in data['videos'].items():
        entry = index['videos'][vid]
        windows = sliding_windows(num_frames, fps, 2.0, 1.0)
        feats = np.load(out / entry['file'])
        assert feats.shape == (len(windows), 432) and feats.dtype == np.float32
        assert entry['ranges'] == [[w.start_frame, w.stop_frame] for w in windows]
        assert entry['num_frames'] == num_frames and entry['fps'] == pytest.approx(fps)
        assert entry['checkpoint_sha256'] and entry['config'].endswith('.py')
        np.testing.assert_allclose(feats[:3], np.concatenate(list(
            extractor.features(path, windows[:3]))), atol=1e-6)
    import lmdb
    env = lmdb.open(str(out / 'features.lmdb'), readonly=True, lock=False)
    entry = index['videos']['P02_101']
    feats = np.load(out / entry['file'])
    with env.begin() as txn:
        assert txn.stat()['entries'] == sum(e['num_windows'] for e in index['videos'].values())
        for i, frame in enumerate(entry['centre_frames']):
            value = np.frombuffer(txn.get(lmdb_key('P02_101', frame).encode()), np.float32)
            np.testing.assert_array_equal(value, feats[i])
    env.close()
    assert lmdb_key('P02_101', 0) == 'P02_101_frame_0000000001.jpg'


def test_window_centres_land_on_their_frames(setup, extracted):
    """Read back the frame codes of the centre frames, at 59.94 and 25 fps."""
    import decord
    data, _, _ = setup
    _, index = extracted
    for vid, (path, _, fps) in data['videos'].items():
        entry = index['videos'][vid]
        reader = decord.VideoReader(path)
        frames = reader.get_batch(entry['centre_frames']).asnumpy()
        assert [read_frame_code(f) for f in frames] == entry['centre_frames']
        for (start, stop), frame, t in zip(entry['ranges'], entry['centre_frames'],
                                           entry['centres']):
            assert frame == (start + stop) // 2
            assert t == pytest.approx((start + stop + 1) / 2 / fps, abs=1e-8)


def test_centres_are_exact_over_an_hour_at_59_94():
    fps = 60000 / 1001
    windows = sliding_windows(round(3600 * fps), fps, 1.0, 1.0)
    frames, seconds = window_centres(windows)
    k = 3599  # the last full window starts at round(3599 * fps), no drift
    assert windows[k].start_frame == round(k * fps) == 215724
    assert frames[k] == windows[k].start_frame + 29  # 60-frame windows
    assert seconds[k] == pytest.approx((windows[k].start_frame + 30) / fps)


def test_video_lists(tmp_path):
    listed = tmp_path / 'videos.txt'
    listed.write_text('# comment\nP01/P01_01.MP4\nP01/P01_01.MP4 0 10 1 2 P01_01_0\n\n'
                      'P02/P02_101.MP4\n')
    items = videos_from_list(str(listed), '/data')
    assert [(i.video_id, i.path) for i in items] == [
        ('P01_01', '/data/P01/P01_01.MP4'), ('P02_101', '/data/P02/P02_101.MP4')]
    listed.write_text('P01/P01_01.MP4 0 10\n')
    with pytest.raises(Exception, match=r'videos.txt:1: expected a video path'):
        videos_from_list(str(listed))
    for name in ('P01/P01_01.MP4', 'P01/notes.txt', 'P02/P02_101.MP4'):
        (tmp_path / 'root' / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / 'root' / name).write_bytes(b'')
    items = videos_from_root(str(tmp_path / 'root'), '{participant_id}/{video_id}.MP4')
    assert [i.video_id for i in items] == ['P01_01', 'P02_101']


def test_bad_inputs_are_one_line(setup, tmp_path, capsys):
    _, ckpt, _ = setup
    tool = conftest.load_tool('extract_features')
    missing = tmp_path / 'missing.txt'
    assert tool.main([DEMO_CONFIG, ckpt, '--list', str(missing), '--out',
                      str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and str(missing) in err and 'Traceback' not in err
    assert tool.main([DEMO_CONFIG, str(tmp_path / 'no.pth'), '--list', str(missing),
                      '--out', str(tmp_path / 'o')]) == 2
    assert 'checkpoint not found' in capsys.readouterr().err


def test_broken_video_is_reported_and_skipped(setup, tmp_path):
    data, ckpt, _ = setup
    broken = tmp_path / 'P09_01.MP4'
    broken.write_bytes(b'\x00\x00\x00\x18ftypmp42' + os.urandom(2000))
    listed = tmp_path / 'list.txt'
    listed.write_text(f'{broken}\n{data["videos"]["P02_101"][0]}\n')
    tool = conftest.load_tool('extract_features')
    out = tmp_path / 'out'
    assert tool.main([DEMO_CONFIG, ckpt, '--list', str(listed), '--out', str(out),
                      '--no-progress']) == 1
    index = read_index(str(out))
    assert list(index['videos']) == ['P02_101'] and 'P09_01' in index['failed']
    assert not (out / 'P09_01.npy').exists()


def _kill_after_first_video(cmd, out, env):
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if (out / 'index.json').exists() and read_index(str(out))['videos']:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(60)
    return proc


@pytest.mark.slow
def test_resume_after_sigkill(setup, tmp_path):
    data, ckpt, root = setup
    out = tmp_path / 'out'
    listed = tmp_path / 'list.txt'
    listed.write_text(''.join(f'{p}\n' for p, _, _ in data['videos'].values()))
    cmd = [sys.executable, EXTRACT, DEMO_CONFIG, ckpt, '--list', str(listed), '--out',
           str(out), '--no-progress', '--batch-size', '1', '--stride', '0.5']
    proc = _kill_after_first_video(cmd, out, dict(os.environ))
    assert proc.returncode == -signal.SIGKILL
    first = read_index(str(out))['videos']
    assert list(first) == ['P01_01']
    done = out / 'P01_01.npy'
    mtime = done.stat().st_mtime_ns
    assert not (out / 'P02_101.npy').exists()  # never half-written
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert '1 of 2 videos already extracted' in again.stdout
    assert done.stat().st_mtime_ns == mtime
    index = read_index(str(out))
    assert sorted(index['videos']) == ['P01_01', 'P02_101']
    _, num_frames, fps = data['videos']['P02_101']
    assert np.load(out / 'P02_101.npy').shape == (
        len(sliding_windows(num_frames, fps, 0.5, 0.5)), 432)
    assert not [n for n in os.listdir(out) if n.endswith('.tmp')]


@pytest.mark.slow
def test_two_gloo_ranks_write_each_video_once(setup, tmp_path):
    data, ckpt, _ = setup
    videos = tmp_path / 'videos'
    for i in range(3):  # 3 videos over 2 ranks
        path, _, _ = data['videos']['P02_101']
        (videos / f'P0{i}').mkdir(parents=True)
        os.symlink(path, videos / f'P0{i}' / f'P0{i}_0{i}.MP4')
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--standalone', EXTRACT, DEMO_CONFIG, ckpt, '--video-root', str(videos),
         '--out', str(out), '--no-progress', '--stride', '2'],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wrote = [line for line in proc.stdout.splitlines() if '] wrote ' in line]
    assert sorted(line.split(' wrote ')[1].split(':')[0] for line in wrote) == [
        'P00_00', 'P01_01', 'P02_02']
    index = read_index(str(out))
    assert {vid: e['rank'] for vid, e in index['videos'].items()} == {
        'P00_00': 0, 'P01_01': 1, 'P02_02': 0}
    assert 'all ranks: 3 extracted, 0 already done, 0 failed' in proc.stdout
