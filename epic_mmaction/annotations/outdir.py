"""The builders' output folder, checked before any CSV is read or video opened.

A folder that cannot be written (a regular file in its place, no permission,
a read-only file system) would otherwise surface as a raw ``OSError`` only
when the first output is written, after all the work.
"""
import os.path as osp
import tempfile
from typing import Sequence

from ..utils.errors import AnnotationError


def check_out_dir(out_dir: str) -> None:
    """Raise :class:`AnnotationError` unless files can be written in ``out_dir``.

    A folder that does not exist yet is fine when its nearest existing parent
    is a writable folder (it is created only when the outputs are written, so
    a failed build leaves nothing behind). Writability is tried with a
    temporary file, which also catches read-only mounts and root-squashed NFS.
    """
    path = osp.abspath(out_dir)
    probe = path
    while not osp.lexists(probe):
        parent = osp.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not osp.isdir(probe):
        what = ('is a file, not a folder' if probe == path else
                f'cannot be created: {probe} is a file, not a folder')
        raise AnnotationError(f'--out-dir {out_dir} {what}; give a folder path '
                              '(or move the file away)')
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as e:
        reason = e.strerror or str(e)
        where = '' if probe == path else f' (its parent {probe})'
        raise AnnotationError(
            f'--out-dir {out_dir}{where} is not writable ({reason}); give a folder you '
            'can write to, or fix its permissions') from None


def check_targets(paths: Sequence[str]) -> None:
    """Refuse outputs whose name is taken by a folder, before any is replaced.

    Found while renaming, such a folder would stop the build half-way through
    replacing the set.
    """
    for path in paths:
        if osp.isdir(path):
            raise AnnotationError(f'{path} is a folder, but the build writes a file '
                                  'there; move the folder away or use another --out-dir')


__all__ = ['check_out_dir', 'check_targets']
