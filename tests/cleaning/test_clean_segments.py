"""clean_segments and tools/clean_segments.py on real good and broken videos."""
import importlib.util
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import pytest

from epic_mmaction.annotations.listfile import Segment, read_list, write_list
from epic_mmaction.cleaning.cleaner import CleanerError, clean_segments
from epic_mmaction.cleaning.probe import ProbeTask, probe_video

from .conftest import SEND_PACKET_ERROR

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'clean_segments.py')


def hang_or_abort(task: ProbeTask) -> dict:
    """A probe that really hangs on P02_101 and really aborts on the faststart copy."""
    if 'P02_101' in task.path:
        time.sleep(1e6)
    if 'faststart' in task.path:
        os.abort()
    return probe_video(task)


def _run_tool(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.Popen([sys.executable, TOOL, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _load_tool():
    """tools/clean_segments.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location('clean_segments_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dropped(report: dict) -> dict:
    return {d['narration_id']: d for d in report['dropped_segments']}


@pytest.fixture(scope='module')
def segments(corpus):
    """Good segments, one past the end and one starting past it, 2 per broken file."""
    segs = corpus.good_segments()
    n = corpus.source.num_frames
    segs += [Segment('good/P01_01.MP4', n - 50, n + 100, 1, 2, 'past_end'),
             Segment('good/P01_01.MP4', n + 10, n + 20, 1, 2, 'starts_past_end')]
    broken = list(corpus.broken) + [corpus.no_frames, corpus.last_frame_broken,
                                    corpus.one_frame_short]
    for k, rel in enumerate(broken):
        segs += corpus.first_and_last(rel, f'B{k:02d}')
    return segs


@pytest.fixture(scope='module')
def cleaned(corpus, segments, tmp_path_factory):
    """One run of the library function over everything; its report and paths."""
    out = tmp_path_factory.mktemp('cleaned')
    write_list(str(out / 'list.txt'), segments)
    report = clean_segments(str(out / 'list.txt'), corpus.root, str(out / 'clean.txt'),
                            str(out / 'report.json'), workers=2, timeout=60,
                            cache_path=None, progress=False)
    return report, out


def test_every_bad_video_flagged_with_reason(corpus, cleaned):
    report, _ = cleaned
    bad = {b['video']: b['reason'] for b in report['bad_videos']}
    assert set(bad) == set(corpus.broken) | {corpus.no_frames, corpus.one_frame_short}
    for rel, phrase in corpus.broken.items():
        assert corpus.reason_matches(rel, bad[rel]), (rel, bad[rel])
    assert bad[corpus.one_frame_short].startswith('truncated: the container declares')


def test_no_good_segment_dropped(corpus, cleaned):
    report, out = cleaned
    good = corpus.good_segments()
    kept = read_list(str(out / 'clean.txt'))
    assert kept[:len(good)] == good
    assert not any(d['video'] in corpus.good and d['narration_id'] in
                   {s.narration_id for s in good} for d in report['dropped_segments'])


def test_segments_of_partly_broken_videos(corpus, cleaned):
    report, out = cleaned
    kept = {s.narration_id: s for s in read_list(str(out / 'clean.txt'))}
    dropped = _dropped(report)
    tags = {s.video: s.narration_id.split('_')[0]
            for s in read_list(str(out / 'list.txt'))}
    # cut inside the last packet: the first event is fine; the last one is
    # dropped, because its last frame fails or (PyAV's frame index leaves the
    # cut packet out) because it reaches past the frames the reader has
    tag = tags[corpus.last_frame_broken]
    assert f'{tag}_first' in kept
    last = dropped[f'{tag}_last']
    if last['reason'] == 'undecodable_frames':
        assert SEND_PACKET_ERROR['pyav'] in last['detail']
    else:
        assert last['reason'] == 'out_of_range', last
    # cut before the last packet: truncated, the whole video goes
    tag = tags[corpus.one_frame_short]
    assert dropped[f'{tag}_first']['reason'] == 'bad_video'
    assert dropped[f'{tag}_last']['reason'] == 'bad_video'
    with_bad = {v['video'] for v in report['videos_with_bad_frames']}
    assert with_bad == ({corpus.last_frame_broken}
                        if last['reason'] == 'undecodable_frames' else set())


def test_out_of_range_dropped(cleaned):
    report, out = cleaned
    dropped = _dropped(report)
    assert dropped['past_end']['reason'] == 'out_of_range'
    assert dropped['starts_past_end']['reason'] == 'out_of_range'
    assert report['clamped_segments'] == []


def test_report_counts_and_file(corpus, segments, cleaned):
    report, out = cleaned
    with open(out / 'report.json') as f:
        assert json.load(f) == report
    counts = report['counts']
    seg_counts = counts['segments']
    assert seg_counts['in'] == len(segments)
    assert seg_counts['kept'] == len(read_list(str(out / 'clean.txt')))
    assert seg_counts['kept'] + seg_counts['dropped'] == seg_counts['in']
    assert sum(seg_counts['dropped_by_reason'].values()) == seg_counts['dropped']
    assert seg_counts['dropped_by_reason']['bad_video'] == 2 * len(report['bad_videos'])
    videos = counts['videos']
    assert videos['total'] == len(corpus.good) + len(corpus.broken) + 3
    assert videos['ok'] + videos['bad'] == videos['total']
    assert videos['cached'] == 0
    # missing, directory and empty files are settled without starting decord
    assert videos['probed'] == videos['total'] - 3
    assert report['arguments']['workers'] == 2 and report['elapsed_s'] > 0


def test_hang_and_crash_cost_one_video_each(corpus, tmp_path):
    segs = corpus.good_segments()
    write_list(str(tmp_path / 'list.txt'), segs)
    start = time.monotonic()
    report = clean_segments(str(tmp_path / 'list.txt'), corpus.root,
                            str(tmp_path / 'clean.txt'), str(tmp_path / 'report.json'),
                            workers=2, timeout=3, cache_path=None, progress=False,
                            probe_fn=hang_or_abort)
    assert time.monotonic() - start < 60
    bad = {b['video']: b['reason'] for b in report['bad_videos']}
    assert bad == {'good/P02_101.MP4': 'timeout after 3s',
                   'good/P01_01_faststart.MP4': 'crashed (signal SIGABRT)'}
    kept = read_list(str(tmp_path / 'clean.txt'))
    assert kept == [s for s in segs if s.video == 'good/P01_01.MP4']


def test_cache_reused_and_invalidated(corpus, tmp_path):
    root = tmp_path / 'root'
    copies = {rel: rel for rel in corpus.good}
    copies['copy/P01_01.MP4'] = 'good/P01_01.MP4'
    for dst, src in copies.items():
        os.makedirs(root / osp.dirname(dst), exist_ok=True)
        shutil.copyfile(osp.join(corpus.root, src), root / dst)
    segs = corpus.good_segments() + [Segment('copy/P01_01.MP4', 0, 9, 1, 2, 'copy')]
    write_list(str(tmp_path / 'list.txt'), segs)
    cache = str(tmp_path / 'cache.json')

    def run() -> dict:
        return clean_segments(str(tmp_path / 'list.txt'), str(root),
                              str(tmp_path / 'clean.txt'), str(tmp_path / 'r.json'),
                              workers=1, timeout=60, cache_path=cache, progress=False)

    first = run()['counts']['videos']
    assert (first['probed'], first['cached']) == (4, 0)
    start = time.monotonic()
    second = run()
    assert (second['counts']['videos']['probed'],
            second['counts']['videos']['cached']) == (0, 4)
    assert all(v['cached'] for v in second['videos'].values())
    assert time.monotonic() - start < 5  # no worker started at all
    assert read_list(str(tmp_path / 'clean.txt')) == segs

    # touch one file, break another, check other frames of a third: all three
    # are probed again, the fourth comes from the cache
    touched = root / 'good/P01_01.MP4'
    st = os.stat(touched)
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    replaced = root / 'good/P02_101.MP4'
    replaced.write_bytes(replaced.read_bytes()[:1000])
    write_list(str(tmp_path / 'list.txt'),
               segs + [Segment('good/P01_01_faststart.MP4', 3, 7, 1, 2, 'new')])
    third = run()
    assert (third['counts']['videos']['probed'],
            third['counts']['videos']['cached']) == (3, 1)
    assert third['videos']['copy/P01_01.MP4']['cached']
    assert [b['video'] for b in third['bad_videos']] == ['good/P02_101.MP4']


def test_full_decode_finds_damage_inside_segments(corpus, tmp_path):
    # every event of the damaged video, annotated or not, covering all frames
    rel = corpus.damaged_middle
    segs = [Segment(rel, e.start, e.stop, e.verb, e.noun, f'D_{k}')
            for k, e in enumerate(corpus.source.events)]
    write_list(str(tmp_path / 'list.txt'), segs)
    report = clean_segments(str(tmp_path / 'list.txt'), corpus.root,
                            str(tmp_path / 'clean.txt'), str(tmp_path / 'report.json'),
                            workers=1, timeout=60, full=True, cache_path=None,
                            progress=False)
    assert report['bad_videos'] == []
    video = report['videos'][rel]
    assert video['checked_frames'] == corpus.source.num_frames
    dropped = _dropped(report)
    assert dropped and {d['reason'] for d in dropped.values()} == {'undecodable_frames'}
    # the damage is inside the first GOP (frames 0..249): the second never sees it
    kept = read_list(str(tmp_path / 'clean.txt'))
    assert [s for s in segs if s.start >= 250] == [s for s in kept if s.start >= 250]
    assert any(s.start < 250 for s in segs if s.narration_id in dropped)


def test_cli_clamps_and_reports(corpus, segments, tmp_path):
    write_list(str(tmp_path / 'list.txt'), segments)
    proc = _run_tool(str(tmp_path / 'list.txt'), '--data-root', corpus.root,
                     '--out', str(tmp_path / 'clean.txt'), '--report',
                     str(tmp_path / 'report.json'), '--workers', '1', '--clamp')
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert 'kept' in stdout and str(tmp_path / 'clean.txt') in stdout
    # not a terminal: a line per 5% at most, no carriage-return spam
    progress = [line for line in stderr.splitlines() if line.startswith('probed')]
    assert 1 <= len(progress) <= 20 and '\r' not in stderr
    report = json.loads((tmp_path / 'report.json').read_text())
    n = corpus.source.num_frames
    clamped = {c['narration_id']: c for c in report['clamped_segments']}
    assert clamped['past_end'] == dict(
        narration_id='past_end', video='good/P01_01.MP4', start=n - 50, stop=n + 100,
        clamped_stop=n - 1, num_frames=n)
    # the truncated video (one frame short of its index) is dropped, not
    # clamped; the one cut inside its last packet may be clamped by a frame
    short = [s for s in segments if s.video == corpus.one_frame_short][-1]
    assert short.narration_id not in clamped
    assert {c['video'] for c in clamped.values()} <= {'good/P01_01.MP4',
                                                      corpus.last_frame_broken}
    kept = {s.narration_id: s for s in read_list(str(tmp_path / 'clean.txt'))}
    assert kept['past_end'].stop == n - 1 and short.narration_id not in kept
    assert _dropped(report)['starts_past_end']['reason'] == 'out_of_range'
    # the default cache sits beside the clean list
    assert osp.exists(str(tmp_path / 'clean.txt') + '.probe-cache.json')


def test_cli_unusable_arguments(corpus, tmp_path):
    bad_list = tmp_path / 'bad.txt'
    bad_list.write_text('good/P01_01.MP4 0 10 1 2 P01_01_0\n# a comment\n'
                        'good/P01_01.MP4 0 ten 1 2 x\n')
    out = ['--out', str(tmp_path / 'o.txt'), '--report', str(tmp_path / 'r.json')]
    cases = {  # both run at once: each pays the interpreter's start-up
        'missing list': (_run_tool(str(tmp_path / 'nope.txt'), '--data-root',
                                   corpus.root, *out), str(tmp_path / 'nope.txt')),
        'malformed list': (_run_tool(str(bad_list), '--data-root', corpus.root, *out),
                           f'{bad_list}:3'),
    }
    for name, (proc, names) in cases.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, stderr)
        assert 'Traceback' not in stderr, name
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('clean_segments.py: error: ')
        assert names in lines[0], (name, lines[0])
    assert not osp.exists(tmp_path / 'o.txt') and not osp.exists(tmp_path / 'r.json')


def test_main_missing_data_root(tmp_path, capsys):
    clean_tool = _load_tool()
    (tmp_path / 'ok.txt').write_text('good/P01_01.MP4 0 10 1 2 P01_01_0\n')
    code = clean_tool.main([str(tmp_path / 'ok.txt'), '--data-root',
                            str(tmp_path / 'no_root'), '--out', str(tmp_path / 'o.txt'),
                            '--report', str(tmp_path / 'r.json')])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('clean_segments.py: error: data root ')
    assert str(tmp_path / 'no_root') in err and '\n' not in err


def _one_error_line(proc: subprocess.Popen) -> str:
    """The single 'clean_segments.py: error:' line of a failed run (exit 2)."""
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert 'Traceback' not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('clean_segments.py: error: '), stderr
    return lines[0]


def test_cli_refuses_wrong_data_root_and_empty_list(corpus, tmp_path):
    """A root one level too high (every video missing) and an empty list
    stop before probing, naming the root, an expected path and the fix."""
    segs = corpus.good_segments()
    write_list(str(tmp_path / 'list.txt'), segs)
    (tmp_path / 'empty.txt').write_text('# nothing but a comment\n')
    too_high = osp.dirname(corpus.root)
    outs = {name: ['--out', str(tmp_path / f'{name}.txt'), '--report',
                   str(tmp_path / f'{name}.json')] for name in ('high', 'empty')}
    high = _run_tool(str(tmp_path / 'list.txt'), '--data-root', too_high,
                     *outs['high'])
    empty = _run_tool(str(tmp_path / 'empty.txt'), '--data-root', corpus.root,
                      *outs['empty'])
    line = _one_error_line(high)
    expected = osp.join(too_high, segs[0].video)
    assert f'{len(segs)} of {len(segs)} segments' in line
    assert f'data root {too_high} ' in line and expected in line
    # the folder below holds the video: the message says which to pass
    assert f'pass --data-root {corpus.root},' in line, line
    assert '--allow-missing' in line
    line = _one_error_line(empty)
    assert str(tmp_path / 'empty.txt') in line  # whoever refuses it: list or cleaner
    # nothing written: no list, no report, no cache
    assert sorted(os.listdir(tmp_path)) == ['empty.txt', 'list.txt']


def test_allow_missing_drops_them(corpus, tmp_path):
    """Most videos missing but asked for: dropped and reported as usual; a
    few missing videos (under the limit) need no flag."""
    good = [s for s in corpus.good_segments() if s.video == 'good/P01_01.MP4'][:2]
    missing = [Segment(f'gone/P09_{k:02d}.MP4', 0, 10, 1, 2, f'gone_{k}')
               for k in range(3)]
    write_list(str(tmp_path / 'list.txt'), good + missing)
    kwargs = dict(workers=1, timeout=60, cache_path=None, progress=False)
    with pytest.raises(CleanerError, match='3 of 5 segments'):
        clean_segments(str(tmp_path / 'list.txt'), corpus.root,
                       str(tmp_path / 'clean.txt'), str(tmp_path / 'r.json'), **kwargs)
    assert not osp.exists(tmp_path / 'clean.txt')
    report = clean_segments(str(tmp_path / 'list.txt'), corpus.root,
                            str(tmp_path / 'clean.txt'), str(tmp_path / 'r.json'),
                            allow_missing=True, **kwargs)
    assert read_list(str(tmp_path / 'clean.txt')) == good
    assert {d['narration_id']: d['detail'] for d in report['dropped_segments']} == {
        f'gone_{k}': 'missing file' for k in range(3)}
    assert report['arguments']['allow_missing'] is True
    write_list(str(tmp_path / 'few.txt'), good + missing[:2])  # 2 of 4: not most
    report = clean_segments(str(tmp_path / 'few.txt'), corpus.root,
                            str(tmp_path / 'clean.txt'), str(tmp_path / 'r.json'),
                            **kwargs)
    assert report['counts']['segments']['kept'] == 2


def test_cache_keyed_on_backend(corpus, tmp_path):
    """A record judged by one backend is not reused for another."""
    segs = [s for s in corpus.good_segments() if s.video == 'good/P02_101.MP4']
    write_list(str(tmp_path / 'list.txt'), segs)
    cache = str(tmp_path / 'cache.json')

    def run(backend: str) -> dict:
        return clean_segments(str(tmp_path / 'list.txt'), corpus.root,
                              str(tmp_path / 'clean.txt'), str(tmp_path / 'r.json'),
                              workers=1, timeout=60, cache_path=cache,
                              progress=False, backend=backend)

    counts = []
    for backend in ('pyav', 'decord', 'pyav', 'decord'):
        report = run(backend)
        video = report['videos']['good/P02_101.MP4']
        assert video['backend'] == backend and report['arguments']['backend'] == backend
        counts.append((report['counts']['videos']['probed'],
                       report['counts']['videos']['cached']))
    assert counts == [(1, 0), (1, 0), (0, 1), (0, 1)]


def test_cli_backend_both_reports_frame_mismatch(open_gop_root, tmp_path):
    """--backend both keeps the open-GOP file's segments (each backend reads
    them) and lists the frames on which decord differs from PyAV."""
    segs = [Segment('odd/open_gop.MP4', a, b, 1, 2, f'g_{a}')
            for a, b in ((29, 45), (120, 140), (150, 170))]
    write_list(str(tmp_path / 'list.txt'), segs)
    proc = _run_tool(str(tmp_path / 'list.txt'), '--data-root', open_gop_root,
                     '--out', str(tmp_path / 'clean.txt'), '--report',
                     str(tmp_path / 'report.json'), '--workers', '1',
                     '--backend', 'both', '--no-cache', '--quiet')
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert '1 video(s) where pyav and decord return different frames' in stdout
    report = json.loads((tmp_path / 'report.json').read_text())
    assert read_list(str(tmp_path / 'clean.txt')) == segs
    (entry, ) = report['videos_with_frame_mismatch']
    assert entry['video'] == 'odd/open_gop.MP4' and entry['frames']
    assert report['videos']['odd/open_gop.MP4']['backend'] == 'both'
    assert report['counts']['videos']['frame_mismatch'] == 1
