"""tools/gpu_check.py --tiny: every step on CPU, through the real command.

The module's fixture runs the env and data steps once; each slow test runs one
more step in its own work dir on those videos (the data folder linked in), so
no single test trains everything. The train step runs on two configs, not all
seven (TRAIN_SUBSET: tests/configs/test_all_configs.py trains every config
already); the whole `make gpu-check ARGS=--tiny` is run by hand (docs/gpu_check.md
gives its time) and through make here with `--steps env`. Times are not asserted:
the budgets are the command's own business, and a failing budget is tested
through the report. The slow tests share the `gpu_check` xdist group.
"""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

import pytest
from mmengine.config import Config

from ..conftest import REPO

TOOLS = osp.join(REPO, 'tools')
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

from benchmark.gpu_check.profile import (EPIC_CONFIGS, STEPS, customised,  # noqa: E402
                                         full_profile, parse_budgets, parse_steps,
                                         tiny_profile)
from benchmark.gpu_check.proc import first_error_line, run_logged  # noqa: E402
from benchmark.gpu_check.report import render_markdown, write_report  # noqa: E402
from epic_mmaction.utils import UsageError  # noqa: E402

GROUP = pytest.mark.xdist_group('gpu_check')
X3D = 'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py'


def gpu_check(*args, timeout=900):
    return subprocess.run([sys.executable, osp.join(TOOLS, 'gpu_check.py'), *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})


def report_of(work) -> dict:
    with open(osp.join(str(work), 'report.json')) as f:
        return json.load(f)


def step_of(report: dict, name: str) -> dict:
    entry, = [s for s in report['steps'] if s['name'] == name]
    return entry


# --- the pure parts -----------------------------------------------------------------

def test_full_profile_fits_eight_minutes():
    full = full_profile()
    assert set(full.budgets) == set(STEPS) and full.total_budget <= 480
    assert full.device == 'cuda' and full.batch_size is None and full.workers is None
    assert len(full.configs) == 7 and len(full.throughput_configs) == 3
    tiny = tiny_profile()
    assert tiny.device == 'cpu' and set(tiny.budgets) == set(STEPS)


def test_budget_and_step_parsing():
    assert parse_budgets(['train=300', 'data=1.5']) == dict(train=300.0, data=1.5)
    for bad in (['train'], ['nope=3'], ['train=0'], ['train=x']):
        with pytest.raises(UsageError, match='--budget'):
            parse_budgets(bad)
    assert parse_steps('decoding,env') == ['env', 'decoding']  # run order
    with pytest.raises(UsageError, match='--steps'):
        parse_steps('env,bogus')
    p = customised(tiny_profile(), dict(train=5), [X3D], ['config', 'cl'], 3)
    assert p.budgets['train'] == 5 and p.budgets['env'] == tiny_profile().budgets['env']
    assert p.configs == (X3D,) and p.throughput_configs == (X3D,)
    assert p.sweep == ('config', 'cl') and p.config_processes == 3


def test_report_is_replaced_whole(tmp_path):
    report = dict(profile='tiny', started='now', finished=None, result='running', steps=[
        dict(name='env', status='pass', seconds=1.0, budget_s=30, error=None,
             results=dict(torch='2.x')),
        dict(name='train', status='fail', seconds=2.0, budget_s=9, error='1 of 1 failed',
             results=dict(configs=[dict(name='a|b', status='fail', error='KeyError: x')])),
        dict(name='decoding', status='pending', seconds=None, budget_s=9, error=None,
             results={})])
    write_report(str(tmp_path), report)
    write_report(str(tmp_path), report)  # rewritten over the first
    assert sorted(os.listdir(tmp_path)) == ['report.json', 'report.md']  # no temp files
    assert report_of(tmp_path) == report
    md = (tmp_path / 'report.md').read_text()
    assert md == render_markdown(report)
    assert '| env | PASS |' in md and '| train | FAIL |' in md and 'not run yet' in md
    assert '| a/b | fail |' in md  # a pipe in a cell does not break the table
    assert '**FAIL**: 1 of 1 failed' in md


def test_first_error_line():
    trace = ('loading\nTraceback (most recent call last):\n  File "x.py", line 1\n'
             '    raise KeyError("NoSuchBackbone is not in the registry")\n'
             'KeyError: \'NoSuchBackbone is not in the registry\'\nmore\n')
    assert first_error_line(trace) == "KeyError: 'NoSuchBackbone is not in the registry'"
    assert first_error_line('info\ntrain.py: error: config not found: a.py\n') == \
        'train.py: error: config not found: a.py'
    assert first_error_line('all fine\n') is None


