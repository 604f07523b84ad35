"""Atomic file writing: readers never see a half-written list, report or video."""
import contextlib
import os
import os.path as osp
import tempfile
from typing import Iterator, TextIO


@contextlib.contextmanager
def atomic_write(path: str, mode: str = 'w', **kwargs) -> Iterator[TextIO]:
    """Write to a temp file beside ``path`` and rename it over ``path`` on success.

    On an exception the temp file is removed and ``path`` is left untouched.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp',
                               dir=directory)
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
