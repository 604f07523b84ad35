"""Re-encode the videos of some list files in parallel, resumably, and rewrite the lists.

Each video is one task in an isolated worker process (a hang or a crash in
native code costs that video only, as in the cleaner). A task first checks
the existing output: one with a manifest, the same settings, an unchanged
source and files that pass the quick check is kept. Otherwise the video is
encoded under a hidden temporary name, verified in full, and renamed into
place; the manifest comes last. So an interrupted run leaves nothing under a
final name that a re-run would trust, and a re-run redoes exactly the
missing, stale or damaged outputs.
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import sys
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ..utils.fileio import atomic_write
from ..utils.pool import TaskResult, default_workers, imap_isolated
from .lists import VideoOutput, read_numbered_list, rewrite_list
from ..video.manifest import (CHUNK_MANIFEST, ManifestError, load_manifest, manifest_files,
                       manifest_path, output_rel_path, temp_path, write_manifest)
from .report import storage_summary
from .settings import EncodeSettings
from .transcode import transcode_video
from .verify import VerifyError, verify_output, verify_source_frames
from ..utils import EpicError

# an hour of 1080p60 through x264 on one thread takes hours, not minutes
DEFAULT_TIMEOUT = 6 * 3600.0


class ReencodeError(EpicError, ValueError):
    """Arguments the re-encoder cannot work with; the message says what to fix."""


@dataclass(frozen=True)
class VideoTask:
    """One video to re-encode (or to keep, if its output is already good)."""
    video: str  # path in the lists, relative to the source root
    src_path: str
    out_path: str  # the final output: a file or a chunk directory
    settings: EncodeSettings
    verify_full: bool = True


def _remove(path: str) -> None:
    if osp.isdir(path) and not osp.islink(path):
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def existing_output(task: VideoTask) -> Tuple[Optional[dict], str, str]:
    """(manifest, '', '') for a reusable output, else (None, reason, detail).

    Reasons: 'new', 'unfinished' (no manifest), 'settings_changed',
    'source_changed', 'damaged' (manifest or files fail the quick check).
    """
    chunked = task.settings.chunked
    mfile = manifest_path(task.out_path, chunked)
    if not osp.exists(mfile):
        if osp.lexists(task.out_path):
            return None, 'unfinished', f'{mfile} is missing'
        return None, 'new', ''
    try:
        manifest = load_manifest(mfile)
    except ManifestError as e:
        return None, 'damaged', str(e)
    if manifest['settings'] != task.settings.output_key():
        return None, 'settings_changed', f'written with {manifest["settings"]}'
    try:
        st = os.stat(task.src_path)
    except OSError as e:
        return None, 'source_changed', f'{task.src_path}: {e.strerror}'
    source = manifest['source']
    if (source.get('path'), source.get('bytes'), source.get('mtime_ns')) != (
            task.video, st.st_size, st.st_mtime_ns):
        return None, 'source_changed', f'{task.src_path} differs from the one encoded'
    try:
        verify_output(manifest, manifest_files(manifest, mfile), full=False)
    except VerifyError as e:
        return None, 'damaged', str(e)
    return manifest, '', ''


def process_video(task: VideoTask) -> dict:
    """Keep or (re-)encode one video; runs in a worker process.

    Returns ``status`` ('kept' or 'encoded'), why it was encoded, its manifest
    and the seconds taken. Raises on any failure (the pool reports it).
    """
    started = time.monotonic()
    manifest, reason, detail = existing_output(task)
    if manifest is not None:
        return dict(status='kept', reason='', detail='', manifest=manifest,
                    seconds=round(time.monotonic() - started, 3))
    chunked = task.settings.chunked
    tmp = temp_path(task.out_path)
    _remove(tmp)  # what an interrupted run left
    os.makedirs(osp.dirname(task.out_path), exist_ok=True)
    try:
        manifest = transcode_video(task.src_path, tmp, task.settings,
                                   source_rel=task.video,
                                   file_name=osp.basename(task.out_path))
        paths = ([osp.join(tmp, entry['name']) for entry in manifest['files']]
                 if chunked else [tmp])
        verify_output(manifest, paths, full=task.verify_full)
        verify_source_frames(task.src_path, manifest['source']['num_frames'])
        manifest['encode_seconds'] = round(time.monotonic() - started, 3)
        mfile = manifest_path(task.out_path, chunked)
        if chunked:  # the manifest travels inside the directory
            write_manifest(osp.join(tmp, CHUNK_MANIFEST), manifest)
            _remove(task.out_path)
            os.rename(tmp, task.out_path)
        else:  # no old manifest may vouch for the new file, even for a moment
            _remove(mfile)
            os.replace(tmp, task.out_path)
            write_manifest(mfile, manifest)
    except BaseException:
        _remove(tmp)
        raise
    return dict(status='encoded', reason=reason, detail=detail, manifest=manifest,
                seconds=round(time.monotonic() - started, 3))


def _check_arguments(src_root: str, out_root: str, list_paths: Sequence[str],
                     out_lists: Sequence[str], workers: int, timeout: float) -> None:
    if not osp.isdir(src_root):
        raise ReencodeError(f'source root {src_root} is not a directory: pass the '
                            'folder that the video paths in the lists are relative to')
    if osp.realpath(src_root) == osp.realpath(out_root):
        raise ReencodeError(f'output root {out_root} is the source root: outputs keep '
                            "the sources' names, so pick another folder")
    if osp.exists(out_root) and not osp.isdir(out_root):
        raise ReencodeError(f'output root {out_root} exists and is not a directory')
    if not list_paths:
        raise ReencodeError('no list files given (--lists)')
    names = [osp.basename(p) for p in list_paths]
    for name, count in Counter(names).items():
        if count > 1:
            raise ReencodeError(f'two lists are named {name}: their rewritten lists '
                                'would overwrite each other in --out-lists')
    for src, out in zip(list_paths, out_lists):
        if osp.isdir(src) or not osp.exists(src):
            raise ReencodeError(f'list file {src} does not exist or is a directory')
        if osp.realpath(src) == osp.realpath(out):
            raise ReencodeError(f'the rewritten list {out} would replace its input; '
                                'pick another --out-lists folder')
    if workers < 0:
        raise ReencodeError(f'--workers must be >= 1 (0: in this process), got {workers}')
    if not timeout > 0:
        raise ReencodeError(f'--timeout must be > 0 seconds, got {timeout}')


def _run_tasks(tasks: Sequence[VideoTask], workers: int,
               timeout: float) -> Iterator[TaskResult]:
    """Results as tasks finish: in isolated workers, or here for ``workers=0``."""
    if workers > 0:
        with closing(imap_isolated(process_video, tasks, workers, timeout)) as results:
            yield from results
        return
    for index, task in enumerate(tasks):  # no isolation, no timeout: debugging, tests
        started = time.monotonic()
        try:
            value = process_video(task)
        except Exception as e:  # the same report as from a worker
            yield TaskResult(index, task, 'error', error=f'{type(e).__name__}: {e}',
                             pid=os.getpid(), seconds=time.monotonic() - started)
        else:
            yield TaskResult(index, task, 'ok', value, pid=os.getpid(),
                             seconds=time.monotonic() - started)


def _failure(result: TaskResult) -> str:
    if result.status == 'error':
        return result.error
    return f'{result.error}' + (f'; last log lines: {result.log}' if result.log else '')


def _video_entry(video: str, task: VideoTask, value: Optional[dict],
                 error: Optional[str]) -> dict:
    try:
        src_bytes = os.path.getsize(task.src_path)
    except OSError:
        src_bytes = None
    entry = dict(video=video, output=None, status='failed', reason=None, detail=None,
                 error=error, src_bytes=src_bytes, out_bytes=None, seconds=None)
    if value is None:
        return entry
    m = value['manifest']
    out_bytes = sum(f['bytes'] for f in m['files'])
    entry.update(
        output=output_rel_path(video, task.settings.chunked), status=value['status'],
        reason=value['reason'] or None, detail=value['detail'] or None,
        out_bytes=out_bytes, seconds=value['seconds'],
        src_fps=m['source']['fps'], fps=m['fps'],
        src_frames=m['source']['num_frames'], num_frames=m['num_frames'],
        src_size=[m['source']['width'], m['source']['height']],
        size=[m['width'], m['height']], files=len(m['files']),
        chunk_frames=m['chunk_frames'])
    return entry


def reencode_videos(src_root: str, out_root: str, list_paths: Sequence[str],
                    out_lists_dir: str, settings: EncodeSettings,
                    report_path: Optional[str] = None, workers: Optional[int] = None,
                    timeout: float = DEFAULT_TIMEOUT, verify_full: bool = True,
                    progress: bool = True) -> dict:
    """Re-encode every video named in ``list_paths`` and write the rewritten lists.

    Args:
        src_root: folder the lists' video paths are relative to.
        out_root: where outputs go, under the same relative paths (see
            :mod:`.manifest` for the layout).
        list_paths: list files naming the videos; each is rewritten to
            ``out_lists_dir/<its name>``, its paths relative to ``out_root``.
        settings: what to encode.
        report_path: JSON report to write (None: none).
        workers: worker processes. Defaults to min(8, CPUs). 0 runs every
            video in this process, without isolation or timeout (debugging).
        timeout: seconds per video before its worker is killed.
        verify_full: decode every frame of each new output (else first/last).
        progress: a line on stderr per finished video.

    Returns:
        The report (also written to ``report_path``).

    Raises:
        ReencodeError: unusable arguments. ListFormatError: a malformed list
        (names file and line).
    """
    started = time.monotonic()
    workers = default_workers() if workers is None else workers
    out_lists = [osp.join(out_lists_dir, osp.basename(p)) for p in list_paths]
    _check_arguments(src_root, out_root, list_paths, out_lists, workers, timeout)
    videos: Dict[str, None] = {}
    for path in list_paths:  # all lists are parsed before anything is encoded
        for number, seg in read_numbered_list(path):
            if osp.isabs(seg.video) or '..' in seg.video.split('/'):
                raise ReencodeError(
                    f'{path}:{number}: video path {seg.video} must be relative to the '
                    'source root, without "..": its output goes to the same path '
                    'under the output root')
            videos.setdefault(seg.video, None)

    tasks: List[VideoTask] = []
    entries: Dict[str, dict] = {}
    for video in videos:
        task = VideoTask(video, osp.join(src_root, video),
                         osp.join(out_root, output_rel_path(video, settings.chunked)),
                         settings, verify_full)
        if not osp.isfile(task.src_path):
            entries[video] = _video_entry(video, task, None,
                                          f'{task.src_path}: missing file')
            continue
        tasks.append(task)

    if progress and tasks:
        processes = min(workers, len(tasks)) or 'no'
        print(f're-encoding {len(tasks)} videos with {processes} worker processes -> '
              f'{out_root}', file=sys.stderr, flush=True)
    done = 0
    manifests: Dict[str, dict] = {}
    with closing(_run_tasks(tasks, workers, timeout)) as results:
        for result in results:
            task = result.task
            if result.ok:
                entries[task.video] = _video_entry(task.video, task, result.value, None)
                manifests[task.video] = result.value['manifest']
            else:
                entries[task.video] = _video_entry(task.video, task, None,
                                                   _failure(result))
            done += 1
            if progress:
                e = entries[task.video]
                what = (f'{e["status"]}' + (f' ({e["reason"]})' if e['reason'] else '')
                        if e['status'] != 'failed' else f'FAILED: {e["error"]}')
                print(f'[{done}/{len(tasks)}] {task.video}: {what}', file=sys.stderr,
                      flush=True)

    outputs: Dict[str, VideoOutput] = {}
    failures: Dict[str, str] = {}
    for video in videos:
        entry = entries[video]
        if entry['status'] == 'failed':
            failures[video] = entry['error']
            continue
        outputs[video] = VideoOutput.from_manifest(manifests[video], entry['output'])
    lists = [rewrite_list(src, out, outputs, failures)
             for src, out in zip(list_paths, out_lists)]

    ordered = [entries[v] for v in videos]
    status = Counter(e['status'] for e in ordered)
    report = dict(
        arguments=dict(src_root=src_root, out_root=out_root, lists=list(list_paths),
                       out_lists=out_lists, workers=workers, timeout=timeout,
                       verify_full=verify_full, settings=settings.to_dict()),
        counts=dict(
            videos=dict(total=len(ordered), encoded=status['encoded'],
                        kept=status['kept'], failed=status['failed']),
            segments={k: sum(lst['counts'][k] for lst in lists)
                      for k in ('in', 'written', 'changed', 'dropped')}),
        storage=storage_summary(ordered),
        failed_videos=[dict(video=e['video'], error=e['error']) for e in ordered
                       if e['status'] == 'failed'],
        lists=lists,
        videos=ordered,
        benchmark=None,  # loading speed before/after: filled by the tool's --benchmark
        elapsed_s=round(time.monotonic() - started, 3))
    if report_path:
        write_report(report_path, report)
    return report


def write_report(path: str, report: dict) -> None:
    with atomic_write(path) as f:
        json.dump(report, f, indent=1)

