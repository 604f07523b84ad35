"""Sliding-window action recognition over a whole video, a camera or a stream.

Each window of WINDOW seconds (every STRIDE seconds, the last one ending on
the last frame) goes through the config's test pipeline and the checkpoint;
the CSV has one row per window with its top-5 verbs, nouns and actions
(p(verb) * p(noun)) and their scores. VIDEO is a file (decoded window by
window with decord, as in training), a camera index such as 0, or a stream
URL (rtsp://, http://...) read with OpenCV; --stream reads a file with OpenCV
too. Stream mode runs until the stream ends, --max-seconds, or Ctrl-C.
With --onnx MODEL (from tools/export_onnx.py), onnxruntime scores the windows
instead of PyTorch; CONFIG and CHECKPOINT are not given then (the test
pipeline and class names are in the model's metadata).

Examples::

    python tools/infer_video.py configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py \\
        work_dirs/x3d_s/best.pth P01_11.MP4 --window 2 --stride 1 \\
        --verb-classes EPIC_100_verb_classes.csv --noun-classes EPIC_100_noun_classes.csv \\
        --out P01_11_windows.csv --out-video P01_11_annotated.mp4 --device cuda:0
    python tools/infer_video.py CONFIG CHECKPOINT 0 --max-seconds 30 --batch-size 1
    python tools/infer_video.py --onnx x3d_s.onnx P01_11.MP4 --window 2 --stride 1
"""
import argparse
import os.path as osp
import signal
import sys
import time
from typing import List, Optional

from mmengine.config import Config, DictAction
from epic_mmaction.utils.cli import tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('inputs', nargs='+', metavar='CONFIG CHECKPOINT VIDEO',
                   help='model config (its test pipeline is used), checkpoint trained '
                   'with it, and the video file, camera index (0) or stream URL; with '
                   '--onnx only VIDEO')
    p.add_argument('--onnx', metavar='MODEL',
                   help='an ONNX model from tools/export_onnx.py, run with onnxruntime')
    p.add_argument('--threads', type=int, default=0,
                   help='--onnx: onnxruntime intra-op threads (0: its default). '
                   'Defaults to %(default)s')
    p.add_argument('--window', type=float, default=2.0,
                   help='window length in seconds. Defaults to %(default)s')
    p.add_argument('--stride', type=float, default=1.0,
                   help='seconds between window starts (<= window). Defaults to '
                   '%(default)s')
    p.add_argument('--verb-classes', help='EPIC_100_verb_classes.csv (default: verb_<i>)')
    p.add_argument('--noun-classes', help='EPIC_100_noun_classes.csv (default: noun_<i>)')
    p.add_argument('--out', help='windows CSV (default: <video name>_windows.csv)')
    p.add_argument('--out-video', help='also write an MP4 with each frame captioned by '
                   'the top-3 actions of its window')
    p.add_argument('--device', default='cpu', help='cpu or cuda:0 (PyTorch; --onnx runs on '
                   'the CPU). Defaults to %(default)s')
    p.add_argument('--batch-size', type=int, default=8,
                   help='windows per forward (1 for the lowest latency on a live '
                   'camera). Defaults to %(default)s')
    p.add_argument('--stream', action='store_true',
                   help='read a video file with OpenCV, frame by frame, as a camera is read')
    p.add_argument('--max-seconds', type=float,
                   help='stream mode: stop after this many seconds of video')
    p.add_argument('--fps', type=float, default=30.0,
                   help='stream mode: frame rate to assume when the source reports none. '
                   'Defaults to %(default)s')
    p.add_argument('--top', type=int, default=5, help='classes per task in the CSV. '
                   'Defaults to %(default)s')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, as in tools/test.py')
    args = p.parse_intermixed_args(argv)
    expected = 1 if args.onnx else 3
    if len(args.inputs) != expected:
        p.error('expected VIDEO with --onnx' if args.onnx else
                'expected CONFIG CHECKPOINT VIDEO (or --onnx MODEL VIDEO)')
    args.config, args.checkpoint = (None, None) if args.onnx else args.inputs[:2]
    args.video = args.inputs[-1]
    if args.onnx and args.cfg_options:
        p.error('--cfg-options needs CONFIG (not --onnx)')
    if args.batch_size < 1:
        p.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.top < 1:
        p.error(f'--top must be >= 1, got {args.top}')
    if args.max_seconds is not None and args.max_seconds <= 0:
        p.error(f'--max-seconds must be > 0, got {args.max_seconds}')
    return args


def _summary(what: str, predictions, frames: int, fps: float, seconds: float) -> str:
    rate = frames / seconds if seconds > 0 else float('inf')
    return (f'{what}: {len(predictions)} windows over {frames / fps:.1f}s of video '
            f'({frames} frames at {fps:.3f} fps) in {seconds:.1f}s: processing '
            f'{rate:.1f} frames/s ({rate / fps:.2f}x real time)')


