"""The isolated pool (real hangs, crashes) and the probe with each backend
(real broken files, a real open-GOP file on which the backends disagree)."""
import ctypes
import math
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from epic_mmaction.utils.pool import describe_exit, run_isolated
from epic_mmaction.cleaning.probe import (ProbeTask, clean_message, file_problem,
                                          frames_to_ranges, merge_ranges,
                                          probe_video)
from epic_mmaction.utils.errors import VideoReadError
from epic_mmaction.video import open_video_reader

from .conftest import SEND_PACKET_ERROR


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


@pytest.mark.parametrize('backend', ['pyav', 'decord', 'both'])
def test_probe_good_video_in_process(corpus, backend):
    rel, plan = next(iter(corpus.good.items()))
    record = probe_video(ProbeTask(osp.join(corpus.root, rel), ((0, 0), (10, 12)),
                                   backend))
    assert record['ok'], record
    assert record['backend'] == backend and record['mismatch'] is None
    assert record['num_frames'] == plan.num_frames
    assert record['fps'] == pytest.approx(float(plan.fps))
    # 0, 10..12 and the last frame
    assert record['checked_frames'] == 5
    assert record['bad_frames'] == [] and record['reason'] is None


@pytest.fixture(scope='module', params=['pyav', 'decord'])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope='module')
def probed(corpus, backend):
    """Every file of the corpus probed by the real probe in pool workers."""
    rels = (list(corpus.good) + list(corpus.broken) +
            [corpus.no_frames, corpus.last_frame_broken, corpus.one_frame_short,
             corpus.damaged_middle])
    last = corpus.source.events[-1]
    frames = ((0, 0), (135, 135), (last.start, last.start), (478, 478))
    tasks = [ProbeTask(osp.join(corpus.root, rel), frames, backend) for rel in rels]
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


def test_probe_truncated_inside_last_packet(probed, corpus, backend):
    # decord opens it and counts every frame; decoding the last one fails.
    # PyAV's frame index leaves the cut packet out (the reader then has one
    # frame less, all readable), or, with a reader that counts it, the last
    # frame fails as in decord
    record = probed[corpus.last_frame_broken]
    n = corpus.source.num_frames
    assert record['ok'] and record['backend'] == backend
    if backend == 'pyav' and record['num_frames'] == n - 1:
        assert record['bad_frames'] == [] and record['frame_error'] is None
        return
    assert record['num_frames'] == n
    assert any(a <= n - 1 <= b for a, b in record['bad_frames']), record
    assert SEND_PACKET_ERROR[backend] in record['frame_error']
    # the first GOP never reads the damaged packet
    assert all(a >= 250 for a, _ in record['bad_frames']), record


def test_probe_cut_between_packets(probed, corpus, backend):
    # decord silently opens it with the frames that are there, PyAV with the
    # frames its index declares; the packets in the file are one short of the
    # index, so the probe calls it truncated
    record = probed[corpus.one_frame_short]
    n = corpus.source.num_frames
    assert not record['ok'] and record['bad_frames'] == []
    # decord counts the packets it finds; PyAV by its frame index (the packets
    # a decode outputs), or with an older reader by the container's count
    assert record['num_frames'] in ((n - 1, ) if backend == 'decord' else (n - 1, n))
    assert record['declared_frames'] == n and record['packets'] == n - 1
    assert record['reason'] == (f'truncated: the container declares {n} frames, '
                                f'the file holds {n - 1}')


def test_backends_disagree_on_open_gop_file(open_gop_root):
    """The file really makes decord return other frames after a seek ..."""
    import decord
    from epic_mmaction.synthetic.framecode import read_frame_codes
    path = osp.join(open_gop_root, 'odd/open_gop.MP4')
    wanted = [29, 30, 31, 120, 150, 151]
    pyav_codes = read_frame_codes(open_video_reader(path, 'pyav').get_batch(
        wanted).asnumpy())
    assert pyav_codes.tolist() == wanted
    decord_codes = read_frame_codes(
        decord.VideoReader(path, num_threads=1).get_batch(wanted).asnumpy())
    assert decord_codes.tolist() != wanted


