"""Build segment list files and the verb-noun pair vocabulary from EPIC CSVs.

Example (official layout ``EPIC-KITCHENS/P01/videos/P01_01.MP4``)::

    python tools/build_annotations.py path/to/epic-kitchens-100-annotations \\
        --data-root path/to/EPIC-KITCHENS \\
        --video-template '{participant_id}/videos/{video_id}.MP4' --out-dir data_lists
"""
import argparse
import json
import sys

from epic_mmaction.annotations.builder import (FPS_SOURCES, FRAME_SOURCES,
                                               SPLIT_CSVS, BuildOptions,
                                               build_annotations)
from epic_mmaction.annotations.records import AnnotationError


def parse_args(argv=None) -> argparse.Namespace:
    d = BuildOptions(annotations_dir='')
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('annotations_dir',
                   help='folder with EPIC_100_{train,validation,test_timestamps}.csv')
    p.add_argument('--out-dir', default=d.out_dir, help='Defaults to %(default)s')
    p.add_argument('--data-root', help='video root: fps (and frame counts) are read '
                   'from the files found here')
    p.add_argument('--video-template', default=d.video_template,
                   help='video path under the data root. Defaults to %(default)s')
    p.add_argument('--video-info', help='EPIC_100_video_info.csv (default: the '
                   'one in annotations_dir, if there)')
    p.add_argument('--fps', type=float, help='fps for videos no other source knows')
    p.add_argument('--fps-source', choices=FPS_SOURCES, default=d.fps_source,
                   help='auto: file, else video info, else --fps. Defaults to %(default)s')
    p.add_argument('--frame-source', choices=FRAME_SOURCES, default=d.frame_source,
                   help='timestamps x real fps, or the CSV frame columns rescaled '
                   'from their 60/50 fps count. Defaults to %(default)s')
    p.add_argument('--splits', nargs='+', choices=list(SPLIT_CSVS),
                   default=list(d.splits), help='Defaults to %(default)s')
    p.add_argument('--pairs-from', default=d.pairs_from,
                   choices=['train', 'val', 'train+val', 'none'],
                   help='splits whose pairs form pairs.json. Defaults to %(default)s')
    p.add_argument('--prefix', default=d.prefix, help='list names: PREFIX_SPLIT.txt')
    p.add_argument('--holdout-by', choices=['video', 'participant'],
                   help='also hold out part of train as PREFIX_holdout.txt')
    p.add_argument('--holdout-fraction', type=float, default=d.holdout_fraction)
    p.add_argument('--seed', type=int, default=d.seed, help='holdout seed')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        opts = BuildOptions(**{k: v for k, v in vars(args).items()})
        summary = build_annotations(opts)
    except (AnnotationError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    for name, info in summary['lists'].items():
        dropped = ', '.join(f'{n} {r}' for r, n in info['rows_dropped'].items()) or 'none'
        print(f"{info['list']}: {info['rows_written']}/{info['rows_in']} rows "
              f"(dropped: {dropped}; fps from {json.dumps(info['fps_sources'])})")
        for note, n in info['notes'].items():
            print(f'    note: {n} {note}')
    if 'pairs' in summary:
        p = summary['pairs']
        print(f"{p['path']}: {p['num_pairs']} verb-noun pairs from {'+'.join(p['sources'])}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
