"""Fine-tuning strategies of the whole-video recipes, trained for real.

Each recipe config is run by an mmengine Runner for a few epochs on tiny
clips (its model and FineTuningHook/paramwise_cfg as shipped, with small
inputs); a recording hook reads, every epoch, which parameters require
gradients, whether they changed, the BatchNorm statistics, and the learning
rate of each parameter's optimizer group.
"""
import copy
import os.path as osp
from typing import Dict, List

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from epic_mmaction.engine.hooks.fine_tuning import FineTuningHook, frozen_names

from ..conftest import REPO
from .conftest import NUM_CLASSES

SLOWONLY = osp.join(REPO, 'configs', 'slowonly')
HEADONLY = osp.join(SLOWONLY, 'slowonly_r50_kinetics400-pretrained_8xb8-8x8x1-30e_hri30-rgb-headonly.py')
DIFFLR = osp.join(SLOWONLY, 'slowonly_r50_kinetics400-pretrained_8xb8-8x8x1-30e_hri30-rgb-difflr.py')
PROGRESSIVE = osp.join(SLOWONLY, 'slowonly_r50_kinetics400-pretrained_8xb8-8x8x1-30e_hri30-rgb-progressive.py')
X3D_HEADONLY = osp.join(REPO, 'configs', 'x3d', 'x3d_s_kinetics400-pretrained_4xb16-13x6x1-30e_ucf50-rgb-headonly.py')

# 4 frames at 32 px: the recipes' models, cheap enough for a CPU
TINY_PIPELINE = [
    dict(type='SegmentVideoInit'),
    dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(32, 32), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=('narration_id', 'video_file'))]

# one watched tensor per part: (parameter, BatchNorm running mean)
WATCH = {
    'conv1': ('backbone.conv1.conv.weight', 'backbone.conv1.bn.running_mean'),
    'layer1': ('backbone.layer1.0.conv1.conv.weight', 'backbone.layer1.0.conv1.bn.running_mean'),
    'layer3': ('backbone.layer3.0.conv1.conv.weight', 'backbone.layer3.0.conv1.bn.running_mean'),
    'layer4': ('backbone.layer4.0.conv1.conv.weight', 'backbone.layer4.0.conv1.bn.running_mean'),
    'head': ('cls_head.fc_cls.weight', None),
}


class Recorder(Hook):
    """Per epoch: requires_grad per part, which watched tensors changed, group lrs."""

    priority = 'LOWEST'

    def __init__(self, watch: Dict[str, tuple]) -> None:
        self.watch = watch
        self.epochs: List[dict] = []
        self.lr_of: Dict[str, float] = {}

    def _tensors(self, runner) -> dict:
        state = runner.model.state_dict()
        return {name: state[key].detach().clone()
                for part, keys in self.watch.items() for name, key in
                zip((f'{part}.param', f'{part}.bn'), keys) if key}

    def before_train_epoch(self, runner) -> None:
        self._start = self._tensors(runner)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self.lr_of:
            return
        names = {id(p): n for n, p in runner.model.named_parameters()}
        for group in runner.optim_wrapper.optimizer.param_groups:
            for p in group['params']:
                self.lr_of[names[id(p)]] = group['lr']

    def after_train_epoch(self, runner) -> None:
        params = dict(runner.model.named_parameters())
        end = self._tensors(runner)
        self.epochs.append(dict(
            trainable={part: params[keys[0]].requires_grad
                       for part, keys in self.watch.items()},
            changed={k: not torch.equal(self._start[k], end[k]) for k in end},
            backbone_trainable=sum(p.requires_grad for n, p in params.items()
                                   if n.startswith('backbone.')),
            backbone_total=sum(n.startswith('backbone.') for n in params)))


def build_runner(config: str, clips, tmp_path, epochs: int, hooks=None,
                 watch=WATCH, resume_from=None) -> tuple:
    """The recipe with its model, optimizer and FineTuningHook, on tiny clips."""
    videos, lists = clips
    cfg = Config.fromfile(config)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    cfg.load_from = None
    cfg.model.cls_head.num_classes = NUM_CLASSES
    pipeline = TINY_PIPELINE
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(ann_file=osp.join(lists, 'clips_train.txt'),
                                        data_prefix=dict(video=videos), pipeline=pipeline)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader',
                'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs, val_interval=100)
    cfg.optim_wrapper.type = 'OptimWrapper'  # no AMP on CPU
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, save_best=None)
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [h for h in (hooks if hooks is not None else cfg.custom_hooks)
                        if h['type'] == 'FineTuningHook']
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.env_cfg.cudnn_benchmark = False
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    recorder = Recorder(watch)
    runner.register_hook(recorder)
    return runner, recorder


