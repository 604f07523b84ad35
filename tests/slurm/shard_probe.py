"""Test-only hook: every rank writes what it trained on and what it saved.

``<work_dir>/probe/rank<R>.jsonl`` gets one line per training iteration
(epoch, iteration, batch index, narration ids, losses, world size, pid) and one
per checkpoint this rank wrote (``before_save_checkpoint`` runs inside
``Runner.save_checkpoint``, which mmengine runs on rank 0 only). Imported by
the test configs through ``custom_imports`` (PYTHONPATH = the repository).

``pause_at`` holds the run at a fixed point until the test has sent its signals
(the moment is then deterministic): the probe creates ``probe/paused`` and waits
for ``probe/release``, once per work dir.
"""
import json
import math
import os
import os.path as osp
import signal
import time

from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ShardProbeHook(Hook):
    """``signal_at=dict(stage='val', epoch=E, batch=B, signal='SIGTERM')``: the
    process sends itself that signal once, after that batch (rank 0 only)."""
    priority = 'VERY_HIGH'  # record the batch before anything can stop the run

    def __init__(self, signal_at=None, pause_at=None):
        self.signal_at = dict(signal_at) if signal_at else None
        self.pause_at = dict(pause_at) if pause_at else None

    def _maybe_pause(self, runner, stage, batch_idx=None) -> None:
        at = self.pause_at
        if not at or at['stage'] != stage or self.rank != 0 or (
                stage != 'before_run' and (at['epoch'], at['batch']) != (runner.epoch, batch_idx)):
            return
        folder = osp.dirname(self.path)
        paused, release = osp.join(folder, 'paused'), osp.join(folder, 'release')
        if osp.exists(paused):
            return  # paused once already (an earlier run in this work dir)
        self.pause_at = None
        self._write(event='pause', stage=stage, epoch=runner.epoch, batch=batch_idx)
        open(paused, 'w').close()
        deadline = time.time() + 300  # a test that died: do not hang forever
        while not osp.exists(release) and time.time() < deadline:
            time.sleep(0.05)  # the test's signals are handled here

    def _maybe_signal(self, runner, stage, batch_idx) -> None:
        at = self.signal_at
        if at and at['stage'] == stage and at['epoch'] == runner.epoch \
                and at['batch'] == batch_idx and self.rank == 0:
            self.signal_at = None
            self._write(event='signal', stage=stage, epoch=runner.epoch, batch=batch_idx)
            os.kill(os.getpid(), getattr(signal, at['signal']))

    def before_run(self, runner) -> None:
        self.rank, self.world_size = get_dist_info()
        os.makedirs(osp.join(runner.work_dir, 'probe'), exist_ok=True)
        self.path = osp.join(runner.work_dir, 'probe', f'rank{self.rank}.jsonl')
        self._maybe_pause(runner, 'before_run')

    def before_train(self, runner) -> None:  # after the checkpoint is resumed
        self._write(event='start', epoch=runner.epoch, resumed_iter=runner.iter)

    def _write(self, **record) -> None:
        record.update(rank=self.rank, world_size=self.world_size, pid=os.getpid())
        with open(self.path, 'a') as f:
            f.write(json.dumps(record) + '\n')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        ids = [s.metainfo['narration_id'] for s in data_batch['data_samples']]
        losses = {k: float(v.detach()) if hasattr(v, 'detach') else float(v)
                  for k, v in (outputs or {}).items() if 'loss' in k}
        self._write(event='iter', epoch=runner.epoch, iter=runner.iter, batch=batch_idx,
                    ids=ids, losses=losses,
                    finite=all(math.isfinite(v) for v in losses.values()))
        self._maybe_signal(runner, 'train', batch_idx)
        self._maybe_pause(runner, 'train', batch_idx)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self._maybe_signal(runner, 'val', batch_idx)

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        meta = checkpoint.get('meta', {})
        self._write(event='save', epoch=meta.get('epoch'), iter=meta.get('iter'))
