"""Build segment list files from EPIC CSVs, or from folders of whole-video clips.

Examples: EPIC-KITCHENS-100 (official layout ``EPIC-KITCHENS/P01/videos/P01_01.MP4``),
UCF50/UCF101 (``UCF50/<Class>/v_<Class>_gGG_cCC.avi``, split by group) and HRI30
(``HRI30/train/CIDxx_SIDyy_VIDzz.avi``, unlabelled ``HRI30/test/``)::

    python tools/build_annotations.py path/to/epic-kitchens-100-annotations \\
        --data-root path/to/EPIC-KITCHENS \\
        --video-template '{participant_id}/videos/{video_id}.MP4' --out-dir data_lists
    python tools/build_annotations.py path/to/UCF50 --format class-folders \\
        --split-ratios 0.7 0.15 0.15 --seed 0 --out-dir data_lists
    python tools/build_annotations.py path/to/HRI30 --format filename \\
        --split-dir auto=train --split-ratios 0.85 0.15 0 \\
        --split-dir test=test --unlabelled test --out-dir data_lists
"""
import argparse
import json
import sys
from dataclasses import fields

from epic_mmaction.annotations.builder import (FPS_SOURCES, FRAME_SOURCES,
                                               SPLIT_CSVS, BuildOptions,
                                               build_annotations)
from epic_mmaction.annotations.split import SPLITS
from epic_mmaction.annotations.wholevideo import (AUTO, HRI30_LABEL_PATTERN,
                                                  UCF_GROUP_PATTERN,
                                                  VIDEO_EXTENSIONS,
                                                  WholeVideoOptions,
                                                  build_wholevideo_lists)
from epic_mmaction.utils import UsageError
from epic_mmaction.utils.cli import tool_main

FORMATS = ('epic', 'class-folders', 'filename')
# EPIC-only options, with the value that means "not given"
EPIC_ONLY = dict(data_root=None, video_template=BuildOptions.video_template,
                 video_info=None, fps=None, fps_source=BuildOptions.fps_source,
                 frame_source=BuildOptions.frame_source, splits=list(BuildOptions.splits),
                 pairs_from=BuildOptions.pairs_from, holdout_by=None,
                 holdout_fraction=BuildOptions.holdout_fraction,
                 allow_missing_videos=False)
# whole-video-only options, likewise
WHOLE_VIDEO_ONLY = dict(split_ratios=None, group_pattern=None, label_pattern=None,
                        split_dir=None, unlabelled=None, classes=None, extensions=None,
                        count_frames=True)


def split_dir(text: str) -> tuple:
    """``SPLIT=FOLDER`` -> (split, folder)."""
    split, sep, folder = text.partition('=')
    if not sep or not folder or split not in SPLITS + (AUTO,):
        raise argparse.ArgumentTypeError(
            f'expected SPLIT=FOLDER with SPLIT one of {", ".join(SPLITS + (AUTO,))}, '
            f'got {text!r}')
    return split, folder


