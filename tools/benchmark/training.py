"""Training throughput from real videos against the same model on in-memory batches.

The question: does decoding segments from the long videos keep the GPU busy?
Two timed phases run the config's own ``model.train_step`` with its optim
wrapper, built the way mmengine's ``Runner.train`` builds them:

- **real**: batches come from the config's train dataloader (video decoding in
  its workers). Time blocked on the next batch is *data time*.
- **GPU-only**: one batch of the real phase, kept on the device as the loader
  delivered it, is trained on again and again: the same ``train_step`` (cast,
  normalisation, forward, backward, optimizer step), minus the loader and the
  host-to-device copy. On CPU it is the compute-only speed (denormals are
  flushed in both phases there, see :func:`run_benchmark`).

``real clips/s / GPU-only clips/s`` is the share of the model's speed that
training from videos reaches. The GPU-side levers (AMP dtype, channels-last,
``torch.compile``, cuDNN benchmark) are config settings, so a winning one can
be written into a config; :mod:`benchmark.levers` lists the keys.

Each timed iteration ends with a device synchronize, as real training does
anyway (the optim wrapper logs the gradient norm with ``float()``, mmengine's
RuntimeInfoHook reads every loss with ``.item()``), so a step's time is its
own. Warm-up iterations run first: with W loader workers the batches arrive in
waves of W, so the defaults warm up over two waves and time ten. With
``torch.compile`` the warm-up also covers dynamo's recompiles: mmengine's
gradient-norm logging (``HistoryBuffer.update``) is recompiled for each new
value until dynamo's limit of 8, then left to run eagerly.
"""
import itertools
import json
import logging
import os
import os.path as osp
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from epic_mmaction.engine.hooks.channels_last import (conv_layers, layout_name,
                                                      memory_format_of)
from epic_mmaction.utils.fileio import atomic_write
from .levers import (AMP_DTYPES, LeverError, Levers, apply_levers, effective_levers,
                     parse_spec)
from epic_mmaction.utils import EpicError


#: iterations until dynamo stops recompiling mmengine's logging (its limit 8, + 1)
COMPILE_WARMUP = 9


TOOLS_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


class BenchmarkError(EpicError, ValueError):
    """Bad input; the message says what is wrong and how to fix it."""


@dataclass
class BenchmarkOptions:
    """One benchmark run; ``None`` keeps the config's value or the default."""
    config: str
    work_dir: Optional[str] = None
    batch_size: Optional[int] = None
    workers: Optional[int] = None
    iters: Optional[int] = None  # default_iters(workers)
    warmup: Optional[int] = None  # default_warmup(workers)
    device: Optional[str] = None  # 'cuda' or 'cpu'; None: cuda where available
    levers: Levers = field(default_factory=Levers)
    cfg_options: Optional[Dict[str, Any]] = None  # merged last, as in tools/train.py
    log_level: str = 'WARNING'

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> 'BenchmarkOptions':
        """Back from ``dataclasses.asdict``."""
        return cls(**dict(raw, levers=Levers(**raw['levers'])))


def default_warmup(workers: int) -> int:
    """Two waves of worker batches (they arrive together at the start)."""
    return max(10, 2 * workers)


def default_iters(workers: int) -> int:
    """Enough waves that one more or less changes clips/s by at most 10 %."""
    return max(50, 10 * workers)


# --- the config ---------------------------------------------------------------------

def resolve_device(requested: Optional[str]) -> str:
    available = torch.cuda.is_available()
    if requested is None:
        return 'cuda' if available else 'cpu'
    if requested not in ('cuda', 'cpu'):
        raise BenchmarkError(f'device {requested!r} is neither cuda nor cpu')
    if requested == 'cuda' and not available:
        raise BenchmarkError('--device cuda: torch sees no CUDA device (a CPU build of '
                             'torch, or CUDA_VISIBLE_DEVICES hides them); use --device cpu')
    if requested == 'cpu' and available:
        raise BenchmarkError('--device cpu: CUDA is visible and mmengine would train on '
                             'it; run with CUDA_VISIBLE_DEVICES= (tools/benchmark_training.py '
                             '--device cpu sets it)')
    return requested


