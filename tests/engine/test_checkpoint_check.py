"""Checkpoint files that cannot be used are named with what they are, and models
are compared by their weight shapes (built on the meta device)."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import epic_mmaction.plugin  # noqa: F401  (registers the EPIC head)
from epic_mmaction.engine.checkpoint import (CheckpointError, CheckpointMismatch,
                                             check_checkpoint, check_load_from,
                                             compare_weights, fit_to_model, read_checkpoint,
                                             model_weights)

from ..conftest import REPO
from ..inference.helpers import save_untrained_checkpoint

DEMO = osp.join(REPO, 'configs', 'demo', 'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py')


@pytest.fixture(scope='module')
def good(tmp_path_factory):
    return save_untrained_checkpoint(str(tmp_path_factory.mktemp('ckpt') / 'good.pth'))


def refused(path, message, error=CheckpointError):
    with pytest.raises(error) as info:
        model_weights(read_checkpoint(str(path)), str(path))
    assert message in str(info.value), str(info.value)
    assert 'weights_only' not in str(info.value)


def test_unreadable_files_say_what_they_are(good, tmp_path):
    whole = open(good, 'rb').read()
    refused(tmp_path / 'missing.pth', f'checkpoint not found: {tmp_path}/missing.pth')
    refused(tmp_path, f'checkpoint {tmp_path} is a directory')
    (tmp_path / 'empty.pth').write_bytes(b'')
    refused(tmp_path / 'empty.pth', 'the file is empty')
    for cut in (len(whole) // 2, len(whole) - 30, 100):
        (tmp_path / 'cut.pth').write_bytes(whole[:cut])
        refused(tmp_path / 'cut.pth', 'a truncated or damaged zip archive')
    (tmp_path / 'noise.pth').write_bytes(np.random.default_rng(1).bytes(3000))
    refused(tmp_path / 'noise.pth', 'not a PyTorch checkpoint')
    np.savez(tmp_path / 'results.npz', verb_score=np.zeros(3))
    refused(tmp_path / 'results.npz', 'a zip archive without PyTorch data')
    torch.save({'narration_id': ['a'], 'verb_output': torch.zeros(1, 3),
                'noun_output': torch.zeros(1, 4)}, tmp_path / 'dict_submission.pt')
    refused(tmp_path / 'dict_submission.pt', 'is a Codabench submission')
    torch.save({'model': {'w': torch.zeros(2)}, 'epoch': 3}, tmp_path / 'other.pth')
    refused(tmp_path / 'other.pth', "holds no model weights (no state_dict; keys ['epoch', "
            "'model'])")
    torch.save({'state_dict': {}}, tmp_path / 'blank.pth')
    refused(tmp_path / 'blank.pth', 'holds no model weights')


def test_checks_against_the_configs_model(good, tmp_path):
    cfg = Config.fromfile(DEMO)
    assert check_checkpoint(cfg, good)['meta'] == {}
    with pytest.raises(CheckpointMismatch, match='does not fit the config .*demo.*: 2 shape'):
        check_checkpoint(cfg, save_untrained_checkpoint(str(tmp_path / 'n.pth'), num_nouns=5))
    # fine-tuning: the head may differ, the backbone may not
    head = check_load_from(cfg, str(tmp_path / 'n.pth'))
    assert [r[0] for r in head.reshaped] == ['cls_head.output.fc_noun.weight',
                                             'cls_head.output.fc_noun.bias']
    state = torch.load(good)['state_dict']
    del state['backbone.conv1_s.conv.weight']
    torch.save({'state_dict': state}, tmp_path / 'partial.pth')
    with pytest.raises(CheckpointMismatch, match=r'outside its head: 1 weight\(s\) missing, '
                       'e.g. backbone.conv1_s.conv.weight'):
        check_load_from(cfg, str(tmp_path / 'partial.pth'))
    with pytest.raises(CheckpointMismatch, match='1 weight'):
        check_checkpoint(cfg, str(tmp_path / 'partial.pth'))


def test_fit_to_model_keeps_the_models_head_only_when_allowed():
    own = {'backbone.w': torch.ones(2), 'cls_head.fc.weight': torch.zeros(3, 2)}
    state = {'backbone.w': torch.full((2,), 5.0), 'cls_head.fc.weight': torch.ones(4, 2),
             'cls_head.extra': torch.ones(1)}
    fitted, head = fit_to_model(state, own, 'k400.pth', head_may_differ=True)
    assert fitted['backbone.w'].tolist() == [5.0, 5.0]
    assert fitted['cls_head.fc.weight'] is own['cls_head.fc.weight'] and set(fitted) == set(own)
    assert head.dropped() == ('cls_head.fc.weight (4, 2)->(3, 2); 1 checkpoint weight(s) '
                              'the model does not have are ignored: cls_head.extra')
    with pytest.raises(CheckpointMismatch, match='cannot resume from checkpoint k400.pth'):
        fit_to_model(state, own, 'k400.pth', head_may_differ=False)
    assert compare_weights({'a': (2,)}, {'module.a': torch.zeros(2)}).missing == ['a']