def test_late_child_is_killed_with_its_group(tmp_path):
    """A child past its deadline goes, and so does the grandchild it started."""
    pid_file = tmp_path / 'grandchild.pid'
    script = (f'import subprocess, time; p = subprocess.Popen(["sleep", "60"]); '
              f'open({str(pid_file)!r}, "w").write(str(p.pid)); time.sleep(60)')
    finished = run_logged([sys.executable, '-c', script], str(tmp_path / 'log.txt'), 2.0)
    assert finished.timed_out and finished.seconds < 30
    grandchild = int(pid_file.read_text())
    time.sleep(0.5)
    assert not running(grandchild)


def running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap orphans)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def test_refuses_without_gpu_unless_tiny(tmp_path):
    out = gpu_check('--work-dir', tmp_path / 'w')
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and 'no CUDA device' in lines[0] and '--tiny' in lines[0]
    assert not (tmp_path / 'w').exists()


def test_bad_arguments_are_one_line(tmp_path):
    for args in (['--tiny', '--steps', 'nope'], ['--tiny', '--budget', 'train=-1'],
                 ['--tiny', '--configs', 'configs/none.py'],
                 ['--tiny', '--sweep', 'config,warp9']):
        out = gpu_check(*args, '--work-dir', tmp_path / 'w')
        assert out.returncode == 2, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, (args, out.stderr)
        assert 'Traceback' not in out.stderr


# --- the tiny run, step by step -----------------------------------------------------

@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    """env and data steps: tiny originals, re-encoded copies, cleaned lists."""
    work = tmp_path_factory.mktemp('gpu_check_data')
    out = gpu_check('--tiny', '--steps', 'env,data', '--work-dir', work)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return work


def with_data(tiny_data, tmp_path):
    """A fresh work dir that sees the fixture's data (its paths are absolute)."""
    work = tmp_path / 'work'
    work.mkdir()
    os.symlink(osp.join(str(tiny_data), 'data'), work / 'data')
    return work


@pytest.mark.slow
@GROUP
def test_env_and_data_steps(tiny_data):
    report = report_of(tiny_data)
    assert [s['name'] for s in report['steps']] == ['env', 'data']
    assert report['result'] == 'pass' and report['profile'] == 'tiny'
    env = step_of(report, 'env')['results']
    assert env['gpu'] == 'none (CPU run)' and env['cpu_cores'] >= 1
    assert env['import av'].startswith('yes') and env['mmengine']
    data = step_of(report, 'data')['results']
    originals, reencoded = data['sets']
    assert originals['gop'] == 250 and reencoded['gop'] == 16
    assert reencoded['kept'] == originals['kept'] > 0
    for key in ('clean_originals_s', 'reencode_s', 'video_hours'):
        assert data[key] > 0
    assert osp.isfile(osp.join(data['lists'], 'epic100_train_clean.txt'))
    md = (tiny_data / 'report.md').read_text()
    assert '## 1. Environment' in md and '## 2. Data' in md


# The train step on a subset: tests/configs/test_all_configs.py already trains
# and tests every EPIC config through tools/train.py and tools/test.py, so the
# seven again here would double ~1 minute of suite time for little. One
# verb/noun and one pair config, from different backbones (3D conv; 2D conv +
# LSTM), exercise everything the step adds: derived configs, loader and AMP
# settings, the --dump check and the report rows. `make gpu-check ARGS=--tiny`
# trains all seven (~1 minute on 2 idle cores).
TRAIN_SUBSET = ('configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py',
                'configs/tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-pair.py')


def test_epic_configs_are_every_shipped_epic_config():
    """A new EPIC config is trained by the GPU check too (the list is by hand)."""
    shipped = []
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py'))):
        if '/_base_/' in path or '/demo/' in path:
            continue
        dataset = Config.fromfile(path).train_dataloader.dataset
        if dataset.get('label_mode') != 'single':
            shipped.append(osp.relpath(path, REPO))
    assert sorted(EPIC_CONFIGS) == shipped
    assert set(TRAIN_SUBSET) <= set(EPIC_CONFIGS)


@pytest.mark.slow
@GROUP
def test_configs_train_and_test(tiny_data, tmp_path):
    """The train step on TRAIN_SUBSET (why a subset: see above)."""
    work = with_data(tiny_data, tmp_path)
    out = gpu_check('--tiny', '--steps', 'train', '--configs', *TRAIN_SUBSET,
                    '--work-dir', work)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    rows = step_of(report_of(work), 'train')['results']['configs']
    assert [r['name'] for r in rows] == [osp.basename(c)[:-3] for c in TRAIN_SUBSET]
    for row in rows:
        assert row['status'] == 'pass' and row['error'] is None, row
        assert row['iters'] == 2 and row['clips_per_s'] > 0 and row['peak_memory_mib'] > 0
        assert osp.isfile(row['dump']), row
    assert '## 3. Train and test every config' in out.stdout  # the report is printed


