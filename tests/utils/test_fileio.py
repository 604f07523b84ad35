"""Atomic single and grouped writes, with real processes killed mid-write."""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest

from epic_mmaction.utils.fileio import (atomic_outputs, atomic_write,
                                        remove_stale_temps)

# a writer that fills its temporaries, says so, then waits to be killed
_WRITER = textwrap.dedent('''
    import sys, time
    from epic_mmaction.utils.fileio import atomic_outputs
    with atomic_outputs(sys.argv[1:]) as temps:
        for tmp in temps:
            with open(tmp, 'w') as f:
                f.write('new')
        print('written', flush=True)
        time.sleep(60)
''')


def _listing(directory):
    return sorted(os.listdir(directory))


def _start_writer(paths):
    proc = subprocess.Popen([sys.executable, '-c', _WRITER, *paths],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'written'
    return proc


def test_atomic_write_replaces_and_leaves_nothing_else(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('old')
    with atomic_write(str(path)) as f:
        f.write('new')
    assert path.read_text() == 'new'
    assert _listing(tmp_path) == ['list.txt']
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_atomic_write_keeps_target_on_error(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_write(str(path)) as f:
            f.write('half')
            raise RuntimeError('bug')
    assert path.read_text() == 'old'
    assert _listing(tmp_path) == ['list.txt']


def test_group_appears_together(tmp_path):
    a, b = tmp_path / 'submission.pt', tmp_path / 'test.zip'
    a.write_text('old')
    b.write_text('old')
    with atomic_outputs([str(a), str(b)]) as (ta, tb):
        for tmp in (ta, tb):
            with open(tmp, 'w') as f:
                f.write('new')
        # nothing replaced before the block ends
        assert a.read_text() == b.read_text() == 'old'
    assert a.read_text() == b.read_text() == 'new'
    assert _listing(tmp_path) == ['submission.pt', 'test.zip']


def test_group_error_changes_nothing(tmp_path):
    a, b = tmp_path / 'a.txt', tmp_path / 'b.txt'
    a.write_text('old')
    with pytest.raises(KeyboardInterrupt):
        with atomic_outputs([str(a), str(b)]) as (ta, _):
            with open(ta, 'w') as f:
                f.write('new')
            raise KeyboardInterrupt
    assert a.read_text() == 'old' and not b.exists()
    assert _listing(tmp_path) == ['a.txt']


def test_group_refuses_the_same_path_twice(tmp_path):
    with pytest.raises(ValueError, match='same path twice'):
        with atomic_outputs([str(tmp_path / 'a'), str(tmp_path / 'a')]):
            pass


@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM])
def test_killed_writer_keeps_old_set_and_next_write_cleans_up(tmp_path, sig):
    a, b = tmp_path / 'submission.pt', tmp_path / 'test.zip'
    a.write_text('old')
    b.write_text('old')
    proc = _start_writer([str(a), str(b)])
    temps = [n for n in _listing(tmp_path) if n.endswith('.tmp')]
    assert len(temps) == 2
    assert remove_stale_temps(str(a)) == []  # its writer still runs
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert a.read_text() == b.read_text() == 'old'
    with atomic_outputs([str(a), str(b)]) as (ta, tb):
        for tmp in (ta, tb):
            with open(tmp, 'w') as f:
                f.write('rerun')
    assert _listing(tmp_path) == ['submission.pt', 'test.zip']
    assert a.read_text() == b.read_text() == 'rerun'


def test_stale_temps_of_other_hosts_go_only_when_old(tmp_path):
    path = tmp_path / 'test.zip'
    other = tmp_path / '.test.zip.otherhost-12345.abcd1234.tmp'
    legacy = tmp_path / '.test.zip.k2j3h4g5.tmp'  # before writers were named
    unrelated = tmp_path / '.test.zip.notes'
    for p in (other, legacy, unrelated):
        p.write_text('x')
    assert remove_stale_temps(str(path)) == []
    old = 2 * 3600
    for p in (other, legacy):
        st = p.stat()
        os.utime(p, (st.st_atime - old, st.st_mtime - old))
    assert sorted(map(osp.basename, remove_stale_temps(str(path)))) == sorted(
        [other.name, legacy.name])
    assert _listing(tmp_path) == [unrelated.name]
