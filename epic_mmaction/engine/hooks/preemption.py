"""Save a checkpoint and stop cleanly when the scheduler says the job must go.

SLURM warns a job before its time limit with a signal of the user's choice
(``sbatch --signal=USR1@300``) and terminates preempted, cancelled or requeued
jobs with SIGTERM (then SIGKILL after the cluster's ``KillWait``/``GraceTime``).
:class:`PreemptionCheckpointHook` catches those signals, and at the next
iteration boundary every rank agrees to stop, rank 0 saves a checkpoint the
way ``CheckpointHook`` does (same file names, ``last_checkpoint`` updated), and
the process exits with :data:`EXIT_RESUMABLE` (3). ``tools/train.py --resume``
then continues from it; ``slurm/train.sbatch`` requeues itself on that code.

Where the run stops:

- **during a training iteration**: the checkpoint is ``iter_<N>.pth`` (N
  iterations done). In an epoch-based loop the checkpoint also records how many
  batches of the epoch were done, and the resumed run skips them (the sampler
  order is the same for a fixed seed), so the epoch is neither repeated nor cut
  short. Iteration-based loops skip them on their own (mmengine).
- **during validation inside training**: the training state after the epoch
  (``epoch_<E>.pth``; ``iter_<N>.pth`` for iteration-based loops) is saved; the
  interrupted validation is not repeated after the resume.

Signals are checked (and, when distributed, agreed on with one tiny all-reduce)
every ``check_interval`` iterations, so all ranks stop at the same iteration.
They are caught from ``before_train`` to ``after_train`` only; before that,
``tools/train.py``'s start-up guard (:mod:`epic_mmaction.utils.interrupts`)
ends the run at once with the same exit code (nothing trained, nothing saved),
so a job preempted while starting is requeued too. Data loader workers ignore
them unless the main process sends them (SLURM signals every process of a step;
torch's workers would die on SIGTERM and take the run down).

**Ctrl-C** (SIGINT, ``ctrl_c=True``): the first one stops the same way (checkpoint
at the next iteration boundary, exit code 3, the resume command in the log);
a second one raises ``KeyboardInterrupt`` at once, without a checkpoint. The
workers ignore the terminal's SIGINT too (it reaches the whole process group).

**Pruning**: when ``CheckpointHook.max_keep_ckpts > 0``, a checkpoint saved by
this hook is a resume point only: it is removed once a newer checkpoint is saved
(by ``CheckpointHook`` or by a later interruption), never while
``last_checkpoint`` names it. The paths are kept in the message hub
(``epic_interruption_checkpoints``), which checkpoints carry over a resume.
"""
import itertools
import logging
import os
import os.path as osp
import signal
import threading
from typing import Dict, Optional, Sequence, Union

from mmengine.dist import all_reduce, barrier, get_dist_info, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmaction.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop

from epic_mmaction.utils.interrupts import (EXIT_RESUMABLE, StartupInterrupted,
                                            active_guard)
from ..dist import destroy_distributed

#: checkpoint meta key: where in its epoch an interrupted run stopped
META_KEY = 'epic_interrupted'
#: message hub key: the checkpoints this hook saved that are not pruned yet
INFO_KEY = 'epic_interruption_checkpoints'


class TrainingInterrupted(SystemExit):
    """Raised once the checkpoint is saved; exits with ``code`` unless caught."""

    def __init__(self, signame: str, checkpoint: str, code: int = EXIT_RESUMABLE):
        super().__init__(code)
        self.signame = signame
        self.checkpoint = checkpoint


def _signal_number(sig: Union[int, str]) -> int:
    if isinstance(sig, int):
        return int(signal.Signals(sig))
    name = sig.upper()
    return int(getattr(signal, name if name.startswith('SIG') else f'SIG{name}'))