def load_config(path: str):
    """The config at ``path``, with a clear error for a wrong path or file."""
    if not osp.isfile(path):
        raise BenchmarkError(f'config {path} does not exist: pass a training config, e.g. '
                             'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py')
    try:
        cfg = Config.fromfile(path)
    except Exception as e:  # mmengine raises anything from a config's own code
        raise BenchmarkError(f'cannot read config {path}: {type(e).__name__}: {e}') from e
    missing = [key for key in ('model', 'train_dataloader', 'optim_wrapper', 'train_cfg')
               if not cfg.get(key)]
    if missing:
        raise BenchmarkError(f'config {path} has no {", ".join(missing)}: the benchmark '
                             'trains, pass a training config (one tools/train.py takes)')
    return cfg


def prepare_config(options: BenchmarkOptions, device: str):
    """The config to benchmark: training only, shrunk and levered as asked."""
    cfg = load_config(options.config)
    loader = cfg.train_dataloader
    if options.batch_size is not None:
        loader.batch_size = options.batch_size
    if options.workers is not None:
        loader.num_workers = options.workers
    apply_levers(cfg, options.levers)
    for split in ('val', 'test'):  # no evaluation; Runner wants all three or none
        cfg[f'{split}_dataloader'] = cfg[f'{split}_cfg'] = cfg[f'{split}_evaluator'] = None
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h.get('type') != 'EarlyStoppingHook']
    cfg.launcher = 'none'
    cfg.resume, cfg.load_from = False, None  # weights do not change the speed
    cfg.log_level = options.log_level
    cfg.work_dir = options.work_dir or osp.join(
        'work_dirs', 'benchmark_training', osp.splitext(osp.basename(options.config))[0])
    if options.cfg_options:
        cfg.merge_from_dict(options.cfg_options)
    loader = cfg.train_dataloader  # torch refuses persistent workers without workers
    loader.persistent_workers = bool(loader.get('num_workers', 0)) and loader.get(
        'persistent_workers', True)
    wrapper = cfg.optim_wrapper
    if device == 'cpu' and wrapper.get('type') == 'AmpOptimWrapper':
        if options.levers.amp in AMP_DTYPES:
            raise BenchmarkError(
                f'--amp {options.levers.amp} needs a CUDA device: mmengine\'s '
                'AmpOptimWrapper trains on GPU/NPU/MLU/MUSA only; on CPU use --amp none')
        wrapper.type = 'OptimWrapper'  # as tools/train.py does without CUDA
        wrapper.pop('loss_scale', None)
        wrapper.pop('dtype', None)
        print_log('no CUDA device: the config\'s AmpOptimWrapper -> OptimWrapper (fp32)',
                  logger='current', level=logging.WARNING)
    return cfg


# --- timing -------------------------------------------------------------------------

class LoaderBatches:
    """Endless batches from a data loader (the next epoch when one ends), counted."""

    def __init__(self, loader: Iterable) -> None:
        self.loader, self.count = loader, 0
        self._iterator: Optional[Iterator] = None

    def __iter__(self) -> 'LoaderBatches':
        return self

    def __next__(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self.loader)
        try:
            batch = next(self._iterator)
        except StopIteration:
            self._iterator = iter(self.loader)
            try:
                batch = next(self._iterator)
            except StopIteration:
                raise BenchmarkError('the train dataloader gives no batches: is the '
                                     'train list empty?') from None
        self.count += 1
        return batch


@dataclass
class PhaseResult:
    """Timed iterations of one phase (warm-up excluded, except loader_batches)."""
    iters: int
    clips: int
    wall_s: float
    data_s: float
    step_s: float
    loader_batches: int = 0  # batches drawn from the data loader, warm-up included
    peak_memory_mib: float = 0.0

    @property
    def clips_per_s(self) -> float:
        return self.clips / self.wall_s

    @property
    def data_share(self) -> float:
        return self.data_s / self.wall_s

    @property
    def mean_step_ms(self) -> float:
        return 1000 * self.step_s / self.iters

    def to_dict(self) -> Dict[str, Any]:
        return dict(asdict(self), clips_per_s=self.clips_per_s,
                    data_share=self.data_share, mean_step_ms=self.mean_step_ms)


