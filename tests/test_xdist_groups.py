"""`make test`'s ``--dist loadgroup`` keeps an ``xdist_group`` in one worker.

The gpu_check tests share one tiny data set, the SLURM DDP tests one DDP
job: split over workers they would build them twice. pytest 9.2 silently broke the grouping
(pytest-xdist#1386), hence this check in a real two-worker run.
"""
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('xdist')

PROBE = textwrap.dedent('''
    import os

    import pytest


    @pytest.mark.xdist_group('one')
    @pytest.mark.parametrize('i', range(4))
    def test_grouped(i):
        with open(os.environ['GROUP_LOG'], 'a') as f:
            f.write(os.environ['PYTEST_XDIST_WORKER'] + '\\n')


    @pytest.mark.parametrize('i', range(4))
    def test_free(i):
        pass
''')


def test_a_group_runs_in_one_worker(tmp_path):
    (tmp_path / 'test_probe.py').write_text(PROBE)
    log = tmp_path / 'workers.txt'
    out = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-n', '2', '--dist',
                          'loadgroup', '-p', 'no:cacheprovider', str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={'GROUP_LOG': str(log), 'PATH': '/usr/bin:/bin'})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    workers = log.read_text().split()
    assert len(workers) == 4 and len(set(workers)) == 1, workers