def test_probe_both_flags_frames_that_differ(open_gop_root):
    """... and the probe with 'both' lists where, while each alone passes it."""
    path = osp.join(open_gop_root, 'odd/open_gop.MP4')
    frames = ((29, 31), (120, 120), (150, 151))
    results = run_isolated(probe_video, [ProbeTask(path, frames, b)
                                         for b in ('pyav', 'decord', 'both')],
                           workers=2, timeout=60)
    pyav, decord_, both = [r.value for r in results]
    for record in (pyav, decord_):
        assert record['ok'] and record['mismatch'] is None, record
    assert both['ok'] and both['backend'] == 'both'
    differ = [f for a, b in both['mismatch']['frames'] for f in range(a, b + 1)]
    assert differ and set(differ) <= {29, 30, 31, 120, 150, 151}
    assert 'num_frames' not in both['mismatch']


def test_probe_both_flags_frame_counts_that_differ(open_gop_root):
    """Behind an edit list PyAV counts the 190 frames a decode outputs, decord
    all 200 packets: 'both' judges by the smaller count and says so."""
    path = osp.join(open_gop_root, 'odd/edit_list.MP4')
    (result, ) = run_isolated(probe_video, [ProbeTask(path, ((0, 5), ), 'both')],
                              workers=1, timeout=60)
    record = result.value
    assert record['ok'] and record['num_frames'] == 190, record
    assert record['mismatch']['num_frames'] == {'pyav': 190, 'decord': 200}
    # the container declares 200 frames and holds 200 packets: not truncated
    assert (record['declared_frames'], record['packets']) == (200, 200)


def test_pyav_retry_after_a_failed_batch(corpus):
    """A failed PyAV batch leaves a reader that cannot go on; the probe
    retries each frame on a fresh one, so it flags exactly the frames that
    fail when read alone (from the damaged packet on, not those before it)."""
    path = osp.join(corpus.root, corpus.damaged_middle)
    wanted = list(range(160, 190))  # the damage is at frame ~170 of GOP 0..249
    with pytest.raises(VideoReadError):
        open_video_reader(path, 'pyav').get_batch(wanted)
    failing = []
    for frame in wanted:
        try:
            open_video_reader(path, 'pyav').get_batch([frame])
        except VideoReadError:
            failing.append(frame)
    assert failing and failing[0] > wanted[0], failing
    record = probe_video(ProbeTask(path, ((wanted[0], wanted[-1]), ), 'pyav'))
    assert record['ok']
    last = corpus.source.num_frames - 1  # always checked too, and fine
    assert record['bad_frames'] == [list(r) for r in frames_to_ranges(failing)]
    assert record['checked_frames'] == len(wanted) + 1 and last not in failing


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> list:
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG')
@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGKILL])
def test_workers_die_with_a_killed_parent(sig):
    """A cleaner killed by SLURM (SIGTERM, then SIGKILL) leaves no worker
    decoding on as an orphan, even one in the middle of a task."""
    script = ('import time\nfrom epic_mmaction.utils.pool import run_isolated\n'
              'run_isolated(time.sleep, [600, 600], workers=2, timeout=900)\n')
    parent = subprocess.Popen([sys.executable, '-c', script])
    try:
        deadline = time.monotonic() + 60
        while len(_children(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(parent.pid)
        assert len(workers) >= 2, 'the pool did not start its workers'
        time.sleep(2)  # the workers start their 600 s tasks
        parent.send_signal(sig)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_running(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _running(w)], 'orphaned pool workers'
    finally:
        parent.kill()
        parent.wait()
        for w in _children(parent.pid):
            os.kill(w, signal.SIGKILL)
