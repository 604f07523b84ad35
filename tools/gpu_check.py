"""GPU node acceptance: every EPIC config trains and tests, and the GPU is kept fed.

One command, about 8 minutes on one H100/H200-class GPU with 16 cores, that
writes WORK_DIR/report.md and WORK_DIR/report.json (one entry per step):

1. env: GPU, driver, CUDA, cuDNN, torch and OpenMMLab versions, cores, decoders;
2. data: synthetic EPIC originals (1080p, GOP 250) and their re-encoded copies
   (256 px short side, GOP 16), lists built and cleaned, on every core;
3. train: ~20 iterations of every EPIC config with tools/train.py (its own AMP
   and loader settings), then tools/test.py --dump; resume: SIGTERM mid-run,
   then --resume;
4. throughput: per backbone, real-data clips/s against an in-memory batch
   (tools/benchmark_training.py's harness) for each --sweep setting;
5. decoding: loader clips/s from both formats, the cleaner's and re-encoder's
   speed per video-hour, and any GPU decoder that runs.

Each step has a time budget; the report is written even if a step fails or
runs out of time. Exit code 1 if any step or config fails, 2 on bad usage
(e.g. no GPU without --tiny). It installs nothing (docs/gpu_check.md).

Examples::

    python tools/gpu_check.py                      # on a GPU node
    python tools/gpu_check.py --tiny               # the same steps on CPU, < 2 min
    python tools/gpu_check.py --steps train --configs configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py
    python tools/gpu_check.py --sweep config,fp16,bf16,bf16+cl,bf16+cl+compile,bf16+nobench \\
        --budget throughput=900
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

from epic_mmaction.utils import UsageError
from epic_mmaction.utils.cli import positive_int, tool_main

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from benchmark.gpu_check.profile import STEPS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('--work-dir', default='work_dirs/gpu_check',
                   help='data, runs, logs, report.md and report.json (default: %(default)s)')
    p.add_argument('--tiny', action='store_true', help='the same steps on CPU: tiny '
                   'videos, a few iterations, no AMP (the test suite runs this)')
    p.add_argument('--steps', default=','.join(STEPS),
                   help='comma-separated steps to run (default: %(default)s); steps after '
                   'data reuse the data of an earlier run in --work-dir')
    p.add_argument('--configs', nargs='+', metavar='CONFIG',
                   help='train these configs instead of every EPIC config')
    p.add_argument('--sweep', metavar='SPECS', help='lever settings for the throughput '
                   'step, comma-separated (tools/benchmark_training.py --sweep syntax; '
                   'default: config,bf16+cl on GPU, config with --tiny)')
    p.add_argument('--budget', nargs='+', default=[], metavar='STEP=SECONDS',
                   help='change step budgets, e.g. throughput=900')
    p.add_argument('--config-processes', type=positive_int,
                   help='configs trained at the same time in the train step (default: '
                   '2 on GPU, 1 with --tiny)')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from benchmark.gpu_check.profile import (customised, full_profile, parse_budgets,
                                             parse_steps, tiny_profile)
    steps = parse_steps(args.steps)
    budgets = parse_budgets(args.budget)
    configs = None
    if args.configs:
        configs = [osp.relpath(osp.abspath(c), REPO) for c in args.configs]
        for given, config in zip(args.configs, configs):
            if not osp.isfile(osp.join(REPO, config)):
                raise UsageError(f'--configs: {given} does not exist; give EPIC configs '
                                 'such as configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-'
                                 'verbnoun.py')
    sweep = [s.strip() for s in args.sweep.split(',') if s.strip()] if args.sweep else None
    if sweep:
        from benchmark.levers import parse_spec
        for spec in sweep:
            parse_spec(spec)  # a LeverError (a usage error) names the bad token
    if args.tiny:
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # CPU even on a GPU node; children too
        # idle OpenMP threads wait passively: spinning ones slow a shared CPU many
        # times over (see the Makefile's demo)
        os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    else:
        import torch
        if not torch.cuda.is_available():
            raise UsageError('no CUDA device: the full check needs a GPU node (torch '
                             f'{torch.__version__} sees none); run it with --tiny on CPU')
    profile = customised(tiny_profile() if args.tiny else full_profile(), budgets,
                         configs, sweep, args.config_processes)
    from benchmark.gpu_check.run import run_check
    code = run_check(profile, steps, args.work_dir,
                     sys.argv[1:] if argv is None else list(argv))
    report = osp.join(args.work_dir, 'report.md')
    with open(report) as f:
        print(f.read())
    print(f'wrote {report} and report.json: ' + ('all steps passed' if code == 0 else
                                                 'some steps FAILED (see the report)'))
    return code


if __name__ == '__main__':
    sys.exit(main())
