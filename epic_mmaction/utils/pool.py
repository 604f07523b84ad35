"""A small process pool that survives hanging and crashing tasks.

``multiprocessing.Pool`` cannot kill one stuck task, and a worker that dies in
native code (decord segfaults or aborts on some broken files) breaks the whole
pool. Here every worker is a long-lived 'spawn' process with its own pipe; the
parent hands out one task at a time, SIGKILLs a worker whose task runs past
the timeout, replaces a worker that died, and reports either as a failed
result for that one task. Everything else keeps running.

Workers write their stderr (ffmpeg's and decord's native logging included) to
a log file per worker instead of the terminal; the tail of it comes back with
a crashed or timed-out task.
"""
import os
import os.path as osp
import shutil
import signal
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Deque, Iterator, List, Optional, Sequence, Tuple

_READY = 'ready'
_LOG_TAIL_LINES = 5


def default_workers() -> int:
    """min(8, CPUs this process may use): probing is CPU-bound decoding."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


@dataclass
class TaskResult:
    """What became of one task.

    ``status`` is 'ok' (``value`` holds the return value), 'error' (the
    function raised), 'timeout' (the worker was killed) or 'crash' (the worker
    died); ``error`` describes the last three, ``log`` holds the last lines
    the worker wrote to stderr for a timeout or crash.
    """
    index: int
    task: Any
    status: str
    value: Any = None
    error: Optional[str] = None
    log: Optional[str] = None
    pid: Optional[int] = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 'ok'


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this worker when its parent dies, even by SIGTERM or
    SIGKILL (a SLURM time limit, ``scancel``), so no worker keeps decoding as
    an orphan. Elsewhere a worker notices at its next task (a closed pipe)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _worker_main(conn: Connection, func: Callable, log_path: str,
                 parent: Optional[int] = None) -> None:
    """Run tasks from ``conn`` until told to stop; never lets an exception out."""
    # Ctrl-C goes to the whole process group; the parent kills us instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with_parent(parent)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    conn.send(_READY)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        # keep only this task's output, for the parent to read on a crash
        os.ftruncate(2, 0)
        os.lseek(2, 0, os.SEEK_SET)
        try:
            message = ('ok', func(task))
        except Exception as e:  # the task failed, not the worker
            message = ('error', f'{type(e).__name__}: {e}')
        try:
            conn.send(message)
        except Exception as e:  # e.g. an unpicklable return value
            conn.send(('error', f'cannot send the result back: {e}'))


def _name(func: Callable) -> str:
    return getattr(func, '__qualname__', repr(func))


def describe_exit(exitcode: Optional[int]) -> str:
    """'crashed (signal SIGSEGV)' / 'crashed (exit code 3)' for a dead worker."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return f'crashed (signal {name})'
    return f'crashed (exit code {exitcode})'


def _read_tail(path: str, lines: int = _LOG_TAIL_LINES) -> Optional[str]:
    try:
        with open(path, 'rb') as f:
            f.seek(max(0, os.path.getsize(path) - 8192))
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return None
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return '\n'.join(tail) or None


class _Worker:
    """One worker process, its pipe, log file and the task it is running."""

    def __init__(self, ctx, func: Callable, log_path: str) -> None:
        self.log_path = log_path
        self.conn, child_conn = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main,
                                args=(child_conn, func, log_path, os.getpid()),
                                daemon=True)
        self.proc.start()
        child_conn.close()
        self.ready = False
        self.started = time.monotonic()
        self.job: Optional[Tuple[int, Any]] = None
        self.sent = 0.0

    def send(self, index: int, task: Any) -> None:
        self.job, self.sent = (index, task), time.monotonic()
        self.conn.send(task)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()

    def stop(self) -> None:
        """Ask politely, then kill: used at the end and on interrupt."""
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(timeout=2)
        self.kill()


