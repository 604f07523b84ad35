"""The cleaner's one-time cost per video-hour, per backend and mode, as a table.

Generates EPIC-like videos (textured, panning, grainy; cached in
--video-cache), writes EPIC-like segments for each (about 11 per minute),
and times ``clean_segments`` on one worker, default mode and ``--full``,
with each backend; then extrapolates to a dataset (100 hours by default)::

    python tools/benchmark_cleaning.py --generate 640x360@59.94:3m:gop250 \\
        1920x1080@59.94:20s:gop250
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from epic_mmaction.utils.cli import positive_float, positive_int, tool_main
from epic_mmaction.utils.errors import UsageError

DEFAULT_SPECS = ['640x360@59.94:3m:gop250']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--generate', nargs='+', default=DEFAULT_SPECS, metavar='SPEC',
                   help='videos to generate, WxH@FPS:DURATION(s|m):gopN '
                   '(default: %(default)s)')
    p.add_argument('--video-cache', default='work_dirs/benchmark_videos',
                   help='where generated videos are kept between runs')
    p.add_argument('--backends', nargs='+', default=['pyav', 'decord'],
                   choices=['pyav', 'decord', 'both'])
    p.add_argument('--modes', nargs='+', default=['default', 'full'],
                   choices=['default', 'full'])
    p.add_argument('--segments-per-minute', type=positive_float, default=None,
                   help='default: EPIC-100 train, about 11.2')
    p.add_argument('--dataset-hours', type=positive_float, default=100)
    p.add_argument('--workers', type=positive_int, default=8,
                   help='workers for the extrapolated column (runs use one)')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from benchmark.cleaning import SEGMENTS_PER_MINUTE, format_table, time_cleaning
    from benchmark.videos import VideoSpec, ensure_benchmark_video, video_bitrate
    from epic_mmaction.synthetic.generator import fps_fraction
    try:
        specs = [VideoSpec.parse(text) for text in args.generate]
    except ValueError as e:
        raise UsageError(str(e)) from None
    rows = []
    for spec in specs:
        path = ensure_benchmark_video(args.video_cache, spec)
        rate = video_bitrate(path)
        print(f'{osp.basename(path)}: {spec.num_frames} frames'
              + (f', {rate:.1f} Mbit/s' if rate else ''), file=sys.stderr, flush=True)
        rows += time_cleaning(path, spec.num_frames, float(fps_fraction(spec.fps)),
                              f'{spec.width}x{spec.height}', args.backends, args.modes,
                              args.segments_per_minute or SEGMENTS_PER_MINUTE)
    print(format_table(rows, args.dataset_hours, args.workers))
    return 0


if __name__ == '__main__':
    sys.exit(main())