def count_clips(batch: Dict[str, Any]) -> int:
    """Samples in a collated batch (one clip each in training)."""
    inputs = batch['inputs']
    return len(inputs) if isinstance(inputs, (list, tuple)) else int(inputs.shape[0])


def time_training(model, optim_wrapper, batches: Iterator[Dict[str, Any]], iters: int,
                  warmup: int, synchronize: Callable[[], None] = lambda: None
                  ) -> PhaseResult:
    """``warmup`` then ``iters`` timed ``model.train_step`` calls on ``batches``.

    Data time is the time blocked in ``next(batches)``; ``synchronize`` (the
    device's) runs before each clock reading after a step.
    """
    model.train()
    for _ in range(warmup):
        model.train_step(next(batches), optim_wrapper)
    synchronize()
    data_s = step_s = 0.0
    clips = 0
    start = time.perf_counter()
    for _ in range(iters):
        t0 = time.perf_counter()
        batch = next(batches)
        t1 = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        synchronize()
        t2 = time.perf_counter()
        data_s += t1 - t0
        step_s += t2 - t1
        clips += count_clips(batch)
    wall_s = time.perf_counter() - start
    return PhaseResult(iters=iters, clips=clips, wall_s=wall_s, data_s=data_s,
                       step_s=step_s)