def run_file(args, recognizer, path, windows):
    """Windows of a file, each decoded through decord; returns (predictions, seconds)."""
    from epic_mmaction.inference import recognize_file
    start = time.perf_counter()
    predictions = list(recognize_file(recognizer, path, windows, args.batch_size))
    return predictions, time.perf_counter() - start


def run_stream(args, recognizer, source, names):
    """Frames from OpenCV through a ring buffer, live; Ctrl-C ends it cleanly."""
    from epic_mmaction.inference import (AnnotatedVideoWriter, WindowPlan, capture_fps,
                                         caption_lines, open_capture, read_capture,
                                         recognize_stream, windows_table)
    cap = open_capture(source)
    fps = capture_fps(cap, default=args.fps)
    plan = WindowPlan(fps, args.window, args.stride)
    max_frames = None if args.max_seconds is None else max(1, round(args.max_seconds * fps))
    stop = {'requested': False}
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum, frame):
        if stop['requested']:  # a second Ctrl-C aborts
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        stop['requested'] = True
        print('stopping after the current window (Ctrl-C again to abort)',
              file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, on_sigint)
    predictions, captions = [], []
    writer = AnnotatedVideoWriter(args.out_video, fps) if args.out_video else None
    frames = {'count': 0}

    def on_frame(i, frame):  # live overlay: the newest finished window's actions
        frames['count'] = i + 1
        if writer is not None:
            writer.write(frame, captions)

    print(f'reading {source} at {fps:.3f} fps ({plan}); Ctrl-C to stop', flush=True)
    start = time.perf_counter()
    try:
        for p in recognize_stream(recognizer, read_capture(cap), plan, args.batch_size,
                                  max_frames, on_frame, lambda: stop['requested']):
            predictions.append(p)
            row = windows_table([p], names, k=3)
            captions[:] = caption_lines(row, 0, 3)
            print(f'{p.window.start:9.2f}-{p.window.end:9.2f}s  {captions[0]}', flush=True)
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        cap.release()
        signal.signal(signal.SIGINT, previous)
    return predictions, frames['count'], fps, time.perf_counter() - start


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
    from epic_mmaction.inference import (ClassNames, InferenceError, SourceError,
                                         WindowRecognizer,
                                         annotate_file, load_class_names, parse_source,
                                         pipeline_backend, probe_file, sliding_windows,
                                         windows_table, write_windows_csv)
    source = parse_source(args.video, stream=args.stream)
    if not source.stream and args.max_seconds is not None:
        raise SourceError('--max-seconds is for cameras and streams (or --stream)')
    inputs = (((args.onnx, 'ONNX model'), ) if args.onnx else
              ((args.config, 'config'), (args.checkpoint, 'checkpoint')))
    for path, what in inputs:
        if not osp.isfile(path):
            raise InferenceError(f'{what} not found: {path}')
    if args.onnx:
        from epic_mmaction.inference.onnx_runtime import OnnxRecognizer
        recognizer = OnnxRecognizer(args.onnx, args.threads)
        pipeline = recognizer.meta['test_pipeline']
    else:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        pipeline = cfg.test_dataloader.dataset.pipeline
    if not source.stream:  # fail on an unreadable video before building the model
        num_frames, fps = probe_file(source.target, pipeline_backend(pipeline))
        windows = sliding_windows(num_frames, fps, args.window, args.stride)
    if args.onnx:
        verbs, nouns = recognizer.class_names
        names = (load_class_names(args.verb_classes, args.noun_classes,
                                  recognizer.num_verbs, recognizer.num_nouns)
                 if args.verb_classes or args.noun_classes else ClassNames(verbs, nouns))
    else:
        recognizer = WindowRecognizer(cfg, args.checkpoint, args.device)
        names = load_class_names(args.verb_classes, args.noun_classes,
                                 recognizer.num_verbs, recognizer.num_nouns)
    out = args.out or f'{source.name}_windows.csv'
    if source.stream:
        predictions, num_frames, fps, seconds = run_stream(args, recognizer, source, names)
    else:
        predictions, seconds = run_file(args, recognizer, source.target, windows)
    if not predictions:
        raise SourceError(f'{source}: no frames were read')
    table = windows_table(predictions, names, k=args.top)
    write_windows_csv(table, out)
    print(_summary(str(source), predictions, num_frames, fps, seconds))
    if source.kind != 'file' and seconds > 0 and num_frames / seconds < 0.95 * fps:
        print('note: processing was slower than real time, so a live source dropped '
              'frames; window times count the frames read (try --batch-size 1, a '
              'GPU or a lighter config)')
    top = table['action_1'].value_counts()
    print('most frequent top-1 actions: '
          + ', '.join(f'{a} ({n})' for a, n in top.head(3).items()))
    print(f'windows CSV: {out}')
    if args.out_video:
        if not source.stream:
            start = time.perf_counter()
            written = annotate_file(source.target, args.out_video,
                                    [p.window for p in predictions], table, fps,
                                    max_frames=num_frames)
            print(f'annotated video: {args.out_video} ({written} frames in '
                  f'{time.perf_counter() - start:.1f}s)')
        else:
            print(f'annotated video: {args.out_video} (live captions)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
