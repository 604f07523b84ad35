"""Test a checkpoint: EPIC metric on labelled lists, per-narration results with --dump.

For single-label (whole-video) datasets, --dump writes per-clip results instead
(DumpClipResults; read by tools/analyze_results.py --classes).

Example::

    python tools/test.py configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py \\
        work_dirs/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun/best_epic_action_top1_epoch_12.pth \\
        --dump work_dirs/x3d_s/val_results.npz [--tta]
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from epic_mmaction.datasets import fill_class_counts
from epic_mmaction.engine import destroy_distributed, setup_cpu_distributed
from epic_mmaction.engine.checkpoint import check_checkpoint
from epic_mmaction.engine.model_spec import model_spec
from epic_mmaction.utils import UsageError
from epic_mmaction.utils.cli import tool_main
from epic_mmaction.evaluation.tta import use_tta_pipeline


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='test config file path')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--work-dir', help='where logs go (default: work_dirs/<config name>)')
    p.add_argument('--dump', type=str, help='write per-narration verb/noun scores '
                   '(.npz) for export, evaluation and ensembling; per-clip class '
                   "scores for label_mode='single' datasets")
    p.add_argument('--force', action='store_true',
                   help='overwrite an existing --dump file')
    p.add_argument('--tta', action='store_true', help='test with the config\'s '
                   'tta_pipeline (several clips x 3 crops, averaged per narration)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings')
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                   default='none', help='job launcher')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = p.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def dump_metric(cfg: Config) -> str:
    """The metric that writes --dump: per-clip files for single-label datasets."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    return 'DumpClipResults' if dataset.get('label_mode') == 'single' else 'DumpEpicResults'


def check_inputs(args: argparse.Namespace) -> None:
    """Files the user named, checked before the config is even read."""
    if not osp.isfile(args.config):
        raise UsageError(f'config not found: {args.config} (give a config file such as '
                         'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py)')
    if args.dump is not None:
        if not args.dump.endswith('.npz'):
            raise UsageError(f'--dump must end with .npz, got {args.dump}')
        if osp.isdir(args.dump):
            raise UsageError(f'--dump {args.dump} is a directory; give a .npz file path')
        if osp.exists(args.dump) and not args.force:
            raise UsageError(f'{args.dump} already exists, use --force to overwrite it')


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Fold the command line into the config; --cfg-options first, so that the
    dump metric and the checkpoint check see the config that will run."""
    if args.cfg_options is not None:
        configured = cfg.get('load_from')  # e.g. a recipe's Kinetics URL: replaced below
        cfg.merge_from_dict(args.cfg_options)
        if cfg.get('load_from') not in (configured, None, args.checkpoint):
            raise UsageError(f'--cfg-options load_from={cfg.load_from} conflicts with the '
                             f'checkpoint {args.checkpoint}: give the checkpoint as the '
                             'second argument only')
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.dump is not None:
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators] if evaluators else []
        cfg.test_evaluator = [*evaluators, dict(type=dump_metric(cfg), out_file=args.dump)]
    if args.tta:  # after --cfg-options, so they can change tta_pipeline too
        use_tta_pipeline(cfg, args.config)
    return cfg


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    check_inputs(args)
    cfg = merge_args(Config.fromfile(args.config), args)
    # before the runner reads a video: the checkpoint must hold exactly the
    # config's model, and the lists may only hold classes its head predicts
    spec = model_spec(cfg)
    check_checkpoint(cfg, args.checkpoint, args.config, spec)
    fill_class_counts(cfg, **spec.class_counts)
    setup_cpu_distributed(cfg)  # no CUDA: gloo, DDP without device ids
    runner = Runner.from_cfg(cfg)
    runner.test()
    destroy_distributed()  # gloo may abort at exit otherwise (pytorch#190489)
    return 0


if __name__ == '__main__':
    sys.exit(main())
