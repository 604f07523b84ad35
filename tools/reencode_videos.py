"""Re-encode the videos of list files for fast random access, and rewrite the lists.

Every video named in LIST (relative to SRC_ROOT) is decoded once and written
under OUT_ROOT with the same relative path: one MP4 with a keyframe every
--gop frames, or with --chunk-seconds a directory ``<video>.chunks/`` of
fixed-length MP4s and a ``chunks.json`` manifest (AVION-style), optionally at
a smaller --short-side and a lower --fps. Workers run in parallel; each
output is verified before it is renamed into place, and a re-run keeps the
finished ones. The lists are rewritten to --out-lists (paths relative to
OUT_ROOT, frames renumbered for a new rate), and a JSON report gives the
storage before/after and every changed or dropped segment.

Example::

    python tools/reencode_videos.py data/epic/videos data/epic_gop16 \\
        --lists data_lists/epic100_train_clean.txt data_lists/epic100_val_clean.txt \\
        --out-lists data_lists/gop16 --gop 16 --short-side 256 --workers 16
"""
import argparse
import os.path as osp
import sys

from epic_mmaction.utils.cli import positive_float, positive_int, tool_main
from epic_mmaction.utils.pool import default_workers
from epic_mmaction.reencode import (DEFAULT_TIMEOUT, EncodeSettings, format_storage_table,
                                    parse_fps, reencode_videos)
from epic_mmaction.reencode.runner import write_report
from epic_mmaction.reencode.settings import X264_PRESETS

DEFAULTS = EncodeSettings()