def parse_args(argv=None) -> argparse.Namespace:
    d = BuildOptions(annotations_dir='')
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('annotations_dir', metavar='SOURCE',
                   help='epic: folder with EPIC_100_{train,validation,test_timestamps}'
                   '.csv; class-folders, filename: the video root (list paths are '
                   'relative to it)')
    p.add_argument('--format', choices=FORMATS, default='epic',
                   help='epic: official EPIC-KITCHENS-100 CSVs; class-folders: '
                   'ROOT/<Class>/<video> (UCF50/101); filename: the label is in the '
                   'file name (HRI30). Defaults to %(default)s')
    p.add_argument('--out-dir', default=d.out_dir, help='Defaults to %(default)s')
    p.add_argument('--data-root', help='video root: fps (and frame counts) are read '
                   'from the files found here')
    p.add_argument('--video-template', default=d.video_template,
                   help='video path under the data root. Defaults to %(default)s')
    p.add_argument('--allow-missing-videos', action='store_true',
                   help='write the rows of videos missing under --data-root even when '
                   'most are missing (a partial download); otherwise that is an error')
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
    p.add_argument('--prefix', help='list names: PREFIX_SPLIT.txt. Defaults to '
                   f'{d.prefix} (epic), else the source folder\'s name, lowercased')
    p.add_argument('--holdout-by', choices=['video', 'participant'],
                   help='also hold out part of train as PREFIX_holdout.txt')
    p.add_argument('--holdout-fraction', type=float, default=d.holdout_fraction)
    p.add_argument('--seed', type=int, default=d.seed,
                   help='seed of the holdout (epic) or of the ratio split')
    w = p.add_argument_group('whole-video formats (class-folders, filename)')
    w.add_argument('--split-ratios', type=float, nargs=3, metavar=('TRAIN', 'VAL', 'TEST'),
                   help='stratified split that keeps each group in one split; they '
                   'sum to 1, a 0 writes no such list. Defaults to 0.7 0.15 0.15')
    w.add_argument('--group-pattern',
                   help='regex over the file name (no extension) whose named group '
                   '"group", else first group, else match, is the group; no match: its '
                   f'own group; "" for no groups. Defaults to \'{UCF_GROUP_PATTERN}\' '
                   '(class-folders) or the label pattern\'s "group" (filename)')
    w.add_argument('--label-pattern',
                   help='filename: regex over the file name (no extension) with a named '
                   'group "label" (and optionally "group"). Defaults to '
                   f"'{HRI30_LABEL_PATTERN}'")
    w.add_argument('--split-dir', type=split_dir, action='append', metavar='SPLIT=FOLDER',
                   help='take SPLIT (train, val, test) from FOLDER under the root, '
                   f'or split FOLDER by the ratios ({AUTO}=FOLDER); repeatable. Without '
                   'it the whole root is split by the ratios')
    w.add_argument('--unlabelled', action='append', choices=SPLITS,
                   help='a --split-dir split whose videos have no label (class -1; '
                   'names need not match); repeatable')
    w.add_argument('--classes', metavar='FILE',
                   help='class names by id, one a line (the PREFIX_classes.txt this '
                   'tool writes), so ids stay stable. Defaults to the label keys in '
                   'natural order (CID2 before CID10)')
    w.add_argument('--extensions', nargs='+',
                   help='video file extensions, any case. Defaults to '
                   + ' '.join(VIDEO_EXTENSIONS))
    w.add_argument('--no-count-frames', dest='count_frames', action='store_false',
                   help='do not open the videos: stop -1 (to the last frame) in every '
                   'row; tools/clean_segments.py fills it in')
    return p.parse_args(argv)


def check_options(args: argparse.Namespace) -> None:
    """Options of the other kind of format are mistakes, not no-ops."""
    wrong = EPIC_ONLY if args.format != 'epic' else WHOLE_VIDEO_ONLY
    given = [k for k, unset in wrong.items() if getattr(args, k) != unset]
    if given:
        flags = ', '.join('--' + ('no-count-frames' if k == 'count_frames'
                                  else k.replace('_', '-')) for k in given)
        raise UsageError(f'{flags} {"does" if len(given) == 1 else "do"} not apply to '
                         f'--format {args.format}')


def whole_video_options(args: argparse.Namespace) -> WholeVideoOptions:
    split_dirs = {}
    for split, folder in args.split_dir or []:
        if split in split_dirs:
            raise UsageError(f'--split-dir {split}= given twice')
        split_dirs[split] = folder
    kwargs = dict(
        root=args.annotations_dir, layout=args.format, out_dir=args.out_dir,
        prefix=args.prefix, seed=args.seed, group_pattern=args.group_pattern,
        split_dirs=split_dirs, unlabelled=tuple(args.unlabelled or ()),
        classes_file=args.classes, count_frames=args.count_frames)
    if args.split_ratios is not None:
        if split_dirs and AUTO not in split_dirs:
            raise UsageError('--split-ratios: no videos are split by ratio; they are '
                             'when there is no --split-dir, or with --split-dir '
                             f'{AUTO}=FOLDER')
        kwargs['split_ratios'] = args.split_ratios
    if args.label_pattern is not None:
        if args.format != 'filename':
            raise UsageError('--label-pattern applies to --format filename')
        kwargs['label_pattern'] = args.label_pattern
    if args.extensions is not None:
        kwargs['extensions'] = args.extensions
    return WholeVideoOptions(**kwargs)


