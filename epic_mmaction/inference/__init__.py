"""Sliding-window recognition over whole videos, cameras and streams.

A trained checkpoint scores windows of ``window`` seconds every ``stride``
seconds through its config's own test pipeline (``tools/infer_video.py``):
files are decoded window by window with ``SegmentVideoInit``, live sources
are read with OpenCV into a ring buffer. Results go to a CSV of top-5 verbs,
nouns and actions per window and, optionally, an annotated MP4.

Deployment (docs/deployment.md): :mod:`.features` extracts dense clip features
over whole videos (``tools/extract_features.py``), :mod:`.onnx_export` exports
a recognizer to ONNX (``tools/export_onnx.py``) and :mod:`.onnx_runtime` runs
it in the same sliding-window loops. Those modules import onnx, onnxruntime
and lmdb only when used, so they are not imported here.
"""
from .clips import (ClipPipeline, InferenceError, SplitPipeline, one_view_pipeline,
                    pipeline_backend, split_test_pipeline)
from .recognizer import (CheckpointError, CheckpointMismatch, WindowRecognizer, build_model,
                         load_weights)
from .sliding import WindowPrediction, recognize_file, recognize_stream
from .sources import (FrameRing, Source, SourceError, capture_fps, open_capture, parse_source,
                      probe_file, read_capture)
from .topk import ClassNames, load_class_names, topk_columns
from .windows import StreamWindows, Window, WindowPlan, nearest_window, sliding_windows
from .writer import (AnnotatedVideoWriter, annotate_file, caption_lines, windows_table,
                     write_windows_csv)

__all__ = [
    'Window', 'WindowPlan', 'StreamWindows', 'sliding_windows', 'nearest_window',
    'Source', 'SourceError', 'parse_source', 'probe_file', 'open_capture', 'capture_fps',
    'read_capture', 'FrameRing', 'InferenceError', 'CheckpointError', 'CheckpointMismatch',
    'SplitPipeline', 'ClipPipeline', 'one_view_pipeline',
    'split_test_pipeline', 'pipeline_backend', 'load_weights', 'build_model', 'WindowRecognizer',
    'WindowPrediction', 'recognize_file', 'recognize_stream', 'ClassNames',
    'load_class_names', 'topk_columns', 'windows_table', 'write_windows_csv',
    'caption_lines', 'AnnotatedVideoWriter', 'annotate_file'
]
