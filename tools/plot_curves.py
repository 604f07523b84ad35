"""Plot training curves (loss, LR, training and validation accuracy) of a work_dir.

Reads every run's WORK_DIR/<timestamp>/vis_data/scalars.json (resumed runs
are joined; a later run replaces the steps it redid) and writes one PNG.

Example::

    python tools/plot_curves.py work_dirs/x3d_s --out work_dirs/x3d_s/curves.png
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from epic_mmaction.analysis import plot_curves, read_training_log
from epic_mmaction.utils.cli import tool_main

PROG = 'plot_curves.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('work_dir', help='the --work-dir of tools/train.py')
    p.add_argument('--out', help='output PNG. Defaults to WORK_DIR/curves.png')
    p.add_argument('--x', choices=['epoch', 'iter'],
                   help='x axis. Defaults to epochs for epoch-based training')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    out = args.out or osp.join(args.work_dir, 'curves.png')
    log = read_training_log(args.work_dir)
    plot_curves(log, out, x=args.x)
    if log.bad_lines:
        print(f'skipped {len(log.bad_lines)} unreadable log lines, e.g. '
              f'{log.bad_lines[0]}', file=sys.stderr)
    print(f'{len(log.train)} training and {len(log.val)} validation entries from '
          f'{len(log.runs)} run(s) of {args.work_dir}')
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
