"""ONNX export of the demo model (tools/export_onnx.py) checked with the real
onnxruntime: metadata, a dynamic batch axis, probabilities within 1e-4 of
PyTorch with the same top-5, tools/infer_video.py --onnx giving the
checkpoint's windows and top-5, a refusal that names the operator, and bad
inputs as one line (exit 2). The model is exported once per module (~15 s):
tools are called in this process, as a subprocess would spend ~5 s importing
MMAction2."""
import contextlib
import io
import os
import os.path as osp

import numpy as np
import pandas as pd
import pytest
import torch

from epic_mmaction.annotations.pairs import PairVocabulary
from epic_mmaction.annotations.records import read_classes

from .. import conftest
from ..inference.helpers import DEMO_CONFIG, make_videos, save_untrained_checkpoint

pytest.importorskip('onnxruntime')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('onnx_export')
    data = make_videos(str(root / 'data'))
    ckpt = save_untrained_checkpoint(str(root / 'untrained.pth'))
    return data, ckpt, root


@pytest.fixture(scope='module')
def exported(setup):
    """The demo model exported by the tool, with the class CSVs' names."""
    data, ckpt, root = setup
    out, stdout = str(root / 'demo.onnx'), io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = conftest.load_tool('export_onnx').main([
            DEMO_CONFIG, ckpt, '--out', out, '--verb-classes', data['verb_csv'],
            '--noun-classes', data['noun_csv']])
    assert code == 0, stdout.getvalue()
    return out, stdout.getvalue()


def clip_model(ckpt, **head):
    from mmengine.config import Config

    from epic_mmaction.inference.clipmodel import ClipModel
    from epic_mmaction.inference.recognizer import build_model
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.cls_head.update(head)
    recognizer = build_model(cfg, ckpt)
    return cfg, recognizer, ClipModel(recognizer)


@pytest.mark.slow
def test_export_is_verified_with_onnxruntime(setup, exported):
    """Metadata as documented; other batch sizes than traced agree with PyTorch."""
    import onnxruntime as ort

    from epic_mmaction.inference.onnx_export import read_metadata
    data, ckpt, _ = setup
    path, stdout = exported
    assert 'max abs difference' in stdout and 'top-5 identical: True' in stdout
    meta = read_metadata(path)
    assert meta['input_shape'] == [3, 4, 32, 32] and meta['input_layout'] == 'BCTHW'
    assert (meta['clip_len'], meta['frame_interval']) == (4, 6)
    assert meta['verb_classes'] == read_classes(data['verb_csv'])
    assert meta['noun_classes'] == read_classes(data['noun_csv'])
    assert len(meta['mean']) == 3 and len(meta['std']) == 3
    assert meta['verified_max_abs_diff'] <= 1e-4
    assert meta['test_pipeline'][0]['type'] == 'SegmentVideoInit'
    assert not [f for f in os.listdir(osp.dirname(path)) if f.startswith('.demo.onnx')]

    _, _, model = clip_model(ckpt)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    batch = session.get_inputs()[0].shape[0]
    assert not isinstance(batch, int)  # a named, dynamic axis
    rng = np.random.default_rng(1)
    for n in (1, 5):
        clips = rng.integers(0, 256, (n, 3, 4, 32, 32)).astype(np.float32)
        verb, noun = session.run(['verb', 'noun'], {'clip': clips})
        with torch.no_grad():
            expected = [t.numpy() for t in model(torch.from_numpy(clips))]
        for got, want in zip((verb, noun), expected):
            assert got.shape == want.shape
            np.testing.assert_allclose(got.sum(1), 1, atol=1e-5)
            assert np.abs(got - want).max() <= 1e-4
            assert (np.argsort(-got, 1, kind='stable')[:, :5]
                    == np.argsort(-want, 1, kind='stable')[:, :5]).all()


@pytest.mark.slow
def test_infer_video_onnx_gives_the_checkpoints_top5(setup, exported, capsys):
    """Same windows, same top-5 verbs, nouns and actions, scores within 1e-4."""
    data, ckpt, root = setup
    tool = conftest.load_tool('infer_video')
    video = data['videos']['P01_01'][0]
    names = ['--verb-classes', data['verb_csv'], '--noun-classes', data['noun_csv']]
    pt, ox = str(root / 'pt.csv'), str(root / 'onnx.csv')
    assert tool.main([DEMO_CONFIG, ckpt, video, '--out', pt, *names]) == 0
    assert tool.main(['--onnx', exported[0], video, '--out', ox, '--threads', '1']) == 0
    out = capsys.readouterr().out
    assert out.count('11 windows over 12.0s') == 2
    a, b = (pd.read_csv(p, keep_default_na=False) for p in (pt, ox))
    assert len(a) == 11
    assert a[['start_frame', 'stop_frame']].equals(b[['start_frame', 'stop_frame']])
    for task in ('verb', 'noun', 'action'):
        cols = [f'{task}_{r}' for r in range(1, 6)]
        assert (a[cols].to_numpy() == b[cols].to_numpy()).all(), task
    scores = [c for c in a.columns if c.endswith('_score')]
    np.testing.assert_allclose(a[scores], b[scores], atol=1e-4)


