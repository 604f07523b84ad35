"""Drop segments whose videos are missing, corrupted or too short for them.

Probes every video of LIST in worker processes with the backend the configs
read with (PyAV; ``--backend decord`` or ``both`` for users who switch), a
video that hangs or crashes the decoder costing only itself, then writes the
segments that decode to CLEAN_LIST and what was dropped, and why, to
REPORT.json. Stops before probing when the list is empty or most of its
videos are missing (a wrong --data-root), unless --allow-missing.

Example::

    python tools/clean_segments.py data_lists/train.txt --data-root data/epic \\
        --out data_lists/train_clean.txt --report work_dirs/train_clean.json
"""
import argparse
import sys

from epic_mmaction.utils.cli import positive_float, positive_int, tool_main
from epic_mmaction.cleaning.cleaner import (
    DEFAULT_FULL_TIMEOUT, DEFAULT_TIMEOUT, clean_segments, default_cache_path,
    default_workers)
from epic_mmaction.cleaning.probe import DEFAULT_BACKEND, PROBE_BACKENDS


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('list', help='segment list to clean')
    p.add_argument('--data-root', required=True,
                   help='folder the video paths in the list are relative to')
    p.add_argument('--out', required=True, help='clean list to write')
    p.add_argument('--report', required=True, help='JSON report to write')
    p.add_argument('--workers', type=positive_int, default=default_workers(),
                   help='probe processes. Defaults to min(8, CPUs) = %(default)s')
    p.add_argument('--timeout', type=positive_float, default=None,
                   help='seconds per video before its probe is killed and the '
                   f'video counted bad. Defaults to {DEFAULT_TIMEOUT:g}, or '
                   f'{DEFAULT_FULL_TIMEOUT:g} with --full')
    p.add_argument('--full', action='store_true',
                   help='decode every frame of every segment, not only the first '
                   'and last (slow: about as long as decoding the dataset once)')
    p.add_argument('--clamp', action='store_true',
                   help='cut segments that run past the last frame instead of '
                   'dropping them')
    p.add_argument('--cache', default=None,
                   help='probe cache, reused for unchanged videos. Defaults to '
                   'OUT.probe-cache.json')
    p.add_argument('--no-cache', action='store_true',
                   help='probe every video again and write no cache')
    p.add_argument('--backend', choices=PROBE_BACKENDS, default=DEFAULT_BACKEND,
                   help='reader that judges the videos: the one your configs use '
                   "(SegmentVideoInit's backend, default %(default)s); 'both' for "
                   'users who switch: each must pass, and videos whose frames '
                   'differ between the two are listed in the report')
    p.add_argument('--allow-missing', action='store_true',
                   help='drop the segments of missing videos even when they are '
                   'most of the list (otherwise an error: a wrong --data-root)')
    p.add_argument('--quiet', action='store_true', help='no progress bar')
    return p.parse_args(argv)


@tool_main
def main(argv=None) -> int:
    args = parse_args(argv)
    cache = None if args.no_cache else (args.cache or default_cache_path(args.out))
    try:
        report = clean_segments(
            args.list, args.data_root, args.out, args.report, workers=args.workers,
            timeout=args.timeout, full=args.full, clamp=args.clamp,
            cache_path=cache, progress=not args.quiet, backend=args.backend,
            allow_missing=args.allow_missing)
    except KeyboardInterrupt:
        print('clean_segments.py: interrupted', file=sys.stderr)
        return 130
    videos, segs = report['counts']['videos'], report['counts']['segments']
    reasons = ', '.join(f'{n} {r}' for r, n in segs['dropped_by_reason'].items() if n)
    print(f'kept {segs["kept"]}/{segs["in"]} segments -> {args.out} '
          f'(dropped {segs["dropped"]}{": " + reasons if reasons else ""}; '
          f'clamped {segs["clamped"]})')
    print(f'videos: {videos["bad"]}/{videos["total"]} bad, '
          f'{videos["with_bad_frames"]} with undecodable frames; probed '
          f'{videos["probed"]} with {args.backend}, {videos["cached"]} from cache '
          f'-> report {args.report}')
    if videos['frame_mismatch']:
        print(f'{videos["frame_mismatch"]} video(s) where pyav and decord return '
              'different frames (videos_with_frame_mismatch in the report): read '
              'them with the pyav backend, or re-encode them '
              '(tools/reencode_videos.py)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
