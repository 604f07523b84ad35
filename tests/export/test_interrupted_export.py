"""tools/export_codabench.py killed while writing: the pair stays a pair.

A real process (tests/toolrun.py) exports a results file of the test split's size (13,092
narrations, 97 verbs, 300 nouns: a ~60 MB zip) and is killed with SIGKILL or
SIGTERM (a time limit, OOM, ``scancel``) once the zip's temporary has data,
i.e. after ``submission.pt`` is written and before the zip is. Then the output
directory must hold the previous pair, byte for byte, or the new pair, never
a new ``submission.pt`` beside the old ``test.zip``; and the next run, with or
without ``--force``, removes the temporaries the killed one left.
"""
import glob
import os
import os.path as osp
import signal
import time
import zipfile

import pytest

from epic_mmaction.export import export_submission, read_split_ids
from epic_mmaction.results import load_results, save_results

from .. import toolrun
from ..conftest import REPO
from .helpers import random_results

# one worker builds the realistic results once (~12 s) for all three tests
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('interrupted_export')]

EXPORT = osp.join(REPO, 'tools', 'export_codabench.py')
NUM_NARRATIONS = 13092  # EPIC_100_test_timestamps.csv
OUTPUTS = ['submission.pt', 'test.zip']


@pytest.fixture(scope='module')
def realistic(tmp_path_factory):
    """A test-sized split, two results files over it and the pair of each."""
    tmp = tmp_path_factory.mktemp('realistic')
    ids = [f'P{1 + i // 1000:02d}_{101 + (i // 100) % 10}_{i}' for i in range(NUM_NARRATIONS)]
    split_csv = str(tmp / 'split.csv')
    with open(split_csv, 'w') as f:
        f.write('narration_id,participant_id,video_id,start_timestamp,stop_timestamp,'
                'start_frame,stop_frame\n')
        for nid in ids:
            participant, video, _ = nid.split('_')
            f.write(f'{nid},{participant},{participant}_{video},00:00:01.00,'
                    f'00:00:01.50,61,91\n')
    data = dict(split_csv=split_csv)
    for name, seed in (('old', 1), ('new', 2)):
        npz = str(tmp / f'{name}.npz')
        save_results(npz, random_results(ids, seed=seed))
        pair = tmp / f'{name}_pair'
        export_submission(str(pair), load_results(npz), read_split_ids(split_csv))
        data[name] = npz
        data[f'{name}_pair'] = fingerprint(pair)
    return data


def fingerprint(directory):
    """What identifies a pair: the ``.pt`` bytes and the zip's ``test.json`` CRC.

    The zip's own bytes hold its write time; ``test.json`` does not.
    """
    with open(osp.join(directory, 'submission.pt'), 'rb') as f:
        pt = f.read()
    with zipfile.ZipFile(osp.join(directory, 'test.zip')) as zf:
        info = zf.getinfo('test.json')
        return pt, info.CRC, info.file_size


def temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith('.tmp'))


def start_export(realistic, npz, out, *extra):
    return toolrun.ToolProcess(EXPORT, npz, '--split-csv', realistic['split_csv'],
                               '--out-dir', str(out), *extra)


def run_export(realistic, npz, out, *extra):
    proc = start_export(realistic, npz, out, *extra)
    stdout, stderr = proc.communicate(timeout=600)
    return proc.returncode, stdout, stderr


def kill_while_writing_zip(proc, out, sig):
    """Send ``sig`` once the zip's temporary has data (the ``.pt`` is done)."""
    pattern = osp.join(str(out), '.test.zip.*.tmp')
    while proc.poll() is None:
        if any(osp.getsize(p) > 0 for p in glob.glob(pattern) if osp.exists(p)):
            proc.send_signal(sig)
            break
        time.sleep(0.001)
    proc.communicate(timeout=600)
    assert proc.returncode == -sig, 'the export ended before the zip was being written'


def pair_state(realistic, out):
    """``'old'`` or ``'new'``; fails on anything else (a mix, one file missing)."""
    names = sorted(n for n in os.listdir(out) if not n.endswith('.tmp'))
    assert names == OUTPUTS, names
    found = fingerprint(out)
    for state in ('old', 'new'):
        if found == realistic[f'{state}_pair']:
            return state
    pytest.fail(f'{out} holds neither the old pair nor the new one (a mix?)')


@pytest.mark.parametrize('sig', [signal.SIGKILL, signal.SIGTERM], ids=['SIGKILL', 'SIGTERM'])
def test_killed_force_export_keeps_a_pair_and_the_next_run_cleans_up(realistic, tmp_path,
                                                                     sig):
    out = tmp_path / 'submission'
    assert run_export(realistic, realistic['old'], out)[0] == 0
    assert pair_state(realistic, out) == 'old' and temporaries(out) == []

    kill_while_writing_zip(start_export(realistic, realistic['new'], out, '--force'), out, sig)
    assert pair_state(realistic, out) in ('old', 'new')  # never a mix
    left = temporaries(out)
    assert any(n.startswith('.test.zip.') for n in left), left  # what the rerun must clean

    # a rerun without --force is refused, but still removes the dead run's temporaries
    code, stdout, stderr = run_export(realistic, realistic['new'], out)
    assert code == 2 and stdout == ''
    assert stderr == (f'export_codabench.py: error: {out / "submission.pt"} already exists, '
                      'use --force (force=True) to overwrite it\n')
    assert temporaries(out) == []
    assert pair_state(realistic, out) in ('old', 'new')

    # with --force the new pair replaces whichever pair is there
    code, stdout, stderr = run_export(realistic, realistic['new'], out, '--force')
    assert code == 0, stderr
    assert pair_state(realistic, out) == 'new'
    assert sorted(os.listdir(out)) == OUTPUTS  # no temporaries


def test_killed_first_export_leaves_no_outputs_and_the_rerun_needs_no_force(realistic,
                                                                           tmp_path):
    out = tmp_path / 'submission'
    kill_while_writing_zip(start_export(realistic, realistic['old'], out), out,
                           signal.SIGKILL)
    assert [n for n in os.listdir(out) if not n.endswith('.tmp')] == []  # nothing half done
    assert len(temporaries(out)) == 2
    code, _, stderr = run_export(realistic, realistic['old'], out)
    assert code == 0, stderr
    assert pair_state(realistic, out) == 'old'
    assert sorted(os.listdir(out)) == OUTPUTS
