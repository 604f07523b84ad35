"""Training curves from a work_dir's mmengine logs: loss, LR, accuracies.

mmengine's ``LoggerHook`` writes one JSON object per line to
``WORK_DIR/<timestamp>/vis_data/scalars.json``, one ``<timestamp>`` per run:

- training lines carry ``iter`` (and ``epoch`` for epoch-based loops) and
  ``step`` = the iteration, e.g. ``loss``, ``verb_loss_cls``, ``lr``,
  ``verb_acc`` (fractions of the batch);
- validation lines have no ``iter``; ``step`` is the epoch
  (``log_metric_by_epoch=True``, the default) or the iteration, e.g.
  ``epic/verb_top1`` (percent).

Single-label runs (MMAction2's standard heads and ``AccMetric``) log
``loss_cls``, ``top1_acc``/``top5_acc`` in training and ``acc/top1``,
``acc/top5``, ``acc/mean1`` and ``val/loss`` in validation; the validation
loss is drawn with the training losses, mean class accuracy with top-1
(``acc/*`` are fractions, drawn as percent).

A resumed or restarted run starts a new ``<timestamp>``; runs are read in
time order and a later run replaces what earlier runs logged from its first
step on (the iterations it redid). Keys that are absent are not plotted.
"""
import glob
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
import pandas as pd

from ._figure import new_figure, save_png
from ..utils import EpicError

__all__ = ['CurveLogError', 'TrainingLog', 'Curve', 'read_training_log', 'curve_panels',
           'plot_curves']

_BY_ITER = re.compile(r'log_metric_by_epoch\s*=\s*False')
_LR = re.compile(r'(^|[._/])lr$')
VAL_TOP1 = ('verb_top1', 'noun_top1', 'action_top1')
FRACTION_PREFIXES = ('acc/', )  # MMAction2's AccMetric logs fractions; EpicActionMetric %


class CurveLogError(EpicError, ValueError):
    """A work_dir without usable training logs; names it."""


@dataclass
class TrainingLog:
    """The merged scalars of every run in a work_dir.

    ``train``/``val`` are indexed by ``step`` (sorted). ``iters_per_epoch``
    is ``None`` for iteration-based training; ``val_by_epoch`` says whether
    validation steps are epochs.
    """
    work_dir: str
    runs: List[str]
    train: pd.DataFrame
    val: pd.DataFrame
    iters_per_epoch: Optional[int]
    val_by_epoch: bool
    bad_lines: List[str] = field(default_factory=list)  # 'file:line' not JSON

    def train_x(self, axis: str) -> np.ndarray:
        """Training steps on ``axis`` (``'iter'`` or ``'epoch'``)."""
        steps = self.train.index.to_numpy(dtype=np.float64)
        return steps / self.iters_per_epoch if axis == 'epoch' else steps

    def val_x(self, axis: str) -> np.ndarray:
        """Validation steps on ``axis`` (``'iter'`` or ``'epoch'``)."""
        steps = self.val.index.to_numpy(dtype=np.float64)
        if axis == 'epoch' and not self.val_by_epoch:
            return steps / self.iters_per_epoch
        if axis == 'iter' and self.val_by_epoch and self.iters_per_epoch:
            return steps * self.iters_per_epoch  # validated after the epoch's last iter
        return steps


def _find_runs(work_dir: str) -> List[str]:
    if not osp.isdir(work_dir):
        raise CurveLogError(f'{work_dir}: no such directory')
    found = glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data', 'scalars.json'))
    own = osp.join(work_dir, 'vis_data', 'scalars.json')  # a <timestamp> dir itself
    if osp.isfile(own):
        found.append(own)
    if not found:
        raise CurveLogError(
            f'{work_dir}: no training logs (no <timestamp>/vis_data/scalars.json); is it '
            'the --work-dir of tools/train.py, and did a run log at least one iteration?')
    # <timestamp> = YYYYmmdd_HHMMSS sorts by time; file times break other ties
    return sorted(found, key=lambda p: (osp.basename(osp.dirname(osp.dirname(p))),
                                        osp.getmtime(p)))


