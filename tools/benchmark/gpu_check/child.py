"""The processes a GPU check starts: one per step, one per group of configs.

    python -m benchmark.gpu_check.child step NAME CONTEXT.json OUT.json
    python -m benchmark.gpu_check.child configs SPECS.json OUT.json

A step's process writes ``{status, error, results}`` to OUT.json whenever its
results grow, so the parent keeps them even if it has to kill the step. A
config group's process trains and tests its configs one after the other with
``tools/train.py`` and ``tools/test.py`` (their ``main``, in this process, so
start-up is paid once and the peak memory is this process's).
"""
import gc
import glob
import importlib.util
import io
import json
import os.path as osp
import resource
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

from epic_mmaction.utils.fileio import atomic_write

from .proc import REPO, first_error_line, install_reaper


def _write(path: str, payload: Any) -> None:
    with atomic_write(path) as f:
        json.dump(payload, f, indent=2, default=str)


def run_step(name: str, context_file: str, out: str) -> int:
    from .steps import STEP_FUNCTIONS, Context, StepFailed
    with open(context_file) as f:
        ctx = Context(json.load(f))

    def record(results: Dict[str, Any]) -> None:
        _write(out, dict(status='running', error=None, results=results))

    try:
        results = STEP_FUNCTIONS[name](ctx, record)
    except StepFailed as e:
        _write(out, dict(status='fail', error=str(e), results=e.results))
        return 1
    except Exception as e:  # a bug: its traceback goes to the step's log
        traceback.print_exc()
        partial = {}
        if osp.isfile(out):
            with open(out) as f:
                partial = json.load(f).get('results', {})
        _write(out, dict(status='fail', error=_one_line(e), results=partial))
        return 1
    _write(out, dict(status='pass', error=None, results=results))
    return 0


def _one_line(e: BaseException) -> str:
    text = f'{type(e).__name__}: {e}'
    return text.splitlines()[0][:500]


# --- configs --------------------------------------------------------------------------

def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f'_gpu_check_{name}',
                                                  osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Tee(io.TextIOBase):
    """stderr to the log and to a buffer, to find a tool's one-line error."""

    def __init__(self, stream) -> None:
        self.stream, self.buffer_ = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.buffer_.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def _call_tool(name: str, argv: List[str]) -> Optional[str]:
    """``tools/<name>.py`` main(argv); None if it succeeded, else its error line."""
    tee = _Tee(sys.stderr)
    saved, sys.stderr = sys.stderr, tee
    try:
        code = load_tool(name).main(argv)
    except SystemExit as e:  # argparse
        code = e.code
    except Exception as e:  # a bug: keep its traceback in the log
        traceback.print_exc()
        return f'tools/{name}.py: {_one_line(e)}'
    finally:
        sys.stderr = saved
    if code:
        line = first_error_line(tee.buffer_.getvalue())
        return f'tools/{name}.py exited {code}' + (f': {line}' if line else '')
    return None


def train_speed(work_dir: str, batch_size: int) -> Dict[str, Any]:
    """Iterations, clips/s and data share from the run's ``scalars.json`` (one
    record per iteration); the first iteration (start-up, cuDNN search) is left out."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')),
                   key=osp.getmtime)
    rows = []
    if files:
        with open(files[-1]) as f:
            rows = [r for r in map(json.loads, filter(str.strip, f)) if 'loss' in r
                    and 'time' in r]
    timed = rows[1:] or rows
    total = sum(r['time'] for r in timed)
    out: Dict[str, Any] = dict(iters=len(rows))
    if total > 0:
        out.update(clips_per_s=batch_size * len(timed) / total,
                   data_share=sum(r.get('data_time', 0.0) for r in timed) / total)
    return out


def run_configs(specs_file: str, out: str) -> int:
    import torch
    with open(specs_file) as f:
        specs = json.load(f)
    cuda = torch.cuda.is_available()
    done: List[Dict[str, Any]] = []
    for spec in specs:
        row: Dict[str, Any] = dict(name=spec['name'], config=spec['config'],
                                   derived=spec['derived'], batch_size=spec['batch_size'],
                                   workers=spec['workers'], amp=spec['amp'])
        work = spec['work_dir']
        stamp = time.strftime('%Y%m%d_%H%M%S')
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        error = _call_tool('train', [spec['derived'], '--work-dir', work, '--cfg-options',
                                     f'experiment_name={spec["name"]}_train_{stamp}'])
        row['train_s'] = round(time.perf_counter() - t0, 1)
        row.update(train_speed(work, spec['batch_size']))
        row['peak_memory_mib'] = round(
            torch.cuda.max_memory_allocated() / 2**20 if cuda else
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        if error is None:
            ckpt_file = osp.join(work, 'last_checkpoint')
            if not osp.isfile(ckpt_file):
                error = f'tools/train.py saved no checkpoint in {work}'
        if error is None:
            with open(ckpt_file) as f:
                ckpt = f.read().strip()
            dump = osp.join(work, 'test', 'results.npz')
            t0 = time.perf_counter()
            error = _call_tool('test', [spec['derived'], ckpt, '--work-dir',
                                        osp.join(work, 'test'), '--dump', dump, '--force',
                                        '--cfg-options',
                                        f'experiment_name={spec["name"]}_test_{stamp}'])
            row['test_s'] = round(time.perf_counter() - t0, 1)
            if error is None and not osp.isfile(dump):
                error = f'tools/test.py --dump wrote no {dump}'
            row['dump'] = dump
        row.update(status='fail' if error else 'pass', error=error)
        done.append(row)
        _write(out, done)
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    return 0 if all(r['status'] == 'pass' for r in done) else 1


def main(argv: List[str]) -> int:
    install_reaper()
    if argv[:1] == ['step'] and len(argv) == 4:
        return run_step(*argv[1:])
    if argv[:1] == ['configs'] and len(argv) == 3:
        return run_configs(*argv[1:])
    print('usage: python -m benchmark.gpu_check.child step NAME CONTEXT OUT | '
          'configs SPECS OUT', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
