"""Export a recognizer (test mode, one view per clip) to ONNX and check it with onnxruntime.

The graph is :class:`~.clipmodel.ClipModel` (pixels in, verb and noun
probabilities out; the pair head marginalised) traced with ``torch.onnx``'s
dynamo exporter, with a dynamic batch axis. What a user of the file needs
to feed it travels in the model's ``metadata_props`` (:data:`META_PREFIX`
keys, JSON values): input layout and shape, the test pipeline, sampling
(clip length, interval), mean/std (applied inside the graph), class names,
the pair table. The file is written to a temporary, checked with
onnxruntime on other inputs and another batch size than those traced
(probabilities within ``atol``, same top-5), and only then renamed into place.
An operator that ONNX cannot express fails with its name
(:class:`UnsupportedOperator`), never a 100-line exporter report.
"""
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .clips import InferenceError

__all__ = ['UnsupportedOperator', 'ExportMismatch', 'ExportReport', 'META_PREFIX',
           'export_module', 'export_recognizer', 'verify_onnx', 'read_metadata',
           'file_sha256', 'clip_metadata']

META_PREFIX = 'epic_mmaction.'
INPUT, OUTPUTS = 'clip', ('verb', 'noun')
_OP_PATTERNS = (re.compile(r"No ONNX function found for <OpOverload\(op='([^']+)'"),
                re.compile(r'target=torch\.ops\.([\w.]+?)\.default'),
                re.compile(r'(aten[:.]{1,2}[\w.]+)'))


class UnsupportedOperator(InferenceError):
    """The model uses an operator the ONNX exporter cannot translate."""


class ExportMismatch(InferenceError):
    """onnxruntime's probabilities differ from PyTorch's beyond the tolerance."""


@dataclass
class ExportReport:
    """What :func:`export_recognizer` wrote and how well onnxruntime agreed."""
    path: str
    max_abs_diff: float
    top5_identical: bool
    seconds: float
    input_shape: List[int]
    metadata: Dict[str, object] = field(default_factory=dict)


