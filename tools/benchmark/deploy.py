"""Deployment costs on the CPU: feature extraction rate, ONNX export, ORT vs PyTorch.

For each model config, an untrained model (construction-time weights: cost
and agreement do not depend on training) is saved as a checkpoint, exported
with :func:`~epic_mmaction.inference.onnx_export.export_recognizer` (which
verifies onnxruntime against PyTorch: max abs difference of the
probabilities, same top-5) and timed one window at a time (batch 1, the
config's one-view test input) in PyTorch and in onnxruntime, with the same
number of threads. A model that cannot be exported is reported with the
operator named. Feature extraction is timed with the demo model over a
synthetic video (:func:`~epic_mmaction.inference.features.extract_features`).
"""
import os.path as osp
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = 'configs/demo/x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py'
# name -> config (relative to the repository)
MODELS: Dict[str, str] = {
    'demo X3D': DEMO,
    'X3D-S': 'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py',
    'TSM-R50+LSTM': 'configs/tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py',
    'R50+LSTM': 'configs/r50_lstm/r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py',
    'SlowFast': 'configs/slowfast/slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-verbnoun.py',
}


@dataclass
class DeployRow:
    """One model: export outcome and per-window latency (ms) in each runtime."""
    name: str
    input_shape: List[int]
    export_s: float
    max_abs_diff: Optional[float]
    top5_identical: Optional[bool]
    torch_ms: float
    ort_ms: Optional[float]
    error: str = ''

    @property
    def speedup(self) -> Optional[float]:
        return self.torch_ms / self.ort_ms if self.ort_ms else None


@dataclass
class ExtractionResult:
    """Feature extraction of one synthetic video with the demo model."""
    windows: int
    seconds: float
    dim: int
    video: str

    @property
    def windows_per_s(self) -> float:
        return self.windows / self.seconds


def _config(path: str):
    from mmengine.config import Config
    return Config.fromfile(path if osp.isabs(path) else osp.join(REPO, path))


def save_untrained(cfg, path: str, seed: int = 0) -> str:
    """The config's model with construction-time weights, as a checkpoint."""
    import copy

    import torch
    from mmengine.registry import init_default_scope

    import epic_mmaction.plugin  # noqa: F401  (registers every module)
    from mmaction.registry import MODELS as REGISTRY
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get('backbone', {}).get('pretrained'):
        model_cfg['backbone']['pretrained'] = None
    torch.manual_seed(seed)
    torch.save({'state_dict': REGISTRY.build(model_cfg).state_dict(), 'meta': {}}, path)
    return path