def _read_scalars(path: str, bad: List[str]) -> Tuple[Dict[int, dict], Dict[int, dict]]:
    train, val = {}, {}
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                step = int(record['step'])
            except (ValueError, KeyError, TypeError):  # e.g. a killed run's last line
                bad.append(f'{path}:{number}')
                continue
            if not isinstance(record, dict):
                bad.append(f'{path}:{number}')
                continue
            scalars = {k: float(v) for k, v in record.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)}
            (train if 'iter' in record else val)[step] = scalars
    return train, val


def read_training_log(work_dir: str) -> TrainingLog:
    """Read and merge every run's ``scalars.json`` of ``work_dir``."""
    runs = _find_runs(work_dir)
    bad: List[str] = []
    per_run = [_read_scalars(path, bad) for path in runs]
    all_train = [r for train, _ in per_run for r in train.values()]
    epochs = [(r['iter'], r['epoch']) for r in all_train if r.get('epoch', 0) >= 1]
    # every epoch logs its last iteration (iter = epoch * L), so max(iter / epoch) = L
    per_epoch = int(np.ceil(max(i / e for i, e in epochs))) if epochs else None
    by_iter = any(_BY_ITER.search(_read_text(osp.join(osp.dirname(p), 'config.py')))
                  for p in runs)
    val_by_epoch = per_epoch is not None and not by_iter

    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for run_train, run_val in per_run:
        if run_train:  # this run redid everything from its first iteration on
            start = min(run_train)
            train = {s: r for s, r in train.items() if s < start}
            val = {s: r for s, r in val.items()
                   if (s * per_epoch if val_by_epoch else s) < start}
        train.update(run_train)
        val.update(run_val)
    frame = lambda d: pd.DataFrame.from_dict(d, orient='index').sort_index()  # noqa: E731
    return TrainingLog(work_dir=work_dir, runs=runs, train=frame(train), val=frame(val),
                       iters_per_epoch=per_epoch, val_by_epoch=val_by_epoch,
                       bad_lines=bad)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except OSError:
        return ''


def _columns(frame: pd.DataFrame, keep) -> List[str]:
    return [c for c in frame.columns if keep(c) and frame[c].notna().any()]


def _val_top1(frame: pd.DataFrame) -> List[str]:
    """Overall verb/noun/action top-1 keys (any prefix), else any ``*top1`` key
    and ``*mean1`` (``AccMetric``'s mean class accuracy)."""
    tail = {c: c.rsplit('/', 1)[-1] for c in frame.columns}
    keys = [c for task in VAL_TOP1 for c in frame.columns if tail[c] == task]
    return keys or _columns(frame, lambda c: tail[c].endswith(('top1', 'mean1')))


def _color(key: str, others: Dict[str, str]) -> str:
    """Verb, noun and action keep one colour in every panel."""
    for task, color in (('verb', 'C0'), ('noun', 'C1'), ('action', 'C2')):
        if task in key:
            return color
    return others.setdefault(key, f'C{3 + len(others) % 7}')


@dataclass(frozen=True)
class Curve:
    """One line of a panel: finite points only, accuracies in percent."""
    key: str
    x: np.ndarray
    y: np.ndarray
    validation: bool


def _resolve_x(log: TrainingLog, x: Optional[str]) -> str:
    if x is None:
        x = 'epoch' if log.iters_per_epoch else 'iter'
    if x not in ('epoch', 'iter'):
        raise ValueError(f"x must be 'epoch' or 'iter', got {x!r}")
    if x == 'epoch' and not log.iters_per_epoch:
        raise CurveLogError(f'{log.work_dir}: the logs have no epochs (iteration-based '
                            'training): plot against iterations')
    return x


