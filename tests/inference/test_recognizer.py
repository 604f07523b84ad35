"""The recognizer on real synthetic videos: each window decodes only its own
frames (read back from the frame codes burnt into them), from a file and from
a stream's ring buffer alike, and both give the same probabilities."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from epic_mmaction.inference import (CheckpointError, CheckpointMismatch, InferenceError,
                                     WindowPlan, WindowRecognizer, open_capture, parse_source,
                                     probe_file, read_capture, recognize_file,
                                     recognize_stream, sliding_windows, split_test_pipeline)
from epic_mmaction.synthetic.framecode import read_frame_codes

from ..conftest import REPO
from .helpers import (DEMO_CONFIG, NUM_NOUNS, NUM_VERBS, make_videos,
                      save_untrained_checkpoint)

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.basename(p))
def test_every_config_splits_around_its_loading(config):
    split = split_test_pipeline(Config.fromfile(config).test_dataloader.dataset.pipeline)
    assert split.init['type'] == 'SegmentVideoInit' and split.decode['type'] == 'DecordDecode'
    assert [s['type'] for s in split.sampling] in (['SampleFrames'], ['UniformSample'])
    assert split.rest[-1]['type'] == 'PackActionInputs'


def test_pipelines_that_cannot_be_split():
    with pytest.raises(InferenceError, match='must start with SegmentVideoInit'):
        split_test_pipeline([dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8),
                             dict(type='DecordDecode')])
    with pytest.raises(InferenceError, match='must start with SegmentVideoInit'):
        split_test_pipeline([dict(type='SegmentVideoInit'), dict(type='PyAVDecode')])


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer')
    data = make_videos(str(root / 'data'))
    ckpt = save_untrained_checkpoint(str(root / 'untrained.pth'))
    cfg = Config.fromfile(DEMO_CONFIG)
    return data, ckpt, cfg, root


def test_checkpoint_mismatch_is_named(setup):
    data, ckpt, cfg, root = setup
    other = save_untrained_checkpoint(str(root / 'seven.pth'), num_verbs=7)
    with pytest.raises(CheckpointMismatch, match=r'seven.pth does not fit the config '
                       r'\S+x3d_s_1xb16\S+\.py: 2 '
                       r'shape\(s\) differ, e.g. cls_head.output.fc_verb.weight '
                       r'\(7, 432\) in the checkpoint, \(6, 432\) in the model'):
        WindowRecognizer(cfg, other)
    with pytest.raises(CheckpointError, match='cannot load checkpoint .*: not a PyTorch '
                       'checkpoint'):
        WindowRecognizer(cfg, data['truth'])  # not a checkpoint
    with pytest.raises(InferenceError, match=r'CUDA is not available|only \d+ CUDA'):
        WindowRecognizer(cfg, ckpt, device='cuda:7')


def recorder(recognizer):
    """Record what each window decoded: frame codes, frame_inds, the frames."""
    seen = {}

    def hook(window, results):
        seen[window] = (read_frame_codes(results['imgs']),
                        np.asarray(results['frame_inds']).copy(), np.stack(results['imgs']))
    recognizer.on_decoded = hook
    return seen


@pytest.mark.slow
@pytest.mark.parametrize('video,window,stride,num_clips,sampler', [
    ('P01_01', 2.0, 1.0, 1, 'SampleFrames'),  # 59.94 fps, 11 windows
    ('P02_101', 3.0, 1.5, 2, 'SampleFrames'),  # 25 fps, a tail window, 2 clips/window
    ('P01_01', 20.0, 10.0, 1, 'SampleFrames'),  # longer than the video: one window
    ('P02_101', 2.0, 0.5, 1, 'UniformSample'),  # TSM's sampler (8 segments)
])
def test_windows_decode_only_their_frames(setup, video, window, stride, num_clips, sampler):
    data, ckpt, cfg, _ = setup
    cfg = copy.deepcopy(cfg)
    if sampler == 'UniformSample':
        cfg.test_dataloader.dataset.pipeline[1] = dict(type='UniformSample', clip_len=8,
                                                       num_clips=1, test_mode=True)
    cfg.test_dataloader.dataset.pipeline[1]['num_clips'] = num_clips
    clip_len = cfg.test_dataloader.dataset.pipeline[1]['clip_len']  # the demo's: 4
    recognizer = WindowRecognizer(cfg, ckpt)
    assert (recognizer.num_verbs, recognizer.num_nouns) == (NUM_VERBS, NUM_NOUNS)
    path, num_frames, fps = data['videos'][video]
    assert probe_file(path) == (num_frames, pytest.approx(fps))
    assert probe_file(path, 'decord') == (num_frames, pytest.approx(fps))
    windows = sliding_windows(num_frames, fps, window, stride)

    seen = recorder(recognizer)
    from_file = list(recognize_file(recognizer, path, windows, batch_size=4))
    file_seen = dict(seen)
    seen.clear()
    cap = open_capture(parse_source(path, stream=True))
    from_stream = list(recognize_stream(recognizer, read_capture(cap),
                                        WindowPlan(fps, window, stride), batch_size=3))
    cap.release()

    assert [p.window for p in from_file] == windows == [p.window for p in from_stream]
    for a, b in zip(from_file, from_stream):
        codes, inds, imgs = file_seen[a.window]
        s_codes, s_inds, s_imgs = seen[a.window]
        # the frames decoded are the frames sampled, all inside the window
        assert (codes == inds).all() and (s_codes == s_inds).all()
        assert inds.min() >= a.window.start_frame and inds.max() <= a.window.stop_frame
        assert len(inds) == clip_len * num_clips and (inds == a.frame_inds).all()
        # a stream samples the same frames as the file
        assert (inds == s_inds).all() and (b.frame_inds == a.frame_inds).all()
        assert np.abs(imgs.astype(int) - s_imgs).max() <= 2  # decode differences aside
        np.testing.assert_allclose(a.verb, b.verb, atol=1e-4)
        np.testing.assert_allclose(a.noun, b.noun, atol=1e-4)
        for p in (a.verb, a.noun):
            assert p.sum() == pytest.approx(1, abs=1e-5) and (p >= 0).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_matches_cpu(setup):
    data, ckpt, cfg, _ = setup
    path, num_frames, fps = data['videos']['P01_01']
    windows = sliding_windows(num_frames, fps, 2.0, 1.0)
    cpu = list(recognize_file(WindowRecognizer(cfg, ckpt, 'cpu'), path, windows, 4))
    gpu_model = WindowRecognizer(cfg, ckpt, 'cuda:0')
    assert gpu_model.device.type == 'cuda'
    gpu = list(recognize_file(gpu_model, path, windows, 4))
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a.verb, b.verb, atol=1e-3)
        np.testing.assert_allclose(a.noun, b.noun, atol=1e-3)