def _median_ms(run, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def benchmark_model(name: str, config: str, work_dir: str, threads: int = 1,
                    repeats: int = 5) -> DeployRow:
    """Export ``config``'s untrained model and time one window in PyTorch and ORT."""
    import torch

    from epic_mmaction.inference.clipmodel import ClipModel
    from epic_mmaction.inference.clips import ClipPipeline, InferenceError
    from epic_mmaction.inference.onnx_export import _session, export_recognizer
    from epic_mmaction.inference.recognizer import build_model
    torch.set_num_threads(threads)
    cfg = _config(config)
    stem = name.replace(' ', '_').replace('+', '_')
    ckpt = save_untrained(cfg, osp.join(work_dir, f'{stem}.pth'))
    model = ClipModel(build_model(cfg, ckpt))
    clips = ClipPipeline.from_config(cfg, one_view=True)
    clip = model.clips_from_inputs(clips.from_random_frames()['inputs']).float()[:1]
    with torch.no_grad():
        torch_ms = _median_ms(lambda: model(clip), repeats)
    out = osp.join(work_dir, f'{stem}.onnx')
    start = time.perf_counter()
    try:
        report = export_recognizer(cfg, ckpt, out)
    except InferenceError as e:  # UnsupportedOperator (names the op), ExportMismatch
        return DeployRow(name, list(clip.shape[1:]), time.perf_counter() - start, None, None,
                         torch_ms, None, f'{type(e).__name__}: {e}')
    session = _session(out, threads)
    feed = {'clip': clip.numpy()}
    ort_ms = _median_ms(lambda: session.run(None, feed), repeats)
    return DeployRow(name, report.input_shape, report.seconds, report.max_abs_diff,
                     report.top5_identical, torch_ms, ort_ms)


def benchmark_extraction(work_dir: str, duration: float = 20.0, threads: int = 1,
                         batch_size: int = 8, stride: float = 0.5,
                         window: float = 1.0) -> ExtractionResult:
    """Windows per second of :func:`extract_features` (demo model, one 96x96 video)."""
    import torch

    from epic_mmaction.inference.features import (FeatureExtractor, VideoItem,
                                                  extract_features)
    from epic_mmaction.synthetic.generator import SyntheticConfig, generate
    torch.set_num_threads(threads)
    data = osp.join(work_dir, 'video')
    plans = generate(data, SyntheticConfig(videos={'train': 1, 'validation': 0, 'test': 0},
                                           duration=duration, fps=(59.94, ), width=96,
                                           height=96, seed=0))
    path = osp.join(data, 'videos', plans[0].rel_path)
    cfg = _config(DEMO)
    ckpt = save_untrained(cfg, osp.join(work_dir, 'demo_extract.pth'))
    extractor = FeatureExtractor(cfg, ckpt, 'cpu', batch_size)
    summary = extract_features(extractor, [VideoItem(plans[0].video_id, path)],
                               osp.join(work_dir, 'features'), stride, window,
                               progress=False, log=lambda line: None)
    dim = int(np.load(osp.join(work_dir, 'features', f'{plans[0].video_id}.npy')).shape[1])
    return ExtractionResult(summary.windows, summary.seconds, dim,
                            f'{duration:g} s, 96x96 at 59.94 fps, H.264; stride {stride:g} s, '
                            f'window {window:g} s, batch {batch_size}')


def run_benchmark(models: Sequence[str] = tuple(MODELS), threads: int = 1, repeats: int = 5,
                  duration: float = 20.0, work_dir: Optional[str] = None,
                  log=print) -> tuple:
    """``(ExtractionResult, [DeployRow])``; files go to a temporary ``work_dir``."""
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f'unknown models {unknown}; known: {list(MODELS)}')
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        log(f'feature extraction: demo model, {duration:g} s video, {threads} thread(s)')
        extraction = benchmark_extraction(tmp, duration, threads)
        rows = []
        for name in models:
            log(f'{name}: export, verify, time ({MODELS[name]})')
            rows.append(benchmark_model(name, MODELS[name], tmp, threads, repeats))
    return extraction, rows


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else the machine type."""
    import platform
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(value, spec: str, none: str = '-') -> str:
    return none if value is None else format(value, spec)


def format_table(extraction: ExtractionResult, rows: Sequence[DeployRow],
                 threads: int) -> str:
    """Markdown: the extraction rate, then one row per model."""
    lines = [f'feature extraction (demo X3D, {extraction.dim}-d features, {threads} '
             f'thread(s); {extraction.video}): {extraction.windows} windows in '
             f'{extraction.seconds:.1f} s = {extraction.windows_per_s:.1f} windows/s', '',
             '| model | input [C,T,H,W] / [T,C,H,W] | export (s) | max abs diff | top-5 same '
             '| PyTorch ms/window | ORT ms/window | ORT speed-up |',
             '| --- | --- | ---: | ---: | :---: | ---: | ---: | ---: |']
    for r in rows:
        if r.error:
            lines.append(f'| {r.name} | {"x".join(map(str, r.input_shape))} | '
                         f'{r.export_s:.1f} | export failed: {r.error} | | '
                         f'{r.torch_ms:.1f} | - | - |')
            continue
        lines.append(f'| {r.name} | {"x".join(map(str, r.input_shape))} | {r.export_s:.1f} | '
                     f'{_fmt(r.max_abs_diff, ".1e")} | {"yes" if r.top5_identical else "no"} | '
                     f'{r.torch_ms:.1f} | {_fmt(r.ort_ms, ".1f")} | '
                     f'{_fmt(r.speedup, ".2f")}x |')
    return '\n'.join(lines)
