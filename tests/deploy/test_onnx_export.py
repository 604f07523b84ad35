"""tools/export_onnx.py on the demo checkpoint with real onnxruntime: the file's
metadata, the verification, infer_video.py --onnx giving the checkpoint's top-5
windows, the refusal naming an unexportable operator, one-line input errors."""
import pandas as pd
import pytest
import torch

from epic_mmaction.inference.onnx_export import (UnsupportedOperator, export_module,
                                                 read_metadata)

from .. import conftest
from ..inference.helpers import DEMO_CONFIG, make_videos, save_untrained_checkpoint


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp('onnx')
    data = make_videos(str(root / 'data'))
    ckpt = save_untrained_checkpoint(str(root / 'untrained.pth'))
    out = root / 'demo.onnx'
    tool = conftest.load_tool('export_onnx')
    assert tool.main([DEMO_CONFIG, ckpt, '--out', str(out), '--verb-classes',
                      data['verb_csv'], '--noun-classes', data['noun_csv']]) == 0
    return data, ckpt, out, root


@pytest.mark.slow  # the export fixture takes ~25 s on 2 shared cores
def test_export_writes_verified_model_with_metadata(exported, capsys):
    data, _, out, _ = exported
    meta = read_metadata(str(out))
    assert meta['input_shape'] == [3, 4, 32, 32] and meta['input_layout'] == 'BCTHW'
    assert (meta['clip_len'], meta['frame_interval']) == (4, 6)
    assert meta['mean'] == [114.75] * 3 and len(meta['verb_classes']) == 6
    assert len(meta['noun_classes']) == 12 and meta['checkpoint_sha256']
    assert meta['verified_max_abs_diff'] <= 1e-4
    import onnxruntime as ort
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    for batch in (1, 5):  # the batch axis is dynamic
        verb, noun = session.run(None, {'clip': torch.rand(batch, 3, 4, 32, 32).numpy() * 255})
        assert verb.shape == (batch, 6) and noun.shape == (batch, 12)
        assert abs(verb.sum(1) - 1).max() < 1e-5


@pytest.mark.slow  # the export fixture takes ~25 s on 2 shared cores
def test_infer_video_onnx_gives_the_checkpoints_top5(exported):
    data, ckpt, out, root = exported
    tool = conftest.load_tool('infer_video')
    video = data['videos']['P01_01'][0]
    assert tool.main([DEMO_CONFIG, ckpt, video, '--verb-classes', data['verb_csv'],
                      '--noun-classes', data['noun_csv'], '--out', str(root / 'pt.csv')]) == 0
    assert tool.main(['--onnx', str(out), video, '--out', str(root / 'ort.csv')]) == 0
    pt, ort_ = (pd.read_csv(root / f'{n}.csv', keep_default_na=False) for n in ('pt', 'ort'))
    names = [f'{t}_{r}' for t in ('verb', 'noun', 'action') for r in range(1, 6)]
    assert len(pt) == len(ort_) == 11
    assert (pt[names] == ort_[names]).all().all()
    scores = [f'{n}_score' for n in names]
    assert (pt[scores] - ort_[scores]).abs().max().max() <= 1e-4


def test_unexportable_operator_is_named(tmp_path):
    class Eigh(torch.nn.Module):
        def forward(self, x):
            values = torch.linalg.eigh(x)[0]
            return values, values

    with pytest.raises(UnsupportedOperator, match=r'the operator aten\._linalg_eigh has no '
                       'ONNX translation'):
        export_module(Eigh(), torch.eye(3).repeat(2, 1, 1), str(tmp_path / 'eigh.onnx'))


@pytest.mark.slow  # the export fixture takes ~25 s on 2 shared cores
def test_bad_inputs_are_one_line(exported, tmp_path, capsys):
    data, ckpt, out, _ = exported
    export = conftest.load_tool('export_onnx')
    assert export.main([DEMO_CONFIG, str(tmp_path / 'no.pth'), '--out',
                        str(tmp_path / 'x.onnx')]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'checkpoint not found' in err and 'no.pth' in err
    infer = conftest.load_tool('infer_video')
    assert infer.main(['--onnx', data['truth'], data['videos']['P01_01'][0]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and 'not an ONNX model' in err and data['truth'] in err
    assert infer.main(['--onnx', str(tmp_path / 'none.onnx'), data['truth']]) == 2
    assert 'ONNX model not found' in capsys.readouterr().err
