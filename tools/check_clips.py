"""Load clips through a config's dataset and check them; exit 1 on any problem.

Example (after the synthetic demo's lists are built)::

    python tools/check_clips.py configs/_base_/datasets/synthetic_epic_segments.py \\
        --split val --truth data/synthetic_epic/synthetic_truth.json

Several splits in one run (``--split train val test``) import torch and
mmaction once instead of once per split.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from epic_mmaction.utils.cli import positive_int, tool_main
from epic_mmaction.utils.errors import UsageError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('config', help='config with {train,val,test}_dataloader')
    p.add_argument('--split', choices=['train', 'val', 'test'], nargs='+', default=['val'],
                   help='one or more splits, checked in turn. Defaults to val')
    p.add_argument('--num', type=positive_int, help='samples to check (default: all)')
    p.add_argument('--frame-codes', action='store_true',
                   help='synthetic data: read the frame index codes back')
    p.add_argument('--truth', help="synthetic data: the generator's "
                   'synthetic_truth.json; checks each frame shows the labelled action')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, as in tools/train.py')
    return p.parse_args(argv)


@tool_main
def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise UsageError(f'config {args.config} does not exist: pass a config file, '
                         'e.g. configs/_base_/datasets/synthetic_epic_segments.py')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
    failed = 0
    for split in dict.fromkeys(args.split):  # each once, in the order given
        failed += check_split(cfg, split, args)
    return 1 if failed else 0


def check_split(cfg: Config, split: str, args: argparse.Namespace) -> bool:
    """Check one split's clips and print its report; True if it has problems."""
    from epic_mmaction.analysis.clip_check import check_clips
    dataset_cfg = cfg[f'{split}_dataloader']['dataset'].to_dict()
    report = check_clips(dataset_cfg, args.num, args.frame_codes, args.seed, args.truth)
    print(f"{split}: checked {report['samples']}/{report['dataset_size']} clips, "
          f"inputs {report['input_shapes']}, {report['ms_per_clip_median']:.1f} ms/clip "
          f"(median, full pipeline), frame codes "
          f"{'checked' if report['frame_codes_checked'] else 'not checked'}, labels "
          f"{'checked against the truth' if report['labels_checked'] else 'not checked'}",
          flush=True)
    for problem in report['problems'][:20]:
        print(f'  PROBLEM {problem}')
    if report['problems']:
        print(f"{split}: {len(report['problems'])} problem(s)")
        return True
    print(f'{split}: all clips decoded exactly inside their segments'
          + (' and show their labelled actions' if report['labels_checked'] else ''),
          flush=True)
    return False


if __name__ == '__main__':
    sys.exit(main())