class _IgnoreSignalsInWorker:
    """A data loader ``worker_init_fn``: the worker ignores the hook's signals
    unless the main process sends them, then the original ``worker_init_fn`` runs.

    SLURM signals every process of a step, and torch's workers die on SIGTERM
    (torch installs that handler), which would take the run down before it can
    save. The main process still stops its workers as usual: its
    ``terminate()`` (a SIGTERM from the main process) ends them. A thread waits
    for the (blocked) signals with ``sigwaitinfo`` to see who sent them.
    """

    def __init__(self, init_fn, signals: Sequence[int]):
        self.init_fn, self.signals = init_fn, list(signals)
        self.main_pid = os.getpid()

    def _wait(self, signals: set) -> None:
        while True:
            info = signal.sigwaitinfo(signals)
            if info.si_pid in (self.main_pid, os.getppid()):
                # the main process stops us (multiprocessing's terminate()); exit
                # status 0, or torch's SIGCHLD handler there calls it a failure
                os._exit(0)

    def __call__(self, worker_id: int) -> None:
        signals = set(self.signals)
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # threads started later too
        threading.Thread(target=self._wait, args=(signals,), daemon=True,
                         name='epic-signal-filter').start()
        if self.init_fn is not None:
            self.init_fn(worker_id)


class _SkipFirst:
    """A sampler that drops the first ``n`` indices of another (resumed epochs)."""

    def __init__(self, sampler, n: int):
        self.sampler, self.n = sampler, n

    def __iter__(self):
        return itertools.islice(iter(self.sampler), self.n, None)

    def __len__(self) -> int:
        return max(0, len(self.sampler) - self.n)

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)


