"""tools/benchmark_training.py and ChannelsLastHook, on CPU.

The CLI runs as a subprocess on tiny synthetic videos (the demo X3D-S config
shrunk to 4 frames, batch 2); the numbers are checked for consistency, never
against a speed. Error paths call the tool's ``main`` in this process (every
subprocess spends ~5 s importing MMAction2).
"""
import json
import os
import os.path as osp
import re
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import read_list, write_list
from benchmark.levers import (LeverError, Levers, apply_levers,
                                            effective_levers, parse_spec)
from benchmark.training import LoaderBatches, time_training
from epic_mmaction.engine.hooks.channels_last import (ChannelsLastHook, conv_layers,
                                                      layout_name, memory_format_of)

from .. import conftest, toolrun
from ..conftest import REPO

TOOL = osp.join(REPO, 'tools', 'benchmark_training.py')
DEMO = osp.join(REPO, 'configs', 'demo', 'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py')
TSM = osp.join(REPO, 'configs', 'tsm', 'tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py')
SLOWFAST = osp.join(REPO, 'configs', 'slowfast', 'slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-verbnoun.py')
BATCH, ITERS, WARMUP = 2, 3, 1


def shrink_clips(config):
    """--cfg-options sampling 4 frames instead of the config's clip_len."""
    pipeline = Config.fromfile(config).train_dataloader.dataset.pipeline
    step = next(i for i, t in enumerate(pipeline) if t['type'] == 'SampleFrames')
    return f'train_dataloader.dataset.pipeline.{step}.clip_len=4'


SHRINK = ['--batch-size', BATCH, '--workers', 1, '--iters', ITERS, '--warmup', WARMUP,
          '--device', 'cpu', '--cfg-options', shrink_clips(DEMO)]


def load_tool():
    return conftest.load_tool('benchmark_training')


@pytest.fixture(scope='module')
def tiny_lists(small_epic, tmp_path_factory):
    """4 training segments: 2 full batches of 2 per epoch."""
    root, _, _ = small_epic
    out = tmp_path_factory.mktemp('bench_lists')
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(out)))
    write_list(str(out / 'epic100_train_clean.txt'),
               read_list(str(out / 'epic100_train.txt'))[:4])
    return dict(EPIC_VIDEOS=osp.join(root, 'videos'), EPIC_LISTS=str(out),
                CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')


def benchmark(*args, env):
    return toolrun.run_tool(TOOL, *args, env={**os.environ, **env}, timeout=600)


def check_phase(phase, clips_per_iter):
    assert phase['iters'] == ITERS
    assert phase['clips'] == clips_per_iter * ITERS
    assert 0 <= phase['data_share'] <= 1
    assert phase['clips_per_s'] == pytest.approx(phase['clips'] / phase['wall_s'], rel=1e-9)
    assert phase['mean_step_ms'] == pytest.approx(1000 * phase['step_s'] / ITERS, rel=1e-9)
    # wall time is data time + step time (plus a few Python statements)
    assert phase['data_s'] + phase['step_s'] <= phase['wall_s']
    assert phase['data_s'] + phase['step_s'] >= 0.9 * phase['wall_s']
    assert phase['peak_memory_mib'] > 0


def test_cli_channels_last_run(tiny_lists, tmp_path):
    out_json = tmp_path / 'bench.json'
    out = benchmark(DEMO, *SHRINK, '--channels-last', '--work-dir', tmp_path / 'work',
                    '--out', out_json, env=tiny_lists)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    [run] = json.loads(out_json.read_text())['runs']
    assert run['device'] == 'cpu' and run['batch_size'] == BATCH and run['workers'] == 1
    assert (run['iters'], run['warmup']) == (ITERS, WARMUP)
    real, gpu_only = run['real'], run['gpu_only']
    check_phase(real, BATCH)
    check_phase(gpu_only, BATCH)
    # the real phase drew every batch from the loader, the GPU-only phase none
    assert real['loader_batches'] == WARMUP + ITERS
    assert gpu_only['loader_batches'] == 0
    assert run['ratio'] == pytest.approx(real['clips_per_s'] / gpu_only['clips_per_s'])
    assert run['levers'] == dict(amp='none', channels_last=True, compile='off',
                                 cudnn_benchmark=False)  # the demo config's settings
    assert run['spec'] == 'cl'
    assert run['flush_denormal'] is True  # CPU only
    # ChannelsLastHook did its work: every conv weight whose layouts differ, and
    # the backbone's input
    done, total = map(int, run['layout']['conv_weights_channels_last'].split('/'))
    assert done == total >= 1
    assert run['layout']['backbone_input'] == 'channels_last_3d'
    # the table: one row for the run, its numbers as in the JSON
    rows = [line for line in out.stdout.splitlines() if line.startswith('| cl |')]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip('|').split('|')]
    assert cells[1:5] == ['none', 'yes', 'off', 'off']
    assert cells[7] == f'{real["clips_per_s"]:.2f}'
    assert cells[9] == f'{gpu_only["clips_per_s"]:.2f}'
    assert cells[10] == f'{run["ratio"]:.2f}'
    assert re.search(r'\| run \| amp \|.*\| clips/s \| data share \| GPU-only clips/s \|',
                     out.stdout)