def lr_ratio(recorder: Recorder, name: str) -> float:
    return recorder.lr_of[name] / recorder.lr_of['cls_head.fc_cls.weight']


def test_frozen_names_most_specific_prefix_wins():
    names = ['backbone.conv1.w', 'backbone.layer4.0.w', 'backbone.layer40.w', 'cls_head.w']
    assert frozen_names(names, ['backbone'], []) == set(names[:3])
    assert frozen_names(names, ['backbone'], ['backbone.layer4']) == {
        'backbone.conv1.w', 'backbone.layer40.w'}


def test_hook_rejects_bad_schedules():
    with pytest.raises(ValueError, match='not inside any frozen module'):
        FineTuningHook(frozen=['backbone'], unfreeze={1: ['cls_head']})
    with pytest.raises(ValueError, match='non-empty list'):
        FineTuningHook(frozen='backbone')
    with pytest.raises(ValueError, match='count from 0'):
        FineTuningHook(frozen=['backbone'], unfreeze={-1: ['backbone.layer4']})


@pytest.mark.slow
def test_head_only_trains_only_the_head(tiny_clips, tmp_path, caplog):
    runner, rec = build_runner(HEADONLY, tiny_clips, tmp_path, epochs=2)
    runner.train()
    for epoch in rec.epochs:
        assert epoch['backbone_trainable'] == 0 < epoch['backbone_total']
        assert epoch['trainable']['head'] and epoch['changed']['head.param']
        for part in ('conv1', 'layer1', 'layer3', 'layer4'):
            assert not epoch['trainable'][part]
            # no update, and BatchNorm statistics stay the pretrained ones
            assert not epoch['changed'][f'{part}.param'], part
            assert not epoch['changed'][f'{part}.bn'], part
    # the frozen parameters are still in the optimizer (at the base rate)
    assert lr_ratio(rec, WATCH['layer4'][0]) == pytest.approx(1.0)


@pytest.mark.slow
def test_differential_lr_trains_everything_backbone_at_a_tenth(tiny_clips, tmp_path):
    runner, rec = build_runner(DIFFLR, tiny_clips, tmp_path, epochs=1)
    runner.train()
    (epoch,) = rec.epochs
    assert epoch['backbone_trainable'] == epoch['backbone_total']
    for part in WATCH:
        assert epoch['trainable'][part] and epoch['changed'][f'{part}.param'], part
    for part in ('conv1', 'layer1', 'layer3', 'layer4'):
        assert lr_ratio(rec, WATCH[part][0]) == pytest.approx(0.1), part
        assert epoch['changed'][f'{part}.bn'], part
    assert lr_ratio(rec, 'cls_head.fc_cls.bias') == pytest.approx(1.0)


@pytest.mark.slow
def test_progressive_unfreezing_follows_its_schedule(tiny_clips, tmp_path):
    shipped = Config.fromfile(PROGRESSIVE).custom_hooks[0]
    assert shipped['type'] == 'FineTuningHook'
    # the shipped schedule, compressed: layer4 from epoch 1, layer3 from 2
    hook = copy.deepcopy(shipped)
    hook['unfreeze'] = {1: ['backbone.layer4'], 2: ['backbone.layer3']}
    runner, rec = build_runner(PROGRESSIVE, tiny_clips, tmp_path, epochs=3, hooks=[hook])
    runner.train()
    expect = [  # trainable (and changing) per epoch
        dict(head=True, layer4=False, layer3=False, layer1=False, conv1=False),
        dict(head=True, layer4=True, layer3=False, layer1=False, conv1=False),
        dict(head=True, layer4=True, layer3=True, layer1=False, conv1=False)]
    for i, (epoch, want) in enumerate(zip(rec.epochs, expect)):
        assert epoch['trainable'] == want, i
        for part, trains in want.items():
            assert epoch['changed'][f'{part}.param'] == trains, (i, part)
            if part != 'head':
                assert epoch['changed'][f'{part}.bn'] == trains, (i, part)
    assert lr_ratio(rec, WATCH['layer4'][0]) == pytest.approx(0.1)
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert "FineTuningHook: epoch 1: frozen ['backbone']" in log
    assert "FineTuningHook: epoch 2: unfroze ['backbone.layer4']" in log
    assert "FineTuningHook: epoch 3: unfroze ['backbone.layer3']" in log


