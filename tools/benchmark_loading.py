"""Clip loading benchmark: stock MMAction2 vs this project's loader vs PyAV vs the
decode lower bound, per sampling scheme and worker count; prints markdown tables.

    # EPIC-like videos generated once into --video-cache (10-minute 640x360)
    python tools/benchmark_loading.py --workers 1 2 4 8 16
    # your own videos (e.g. a few EPIC files)
    python tools/benchmark_loading.py data/EPIC-KITCHENS/P01/P01_01.MP4 --workers 16
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile

from epic_mmaction.utils import UsageError
from epic_mmaction.utils.cli import tool_main

DEFAULT_SPECS = ['640x360@59.94:10m:gop250', '640x360@50:10m:gop250',
                 '640x360@59.94:10m:gop32']


def parse_args(argv=None):
    from benchmark.loaders import LOADERS
    from benchmark.schemes import SCHEMES
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('videos', nargs='*', help='videos to benchmark; none: generate '
                        'EPIC-like ones from --generate')
    parser.add_argument('--generate', nargs='+', default=DEFAULT_SPECS, metavar='SPEC',
                        help='videos to generate when none are given, as '
                        'WxH@FPS:DURATION(s|m):gopN (default: %(default)s)')
    parser.add_argument('--video-cache', default='work_dirs/benchmark_videos',
                        help='where generated videos are kept for later runs')
    parser.add_argument('--schemes', nargs='+', default=list(SCHEMES),
                        choices=list(SCHEMES))
    parser.add_argument('--loaders', nargs='+', default=list(LOADERS), choices=LOADERS)
    parser.add_argument('--workers', nargs='+', type=int,
                        default=sorted({1, os.cpu_count() or 1}),
                        help='worker process counts to try (default: 1 and all cores)')
    parser.add_argument('--clips-per-worker', type=int, default=30)
    parser.add_argument('--distinct', type=int, default=64,
                        help='distinct paths per video (symlinks), so reader caches '
                        'miss as with hundreds of shuffled videos; 1 = one video, '
                        'always cached')
    parser.add_argument('--cache-size', type=int, default=4,
                        help='readers cached per worker by our loaders')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--verify', type=int, default=4, metavar='N',
                        help='clips per worker loaded again after the timed run to '
                        'check their frame codes (generated videos; 0 = none)')
    parser.add_argument('--out-json', help='write every row here as JSON')
    parser.add_argument('--out-md', help='write the tables here as markdown')
    args = parser.parse_args(argv)
    if min(args.workers) < 1 or args.clips_per_worker < 1 or args.distinct < 1:
        parser.error('--workers, --clips-per-worker and --distinct must be >= 1')
    if args.verify < 0:
        parser.error('--verify must be >= 0')
    return args


@tool_main
def main(argv=None) -> int:
    args = parse_args(argv)
    from benchmark.loading import format_table, run_loading_benchmark, video_info
    from benchmark.schemes import parse_schemes
    from benchmark.videos import VideoSpec, ensure_benchmark_video, video_bitrate
    from epic_mmaction.utils.fileio import atomic_write
    videos = list(args.videos)
    for v in videos:
        if not osp.isfile(v):
            raise UsageError(f'video {v} does not exist')
    if not videos:
        try:
            specs = [VideoSpec.parse(s) for s in args.generate]
        except ValueError as e:
            raise UsageError(f'--generate: {e}') from None
        for spec in specs:
            print(f'video {spec} (generated once into {args.video_cache})', flush=True)
            videos.append(ensure_benchmark_video(args.video_cache, spec, args.seed))
    schemes = parse_schemes(args.schemes)
    sections, rows = [], []
    cpus = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix='bench_links_') as links:
        for v, video in enumerate(videos):
            frames, fps, w, h = video_info(video)
            bitrate = video_bitrate(video)
            title = (f'### {video}: {w}x{h}, {fps:.2f} fps, '
                     f'{frames / fps / 60:.1f} min, '
                     f'{bitrate:.1f} Mbit/s' if bitrate else f'### {video}')
            print(title, flush=True)
            results = run_loading_benchmark(
                [video], schemes, args.loaders, args.workers, args.clips_per_worker,
                osp.join(links, str(v)), args.distinct, args.cache_size, args.seed,
                args.verify)
            table = format_table(results)
            sections.append(f'{title}\n\n{table}\n')
            rows += [dict(video=video, width=w, height=h, fps=fps, frames=frames,
                          **r.to_dict()) for r in results]
    header = (f'Clip loading, {cpus} CPU cores, {args.distinct} distinct paths per '
              f'video, reader cache {args.cache_size}, {args.clips_per_worker} clips '
              'per worker. "time vs lower bound" = lower-bound clips/s / clips/s.')
    text = header + '\n\n' + '\n'.join(sections)
    print('\n' + text)
    if args.out_md:
        with atomic_write(args.out_md) as f:
            f.write(text)
    if args.out_json:
        with atomic_write(args.out_json) as f:
            json.dump(dict(cpus=cpus, distinct=args.distinct, cache_size=args.cache_size,
                           clips_per_worker=args.clips_per_worker, rows=rows), f, indent=1)
    wrong = [r for r in rows if r['wrong']]
    if wrong:
        print(f'error: {len(wrong)} configurations decoded frames other than the ones '
              'asked for (see "frames checked")', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