@pytest.mark.slow
def test_pair_head_is_marginalised_and_its_table_recorded(setup):
    """The exported pair model gives test_step's verb/noun scores; the metadata has the pairs."""
    import onnxruntime as ort
    from mmengine.dataset import pseudo_collate

    from epic_mmaction.inference.clips import ClipPipeline
    from epic_mmaction.inference.onnx_export import export_recognizer, read_metadata
    _, _, root = setup
    pairs = [(0, 1), (2, 3), (5, 11), (1, 0)]
    pairs_file = str(root / 'pairs.json')
    PairVocabulary.from_labels(pairs).save(pairs_file)
    head = dict(output='pair', pairs_file=pairs_file)
    ckpt = save_untrained_checkpoint(str(root / 'pair.pth'), **head)
    cfg, recognizer, model = clip_model(ckpt, **head)
    out = str(root / 'pair.onnx')
    report = export_recognizer(cfg, ckpt, out)
    assert report.max_abs_diff <= 1e-4 and report.top5_identical
    assert sorted(map(tuple, read_metadata(out)['pairs'])) == sorted(pairs)
    clips = ClipPipeline.from_config(cfg, one_view=True)
    packed = [clips.from_random_frames(seed=s) for s in range(3)]
    with torch.no_grad():
        samples = recognizer.test_step(pseudo_collate(packed))
    batch = torch.cat([model.clips_from_inputs(p['inputs']) for p in packed]).float().numpy()
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    verb, noun = session.run(['verb', 'noun'], {'clip': batch})
    np.testing.assert_allclose(verb, torch.stack([s.verb_score for s in samples]), atol=1e-5)
    np.testing.assert_allclose(noun, torch.stack([s.noun_score for s in samples]), atol=1e-5)


def _register_unexportable_backbone() -> str:
    """X3D whose output goes through aten.kthvalue (no ONNX translation); same weights."""
    from mmaction.models.backbones import X3D
    from mmaction.registry import MODELS
    name = 'KthvalueX3D'
    if MODELS.get(name) is None:
        @MODELS.register_module(name=name)
        class KthvalueX3D(X3D):
            def forward(self, x):
                y = super().forward(x)
                return y + 0 * torch.kthvalue(y.flatten(1), 1, dim=1).values.view(-1, 1, 1, 1, 1)
    return name


@pytest.mark.slow  # a torch.export attempt, ~12 s
def test_unexportable_operator_is_refused_by_name(setup, tmp_path, capsys):
    """One stderr line naming the operator, exit 2, and no file written."""
    import epic_mmaction.plugin  # noqa: F401
    _, ckpt, _ = setup
    name = _register_unexportable_backbone()
    config = tmp_path / 'kth.py'
    config.write_text(f'_base_ = [{DEMO_CONFIG!r}]\nmodel = dict(backbone=dict(type={name!r}))\n')
    out = tmp_path / 'kth.onnx'
    code = conftest.load_tool('export_onnx').main([str(config), ckpt, '--out', str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and 'Traceback' not in err
    assert 'aten.kthvalue' in err and 'no ONNX translation' in err
    assert os.listdir(tmp_path) == ['kth.py']  # neither the model nor a temporary


@pytest.mark.parametrize('case', ['config', 'checkpoint', 'onnx', 'not_onnx', 'video'])
def test_missing_or_bad_inputs_are_one_line(setup, tmp_path, capsys, case):
    data, ckpt, _ = setup
    video = data['videos']['P02_101'][0]
    missing = str(tmp_path / 'missing.file')
    export = conftest.load_tool('export_onnx').main
    infer = conftest.load_tool('infer_video').main
    run, named = {
        'config': (lambda: export([missing, ckpt, '--out', str(tmp_path / 'm.onnx')]), missing),
        'checkpoint': (lambda: export([DEMO_CONFIG, missing, '--out', 'm.onnx']), missing),
        'onnx': (lambda: infer(['--onnx', missing, video]), missing),
        'not_onnx': (lambda: infer(['--onnx', ckpt, video]), ckpt),
        'video': (lambda: infer(['--onnx', ckpt, missing]), missing),
    }[case]
    assert run() == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'Traceback' not in err, err
    assert named in err