def imap_isolated(func: Callable[[Any], Any], tasks: Sequence[Any],
                  workers: int, timeout: float,
                  startup_timeout: float = 300.0) -> Iterator[TaskResult]:
    """Run ``func(task)`` for every task in worker processes; yield results as done.

    ``func`` must be importable by name (a module-level function or a
    builtin), as the workers are spawned. Each task gets ``timeout`` seconds
    of its worker's time; a hang or crash costs only that task. Raises
    RuntimeError if a worker cannot even start (e.g. ``func``'s module fails
    to import: its traceback is printed above).
    """
    if workers < 1:
        raise ValueError(f'workers must be >= 1, got {workers}')
    if timeout <= 0:
        raise ValueError(f'timeout must be > 0, got {timeout}')
    ctx = get_context('spawn')
    pending: Deque[Tuple[int, Any]] = deque(enumerate(tasks))
    log_dir = tempfile.mkdtemp(prefix='epic-pool-')
    pool: List[_Worker] = []
    spawned = 0

    def spawn() -> None:
        nonlocal spawned
        spawned += 1
        pool.append(_Worker(ctx, func, osp.join(log_dir, f'worker{spawned}.log')))

    def finish(worker: _Worker, status: str, value: Any = None,
               error: Optional[str] = None, log: Optional[str] = None) -> TaskResult:
        index, task = worker.job
        worker.job = None
        return TaskResult(index, task, status, value, error, log, worker.proc.pid,
                          time.monotonic() - worker.sent)

    try:
        for _ in range(min(workers, len(pending))):
            spawn()
        while pool:
            for worker in pool:
                if worker.ready and worker.job is None and pending:
                    worker.send(*pending.popleft())
            deadlines = [w.sent + timeout if w.ready else w.started + startup_timeout
                         for w in pool if w.job is not None or not w.ready]
            wait_for = (max(0.0, min(deadlines) - time.monotonic())
                        if deadlines else None)
            ready = set(wait([w.conn for w in pool] + [w.proc.sentinel for w in pool],
                             wait_for))
            now = time.monotonic()
            for worker in list(pool):
                result = None
                dead = worker.proc.sentinel in ready and worker.conn not in ready
                if worker.conn in ready:
                    try:
                        message = worker.conn.recv()
                    except (EOFError, OSError):
                        dead = True
                    else:
                        if message == _READY:
                            worker.ready = True
                        elif message[0] == 'ok':
                            result = finish(worker, 'ok', value=message[1])
                        else:
                            result = finish(worker, 'error', error=message[1])
                if dead:
                    worker.kill()
                    pool.remove(worker)
                    if not worker.ready:
                        raise RuntimeError(
                            f'a worker process for {_name(func)} '
                            f'{describe_exit(worker.proc.exitcode)} while starting; '
                            'see its traceback above')
                    if worker.job is not None:
                        result = finish(worker, 'crash',
                                        error=describe_exit(worker.proc.exitcode),
                                        log=_read_tail(worker.log_path))
                elif worker.job is not None and now >= worker.sent + timeout:
                    # SIGKILL: code stuck in a native loop may ignore SIGTERM
                    worker.kill()
                    pool.remove(worker)
                    result = finish(worker, 'timeout',
                                    error=f'timeout after {timeout:g}s',
                                    log=_read_tail(worker.log_path))
                elif not worker.ready and now >= worker.started + startup_timeout:
                    worker.kill()
                    pool.remove(worker)
                    raise RuntimeError(
                        f'a worker process for {_name(func)} did not start within '
                        f'{startup_timeout:g}s; the machine may be overloaded: '
                        'use fewer workers')
                idle = sum(w.job is None for w in pool)
                if worker not in pool and len(pool) < workers and idle < len(pending):
                    spawn()
                if result is not None:
                    yield result
            # a worker with nothing left to do can go
            for worker in list(pool):
                if worker.ready and worker.job is None and not pending:
                    worker.stop()
                    pool.remove(worker)
    finally:
        # only on an error or interrupt: busy workers are killed, not waited for
        for worker in pool:
            if worker.job is None and worker.ready:
                worker.stop()
            else:
                worker.kill()
        shutil.rmtree(log_dir, ignore_errors=True)


def run_isolated(func: Callable[[Any], Any], tasks: Sequence[Any], workers: int,
                 timeout: float) -> List[TaskResult]:
    """All results of :func:`imap_isolated`, in task order."""
    results = list(imap_isolated(func, tasks, workers, timeout))
    return sorted(results, key=lambda r: r.index)