@pytest.mark.slow
def test_resumed_run_freezes_what_the_interrupted_one_did(tiny_clips, tmp_path):
    hook = dict(type='FineTuningHook', frozen=['backbone'],
                unfreeze={1: ['backbone.layer4'], 2: ['backbone.layer3']})
    first, _ = build_runner(PROGRESSIVE, tiny_clips, tmp_path, epochs=1, hooks=[hook])
    first.train()  # "interrupted" after epoch 1: layer4 was still frozen
    ckpt = str(tmp_path / 'work' / 'epoch_1.pth')
    runner, rec = build_runner(PROGRESSIVE, tiny_clips, tmp_path, epochs=2, hooks=[hook],
                               resume_from=ckpt)
    runner.train()
    (epoch,) = rec.epochs  # epoch 2 only, as the uninterrupted run would
    assert epoch['trainable'] == dict(head=True, layer4=True, layer3=False, layer1=False,
                                      conv1=False)
    assert epoch['changed']['layer4.param'] and not epoch['changed']['layer3.param']
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert ("FineTuningHook: epoch 2: frozen ['backbone'], unfrozen "
            "['backbone.layer4']") in log


@pytest.mark.slow
def test_x3d_head_only_freezes_the_whole_backbone(tiny_clips, tmp_path):
    watch = {'conv1': ('backbone.conv1_s.conv.weight', 'backbone.conv1_t.bn.running_mean'),
             'layer4': ('backbone.layer4.0.conv1.conv.weight',
                        'backbone.layer4.0.conv1.bn.running_mean'),
             'conv5': ('backbone.conv5.conv.weight', 'backbone.conv5.bn.running_mean'),
             'head': ('cls_head.fc2.weight', None)}
    runner, rec = build_runner(X3D_HEADONLY, tiny_clips, tmp_path, epochs=1, watch=watch)
    runner.train()
    (epoch,) = rec.epochs
    assert epoch['backbone_trainable'] == 0
    assert epoch['changed'] == {'conv1.param': False, 'conv1.bn': False,
                                'layer4.param': False, 'layer4.bn': False,
                                'conv5.param': False, 'conv5.bn': False,
                                'head.param': True}


def test_unknown_module_names_fail_before_training(tiny_clips, tmp_path):
    hook = dict(type='FineTuningHook', frozen=['backbone'],
                unfreeze={1: ['backbone.stage4']})
    runner, _ = build_runner(X3D_HEADONLY, tiny_clips, tmp_path, epochs=1, hooks=[hook],
                             watch={})
    with pytest.raises(ValueError, match=r"no module \['backbone.stage4'\].*'backbone', "
                                         r"'cls_head'"):
        runner.train()


@pytest.mark.slow
def test_progressive_unfreezing_under_ddp_keeps_ranks_in_sync(tiny_clips, tmp_path):
    """2 CPU ranks (torchrun, gloo): a stage unfrozen after DDP was built must
    have its gradients all-reduced (the hook re-wraps the model), so both
    ranks hold the same weights after every epoch though they see different
    clips."""
    import json
    import os
    import subprocess
    import sys

    from ..tools.test_dist_tools import free_port
    videos, lists = tiny_clips
    watch = ['backbone.layer4.0.conv1.conv.weight', 'backbone.layer3.0.conv1.conv.weight',
             'cls_head.fc_cls.weight']
    config = tmp_path / 'progressive_ddp.py'
    config.write_text(f"""_base_ = [{PROGRESSIVE!r}]
custom_imports = dict(imports=['epic_mmaction.plugin', 'tests.engine.weight_probe'],
                      allow_failed_imports=False)
load_from = None
model = dict(cls_head=dict(num_classes={NUM_CLASSES}))
pipeline = {TINY_PIPELINE!r}
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(ann_file={osp.join(lists, 'clips_train.txt')!r},
                                     data_prefix=dict(video={videos!r}), pipeline=pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=100)
default_hooks = dict(checkpoint=None, logger=dict(interval=1))
custom_hooks = [dict(type='FineTuningHook', frozen=['backbone'],
                     unfreeze={{1: ['backbone.layer4']}}),
                dict(type='WeightProbeHook', names={watch!r})]
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
randomness = dict(seed=0)
""")
    work = tmp_path / 'work'
    env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM_')}
    env.update(CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PYTHONPATH=REPO, PORT=str(free_port()))
    out = subprocess.run([osp.join(REPO, 'tools', 'dist_train.sh'), str(config), '2',
                          '--work-dir', str(work)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 're-wrapped the model in DDP' in log
    digests = {(r, e): json.load(open(work / 'weights' / f'rank{r}_epoch{e}.json'))
               for r in (0, 1) for e in (0, 1)}
    for epoch in (0, 1):
        a, b = digests[0, epoch], digests[1, epoch]
        assert a['wrapped'] == 'MMDistributedDataParallel'
        for name in watch:
            assert a['digest'][name] == pytest.approx(b['digest'][name], rel=1e-6), \
                (epoch, name)
    layer4, layer3 = watch[0], watch[1]
    # layer4 trained in the second epoch only; layer3 never
    assert digests[0, 1]['digest'][layer4] != digests[0, 0]['digest'][layer4]
    assert digests[0, 1]['digest'][layer3] == digests[0, 0]['digest'][layer3]
