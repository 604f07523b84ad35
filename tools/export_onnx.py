"""Export a trained recognizer to ONNX and check it with onnxruntime.

The model is exported in test mode for one view per clip: float32 RGB pixels
(0..255, normalised inside the graph) in the test pipeline's layout, with a
dynamic batch axis, to verb and noun probabilities (the pair head's
marginalised). The model's metadata (epic_mmaction.* keys) records the input
shape, the test pipeline, clip length, frame interval, mean/std, the class
names and, for the pair head, the pair table; tools/infer_video.py --onnx
reads it. Before the file is written, onnxruntime must agree with PyTorch on
other inputs (max abs difference of the probabilities <= --atol, same top-5);
a model with an operator ONNX cannot express is refused, naming the operator.

Example::

    python tools/export_onnx.py configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py \\
        work_dirs/x3d_s/best.pth --out x3d_s.onnx \\
        --verb-classes EPIC_100_verb_classes.csv --noun-classes EPIC_100_noun_classes.csv
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from epic_mmaction.utils.cli import positive_float, tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('config', help='model config (its test pipeline gives the input shape)')
    p.add_argument('checkpoint', help='checkpoint trained with that config')
    p.add_argument('--out', required=True, help='the .onnx file to write')
    p.add_argument('--verb-classes', help='EPIC_100_verb_classes.csv (default: verb_<i>)')
    p.add_argument('--noun-classes', help='EPIC_100_noun_classes.csv (default: noun_<i>)')
    p.add_argument('--opset', type=int, help="ONNX opset (default: the exporter's)")
    p.add_argument('--atol', type=positive_float, default=1e-4,
                   help='largest accepted difference of the probabilities. '
                   'Defaults to %(default)s')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from epic_mmaction.inference import InferenceError, load_class_names
    from epic_mmaction.inference.onnx_export import export_recognizer
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise InferenceError(f'{what} not found: {path}')
    cfg = Config.fromfile(args.config)
    head = cfg.model.cls_head
    names = load_class_names(args.verb_classes, args.noun_classes,
                             head.get('num_verbs', 97), head.get('num_nouns', 300))
    report = export_recognizer(cfg, args.checkpoint, args.out, names.verbs, names.nouns,
                               args.opset, args.atol)
    shape = 'x'.join(map(str, report.input_shape))
    print(f'wrote {args.out}: input {report.metadata["input_layout"]} [batch, {shape}] '
          f'float32 -> verb [batch, {report.metadata["num_verbs"]}], noun '
          f'[batch, {report.metadata["num_nouns"]}] probabilities'
          + (f'; pair table of {len(report.metadata["pairs"])} pairs in the metadata'
             if 'pairs' in report.metadata else ''))
    print(f'onnxruntime vs PyTorch: max abs difference {report.max_abs_diff:.3g}, top-5 '
          f'identical: {report.top5_identical}; export took {report.seconds:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
