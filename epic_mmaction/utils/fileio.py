"""Atomic file writing: readers never see a half-written list, report or video.

A single file is written to a temporary beside it and renamed over it
(:func:`atomic_write`). Files that belong together (a submission's ``.pt`` and
leaderboard zip, a builder's lists and their vocabulary) are all written to
temporaries first and renamed in one short step with termination signals held
back (:func:`atomic_outputs`), so an interruption leaves either the old set or
the new one, never a mix. Temporaries are named after the process that writes
them (``.NAME.HOST-PID.RANDOM.tmp``); the next write of the same file removes
those of processes that no longer run (killed by SIGKILL, OOM or a time limit).
"""
import contextlib
import os
import os.path as osp
import re
import signal
import socket
import tempfile
import time
from typing import IO, Iterator, List, Sequence

# a temporary this old belongs to a dead writer even on another host
STALE_AFTER_S = 3600.0
# signals a cluster or a user sends to stop a job; held back while renaming
_STOP_SIGNALS = tuple(getattr(signal, name) for name in
                      ('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2')
                      if hasattr(signal, name))


def _host() -> str:
    return re.sub(r'[^A-Za-z0-9_]', '_', socket.gethostname()) or 'host'


def _temp_prefix(path: str) -> str:
    return f'.{osp.basename(path)}.{_host()}-{os.getpid()}.'


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(path: str, stale_after_s: float = STALE_AFTER_S) -> List[str]:
    """Remove temporaries that interrupted writes of ``path`` left beside it.

    A temporary is stale when its writer ran on this host and is gone, or when
    it has not changed for ``stale_after_s`` (a writer on another node). Those
    of live writers are kept. Returns the removed paths.
    """
    directory = osp.dirname(osp.abspath(path))
    pattern = re.compile(r'\.' + re.escape(osp.basename(path))
                         + r'\.(?:(?P<host>\w+)-(?P<pid>\d+)\.)?[\w]+\.tmp$')
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    now = time.time()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        tmp = osp.join(directory, name)
        try:
            age = now - os.lstat(tmp).st_mtime
        except FileNotFoundError:
            continue
        dead = (match['host'] == _host() and match['pid'] is not None
                and not _pid_running(int(match['pid'])))
        if dead or age > stale_after_s:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
                removed.append(tmp)
    return removed


def _new_temp(path: str) -> str:
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix='.tmp', dir=directory)
    os.close(fd)
    return tmp


def _finish_temp(tmp: str) -> None:
    with open(tmp, 'rb+') as f:
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back stop signals (delivered on exit) where Python can: main thread."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    except (AttributeError, ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w', **kwargs) -> Iterator[IO]:
    """Write to a temp file beside ``path`` and rename it over ``path`` on success.

    On an exception the temp file is removed and ``path`` is left untouched.
    """
    with atomic_outputs([path]) as (tmp,):
        with open(tmp, mode, **kwargs) as f:
            yield f


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str]) -> Iterator[List[str]]:
    """Temporary paths for files that must appear together or not at all.

    Write each file to the temporary at the same position; when the block
    ends without an exception, the existing targets are removed and every
    temporary is renamed into place with stop signals held back. A SIGKILL in
    that short step can leave some targets missing, never old and new files
    side by side. On an exception all temporaries are removed and the targets
    stay as they were.
    """
    paths = [osp.abspath(p) for p in paths]
    if len(set(paths)) != len(paths):
        raise ValueError(f'atomic_outputs got the same path twice: {paths}')
    temps: List[str] = []
    try:
        for path in paths:
            temps.append(_new_temp(path))
        yield list(temps)
        for tmp in temps:
            _finish_temp(tmp)
        with _signals_held():
            if len(paths) > 1:
                for path in paths:
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
            for tmp, path in zip(temps, paths):
                os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)
        raise
