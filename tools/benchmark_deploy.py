"""Deployment benchmark on the CPU: feature extraction windows/s, ONNX export and
onnxruntime vs PyTorch latency per window, as a markdown table.

Models are untrained (construction-time weights): speed and the agreement of
the two runtimes do not depend on training. Each model is exported and
verified as tools/export_onnx.py does; a model that cannot be exported shows
the operator that failed. PyTorch and onnxruntime get the same --threads::

    python tools/benchmark_deploy.py --threads 2
    python tools/benchmark_deploy.py --models 'demo X3D' X3D-S --repeats 3
"""
import argparse
import sys
from typing import List, Optional

from epic_mmaction.utils.cli import positive_float, positive_int, tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from benchmark.deploy import MODELS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS),
                   help='Defaults to all: %(default)s')
    p.add_argument('--threads', type=positive_int, default=1,
                   help='intra-op threads of PyTorch and onnxruntime. Defaults to %(default)s')
    p.add_argument('--repeats', type=positive_int, default=5,
                   help='timed windows per model and runtime (median). Defaults to %(default)s')
    p.add_argument('--duration', type=positive_float, default=20.0,
                   help='seconds of the synthetic video extracted. Defaults to %(default)s')
    p.add_argument('--work-dir', help='parent of the temporary directory (default: the '
                   "system's)")
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import os

    from benchmark.deploy import cpu_name, format_table, run_benchmark
    extraction, rows = run_benchmark(args.models, args.threads, args.repeats, args.duration,
                                     args.work_dir, log=lambda line: print(line, flush=True))
    print(f'\nCPU: {cpu_name()} ({os.cpu_count()} cores visible), {args.threads} thread(s) '
          'for PyTorch and onnxruntime, untrained models, batch 1 per window\n')
    print(format_table(extraction, rows, args.threads))
    return 0


if __name__ == '__main__':
    sys.exit(main())