def fps_arg(text: str):
    try:
        return parse_fps(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src_root', help='folder the video paths in the lists are relative to')
    p.add_argument('out_root', help='where the re-encoded videos go (not SRC_ROOT)')
    p.add_argument('--lists', nargs='+', required=True,
                   help='list files naming the videos to re-encode')
    p.add_argument('--out-lists', required=True,
                   help='folder for the rewritten lists (same file names)')
    p.add_argument('--gop', type=positive_int, default=DEFAULTS.gop,
                   help='keyframe every N frames exactly. Default: %(default)s')
    p.add_argument('--short-side', type=positive_int, default=None,
                   help='scale so the short side is N pixels (never upscales). '
                   'Default: keep the size')
    p.add_argument('--fps', type=fps_arg, default=None,
                   help='lower the frame rate to F (29.97 means 30000/1001); videos '
                   'at or below F keep theirs. Default: keep')
    p.add_argument('--chunk-seconds', type=positive_float, default=None,
                   help='write chunks of S seconds (an exact number of frames each) '
                   'instead of one file per video')
    p.add_argument('--crf', type=int, default=DEFAULTS.crf,
                   help='x264 quality, 0-51, lower is better. Default: %(default)s')
    p.add_argument('--preset', choices=X264_PRESETS, default=DEFAULTS.preset,
                   help='x264 preset. Default: %(default)s')
    p.add_argument('--bframes', type=int, default=DEFAULTS.bframes,
                   help='x264 B-frames. Default: %(default)s')
    p.add_argument('--threads', type=int, default=DEFAULTS.threads,
                   help='encoder/decoder threads per worker, 0 = auto. '
                   'Default: %(default)s')
    p.add_argument('--workers', type=positive_int, default=default_workers(),
                   help='videos encoded at once. Default: min(8, CPUs) = %(default)s')
    p.add_argument('--timeout', type=positive_float, default=DEFAULT_TIMEOUT,
                   help='seconds per video before its worker is killed and the '
                   'video counted failed. Default: %(default)g')
    p.add_argument('--quick-verify', action='store_true',
                   help='check new outputs by their first and last frames only, '
                   'instead of decoding every frame')
    p.add_argument('--report', default=None,
                   help='JSON report. Default: OUT_LISTS/reencode_report.json')
    p.add_argument('--benchmark', type=int, nargs='?', const=60, default=None,
                   metavar='N', help='afterwards, time loading N segments (default '
                   '60) of the first list from the originals and from the outputs '
                   '(X3D 13x6 sampling, one process) and add the speed-up to the '
                   'report')
    p.add_argument('--benchmark-scheme', default='x3d_13x6',
                   choices=('x3d_13x6', 'slowfast_32x2', 'tsm_8uniform'))
    p.add_argument('--quiet', action='store_true', help='no progress lines')
    return p.parse_args(argv)


def loading_speedup(args: argparse.Namespace, report: dict) -> dict:
    """Clip loading from the originals vs the outputs, on the same narrations."""
    from epic_mmaction.annotations.listfile import read_list
    from benchmark.loading import time_list_loading
    from benchmark.schemes import SCHEMES
    before = {s.narration_id: s for s in read_list(args.lists[0])}
    after = read_list(report['lists'][0]['out'])[:args.benchmark]
    pairs = [(before[s.narration_id], s) for s in after if s.narration_id in before]
    scheme = SCHEMES[args.benchmark_scheme]
    old = time_list_loading([(osp.join(args.src_root, b.video), b.start, b.stop)
                             for b, _ in pairs], scheme)
    new = time_list_loading([(osp.join(args.out_root, a.video), a.start, a.stop)
                             for _, a in pairs], scheme)
    speedup = (new['clips_per_s'] / old['clips_per_s']
               if old['clips_per_s'] and new['clips_per_s'] else None)
    return dict(scheme=scheme.name, clips=len(pairs), before=old, after=new,
                speedup=speedup)


@tool_main
def main(argv=None) -> int:
    args = parse_args(argv)
    report_path = args.report or osp.join(args.out_lists, 'reencode_report.json')
    try:
        settings = EncodeSettings(
            gop=args.gop, short_side=args.short_side, fps=args.fps,
            chunk_seconds=args.chunk_seconds, crf=args.crf, preset=args.preset,
            bframes=args.bframes, threads=args.threads)
        report = reencode_videos(
            args.src_root, args.out_root, args.lists, args.out_lists, settings,
            report_path=report_path, workers=args.workers, timeout=args.timeout,
            verify_full=not args.quick_verify, progress=not args.quiet)
    except KeyboardInterrupt:
        print('reencode_videos.py: interrupted (a re-run keeps the finished videos)',
              file=sys.stderr)
        return 130
    if args.benchmark:
        report['benchmark'] = loading_speedup(args, report)
        write_report(report_path, report)
    print(format_storage_table(report))
    videos, segs = report['counts']['videos'], report['counts']['segments']
    print(f'videos: {videos["encoded"]} encoded, {videos["kept"]} kept from an '
          f'earlier run, {videos["failed"]} failed')
    for lst in report['lists']:
        c = lst['counts']
        changed = ', '.join(f'{n} {r}' for r, n in c['changed_by_reason'].items() if n)
        dropped = ', '.join(f'{n} {r}' for r, n in c['dropped_by_reason'].items() if n)
        print(f'{lst["out"]}: {c["written"]}/{c["in"]} segments written '
              f'(changed {c["changed"]}{": " + changed if changed else ""}; '
              f'dropped {c["dropped"]}{": " + dropped if dropped else ""})')
    b = report.get('benchmark')
    if b:
        print(f'loading ({b["scheme"]}, {b["clips"]} clips, one process): '
              f'{b["before"]["median_ms"]:.1f} -> {b["after"]["median_ms"]:.1f} ms '
              f'per clip (median), {b["speedup"]:.2f}x clips/s')
    print(f'report: {report_path}')
    if videos['failed']:
        for failed in report['failed_videos']:
            print(f'FAILED {failed["video"]}: {failed["error"]}', file=sys.stderr)
        print(f'reencode_videos.py: {videos["failed"]} videos failed; their segments '
              'were dropped from the lists. Run again to retry them.', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