def file_sha256(path: str, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _operator_name(error: BaseException) -> Optional[str]:
    text = ''
    while error is not None:  # the exporter wraps the dispatch error
        text += f'\n{error}'
        error = error.__cause__ or error.__context__
    for pattern in _OP_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def export_module(module, example, path: str, opset: Optional[int] = None) -> None:
    """``module(clip) -> (verb, noun)`` to ONNX at ``path``, batch axis dynamic.

    Raises :class:`UnsupportedOperator` naming the operator that cannot be
    exported.
    """
    import torch
    batch = torch.export.Dim('batch', min=1, max=65536)
    kwargs = dict(opset_version=opset) if opset else {}
    try:
        torch.onnx.export(module, (example, ), path, dynamo=True, input_names=[INPUT],
                          output_names=list(OUTPUTS), dynamic_shapes=({0: batch}, ),
                          verbose=False, external_data=False, **kwargs)
    except torch.onnx.OnnxExporterError as e:
        op = _operator_name(e)
        if op is None:
            raise
        raise UnsupportedOperator(
            f'{type(module).__name__} cannot be exported to ONNX: the operator {op} has no '
            'ONNX translation (replace it in the model, or run it with PyTorch)') from None


def read_metadata(path: str) -> Dict[str, object]:
    """The :data:`META_PREFIX` metadata of an ONNX file, prefix stripped, JSON decoded."""
    import onnx
    try:
        model = onnx.load(path, load_external_data=False)
    except FileNotFoundError:
        raise
    except Exception as e:  # onnx raises DecodeError & co. for a file that is not ONNX
        raise InferenceError(f'{path}: not an ONNX model ({type(e).__name__}); export one '
                             'with tools/export_onnx.py') from None
    meta = {p.key[len(META_PREFIX):]: json.loads(p.value) for p in model.metadata_props
            if p.key.startswith(META_PREFIX)}
    if 'input_shape' not in meta:
        raise InferenceError(f'{path}: no {META_PREFIX}* metadata: not written by '
                             'tools/export_onnx.py')
    return meta


def _write_metadata(path: str, meta: Dict[str, object]) -> None:
    import onnx
    model = onnx.load(path)
    for key, value in meta.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = META_PREFIX + key, json.dumps(value)
    onnx.save(model, path)


def _session(path: str, threads: int = 0):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def verify_onnx(path: str, module, clips: np.ndarray,
                atol: float = 1e-4) -> Tuple[float, bool]:
    """``(max abs diff of the probabilities, top-5 identical)`` of ORT vs ``module``."""
    import torch
    with torch.no_grad():
        expected = [t.numpy() for t in module(torch.from_numpy(clips))]
    got = _session(path).run(list(OUTPUTS), {INPUT: clips})
    diff = max(float(np.abs(a - b).max()) for a, b in zip(got, expected))
    top = [(np.argsort(-a, axis=1, kind='stable')[:, :5],
            np.argsort(-b, axis=1, kind='stable')[:, :5]) for a, b in zip(got, expected)]
    same = all((a == b).all() for a, b in top)
    return diff, same


def clip_metadata(cfg, clip_model, clips, verb_names: Sequence[str],
                  noun_names: Sequence[str]) -> Dict[str, object]:
    """What a user of the ONNX file needs to make its input (JSON-able)."""
    from mmengine.config import ConfigDict
    sampling = [dict(s) for s in clips.split.sampling]
    first = sampling[0] if sampling else {}

    def plain(obj):
        if isinstance(obj, (dict, ConfigDict)):
            return {k: plain(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [plain(v) for v in obj]
        return obj

    head = clip_model.head
    meta = dict(
        format_shape=clip_model.format_shape,
        input_layout='BCTHW' if clip_model.format_shape == 'NCTHW' else 'BTCHW',
        input_dtype='float32 RGB pixels 0..255 (normalised inside the graph)',
        clip_len=first.get('clip_len'), frame_interval=first.get('frame_interval', 1),
        sampler=first.get('type'),
        mean=clip_model.mean.flatten().tolist(), std=clip_model.std.flatten().tolist(),
        to_rgb=clip_model.to_rgb,
        average_clips=getattr(head, 'average_clips', 'prob'),
        test_pipeline=plain(list(cfg.test_dataloader.dataset.pipeline)),
        num_verbs=clip_model.num_verbs, num_nouns=clip_model.num_nouns,
        verb_classes=list(verb_names), noun_classes=list(noun_names),
        feature_layer=clip_model.feature_layer,
        outputs=list(OUTPUTS),
    )
    pairs = getattr(head.output, 'to_verb', None)
    if pairs is not None:  # pair head: row i is pair i's (verb, noun)
        meta['pairs'] = [[int(v), int(n)] for v, n in zip(
            head.output.to_verb.argmax(1).tolist(), head.output.to_noun.argmax(1).tolist())]
    return meta


def export_recognizer(cfg, checkpoint: str, out: str,
                      verb_names: Optional[Sequence[str]] = None,
                      noun_names: Optional[Sequence[str]] = None,
                      opset: Optional[int] = None, atol: float = 1e-4,
                      seed: int = 0) -> ExportReport:
    """Export ``cfg`` + ``checkpoint`` to ``out`` (see the module docstring)."""
    import torch

    from ..utils.fileio import atomic_outputs
    from .clipmodel import ClipModel
    from .clips import ClipPipeline
    from .recognizer import build_model
    start = time.perf_counter()
    clips = ClipPipeline.from_config(cfg, one_view=True)
    model = ClipModel(build_model(cfg, checkpoint, 'cpu'))
    shape = list(model.clips_from_inputs(clips.from_random_frames(seed=seed)['inputs']).shape[1:])
    rng = np.random.default_rng(seed)
    example = torch.from_numpy(rng.integers(0, 256, (2, *shape)).astype(np.float32))
    check = rng.integers(0, 256, (3, *shape)).astype(np.float32)  # another batch size
    verbs = list(verb_names) if verb_names else [f'verb_{i}' for i in range(model.num_verbs)]
    nouns = list(noun_names) if noun_names else [f'noun_{i}' for i in range(model.num_nouns)]
    meta = clip_metadata(cfg, model, clips, verbs, nouns)
    meta.update(input_shape=shape, config=getattr(cfg, 'filename', None),
                checkpoint=os.path.abspath(checkpoint), checkpoint_sha256=file_sha256(checkpoint))
    with atomic_outputs([out]) as (tmp, ):
        export_module(model, example, tmp, opset)
        diff, same = verify_onnx(tmp, model, check, atol)
        if diff > atol or not same:
            raise ExportMismatch(
                f'{out}: onnxruntime disagrees with PyTorch (max abs diff of the '
                f'probabilities {diff:.3g} > {atol:g} or top-5 differs: {not same}); '
                'the file was not written')
        meta.update(verified_max_abs_diff=diff)
        _write_metadata(tmp, meta)
    return ExportReport(out, diff, same, time.perf_counter() - start, shape, meta)
