"""Training clips/s from real videos vs. the same model on in-memory batches.

Runs warm-up + timed ``train_step`` iterations with the config's train
dataloader (decoding the long videos), then as many on one batch kept on the
device (GPU-only), and prints a markdown table: clips/s, the share of time
spent waiting for data, GPU-only clips/s and their ratio, step times, peak
memory. The levers (--amp, --channels-last, --compile, --cudnn-benchmark) set
config keys, so a winning setting can be written into a config; without them
the config's own settings run. --sweep runs several lever combinations, each in
its own process, and prints one table.

Examples::

    EPIC_VIDEOS=... EPIC_LISTS=... python tools/benchmark_training.py \\
        configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py --workers 15 --amp bf16
    python tools/benchmark_training.py CONFIG --workers 15 --sweep
    python tools/benchmark_training.py CONFIG --sweep fp16,bf16+cl,bf16+cl+compile \\
        --out work_dirs/benchmark_training/x3d.json

Sweep entries join levers with "+": fp32 fp16 bf16 (AMP), cl / nocl
(channels-last), compile / compile=MODE / nocompile, bench / nobench (cuDNN
benchmark), config (the config as it is). The other options apply to every entry.
"""
import argparse
import json
import os
import sys
from typing import List, Optional

from epic_mmaction.utils.cli import non_negative_int, positive_int, tool_main




def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    from benchmark.levers import AMP_CHOICES, COMPILE_MODES
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='where the runner writes its log (default: '
                   'work_dirs/benchmark_training/<config name>)')
    p.add_argument('--batch-size', type=positive_int, help='train batch size per GPU '
                   '(default: the config\'s)')
    p.add_argument('--workers', type=non_negative_int,
                   help='data loader workers (default: the config\'s)')
    p.add_argument('--iters', type=positive_int, help='timed iterations per phase '
                   '(default: max(50, 10 x workers))')
    p.add_argument('--warmup', type=non_negative_int, help='untimed iterations before '
                   'each phase (default: max(10, 2 x workers))')
    p.add_argument('--device', choices=['cuda', 'cpu'],
                   help='default: cuda where torch sees a GPU, else cpu')
    p.add_argument('--amp', choices=AMP_CHOICES, help='precision: optim_wrapper '
                   'AmpOptimWrapper with dtype float16/bfloat16, or OptimWrapper (fp32); '
                   'default: the config\'s (fp32 on CPU)')
    p.add_argument('--channels-last', action=argparse.BooleanOptionalAction,
                   help='add (or with --no-channels-last remove) ChannelsLastHook: conv '
                   'weights and inputs channels-last (NDHWC for 3D CNNs)')
    p.add_argument('--compile', nargs='?', const='default', choices=COMPILE_MODES,
                   help='torch.compile train_step (cfg.compile); a value picks the mode')
    p.add_argument('--cudnn-benchmark', choices=['on', 'off'],
                   help='env_cfg.cudnn_benchmark (default: the config\'s)')
    p.add_argument('--sweep', nargs='?', const='', metavar='SPECS',
                   help='run comma-separated lever combinations (see below), each in '
                   'its own process; without SPECS a standard set for the device')
    p.add_argument('--out', help='also write the results to this JSON file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, e.g. train_dataloader.pin_memory=True')
    p.add_argument('--log-level', default='WARNING', help='the runner\'s log level '
                   '(default: %(default)s, to keep the table readable)')
    return p.parse_args(argv)


def options_from(args: argparse.Namespace):
    from benchmark.levers import Levers
    from benchmark.training import BenchmarkOptions
    levers = Levers(amp=args.amp, channels_last=args.channels_last,
                    compile=args.compile,
                    cudnn_benchmark=None if args.cudnn_benchmark is None
                    else args.cudnn_benchmark == 'on')
    return BenchmarkOptions(config=args.config, work_dir=args.work_dir,
                            batch_size=args.batch_size, workers=args.workers,
                            iters=args.iters, warmup=args.warmup, device=args.device,
                            levers=levers, cfg_options=args.cfg_options,
                            log_level=args.log_level)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.device == 'cpu':  # before anything asks torch for CUDA; sweep runs inherit it
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    from benchmark.levers import DEFAULT_SWEEP
    from benchmark.training import (format_table, resolve_device,
                                                  run_benchmark, run_sweep)
    from epic_mmaction.utils.fileio import atomic_write
    options = options_from(args)
    if args.sweep is None:
        results = [run_benchmark(options)]
    else:
        specs = [s.strip() for s in args.sweep.split(',') if s.strip()]
        results = run_sweep(options, specs or DEFAULT_SWEEP[resolve_device(args.device)],
                            progress=lambda line: print(line, file=sys.stderr))
    print(format_table(results))
    if args.out:
        with atomic_write(args.out) as f:
            json.dump(dict(runs=results), f, indent=2)
            f.write('\n')
        print(f'wrote {args.out}')
    return 0 if all('error' not in r for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