@HOOKS.register_module()
class PreemptionCheckpointHook(Hook):
    """Checkpoint and stop on SLURM's time-limit warning, preemption or cancel.

    Args:
        signals: signals to catch (names or numbers). Defaults to SIGUSR1
            (``sbatch --signal=USR1@SECONDS``) and SIGTERM (preemption, requeue,
            ``scancel``, the time limit itself).
        check_interval: check every this many iterations (one all-reduce of one
            number when distributed). Defaults to 1.
        exit_code: exit status once the checkpoint is saved. Defaults to 3.
        ctrl_c: also stop on the first Ctrl-C (SIGINT) with a checkpoint; a
            second Ctrl-C aborts without one. Defaults to True.
        save_optimizer, save_param_scheduler: as ``CheckpointHook``'s; by default
            taken from the runner's ``CheckpointHook`` (both True without one).
    """

    priority = 'LOWEST'  # after the logger and CheckpointHook of the same iteration

    def __init__(self,
                 signals: Sequence[Union[int, str]] = ('SIGUSR1', 'SIGTERM'),
                 check_interval: int = 1,
                 exit_code: int = EXIT_RESUMABLE,
                 ctrl_c: bool = True,
                 save_optimizer: Optional[bool] = None,
                 save_param_scheduler: Optional[bool] = None):
        self.signals = [_signal_number(s) for s in signals]
        if ctrl_c and signal.SIGINT not in self.signals:
            self.signals.append(int(signal.SIGINT))
        if check_interval < 1:
            raise ValueError(f'check_interval must be >= 1, got {check_interval}')
        self.check_interval = check_interval
        self.exit_code = exit_code
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.received: Optional[int] = None
        self._sigints = 0
        self._saved = False  # the stop's checkpoint is written
        #: printed when the run stops; set by tools/train.py (its real arguments)
        self.resume_command: Optional[str] = None
        self._previous: Dict[int, object] = {}
        self._seen_ckpt: Optional[str] = None
        self._training = False
        self._resume_info: Optional[dict] = None
        self._skip: Optional[tuple] = None  # (batch_sampler, original sampler)
        self._epoch_offset = 0

    # -- signals ---------------------------------------------------------------
    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        # os.write, not print: the interrupted code may be writing to stderr
        if signum == signal.SIGINT:
            self._sigints += 1
            if self._sigints > 1:
                signal.signal(signal.SIGINT, signal.default_int_handler)
                os.write(2, b'\nCtrl-C again: aborting (the checkpoint is saved)\n'
                         if self._saved else
                         b'\nCtrl-C again: aborting without a checkpoint\n')
                raise KeyboardInterrupt
            os.write(2, b'\nCtrl-C: saving a checkpoint after this iteration, then '
                        b'stopping (press Ctrl-C again to abort without saving)\n')
        if self.received is None:
            self.received = signum

    def _install(self) -> None:
        """Catch the signals (training only: testing stays killable by them),
        taking them over from tools/train.py's start-up guard."""
        self.received, self._sigints, self._saved = None, 0, False
        guard = active_guard()
        for signum in self.signals:
            try:
                previous = signal.signal(signum, self._handle)
            except ValueError:  # not the main thread: nothing to install
                print_log('PreemptionCheckpointHook: not in the main thread, '
                          'signals are not caught', logger='current',
                          level=logging.WARNING)
                break
            if guard is not None and guard.owns(previous):
                previous = guard.original(signum)
            self._previous[signum] = previous
        if guard is not None:
            guard.release()  # the signals this hook does not catch get their own back

    def _restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _agreed_signal(self, runner) -> Optional[int]:
        """The signal some rank received, the same answer on every rank."""
        _, world_size = get_dist_info()
        local = self.received or 0
        if world_size > 1:
            import torch
            flag = torch.tensor([local], dtype=torch.int64)
            all_reduce(flag, op='max')
            local = int(flag.item())
        return local or None

    # -- resuming a run stopped mid-epoch --------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._resume_info = (checkpoint.get('meta') or {}).get(META_KEY)

    def _protect_workers(self, loader) -> None:
        """Make ``loader``'s worker processes (started later) ignore the signals."""
        if loader is None or not getattr(loader, 'num_workers', 0):
            return
        if not isinstance(loader.worker_init_fn, _IgnoreSignalsInWorker):
            loader.worker_init_fn = _IgnoreSignalsInWorker(loader.worker_init_fn,
                                                           self.signals)

    def before_train(self, runner) -> None:
        guard = active_guard()
        if guard is not None and guard.received is not None:
            # the start-up guard's exit was swallowed somewhere: exit now
            raise StartupInterrupted(signal.Signals(guard.received).name, guard.exit_code)
        self._training = True
        self._install()
        self._seen_ckpt = getattr(self._checkpoint_hook(runner), 'last_ckpt', None)
        if self._previous:  # data loader workers start later, in the loops
            self._protect_workers(runner.train_dataloader)
            val_loop = getattr(runner, '_val_loop', None)
            self._protect_workers(getattr(val_loop, 'dataloader', None))
        info, self._resume_info = self._resume_info, None
        if not info or runner.iter != info.get('iter'):
            return  # not resumed from an interrupted checkpoint (e.g. load_from)
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return
        if runner.epoch != info['epoch'] or info['batches'] <= 0:
            return
        batch_sampler = getattr(runner.train_dataloader, 'batch_sampler', None)
        if batch_sampler is None or not hasattr(batch_sampler, 'sampler') \
                or not hasattr(batch_sampler, 'batch_size'):
            print_log('PreemptionCheckpointHook: cannot skip the batches already '
                      f'trained in epoch {runner.epoch + 1} (no batch sampler); '
                      'the epoch restarts', logger='current', level=logging.WARNING)
            return
        self._skip = (batch_sampler, batch_sampler.sampler, info['batches'])

    def before_train_epoch(self, runner) -> None:
        self._epoch_offset = 0
        if self._skip is None:
            return
        batch_sampler, sampler, batches = self._skip
        total = len(runner.train_dataloader)
        batch_sampler.sampler = _SkipFirst(sampler, batches * batch_sampler.batch_size)
        self._epoch_offset = batches
        print_log(f'resuming epoch {runner.epoch + 1} after batch {batches}/{total}: '
                  f'skipping the {batches} batches already trained (this epoch logs '
                  f'its remaining {len(runner.train_dataloader)} batches)',
                  logger='current')

    def after_train_epoch(self, runner) -> None:
        if self._skip is not None:
            batch_sampler, sampler, _ = self._skip
            batch_sampler.sampler = sampler
            self._skip = None
        self._epoch_offset = 0
        self._prune_after_regular_save(runner)

    # -- pruning ---------------------------------------------------------------
    @staticmethod
    def _last_checkpoint(runner) -> Optional[str]:
        try:
            with open(osp.join(runner.work_dir, 'last_checkpoint')) as f:
                return f.read().strip() or None
        except OSError:
            return None

    def _prune(self, runner, keep: Optional[str] = None) -> None:
        """Remove the checkpoints this hook saved that a newer one supersedes
        (as ``max_keep_ckpts`` does for ``CheckpointHook``'s own), never the one
        ``last_checkpoint`` names, nor ``keep``."""
        hook = self._checkpoint_hook(runner)
        if hook is None or getattr(hook, 'max_keep_ckpts', -1) <= 0:
            return  # the others are all kept too
        paths = list(runner.message_hub.get_info(INFO_KEY) or [])
        if not paths:
            return
        needed = {osp.abspath(p) for p in (keep, self._last_checkpoint(runner)) if p}
        kept = []
        for path in paths:
            if osp.abspath(path) in needed:
                kept.append(path)
            elif is_main_process() and osp.isfile(path):
                os.remove(path)
                runner.logger.info(f'removed the interruption checkpoint {path} '
                                   '(a newer checkpoint supersedes it)')
        runner.message_hub.update_info(INFO_KEY, kept)

    def _prune_after_regular_save(self, runner) -> None:
        last = getattr(self._checkpoint_hook(runner), 'last_ckpt', None)
        if last is not None and last != self._seen_ckpt:  # CheckpointHook just saved
            self._seen_ckpt = last
            self._prune(runner)

    # -- stopping --------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._prune_after_regular_save(runner)
        if (runner.iter + 1) % self.check_interval:
            return
        signum = self._agreed_signal(runner)
        if signum is not None:
            self._stop(runner, signum, batches=self._epoch_offset + batch_idx + 1)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        if not self._training:
            return
        signum = self._agreed_signal(runner)
        if signum is not None:
            self._stop(runner, signum, batches=None)

    def after_train(self, runner) -> None:
        self._training = False
        self._restore()

    @staticmethod
    def _stop_workers(runner) -> None:
        """Shut persistent data loader workers down now, as torch does at the end
        of a run (an iterator left to interpreter exit gets its workers
        terminated under torch's feet)."""
        val_loop = getattr(runner, '_val_loop', None)
        for loader in (runner.train_dataloader, getattr(val_loop, 'dataloader', None)):
            iterator = getattr(loader, '_iterator', None)
            if iterator is not None and hasattr(iterator, '_shutdown_workers'):
                try:
                    iterator._shutdown_workers()
                except Exception:  # noqa: BLE001  (exiting anyway)
                    pass
                loader._iterator = None

    def _checkpoint_hook(self, runner) -> Optional[CheckpointHook]:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                return hook
        return None

    @staticmethod
    def _save(runner, out_dir: str, filename: str, **kwargs) -> None:
        """``runner.save_checkpoint`` into a hidden file renamed into place: a
        second Ctrl-C (or SIGKILL) while saving leaves no truncated checkpoint."""
        if not osp.isdir(out_dir):  # not a local directory (a remote backend)
            runner.save_checkpoint(out_dir, filename, **kwargs)
            return
        tmp = f'.{filename}.tmp'
        try:
            runner.save_checkpoint(out_dir, tmp, **kwargs)  # rank 0 only (master_only)
            if is_main_process():
                os.replace(osp.join(out_dir, tmp), osp.join(out_dir, filename))
        except BaseException:
            if is_main_process() and osp.exists(osp.join(out_dir, tmp)):
                os.remove(osp.join(out_dir, tmp))
            raise

    def _stop(self, runner, signum: int, batches: Optional[int]) -> None:
        """Save (rank 0), update ``last_checkpoint``, wait for rank 0, exit."""
        signame = signal.Signals(signum).name
        by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        if batches is not None:  # after a training iteration
            done = runner.iter + 1
            filename = f'iter_{done}.pth'
            meta = dict(epoch=runner.epoch, iter=done)
            if by_epoch:
                meta[META_KEY] = dict(epoch=runner.epoch, batches=batches, iter=done,
                                      signal=signame)
            where = f'epoch {runner.epoch + 1}, batch {batches}, iteration {done}'
        else:  # during validation: the training state is the epoch's end
            filename = f'epoch_{runner.epoch}.pth' if by_epoch else f'iter_{runner.iter}.pth'
            meta = dict(epoch=runner.epoch, iter=runner.iter)
            where = (f'validation after epoch {runner.epoch}' if by_epoch else
                     f'validation after iteration {runner.iter}')

        hook = self._checkpoint_hook(runner)
        out_dir = getattr(hook, 'out_dir', None) or runner.work_dir
        save_optimizer = self.save_optimizer
        if save_optimizer is None:
            save_optimizer = getattr(hook, 'save_optimizer', True)
        save_scheduler = self.save_param_scheduler
        if save_scheduler is None:
            save_scheduler = getattr(hook, 'save_param_scheduler', True)
        path = osp.join(out_dir, filename)
        label = 'SIGINT (Ctrl-C)' if signum == signal.SIGINT else signame
        if getattr(hook, 'last_ckpt', None) == path:
            # CheckpointHook saved this very state (before the validation, or
            # at this iteration of an iteration-based loop)
            runner.logger.info(f'{label} received: {path} is saved ({where}); stopping')
        else:
            runner.logger.info(f'{label} received: saving {path} ({where}) and stopping')
            # listed before saving, so that the checkpoint lists itself (resumes prune it)
            runner.message_hub.update_info(
                INFO_KEY, list(runner.message_hub.get_info(INFO_KEY) or []) + [path])
            self._save(runner, out_dir, filename, save_optimizer=save_optimizer,
                       save_param_scheduler=save_scheduler, meta=meta, by_epoch=by_epoch,
                       backend_args=getattr(hook, 'backend_args', None))
        if is_main_process():
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)
        self._saved = True
        self._prune(runner, keep=path)
        barrier()  # no rank leaves before rank 0 has written the checkpoint
        self._stop_workers(runner)
        command = self.resume_command or (
            f'tools/train.py CONFIG --work-dir {runner.work_dir} --resume')
        runner.logger.info(f'checkpoint saved; exiting with code {self.exit_code}. '
                           f'Resume with: {command}')
        self._training = False
        self._restore()
        runner.call_hook('after_run')  # close the visualizer/loggers as a finished run does
        try:
            destroy_distributed()
        except Exception:  # noqa: BLE001  (exiting anyway)
            pass
        raise TrainingInterrupted(signame, path, self.exit_code)


def hand_over_startup_signals(runner, resume_command: Optional[str] = None) -> None:
    """Called by tools/train.py once the runner is built: the run's
    :class:`PreemptionCheckpointHook` (if any) prints ``resume_command`` when it
    stops and takes the start-up guard's signals over in ``before_train``;
    without one the guard is released now (training is then not protected)."""
    hooks = [h for h in runner.hooks if isinstance(h, PreemptionCheckpointHook)]
    for hook in hooks:
        hook.resume_command = resume_command
    guard = active_guard()
    if guard is None:
        return
    if guard.received is not None:  # the guard's exit was swallowed somewhere
        raise StartupInterrupted(signal.Signals(guard.received).name, guard.exit_code)
    if not hooks:
        guard.release()
        print_log('no PreemptionCheckpointHook in the config: a SIGTERM/SIGUSR1 '
                  'during training kills the run without a checkpoint',
                  logger='current', level=logging.WARNING)
