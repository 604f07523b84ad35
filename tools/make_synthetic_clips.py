"""Generate a synthetic whole-video dataset: one short clip per file, one class per clip.

Layouts, for trying tools/build_annotations.py --format class-folders|filename::

    # UCF50-like: OUT/<Class>/v_<Class>_gGG_cCC.avi
    python tools/make_synthetic_clips.py data/synthetic_ucf --layout class-folders \\
        --classes 5 --groups 6 --clips 3
    # HRI30-like: OUT/train/CIDxx_SIDyy_VIDzz.avi and unlabelled OUT/test/NNNN.avi
    python tools/make_synthetic_clips.py data/synthetic_hri --layout filename \\
        --classes 5 --groups 4 --clips 2 --test 10

``OUT/synthetic_truth.json`` maps every clip (path under OUT) to the class key
it shows (the class folder or ``CIDxx``), the unlabelled test clips included.
"""
import argparse
import json
import os.path as osp
import time

from epic_mmaction.utils.cli import (non_negative_int, positive_float, positive_int,
                                     tool_main)
from epic_mmaction.utils.fileio import atomic_write
from epic_mmaction.synthetic.clips import (MAX_CLASSES, class_folder_specs, class_name,
                                           filename_coded_specs, write_clip_dataset)

LAYOUTS = ('class-folders', 'filename')


def filename_class_key(class_id: int) -> str:
    """The ``CIDxx`` of :func:`filename_coded_specs` file names."""
    return f'CID{class_id + 1:02d}'


def parse_size(text: str) -> tuple:
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be WIDTHxHEIGHT, got {text!r}')
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f'yuv420p needs even sizes >= 16: {text}')
    return width, height


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('out_dir', help='dataset root to write')
    p.add_argument('--layout', choices=LAYOUTS, default='class-folders',
                   help='Defaults to %(default)s')
    p.add_argument('--classes', type=positive_int, default=5,
                   help=f'number of classes, at most {MAX_CLASSES}. '
                   'Defaults to %(default)s')
    p.add_argument('--groups', type=positive_int, default=4,
                   help='groups (class-folders: _gGG_, same background) or subjects '
                   '(filename: SIDyy). Defaults to %(default)s')
    p.add_argument('--clips', type=positive_int, default=2,
                   help='clips per class and group. Defaults to %(default)s')
    p.add_argument('--test', type=non_negative_int, default=0,
                   help='filename layout: unlabelled clips in test/. '
                   'Defaults to %(default)s')
    p.add_argument('--frames', type=positive_int, default=24,
                   help='frames per clip. Defaults to %(default)s')
    p.add_argument('--fps', type=positive_float, default=25.0,
                   help='frame rate, rounded to an integer. Defaults to %(default)s')
    p.add_argument('--size', type=parse_size, default=(64, 64),
                   help='WIDTHxHEIGHT. Defaults to 64x64')
    p.add_argument('--ext', choices=('.avi', '.mp4'), default='.avi',
                   help='.avi: MPEG-4 Part 2 (as UCF50), .mp4: H.264. '
                   'Defaults to %(default)s')
    p.add_argument('--seed', type=int, default=0, help='Defaults to %(default)s')
    args = p.parse_args(argv)
    if args.classes > MAX_CLASSES:
        p.error(f'--classes: at most {MAX_CLASSES}')
    if args.test and args.layout != 'filename':
        p.error('--test applies to --layout filename')
    return args


@tool_main
def main(argv=None) -> int:
    args = parse_args(argv)
    if args.layout == 'class-folders':
        specs = class_folder_specs(args.classes, args.groups, args.clips, args.ext)
        key = class_name
    else:
        specs = filename_coded_specs(args.classes, args.groups, args.clips, args.test,
                                     args.ext)
        key = filename_class_key
    start = time.time()
    truth = write_clip_dataset(args.out_dir, specs, num_frames=args.frames, fps=args.fps,
                               size=args.size, seed=args.seed)
    with atomic_write(osp.join(args.out_dir, 'synthetic_truth.json')) as f:
        json.dump({path: key(c) for path, c in truth.items()}, f, indent=1)
    print(f'{len(specs)} clips of {args.frames} frames ({args.classes} classes) in '
          f'{time.time() - start:.1f}s -> {args.out_dir}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