@pytest.mark.slow
def test_cli_sweep_one_process_per_combination(tiny_lists, tmp_path):
    out_json = tmp_path / 'sweep.json'
    out = benchmark(DEMO, *SHRINK, '--work-dir', tmp_path / 'work', '--sweep',
                    'config,nocl,bf16', '--out', out_json, env=tiny_lists)
    assert out.returncode == 1, out.stdout[-3000:] + out.stderr[-3000:]  # bf16 failed
    runs = json.loads(out_json.read_text())['runs']
    assert [r['spec'] for r in runs] == ['config', 'nocl', 'bf16']
    # the demo config trains channels-last; nocl takes its ChannelsLastHook out
    assert runs[0]['levers']['channels_last'] is True
    assert runs[1]['levers']['channels_last'] is False
    assert runs[0]['layout']['backbone_input'] == 'channels_last_3d'
    assert runs[1]['layout']['backbone_input'] == 'contiguous'
    assert runs[0]['pid'] != runs[1]['pid']  # each in its own process
    assert 'needs a CUDA device' in runs[2]['error']
    table = [line for line in out.stdout.splitlines() if line.startswith('| ')]
    assert len(table) == 1 + 3  # header and one row per combination
    assert table[-1].startswith('| bf16 |') and 'needs a CUDA device' in table[-1]
    assert '[3/3] bf16: error' in out.stderr


def test_cli_missing_videos_is_a_clear_error(tiny_lists, tmp_path):
    env = dict(tiny_lists, EPIC_LISTS=str(tmp_path / 'nowhere'))
    out = benchmark(DEMO, *SHRINK, '--work-dir', tmp_path / 'work', env=env)
    assert out.returncode == 2
    assert 'benchmark_training.py: error: cannot set up training' in out.stderr
    assert 'EPIC_LISTS' in out.stderr and 'Traceback' not in out.stderr