class _Memory:
    """Peak device memory (CUDA) or peak RSS of this process (CPU), in MiB."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.kind = ('CUDA max_memory_allocated' if device == 'cuda'
                     else 'peak RSS of the training process (workers excluded)')

    def reset(self) -> None:
        if self.device == 'cuda':
            torch.cuda.reset_peak_memory_stats()

    def peak_mib(self) -> float:
        if self.device == 'cuda':
            return torch.cuda.max_memory_allocated() / 2**20
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the run ------------------------------------------------------------------------

def setup_training(cfg) -> Tuple[Any, Any, Any, Any]:
    """Runner, model, optim wrapper and train dataloader, as ``Runner.train`` makes them.

    ``Runner.train`` up to ``train_loop.run()``: build the loop (its
    dataloader) and the optim wrapper, run the hooks' ``before_run`` (where
    ``ChannelsLastHook`` converts the model), count status, compile
    ``train_step`` if ``cfg.compile`` says so. The lr schedulers and the
    per-iteration hooks do not change the speed and are left out.
    """
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.call_hook('before_run')
    runner.optim_wrapper.initialize_count_status(runner.model, 0, loop.max_iters)
    runner._maybe_compile('train_step')  # mmengine's own handling of cfg.compile
    return runner, runner.model, runner.optim_wrapper, loop.dataloader


def probe_layout(model, batch: Dict[str, Any]) -> Dict[str, Any]:
    """Memory layout of the conv weights and of the backbone's input for ``batch``.

    Runs the (uncompiled) preprocessor and backbone once without gradients:
    ``ChannelsLastHook`` at work shows as channels_last(_3d).
    """
    model = model.module if is_model_wrapper(model) else model
    # 1x1 and depthwise weights are laid out alike both ways: not counted
    convs = [c.weight for c in conv_layers(model) if c.weight.dim() in (4, 5)
             and not (c.weight.is_contiguous() and c.weight.is_contiguous(
                 memory_format=memory_format_of(c.weight.dim())))]
    channels_last = sum(layout_name(w).startswith('channels_last') for w in convs)
    seen: Dict[str, str] = {}
    backbone = getattr(model, 'backbone', None)
    if backbone is not None:
        handle = backbone.register_forward_pre_hook(
            lambda module, args: seen.setdefault('input', layout_name(args[0])) and None)
        try:
            with torch.no_grad():
                data = model.data_preprocessor(batch, False)
                model(**data, mode='tensor')
        finally:
            handle.remove()
    return dict(conv_weights_channels_last=f'{channels_last}/{len(convs)}',
                backbone_input=seen.get('input', 'unknown'))


def device_name(device: str) -> str:
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return (f'CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores, '
            f'{torch.get_num_threads()} torch threads')


def run_benchmark(options: BenchmarkOptions) -> Dict[str, Any]:
    """Both phases for one config and lever setting; a JSON-ready dict."""
    device = resolve_device(options.device)
    cfg = prepare_config(options, device)
    workers = cfg.train_dataloader.get('num_workers', 0)
    iters = options.iters if options.iters is not None else default_iters(workers)
    warmup = options.warmup if options.warmup is not None else default_warmup(workers)
    if iters < 1 or warmup < 0:
        raise BenchmarkError(f'need iters >= 1 and warmup >= 0, got {iters} and {warmup}')
    levers = effective_levers(cfg)
    if levers['compile'] != 'off' and warmup < COMPILE_WARMUP:
        print_log(f'--warmup {warmup} with torch.compile: the first {COMPILE_WARMUP} '
                  'iterations recompile, the timed ones may include compiling',
                  logger='current', level=logging.WARNING)
    try:
        runner, model, optim_wrapper, loader = setup_training(cfg)
    except (OSError, ValueError, KeyError) as e:  # a missing list, video root, type
        raise BenchmarkError(f'cannot set up training from {options.config}: {e} (the '
                             'configs read the video root from EPIC_VIDEOS and the list '
                             'folder from EPIC_LISTS)') from e
    synchronize = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    memory = _Memory(device)
    # On CPU, training on one batch again and again drifts values into the
    # denormal range, which x86 computes many times slower (GPUs do not): the
    # GPU-only phase would slow down as it goes. Flush them in both phases.
    flush_denormal = device == 'cpu' and torch.set_flush_denormal(True)

    source = LoaderBatches(loader)
    kept: List[Dict[str, Any]] = []

    def keep_first(batches: Iterator) -> Iterator:
        for batch in batches:
            if not kept:
                kept.append(batch)
            yield batch

    memory.reset()
    real = time_training(model, optim_wrapper, keep_first(source), iters, warmup,
                         synchronize)
    real.loader_batches, real.peak_memory_mib = source.count, memory.peak_mib()

    ori_model = model.module if is_model_wrapper(model) else model
    on_device = ori_model.data_preprocessor.cast_data(kept[0])
    before = source.count
    memory.reset()
    gpu_only = time_training(model, optim_wrapper, itertools.repeat(on_device), iters,
                             warmup, synchronize)
    gpu_only.loader_batches, gpu_only.peak_memory_mib = (source.count - before,
                                                         memory.peak_mib())
    layout = probe_layout(model, on_device)
    runner.call_hook('after_run')
    if flush_denormal:
        torch.set_flush_denormal(False)
    return dict(
        config=options.config, device=device, device_name=device_name(device),
        torch=torch.__version__, batch_size=cfg.train_dataloader.batch_size,
        workers=workers, iters=iters, warmup=warmup, spec=options.levers.spec(),
        levers=dict(levers, cudnn_benchmark=bool(torch.backends.cudnn.benchmark)),
        real=real.to_dict(), gpu_only=gpu_only.to_dict(),
        ratio=real.clips_per_s / gpu_only.clips_per_s,
        memory_kind=memory.kind, flush_denormal=bool(flush_denormal), layout=layout,
        pid=os.getpid())


# --- isolation and sweeps -----------------------------------------------------------

def run_in_subprocess(options: BenchmarkOptions, timeout: Optional[float] = None
                 ) -> Dict[str, Any]:
    """:func:`run_benchmark` in a fresh Python process (its own CUDA state, compile
    caches and loader workers); an error comes back as ``{'error': ...}``."""
    with tempfile.TemporaryDirectory(prefix='benchmark_training.') as tmp:
        args, out = osp.join(tmp, 'options.pkl'), osp.join(tmp, 'result.json')
        with open(args, 'wb') as f:  # pickle keeps --cfg-options' tuples tuples
            pickle.dump(asdict(options), f)
        cmd = [sys.executable, '-m', 'benchmark.training', args, out]
        # the harness is importable from tools/, whatever the working directory
        path = os.pathsep.join(p for p in (TOOLS_DIR, os.environ.get('PYTHONPATH')) if p)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=dict(os.environ, PYTHONPATH=path))
        except subprocess.TimeoutExpired:
            return dict(error=f'timed out after {timeout} s')
        if osp.isfile(out):
            with open(out) as f:
                return json.load(f)
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return dict(error=f'exit code {proc.returncode}: ' + ' | '.join(tail))


def run_sweep(options: BenchmarkOptions, specs: List[str],
              progress: Callable[[str], None] = lambda line: None
              ) -> List[Dict[str, Any]]:
    """One isolated run per lever combination: ``options.levers``, then the spec's."""
    parsed = [parse_spec(spec) for spec in specs]  # every bad spec before any run
    rows = []
    for i, levers in enumerate(parsed, 1):
        run = BenchmarkOptions(**dict(vars(options), levers=options.levers.merged(levers)))
        result = run_in_subprocess(run)
        result.setdefault('spec', run.levers.spec())
        rows.append(result)
        progress(f'[{i}/{len(parsed)}] {result["spec"]}: ' + (
            f'error: {result["error"]}' if 'error' in result else
            f'{result["real"]["clips_per_s"]:.2f} clips/s, '
            f'{result["ratio"]:.2f} of GPU-only'))
    return rows