def curve_panels(log: TrainingLog, x: Optional[str] = None) -> Dict[str, List[Curve]]:
    """What :func:`plot_curves` draws: panel title -> its curves, panels in order.

    Panels without a key in the logs are left out.
    """
    x = _resolve_x(log, x)
    train, val = log.train, log.val
    losses = _columns(train, lambda c: 'loss' in c)
    losses.sort(key=lambda c: (c != 'loss', c))  # the total first
    val_loss = _columns(val, lambda c: 'loss' in c) if len(val) else []
    val_acc = _val_top1(val) if len(val) else []
    on_train = lambda keys: [(train, k, log.train_x) for k in keys]  # noqa: E731
    on_val = lambda keys: [(val, k, log.val_x) for k in keys]  # noqa: E731
    panels = [
        ('loss', on_train(losses) + on_val(val_loss), False),
        ('learning rate', on_train(_columns(train, lambda c: bool(_LR.search(c)))), False),
        ('training accuracy (%, batch)',
         on_train(_columns(train, lambda c: c.endswith('acc') or c.endswith('top1'))),
         True),
        ('validation top-1 (%)' if all(k.endswith('top1') for k in val_acc) else
         'validation accuracy (%)', on_val(val_acc), False),
    ]
    out: Dict[str, List[Curve]] = {}
    for title, series, as_percent in panels:
        for frame, key, to_x in series:
            ys = frame[key].to_numpy(dtype=np.float64)
            if key.startswith(FRACTION_PREFIXES) or (as_percent and np.nanmax(ys) <= 1.0):
                ys = 100 * ys
            ok = np.isfinite(ys)
            out.setdefault(title, []).append(Curve(key, to_x(x)[ok], ys[ok], frame is val))
    return out


def plot_curves(log: TrainingLog, path: str, x: Optional[str] = None) -> str:
    """Plot ``log`` to a PNG: a panel each for loss, LR, training and validation accuracy.

    Args:
        log: :func:`read_training_log`'s result.
        path: Output ``.png``.
        x: ``'epoch'`` or ``'iter'``; defaults to epochs when the loop is
            epoch-based.
    """
    x = _resolve_x(log, x)
    panels = curve_panels(log, x)
    if not panels:
        raise CurveLogError(f'{log.work_dir}: the logs have no loss, lr, accuracy or '
                            f'top-1 scalars to plot ({", ".join(log.runs)})')
    cols = 1 if len(panels) == 1 else 2
    rows = (len(panels) + cols - 1) // cols
    fig = new_figure(6.0 * cols, 3.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    others: Dict[str, str] = {}
    span = np.concatenate([c.x for curves in panels.values() for c in curves])
    lo, hi = float(np.min(span)), float(np.max(span))
    pad = 0.02 * (hi - lo) or 0.5
    for ax, (title, curves) in zip(axes, panels.items()):
        for curve in curves:
            style = (dict(marker='o', markersize=4)
                     if curve.validation or len(curve.x) < 30 else {})
            width = 2.0 if curve.key == 'loss' else 1.2
            ax.plot(curve.x, curve.y, label=curve.key, linewidth=width,
                    color=_color(curve.key, others), **style)
        ax.set_xlim(lo - pad, hi + pad)  # panels share the x range
        ax.set_title(title, fontsize=11)
        ax.set_xlabel('epoch' if x == 'epoch' else 'iteration', fontsize=10)
        ax.grid(True, alpha=0.3)
        if title == 'learning rate':
            ax.ticklabel_format(axis='y', style='sci', scilimits=(-3, 3))
        ax.legend(fontsize=8, loc='best')
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    runs = f'{len(log.runs)} runs' if len(log.runs) > 1 else '1 run'
    fig.suptitle(f'{osp.basename(osp.normpath(log.work_dir))} ({runs})', fontsize=12)
    return save_png(fig, path)