@pytest.mark.parametrize('args, message', [
    (['--amp', 'bf16'], '--amp bf16 needs a CUDA device'),
    (['--amp', 'fp16'], 'on CPU use --amp none'),
    (['--sweep', 'config,bf17'], "unknown lever 'bf17'"),
    (['--sweep', 'compile=fast'], "compile mode 'fast' is not one of"),
], ids=['bf16', 'fp16', 'sweep-token', 'compile-mode'])
def test_bad_levers_are_clear_errors(args, message, capsys, monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    assert load_tool().main([DEMO, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith('benchmark_training.py: error: ') and message in err


def test_bad_configs_are_clear_errors(capsys, tmp_path):
    tool = load_tool()
    assert tool.main([str(tmp_path / 'nope.py')]) == 2
    assert 'does not exist: pass a training config' in capsys.readouterr().err
    model_only = osp.join(REPO, 'configs', '_base_', 'models', 'x3d_s.py')
    assert tool.main([model_only]) == 2
    assert 'has no train_dataloader, optim_wrapper, train_cfg' in capsys.readouterr().err
    broken = tmp_path / 'broken.py'
    broken.write_text('model = dict(\n')
    assert tool.main([str(broken)]) == 2
    assert f'cannot read config {broken}' in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: exit code 2 and the reason
        tool.main([DEMO, '--iters', '0'])
    assert '--iters: must be >= 1' in capsys.readouterr().err


def test_levers_set_the_config_keys():
    cfg = Config.fromfile(DEMO)
    # the demo config trains channels-last (ChannelsLastHook), fp32, eagerly
    assert effective_levers(cfg) == dict(amp='none', compile='off', channels_last=True)
    apply_levers(cfg, Levers(channels_last=False))
    assert 'ChannelsLastHook' not in [h['type'] for h in cfg.custom_hooks]
    assert effective_levers(cfg)['channels_last'] is False
    apply_levers(cfg, Levers(amp='bf16', channels_last=True, compile='max-autotune',
                             cudnn_benchmark=True))
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16' and cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.custom_hooks[-1] == dict(type='ChannelsLastHook')
    assert cfg.compile == dict(mode='max-autotune')
    assert cfg.env_cfg.cudnn_benchmark is True
    assert effective_levers(cfg) == dict(amp='bf16', compile='max-autotune',
                                         channels_last=True)
    apply_levers(cfg, Levers(amp='none', channels_last=False, compile='default'))
    assert cfg.optim_wrapper.type == 'OptimWrapper' and 'dtype' not in cfg.optim_wrapper
    assert 'ChannelsLastHook' not in [h['type'] for h in cfg.custom_hooks]
    assert cfg.compile is True
    # the shipped X3D config's AmpOptimWrapper without dtype is fp16
    assert effective_levers(Config.fromfile(osp.join(
        REPO, 'configs', 'x3d', 'x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py')))['amp'] == 'fp16'
    cfg.optim_wrapper.type = 'MyWrapper'
    with pytest.raises(LeverError, match='neither OptimWrapper nor AmpOptimWrapper'):
        apply_levers(cfg, Levers(amp='fp16'))


@pytest.mark.parametrize('argv, levers', [
    ([], Levers()),
    (['--amp', 'fp16', '--channels-last', '--compile'],
     Levers(amp='fp16', channels_last=True, compile='default')),
    (['--no-channels-last', '--compile', 'max-autotune', '--cudnn-benchmark', 'off'],
     Levers(channels_last=False, compile='max-autotune', cudnn_benchmark=False)),
])
def test_cli_options_map_to_levers(argv, levers):
    tool = load_tool()
    options = tool.options_from(tool.parse_args([DEMO, *argv, '--batch-size', '4']))
    assert options.levers == levers and options.batch_size == 4


@pytest.mark.parametrize('spec', ['config', 'fp32', 'bf16+cl', 'fp16+nocl+compile+nobench',
                                  'bf16+cl+compile=max-autotune+bench'])
def test_sweep_specs_round_trip(spec):
    assert parse_spec(spec).spec() == spec
    assert Levers(amp='fp16').merged(parse_spec(spec)).amp == (
        parse_spec(spec).amp or 'fp16')


class CountingModel(torch.nn.Module):
    """train_step records its batches; no real work."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def train_step(self, batch, optim_wrapper):
        self.seen.append(batch['id'])
        return {}


def test_time_training_times_only_the_timed_iterations():
    loader = [dict(id=i, inputs=[0] * 2) for i in range(3)]  # 3 batches an epoch
    source = LoaderBatches(loader)
    model = CountingModel()
    synced = []
    result = time_training(model, None, source, iters=5, warmup=2,
                           synchronize=lambda: synced.append(len(model.seen)))
    assert model.seen == [0, 1, 2, 0, 1, 2, 0]  # epochs restart, warm-up first
    assert source.count == 7 and result.iters == 5 and result.clips == 10
    assert synced == [2, 3, 4, 5, 6, 7]  # before the clock starts, after every step
    assert model.training
    assert result.data_s + result.step_s <= result.wall_s
    with pytest.raises(ValueError, match='no batches'):
        next(LoaderBatches([]))


def build(config):
    init_default_scope('mmaction')
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    samples = []
    for _ in range(2):
        sample = ActionDataSample()
        sample.set_field(torch.tensor(1), 'verb_label', field_type='metainfo')
        sample.set_field(torch.tensor(2), 'noun_label', field_type='metainfo')
        samples.append(sample)
    if cfg.model.data_preprocessor.format_shape == 'NCTHW':  # 1 clip of 8 frames
        shape, conv_input = (1, 3, 8, 32, 32), 'channels_last_3d'
    else:  # 8 frames, one image each
        shape, conv_input = (8, 3, 32, 32), 'channels_last'
    batch = dict(inputs=[torch.randint(0, 256, shape, dtype=torch.uint8) for _ in range(2)],
                 data_samples=samples)
    return model, batch, (2, ) + shape, conv_input


@pytest.mark.parametrize('config', [
    DEMO, TSM, pytest.param(SLOWFAST, marks=pytest.mark.slow)],
    ids=['x3d', 'tsm', 'slowfast'])
def test_channels_last_hook_converts_weights_and_inputs(config):
    model, batch, shape, conv_input = build(config)
    params = list(model.parameters())
    optim_wrapper = OptimWrapper(torch.optim.SGD(params, lr=1e-3, momentum=0.9))
    hook = ChannelsLastHook()
    hook.before_run(SimpleNamespace(model=model))
    weights = [c.weight for c in conv_layers(model)]
    assert all(w.is_contiguous(memory_format=memory_format_of(w.dim())) for w in weights)
    assert any(not w.is_contiguous() for w in weights)  # some really changed layout
    assert list(model.parameters()) == params  # same tensors: the optimizer keeps them

    inputs = model.data_preprocessor(batch, True)['inputs']
    assert inputs.shape == shape  # only the strides change
    assert inputs.stride(2) == 1  # the channel dim (N, views, C, ...) is innermost
    merged = inputs.view((-1, ) + inputs.shape[2:])  # as the recognizers merge
    assert layout_name(merged) == conv_input

    seen = []
    model.backbone.register_forward_pre_hook(lambda m, args: seen.append(layout_name(args[0])))
    model.train()
    log_vars = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert seen == [conv_input]
    assert all(w.is_contiguous(memory_format=memory_format_of(w.dim())) for w in weights)
    assert all(w.grad is None or w.grad.shape == w.shape for w in weights)

    hook.after_run(SimpleNamespace(model=model))  # inputs back to the default layout
    assert model.data_preprocessor(batch, True)['inputs'].is_contiguous()