def report_whole_video(summary: dict) -> None:
    for split, info in summary['splits'].items():
        groups, alone = len(info['groups']), info['ungrouped']
        how = (f'{groups} groups' + (f' + {alone} ungrouped videos' if alone else '')
               if groups else 'each video its own group')
        if not info['by_ratio']:
            how = f"from {info['folder']}/, {how}"
        labels = (f"{sum(n > 0 for n in info['per_class'].values())} classes"
                  if info['labelled'] else 'unlabelled')
        print(f"{info['list']}: {info['videos']} videos, {labels}, {how}")
    classes = summary['classes']
    if classes['file']:
        print(f"{classes['file']}: {classes['num_classes']} classes ({classes['order']})")
    else:
        print('    note: no labelled videos and no --classes: no classes file written')
    ratios = summary['split_ratios']
    print(f"{summary['summary']}: per-class counts and groups per split"
          + (f"; seed {summary['seed']}, ratios "
             f"{' '.join(f'{r:g}' for r in ratios.values())}" if ratios else ''))
    if summary['ignored_files']:
        print('    note: ignored non-video files: ' + ', '.join(
            f'{n} {ext}' for ext, n in summary['ignored_files'].items()))
    frames = summary['frames']
    if frames['unreadable_headers']:
        print(f"    note: {len(frames['unreadable_headers'])} video(s) whose header "
              f"could not be read, e.g. {frames['unreadable_headers'][0]}")
    if frames['to_end']:
        print(f"    note: {frames['to_end']} row(s) with stop -1 (frame count unknown): "
              'tools/clean_segments.py writes their last frame')
    if summary['groups_in_several_splits']:
        print(f"    note: groups in more than one split folder: "
              f"{' '.join(summary['groups_in_several_splits'][:10])}")
    for path in summary['stale_lists']:
        print(f'    note: {path} is from an earlier build (this one has no such split)')


@tool_main
def main(argv=None) -> int:
    args = parse_args(argv)
    check_options(args)
    if args.format != 'epic':
        report_whole_video(build_wholevideo_lists(whole_video_options(args)))
        return 0
    names = {f.name for f in fields(BuildOptions)}
    opts = BuildOptions(**{k: v for k, v in vars(args).items()
                           if k in names and v is not None})
    summary = build_annotations(opts)
    report_epic(summary)
    return 0


def report_epic(summary: dict) -> None:
    for name, info in summary['lists'].items():
        dropped = ', '.join(f'{n} {r}' for r, n in info['rows_dropped'].items()) or 'none'
        print(f"{info['list']}: {info['rows_written']}/{info['rows_in']} rows "
              f"(dropped: {dropped}; fps from {json.dumps(info['fps_sources'])})")
        if info['rows_dropped']:
            print(f"    note: the dropped rows' ids and CSV lines are in {info['meta']} "
                  '("dropped_rows")')
        for note, n in info['notes'].items():
            print(f'    note: {n} {note}')
    if 'pairs' in summary:
        p = summary['pairs']
        print(f"{p['path']}: {p['num_pairs']} verb-noun pairs from {'+'.join(p['sources'])}")
    if 'missing_videos' in summary:
        m = summary['missing_videos']
        print(f"build_annotations.py: warning: {m['count']} of {m['total']} videos not "
              f"found under --data-root {m['data_root']}, e.g. {m['example']} (for "
              f"{m['example_row']}); their rows are written, with the fps from the video "
              'info or --fps; "videos_missing" in the meta files lists them',
              file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
