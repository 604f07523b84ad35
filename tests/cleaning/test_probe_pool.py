"""The isolated pool (real hangs, crashes) and the decord probe (real broken files)."""
import ctypes
import math
import os
import os.path as osp
import sys
import time

import pytest

from epic_mmaction.utils.pool import describe_exit, run_isolated
from epic_mmaction.cleaning.probe import (ProbeTask, clean_message, file_problem,
                                          frames_to_ranges, merge_ranges,
                                          probe_video)


def faulty(how: str) -> str:
    """Runs in a pool worker: really hang, crash or raise, or just return."""
    sys.stderr.write(f'about to {how}\n')
    sys.stderr.flush()
    if how == 'hang':
        time.sleep(1e6)
    if how == 'abort':
        os.abort()
    if how == 'segv':
        ctypes.string_at(0)  # read address 0: a real segmentation fault
    if how == 'exit3':
        os._exit(3)
    if how == 'raise':
        math.sqrt(-1)
    return how


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_merge_ranges():
    assert merge_ranges([(5, 9), (0, 2), (3, 4), (20, 20)]) == [(0, 9), (20, 20)]
    assert merge_ranges([(0, 10), (2, 3)]) == [(0, 10)]
    assert frames_to_ranges([7, 1, 2, 3, 9]) == [(1, 3), (7, 7), (9, 9)]


def test_describe_exit_and_clean_message():
    assert describe_exit(-6) == 'crashed (signal SIGABRT)'
    assert describe_exit(3) == 'crashed (exit code 3)'
    message = ('[11:05:58] /src/a.cc:292: [11:05:58] /src/b.cc:218: '
               'Check failed: x\nStack trace:\n  [bt] (0)')
    assert clean_message(message) == 'Check failed: x'


@pytest.fixture(scope='module')
def faulty_run():
    """One pool run where tasks hang, crash in three ways and raise."""
    tasks = ['fine', 'hang', 'abort', 'fine', 'segv', 'raise', 'exit3', 'fine']
    start = time.monotonic()
    results = run_isolated(faulty, tasks, workers=2, timeout=2)
    return results, time.monotonic() - start


def test_pool_returns_values_in_task_order(faulty_run):
    results, _ = faulty_run
    assert [r.index for r in results] == list(range(8))
    assert [r.value for r in results if r.ok] == ['fine'] * 3


def test_pool_reports_exceptions(faulty_run):
    results, _ = faulty_run
    assert results[5].status == 'error'
    assert results[5].error == 'ValueError: math domain error'


def test_pool_kills_a_hanging_task(faulty_run):
    results, elapsed = faulty_run
    assert elapsed < 60  # not 1e6 seconds
    assert results[1].status == 'timeout'
    assert results[1].error == 'timeout after 2s'
    assert results[1].seconds >= 2
    assert not _alive(results[1].pid), 'the hanging worker must be killed'


def test_pool_survives_crashing_workers(faulty_run):
    results, _ = faulty_run
    assert results[2].status == 'crash'
    assert results[2].error == 'crashed (signal SIGABRT)'
    assert results[4].error == 'crashed (signal SIGSEGV)'
    assert results[6].error == 'crashed (exit code 3)'
    # what the worker wrote to stderr before dying comes back with the result
    assert 'about to abort' in results[2].log
    # every failure took its worker with it
    assert len({r.pid for r in results if r.status in ('timeout', 'crash')}) == 4


def test_file_problem(corpus):
    root = corpus.root
    assert file_problem(osp.join(root, 'broken/missing.MP4')) == 'missing file'
    assert file_problem(osp.join(root, 'broken/dir.MP4')).startswith('not a regular')
    assert file_problem(osp.join(root, 'broken/empty.MP4')).startswith('empty file')
    assert file_problem(osp.join(root, 'good/P01_01.MP4')) is None


def test_probe_good_video_in_process(corpus):
    rel, plan = next(iter(corpus.good.items()))
    record = probe_video(ProbeTask(osp.join(corpus.root, rel), ((0, 0), (10, 12))))
    assert record['ok'], record
    assert record['num_frames'] == plan.num_frames
    assert record['fps'] == pytest.approx(float(plan.fps))
    # 0, 10..12 and the last frame
    assert record['checked_frames'] == 5
    assert record['bad_frames'] == [] and record['reason'] is None


@pytest.fixture(scope='module')
def probed(corpus):
    """Every file of the corpus probed by the real probe in pool workers."""
    rels = (list(corpus.good) + list(corpus.broken) +
            [corpus.no_frames, corpus.last_frame_broken, corpus.one_frame_short,
             corpus.damaged_middle])
    last = corpus.source.events[-1]
    frames = ((0, 0), (135, 135), (last.start, last.start), (478, 478))
    tasks = [ProbeTask(osp.join(corpus.root, rel), frames) for rel in rels]
    results = run_isolated(probe_video, tasks, workers=2, timeout=60)
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return {rel: r.value for rel, r in zip(rels, results)}


def test_probe_good_videos(corpus, probed):
    for rel, plan in corpus.good.items():
        record = probed[rel]
        assert record['ok'], record
        assert record['num_frames'] == plan.num_frames
        assert record['fps'] == pytest.approx(float(plan.fps))
        assert record['bad_frames'] == []


def test_probe_flags_every_broken_file(corpus, probed):
    wrong = {rel: probed[rel] for rel, phrase in corpus.broken.items()
             if probed[rel]['ok'] or not corpus.reason_matches(rel, probed[rel]['reason'])}
    assert not wrong
    for rel in corpus.broken:
        assert '\n' not in probed[rel]['reason']


def test_probe_video_stream_without_frames(corpus, probed):
    record = probed[corpus.no_frames]
    assert not record['ok']
    assert record['reason'].startswith(('no video stream', 'no frames')), record


def test_probe_truncated_inside_last_packet(probed, corpus):
    # decord opens it and counts every frame; decoding the last one fails
    record = probed[corpus.last_frame_broken]
    assert record['ok'] and record['num_frames'] == corpus.source.num_frames
    last = corpus.source.num_frames - 1
    assert any(a <= last <= b for a, b in record['bad_frames']), record
    assert 'Error sending packet' in record['frame_error']
    # the first GOP never reads the damaged packet
    assert all(a >= 250 for a, _ in record['bad_frames']), record


def test_probe_cut_between_packets(probed, corpus):
    # decord silently opens it with the frames that are there; the index
    # still declares them all, so the probe calls it truncated
    record = probed[corpus.one_frame_short]
    assert not record['ok'] and record['bad_frames'] == []
    assert record['num_frames'] == corpus.source.num_frames - 1
    assert record['declared_frames'] == corpus.source.num_frames
    assert record['reason'].startswith('truncated')
