"""Start-up time of the torch-free tools, as a markdown table.

Each data-side tool (lists, cleaning, export, evaluation, analysis,
re-encoding) should start within 3x the time of ``python -c "import pandas,
numpy"``, measured side by side in one run::

    python tools/benchmark_startup.py --repeats 5
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from epic_mmaction.utils.cli import positive_int, tool_main

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeats', type=positive_int, default=5,
                   help='runs per command; the median is reported')
    p.add_argument('--repo', default=REPO, help='checkout whose tools/ are timed (e.g. '
                   'an older commit, with PYTHONPATH set to it); default: this one')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from benchmark.startup import TARGET_RATIO, format_table, measure_startup
    rows = measure_startup(args.repo, repeats=args.repeats)
    print(format_table(rows))
    slow = [r.name for r in rows[1:] if r.ratio > TARGET_RATIO]
    print(f'\ntarget: each tool <= {TARGET_RATIO:g}x the baseline; '
          + (f'over it: {", ".join(slow)}' if slow else 'all within'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