@pytest.mark.slow
@GROUP
def test_sigterm_mid_run_then_resume(tiny_data, tmp_path):
    work = with_data(tiny_data, tmp_path)
    out = gpu_check('--tiny', '--steps', 'resume', '--work-dir', work)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    r = step_of(report_of(work), 'resume')['results']
    assert r['first_exit'] == 3 and r['checkpoints_after_sigterm'].startswith('iter_')
    assert r['resume_exit'] == 0 and r['finished']
    assert r['resumed_line'].startswith(('resumed epoch', 'resuming epoch'))


@pytest.mark.slow
@GROUP
def test_throughput_against_in_memory_batch(tiny_data, tmp_path):
    work = with_data(tiny_data, tmp_path)
    out = gpu_check('--tiny', '--steps', 'throughput', '--work-dir', work)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    r = step_of(report_of(work), 'throughput')['results']
    assert [b['name'] for b in r['best']] == [osp.basename(c)[:-3]
                                              for c in tiny_profile().throughput_configs]
    for run in r['runs']:
        assert 'error' not in run and run['spec'] == 'config'
        assert run['clips_per_s'] > 0 and run['gpu_only_clips_per_s'] > 0 and run['ratio'] > 0
    assert 'Best setting per backbone' in (work / 'report.md').read_text()


@pytest.mark.slow
@GROUP
def test_decoding_step(tiny_data, tmp_path):
    work = with_data(tiny_data, tmp_path)
    out = gpu_check('--tiny', '--steps', 'decoding', '--work-dir', work)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    r = step_of(report_of(work), 'decoding')['results']
    assert [row['gop'] for row in r['loader']] == [16, 250]
    assert all(row['clips_per_s'] > 0 for row in r['loader'])
    assert [t['tool'] for t in r['one_time']] == ['clean_segments (originals)',
                                                  'reencode_videos']
    # no GPU here: every GPU decoder says why it was not measured
    assert {g['status'] for g in r['gpu_decoders']} == {'not tried'}
    assert r['gpu_decoder_summary'].startswith('none runs')


@pytest.mark.slow
@GROUP
def test_failures_are_reported_and_exit_1(tiny_data, tmp_path):
    """A config that cannot build and a step past its budget: both in the
    report (written whole), the other steps still run, exit code 1."""
    work = with_data(tiny_data, tmp_path)
    bad = tmp_path / 'broken_x3d.py'
    bad.write_text(f"_base_ = [{osp.join(REPO, X3D)!r}]\n"
                   "model = dict(backbone=dict(type='NoSuchBackbone'))\n")
    out = gpu_check('--tiny', '--steps', 'train,throughput,decoding', '--configs', bad,
                    '--budget', 'throughput=1', '--work-dir', work)
    assert out.returncode == 1, out.stdout[-4000:] + out.stderr[-2000:]
    report = report_of(work)
    assert report['result'] == 'fail' and report['finished']
    train = step_of(report, 'train')
    assert train['status'] == 'fail' and 'broken_x3d' in train['error']
    row, = train['results']['configs']
    assert row['status'] == 'fail' and 'NoSuchBackbone' in row['error']
    throughput = step_of(report, 'throughput')
    assert throughput['status'] == 'timeout' and 'budget of 1 s' in throughput['error']
    assert step_of(report, 'decoding')['status'] == 'pass'  # the run went on
    md = (work / 'report.md').read_text()
    assert '| train | FAIL |' in md and '| throughput | TIMEOUT |' in md
    assert 'NoSuchBackbone' in md


@pytest.mark.slow
@GROUP
def test_steps_without_data_are_skipped(tmp_path):
    out = gpu_check('--tiny', '--steps', 'train', '--work-dir', tmp_path / 'w')
    assert out.returncode == 1
    train = step_of(report_of(tmp_path / 'w'), 'train')
    assert train['status'] == 'skipped' and 'data step' in train['error']


@pytest.mark.slow
@GROUP
@pytest.mark.skipif(shutil.which('make') is None, reason='needs make')
def test_make_gpu_check_passes_args(tmp_path):
    venv = osp.dirname(osp.dirname(sys.executable))
    work = tmp_path / 'w'
    out = subprocess.run(['make', '-o', osp.join(venv, '.installed'), 'gpu-check',
                          f'PY={sys.executable}', f'VENV={venv}',
                          f'ARGS=--tiny --steps env --work-dir {work}'],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert step_of(report_of(work), 'env')['status'] == 'pass'
