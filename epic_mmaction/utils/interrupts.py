"""Signals before training starts, and the command that resumes a stopped run.

SLURM may preempt a job (SIGTERM) or warn it of its time limit (SIGUSR1) while
it is still starting: importing torch, loading the config, building the
datasets and the model, loading a checkpoint. ``PreemptionCheckpointHook``
only catches them once training starts, so without :func:`guard_startup` the
job dies by the signal and is not requeued. The guard makes such a signal end
the run at once with :data:`EXIT_RESUMABLE` (nothing has been trained, so
nothing is saved), which ``slurm/train.sbatch`` requeues like a run stopped
with a checkpoint; the hook takes the signals over when training starts.

Torch-free, so that ``tools/train.py`` installs it before its heavy imports.
"""
import os
import os.path as osp
import shlex
import shutil
import signal
import sys
import threading
from typing import Dict, List, Optional, Sequence

#: exit code of a run stopped by a signal that can be resumed (or restarted)
EXIT_RESUMABLE = 3
#: exit code of a run aborted by Ctrl-C without saving (as a shell reports SIGINT)
EXIT_ABORTED = 130


class StartupInterrupted(SystemExit):
    """A signal arrived before training started: exit with the resumable code."""

    def __init__(self, signame: str, code: int = EXIT_RESUMABLE):
        super().__init__(code)
        self.signame = signame


class StartupSignalGuard:
    """Until released, the given signals end the process with ``exit_code``.

    The first signal writes one line to stderr and raises
    :class:`StartupInterrupted` in the main thread; later ones are only noted
    (the exit is already unwinding). ``received`` keeps the first signal, so a
    hand-over can still stop a run whose exception was swallowed (e.g. raised
    inside a ``__del__``).
    """

    def __init__(self, signals: Sequence[int] = (signal.SIGUSR1, signal.SIGTERM),
                 exit_code: int = EXIT_RESUMABLE, prog: str = 'train.py'):
        self.signals = [int(s) for s in signals]
        self.exit_code = exit_code
        self.prog = prog
        self.received: Optional[int] = None
        self._original: Dict[int, object] = {}

    def handler(self, signum, frame) -> None:  # noqa: ARG002
        if self.received is not None:
            return
        self.received = signum
        name = signal.Signals(signum).name
        # os.write: print() could re-enter a stream the interrupted code is writing
        os.write(2, (f'{self.prog}: {name} before training started (nothing to save '
                     f'yet): exiting with code {self.exit_code}; rerun with --resume '
                     '(the last checkpoint, if any, or from scratch)\n').encode())
        raise StartupInterrupted(name, self.exit_code)

    def install(self) -> 'StartupSignalGuard':
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for signum in self.signals:
            self._original[signum] = signal.signal(signum, self.handler)
        return self

    def original(self, signum: int):
        """The handler this guard replaced (``SIG_DFL`` if it never caught it)."""
        return self._original.get(signum, signal.SIG_DFL)

    def owns(self, handler) -> bool:
        return getattr(handler, '__self__', None) is self

    def release(self, keep: Sequence[int] = ()) -> None:
        """Restore the original handlers, except for ``keep`` (taken over by
        someone who will restore :meth:`original` themselves)."""
        global _ACTIVE
        for signum, previous in list(self._original.items()):
            if signum not in keep and self.owns(signal.getsignal(signum)):
                signal.signal(signum, previous)
        self._original.clear()
        if _ACTIVE is self:
            _ACTIVE = None


_ACTIVE: Optional[StartupSignalGuard] = None


def guard_startup(prog: str = 'train.py') -> StartupSignalGuard:
    """Install the start-up guard for SIGUSR1 and SIGTERM (once per process)."""
    global _ACTIVE
    if _ACTIVE is None:
        _ACTIVE = StartupSignalGuard(prog=prog).install()
    return _ACTIVE


def active_guard() -> Optional[StartupSignalGuard]:
    """The installed start-up guard, if any (``None`` once released)."""
    return _ACTIVE


def _strip_option(argv: List[str], name: str, optional_value: bool) -> List[str]:
    """``argv`` without ``name`` (any unambiguous prefix argparse accepts, e.g.
    ``--res``), its ``=VALUE`` form and its value."""
    out, i = [], 0
    while i < len(argv):
        token = argv[i]
        flag = token.split('=', 1)[0]
        if len(flag) > 3 and flag.startswith('--') and name.startswith(flag):
            if '=' not in token and i + 1 < len(argv) and (
                    not optional_value or not argv[i + 1].startswith('-')):
                i += 1  # its value
            i += 1
            continue
        out.append(token)
        i += 1
    return out


def _python() -> str:
    """``python`` when that is this interpreter on PATH, else its full path."""
    found = shutil.which('python')
    if found and osp.realpath(found) == osp.realpath(sys.executable):
        return 'python'
    return sys.executable


def resume_command(tool: str, argv: Sequence[str], work_dir: str,
                   launcher: str = 'none') -> str:
    """The shell command that resumes this run from its work dir's last checkpoint.

    ``argv`` is the run's own arguments: kept as given (config, ``--cfg-options``
    and all), but ``--resume [CKPT]`` and ``--work-dir DIR`` are replaced by
    ``--work-dir WORK_DIR --resume``, so the command resumes whatever
    ``last_checkpoint`` names. A single-node torchrun run gets its ``torchrun
    --nproc-per-node=N`` prefix; other distributed runs get the arguments to
    relaunch the same way (srun, several nodes).
    """
    args = _strip_option(list(argv), '--resume', optional_value=True)
    args = _strip_option(args, '--work-dir', optional_value=False)
    for name in ('--local_rank', '--local-rank'):  # per rank (torch.distributed.launch)
        args = _strip_option(args, name, optional_value=False)
    cwd = os.getcwd()
    tool = osp.relpath(tool, cwd) if osp.abspath(tool).startswith(cwd + os.sep) else tool
    words = [tool, *args, '--work-dir', work_dir, '--resume']
    if launcher == 'none':
        words.insert(0, _python())
    elif launcher == 'pytorch' and os.environ.get('LOCAL_WORLD_SIZE') and \
            os.environ.get('LOCAL_WORLD_SIZE') == os.environ.get('WORLD_SIZE'):
        words[:0] = ['torchrun', f'--nproc-per-node={os.environ["LOCAL_WORLD_SIZE"]}']
    return shlex.join(words)

