"""Generate a synthetic EPIC-KITCHENS-100-format dataset (videos + official CSVs).

Example::

    python tools/make_synthetic_epic.py data/synthetic_epic --videos 6 2 2 --duration 60
"""
import argparse
import sys
import time
from typing import List, Optional

from epic_mmaction.synthetic.generator import SyntheticConfig, generate
from epic_mmaction.utils.cli import positive_float, tool_main


def parse_size(text: str) -> tuple:
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'size must be WIDTHxHEIGHT, got {text!r}')
    if width % 2 or height % 2:
        raise argparse.ArgumentTypeError(f'H.264 (yuv420p) needs even sizes: {text}')
    return width, height


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    d = SyntheticConfig()
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out_dir', help='output folder (videos/ and CSVs go here)')
    p.add_argument('--videos', type=int, nargs=3, metavar=('TRAIN', 'VAL', 'TEST'),
                   default=[d.videos[s] for s in ('train', 'validation', 'test')],
                   help='videos per split. Defaults to %(default)s')
    p.add_argument('--duration', type=float, default=d.duration,
                   help='seconds per video. Defaults to %(default)s')
    p.add_argument('--fps', type=float, nargs='+', default=list(d.fps),
                   help='real frame rates, cycled over videos (59.94 is written '
                   'as 60000/1001). Defaults to %(default)s')
    p.add_argument('--size', type=parse_size, default=(d.width, d.height),
                   help='WIDTHxHEIGHT. Defaults to %dx%d' % (d.width, d.height))
    p.add_argument('--gop', type=int, default=d.gop,
                   help='keyframe interval in frames. Defaults to %(default)s')
    p.add_argument('--bframes', type=int, default=d.bframes,
                   help='max consecutive B-frames, 0 for none. Defaults to %(default)s')
    p.add_argument('--crf', type=int, default=d.crf, help='x264 quality')
    p.add_argument('--object-scale', type=float, default=d.object_scale,
                   help='object size as a fraction of the frame height. '
                   'Defaults to %(default)s')
    p.add_argument('--move-speed', type=positive_float, default=d.move_speed,
                   help='moves: fraction of the free width (or height) crossed per '
                   'second; faster moves also cap events shorter (a move stays in '
                   'the frame). Defaults to %(default)s')
    p.add_argument('--turn-speed', type=positive_float, default=d.turn_speed,
                   help='turns: degrees per second. Defaults to %(default)s')
    p.add_argument('--extension-every', type=int, default=d.extension_every,
                   help='every Nth video gets an extension-style PXX_1YY name '
                   '(its CSV frames count at 50 fps); 0 for none')
    p.add_argument('--faststart', action='store_true',
                   help='put the MP4 index (moov) at the start of the file')
    p.add_argument('--no-quirks', action='store_true',
                   help="leave out EPIC's annotation quirks from the train CSV")
    p.add_argument('--reproducible', action='store_true',
                   help='encode without x264 assembly: the same bytes on every run '
                   '(with it, some videos differ between runs), about 2x slower')
    p.add_argument('--workers', type=int, default=1, help='parallel encoders')
    p.add_argument('--seed', type=int, default=d.seed)
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = SyntheticConfig(
        videos=dict(zip(('train', 'validation', 'test'), args.videos)),
        duration=args.duration, fps=tuple(args.fps), width=args.size[0],
        height=args.size[1], gop=args.gop, bframes=args.bframes, crf=args.crf,
        object_scale=args.object_scale, move_speed=args.move_speed,
        turn_speed=args.turn_speed,
        extension_every=args.extension_every, faststart=args.faststart,
        quirks=not args.no_quirks, reproducible=args.reproducible, seed=args.seed)
    start = time.time()
    plans = generate(args.out_dir, cfg, workers=args.workers, progress=True)
    frames = sum(p.num_frames for p in plans)
    print(f'{len(plans)} videos, {frames} frames in {time.time() - start:.1f}s '
          f'-> {args.out_dir}')


if __name__ == '__main__':
    sys.exit(main())
