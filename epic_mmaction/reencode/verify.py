"""Check an output before it replaces anything, and again before a re-run reuses it.

A fresh output is decoded in full with decord (every frame of every file
decodes; frame counts, size and rate match the manifest) and opened with the
PyAV reader, the loader's default. A re-run checks an existing output
quickly: file sizes and CRC-32 as recorded (a truncated or damaged file fails
here), frame counts and the first and last frame of each file. The source's frame count is
checked against decord's too, because list files number frames as decord
does.
"""
import os
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..video import open_video_reader
from ..video.manifest import file_crc32
from ..utils import EpicError
BATCH = 64  # frames per get_batch: bounds memory at any resolution


class VerifyError(EpicError, RuntimeError):
    """An output (or source) that is not what its manifest says; names the file."""


def verify_source_frames(src_path: str, decoded: int) -> None:
    """Raise VerifyError unless decord counts the ``decoded`` frames PyAV gave."""
    try:
        count = len(open_video_reader(src_path, 'decord'))
    except Exception as e:  # VideoReadError, decord's native errors
        raise VerifyError(f'{src_path}: decord cannot open the source ({e})') from e
    if count != decoded:
        raise VerifyError(
            f'{src_path}: decord counts {count} frames, PyAV decoded {decoded}; the '
            "list files use decord's numbering, so the output cannot be "
            'frame-exact. Run tools/clean_segments.py --full on its lists')


def _check_reader(reader, path: str, entry: dict, manifest: dict, full: bool,
                  backend: str) -> None:
    n = entry['num_frames']
    if len(reader) != n:
        raise VerifyError(f'{path}: {backend} counts {len(reader)} frames, '
                          f'{n} were written')
    fps = float(Fraction(manifest['fps']))
    if abs(reader.get_avg_fps() - fps) > 1e-3 * fps:
        raise VerifyError(f'{path}: {backend} reads {reader.get_avg_fps():.4f} fps, '
                          f'{fps:.4f} were written')
    batches = ([list(range(a, min(a + BATCH, n))) for a in range(0, n, BATCH)]
               if full else [sorted({0, n - 1})])
    shape = (manifest['height'], manifest['width'], 3)
    for inds in batches:
        try:
            frames = reader.get_batch(inds).asnumpy()
        except Exception as e:  # VideoReadError, decord's native errors
            raise VerifyError(f'{path}: {backend} cannot decode frames '
                              f'{inds[0]}..{inds[-1]} ({e})') from e
        if frames.shape != (len(inds), *shape) or frames.dtype != np.uint8:
            raise VerifyError(f'{path}: {backend} decodes frames of shape '
                              f'{frames.shape[1:]}, {shape} were written')


def verify_output(manifest: dict, paths: Sequence[str], full: bool = True) -> None:
    """Raise VerifyError unless the files at ``paths`` match the manifest's files.

    ``full`` decodes every frame with decord; otherwise the first and last
    frame of each file. Either way each file's size and CRC-32 are checked
    and it is opened with both backends.
    """
    if len(paths) != len(manifest['files']):
        raise VerifyError(f'{len(paths)} files to check, the manifest lists '
                          f'{len(manifest["files"])}')
    for path, entry in zip(paths, manifest['files']):
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise VerifyError(f'{path}: {e.strerror}') from None
        if size != entry['bytes']:
            raise VerifyError(f'{path}: {size} bytes, {entry["bytes"]} were written '
                              '(truncated or replaced)')
        if file_crc32(path) != entry['crc32']:
            raise VerifyError(f'{path}: CRC-32 differs from the one written (damaged '
                              'or replaced)')
        for backend, everything in (('decord', full), ('pyav', False)):
            try:
                reader = open_video_reader(path, backend)
            except Exception as e:  # VideoReadError, decord's native errors
                raise VerifyError(f'{path}: {backend} cannot open it ({e})') from e
            try:
                _check_reader(reader, path, entry, manifest, everything, backend)
            finally:
                close = getattr(reader, 'close', None)
                if close is not None:
                    close()