def _child_main(options_file: str, out: str) -> int:
    """:func:`run_in_subprocess`'s process: the result, or the error, to ``out``."""
    with open(options_file, 'rb') as f:
        options = BenchmarkOptions.from_dict(pickle.load(f))
    try:
        result, code = run_benchmark(options), 0
    except (BenchmarkError, LeverError) as e:
        result, code = dict(error=str(e)), 2
    except Exception as e:  # shown in the table; the traceback goes to stderr
        import traceback
        traceback.print_exc()
        result, code = dict(error=f'{type(e).__name__}: {e}'), 1
    result.setdefault('spec', options.levers.spec())
    with atomic_write(out) as f:
        json.dump(result, f, indent=2)
    return code


# --- the table ----------------------------------------------------------------------

COLUMNS = ('run', 'amp', 'channels-last', 'compile', 'cudnn bench', 'batch', 'workers',
           'clips/s', 'data share', 'GPU-only clips/s', 'real / GPU-only', 'step ms',
           'GPU-only step ms', 'peak MiB')


def _row(result: Dict[str, Any]) -> List[str]:
    if 'error' in result:
        return [result.get('spec', '?')] + [''] * (len(COLUMNS) - 1)
    levers, real, gpu = result['levers'], result['real'], result['gpu_only']
    return [result['spec'], levers['amp'], 'yes' if levers['channels_last'] else 'no',
            levers['compile'], 'on' if levers['cudnn_benchmark'] else 'off',
            str(result['batch_size']), str(result['workers']),
            f'{real["clips_per_s"]:.2f}', f'{real["data_share"]:.1%}',
            f'{gpu["clips_per_s"]:.2f}', f'{result["ratio"]:.2f}',
            f'{real["mean_step_ms"]:.1f}', f'{gpu["mean_step_ms"]:.1f}',
            f'{max(real["peak_memory_mib"], gpu["peak_memory_mib"]):.0f}']


def format_table(results: List[Dict[str, Any]]) -> str:
    """A markdown table, one row per run, after a line naming config and device."""
    done = [r for r in results if 'error' not in r]
    lines = []
    if done:
        first = done[0]
        lines += [f'config: {first["config"]}  ',
                  f'device: {first["device_name"]}, torch {first["torch"]}; '
                  f'{first["iters"]} timed iterations after {first["warmup"]} warm-up; '
                  f'peak MiB: {first["memory_kind"]}', '']
    errors = any('error' in r for r in results)
    header = list(COLUMNS) + (['error'] if errors else [])
    lines += ['| ' + ' | '.join(header) + ' |',
              '|' + '|'.join('---' if i == 0 else '---:' for i in range(len(header))) + '|']
    for result in results:
        row = _row(result) + ([result.get('error', '').replace('|', '/')] if errors else [])
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(_child_main(sys.argv[1], sys.argv[2]))
