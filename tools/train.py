"""Train a recognizer with mmengine's Runner: MMAction2's tools/train.py, for EPIC.

Example::

    python tools/train.py configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py --amp
"""
import argparse
import logging
import os
import os.path as osp
import sys
from typing import List, Optional

if __name__ == '__main__':  # first: SLURM may preempt a job while it imports torch
    from epic_mmaction.utils.interrupts import guard_startup
    guard_startup('train.py')  # SIGUSR1/SIGTERM before training: exit 3 (requeued)

import epic_mmaction.plugin  # noqa: F401,E402  (stack fixes, registers every module)
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from epic_mmaction.datasets import fill_class_counts
from epic_mmaction.engine import (destroy_distributed, hand_over_startup_signals,
                                  setup_cpu_distributed)
from epic_mmaction.engine.checkpoint import (FitCheckpointHook, check_checkpoint,
                                             check_load_from)
from epic_mmaction.engine.model_spec import model_spec
from epic_mmaction.utils import UsageError
from epic_mmaction.utils.cli import tool_main
from epic_mmaction.utils.interrupts import EXIT_ABORTED, resume_command


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='where logs and checkpoints go '
                   '(default: work_dirs/<config name>)')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or without a value from the work dir\'s '
                   'last checkpoint if there is one (else start as configured, '
                   'load_from included)')
    p.add_argument('--amp', action='store_true', help='mixed precision (CUDA)')
    p.add_argument('--no-validate', action='store_true',
                   help='do not evaluate checkpoints during training')
    p.add_argument('--auto-scale-lr', action='store_true',
                   help='scale the lr by total batch size / auto_scale_lr.base_batch_size')
    p.add_argument('--seed', type=int, default=None, help='random seed')
    p.add_argument('--diff-rank-seed', action='store_true',
                   help='a different seed per rank')
    p.add_argument('--deterministic', action='store_true',
                   help='deterministic cuDNN algorithms')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. train_cfg.max_epochs=5')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none', help='job launcher')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def fall_back_to_fp32_without_cuda(cfg: Config) -> None:
    """AMP configs are written for GPUs; on a CPU-only machine train in fp32."""
    import torch
    wrapper = cfg.get('optim_wrapper', {})
    if wrapper.get('type') == 'AmpOptimWrapper' and not torch.cuda.is_available():
        wrapper['type'] = 'OptimWrapper'
        wrapper.pop('loss_scale', None)
        wrapper.pop('dtype', None)
        print_log('no CUDA device: AmpOptimWrapper -> OptimWrapper (fp32)',
                  logger='current', level=logging.WARNING)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Fold the command line into the config, as MMAction2's tools do."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        custom = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'EarlyStoppingHook']
        cfg.custom_hooks = custom
        cfg.default_hooks.checkpoint.pop('save_best', None)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    fall_back_to_fp32_without_cuda(cfg)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    randomness = cfg.get('randomness', dict(seed=None))
    if args.seed is not None:
        randomness['seed'] = args.seed
    randomness['deterministic'] = args.deterministic
    randomness['diff_rank_seed'] = args.diff_rank_seed
    cfg.randomness = randomness
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.resume == 'auto':  # after --cfg-options, which may move the work dir
        if osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
            cfg.resume, cfg.load_from = True, None
        else:  # a first start (e.g. a fresh SLURM job): keep load_from
            print_log(f'--resume: no checkpoint in {cfg.work_dir} yet, starting '
                      'from the beginning', logger='current')
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def check_model_inputs(cfg: Config, config: str) -> None:
    """Before the runner starts: the checkpoint to resume from fits the model
    exactly, one to fine-tune from (load_from) everywhere but the head, and
    the lists may only hold classes the head predicts (checked as they load)."""
    spec = model_spec(cfg)
    if cfg.get('load_from'):
        if cfg.get('resume'):
            check_checkpoint(cfg, cfg.load_from, config, spec)
        else:
            check_load_from(cfg, cfg.load_from, config, spec)
    fill_class_counts(cfg, **spec.class_counts)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise UsageError(f'config not found: {args.config} (give a config file such as '
                         'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py)')
    cfg = merge_args(Config.fromfile(args.config), args)
    check_model_inputs(cfg, args.config)
    setup_cpu_distributed(cfg)  # no CUDA: gloo, DDP without device ids
    runner = Runner.from_cfg(cfg)
    runner.register_hook(FitCheckpointHook())  # a replaced head: one log line
    command = resume_command(__file__, sys.argv[1:] if argv is None else argv,
                             cfg.work_dir, cfg.launcher)
    hand_over_startup_signals(runner, command)
    try:
        runner.train()  # a PreemptionCheckpointHook stop (signal, Ctrl-C) exits with code 3
    except KeyboardInterrupt:  # Ctrl-C before training, or a second one during it
        print('train.py: interrupted by Ctrl-C; to continue from the last saved '
              f'checkpoint (if any): {command}', file=sys.stderr)
        return EXIT_ABORTED
    destroy_distributed()  # gloo may abort at exit otherwise (pytorch#190489)
    return 0


if __name__ == '__main__':
    sys.exit(main())
