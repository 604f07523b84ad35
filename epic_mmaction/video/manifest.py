"""Where re-encoded videos go, and the manifest that says what each one holds.

For the source video ``P01/P01_01.MP4`` the output under OUT_ROOT is

* one file: ``P01/P01_01.MP4`` (an MP4 whatever the source container), with
  its manifest beside it, ``P01/P01_01.MP4.reencode.json``;
* chunks: the directory ``P01/P01_01.MP4.chunks/`` holding ``00000.mp4``,
  ``00001.mp4``, ... and the manifest ``chunks.json``.

The manifest records the source (path, size, mtime, fps, frames), the
settings, and every file with its first frame, frame count, size and CRC-32,
so the
loader can find a frame's chunk and a re-run can tell a finished output from
a stale or damaged one. It is written last: an output without one is
unfinished and is redone.
"""
import json
import os.path as osp
import zlib
from fractions import Fraction
from typing import List

from ..utils.fileio import atomic_write
from ..utils import EpicError

FORMAT = 'epic_mmaction.reencode'
VERSION = 1
CHUNK_SUFFIX = '.chunks'
CHUNK_MANIFEST = 'chunks.json'
SIDECAR_SUFFIX = '.reencode.json'


class ManifestError(EpicError, ValueError):
    """A manifest that is missing, unreadable or inconsistent; names the file."""


def output_rel_path(video: str, chunked: bool) -> str:
    """The list path of a video's output: itself, or its chunk directory."""
    return video + CHUNK_SUFFIX if chunked else video


def manifest_path(out_path: str, chunked: bool) -> str:
    """The manifest of the output at ``out_path`` (file or chunk directory)."""
    if chunked:
        return osp.join(out_path, CHUNK_MANIFEST)
    return out_path + SIDECAR_SUFFIX


def temp_path(out_path: str) -> str:
    """The hidden name an output is built under before it is renamed into place.

    Fixed per output, so a re-run finds and removes what an interrupted run left.
    """
    return osp.join(osp.dirname(out_path), f'.{osp.basename(out_path)}.part')


def chunk_file_name(index: int) -> str:
    return f'{index:05d}.mp4'


def file_crc32(path: str, block: int = 1 << 20) -> str:
    """CRC-32 of a file as 8 hex digits: finds bytes damaged after writing."""
    crc = 0
    with open(path, 'rb') as f:
        while True:
            data = f.read(block)
            if not data:
                return f'{crc:08x}'
            crc = zlib.crc32(data, crc)


def _fail(path: str, problem: str) -> ManifestError:
    return ManifestError(f'{path}: {problem}; re-encode the video with '
                         'tools/reencode_videos.py (it redoes damaged outputs)')


def check_manifest(manifest: dict, path: str) -> dict:
    """Raise ManifestError unless the files tile frames 0..num_frames-1."""
    try:
        if manifest.get('format') != FORMAT or manifest.get('version') != VERSION:
            raise _fail(path, f'not a version-{VERSION} re-encode manifest')
        fps = Fraction(manifest['fps'])
        num_frames = int(manifest['num_frames'])
        chunk_frames = manifest['chunk_frames']
        files = manifest['files']
        int(manifest['width']), int(manifest['height'])
        source = manifest['source']
        Fraction(source['fps']), int(source['num_frames'])
    except ManifestError:
        raise
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        raise _fail(path, f'missing or malformed field ({type(e).__name__}: '
                    f'{e})') from None
    if fps <= 0 or num_frames < 1 or not files:
        raise _fail(path, 'no frames, no files or a rate <= 0')
    expected = 0
    for k, entry in enumerate(files):
        if not isinstance(entry, dict) or not {'name', 'bytes', 'crc32'} <= set(entry):
            raise _fail(path, f'file {k} lacks its name, size or CRC-32')
        if entry.get('start') != expected or not entry.get('num_frames', 0) >= 1:
            raise _fail(path, f'file {k} ({entry.get("name")}) does not start at '
                        f'frame {expected}')
        if chunk_frames is not None and (entry['num_frames'] > chunk_frames or (
                k < len(files) - 1 and entry['num_frames'] != chunk_frames)):
            raise _fail(path, f'chunk {k} holds {entry["num_frames"]} frames, the '
                        f'chunks {chunk_frames}')
        expected += entry['num_frames']
    if expected != num_frames:
        raise _fail(path, f'files hold {expected} frames, the manifest says {num_frames}')
    return manifest


def load_manifest(path: str) -> dict:
    """The checked manifest at ``path``; raises ManifestError naming it."""
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise _fail(path, 'missing') from None
    except (OSError, ValueError) as e:
        raise _fail(path, f'unreadable ({e})') from None
    if not isinstance(manifest, dict):
        raise _fail(path, 'not a JSON object')
    return check_manifest(manifest, path)


def write_manifest(path: str, manifest: dict) -> None:
    check_manifest(manifest, path)
    with atomic_write(path) as f:
        json.dump(manifest, f, indent=1)


def manifest_files(manifest: dict, manifest_file: str) -> List[str]:
    """Absolute paths of the files a manifest lists (beside the manifest)."""
    directory = osp.dirname(osp.abspath(manifest_file))
    return [osp.join(directory, entry['name']) for entry in manifest['files']]
