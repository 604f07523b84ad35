"""The README's main command (make demo) learns: far above chance on synthetic val.

Runs the real Makefile target with this interpreter (no venv install), so the
generator, list builder, cleaner, dataset, X3D-S, head, metric, train and
test tools all take part. A wrong frame range gives a distractor's label
(other verb *and* noun), wrong labels or a broken head give chance, so each
of the thresholds below fails on such a bug.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

from epic_mmaction.evaluation import compute_epic_metrics

from epic_mmaction.results import load_results

from ..conftest import REPO

NUM_VERBS, NUM_NOUNS = 6, 12


@pytest.mark.slow
@pytest.mark.skipif(shutil.which('make') is None, reason='needs make')
def test_make_demo_learns(tmp_path):
    venv = osp.dirname(osp.dirname(sys.executable))
    args = ['make', '-o', osp.join(venv, '.installed'), 'demo', f'PY={sys.executable}',
            f'VENV={venv}', f'DEMO_DIR={tmp_path / "data"}',
            f'DEMO_LISTS={tmp_path / "lists"}', f'DEMO_WORK={tmp_path / "work"}']
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=1500,
                         env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    assert 'show their labelled actions' in log  # check_clips against the truth
    assert 'Top-1 accuracy' in log  # the metric table printed by tools/test.py

    results = load_results(str(tmp_path / 'work' / 'val_results.npz'))
    metrics = compute_epic_metrics(results.verb_score, results.noun_score,
                                   results.verb_label, results.noun_label)
    print(metrics)
    chance_verb, chance_noun = 100.0 / NUM_VERBS, 100.0 / NUM_NOUNS
    chance_action = chance_verb * chance_noun / 100.0
    # measured (seed 0, 2 cores, 2 training threads, 5 test clips, torch 2.13 CPU,
    # verb loss x1.5): verb 71 %, noun 49 %, action 26 % (19x chance). The videos
    # are not byte-reproducible between runs; with verb loss x1 one run in three
    # kept the verbs at chance (16 %), so the verb weight is what this margin needs.
    # Verbs are pure motion: 1.5x chance fails if frames are shuffled, reversed or
    # taken from a distractor. Action > 8x chance needs verbs above chance too
    # (noun 64 % x verb at chance would give ~10.7 %, under 11.1 %).
    assert metrics['verb_top1'] > 1.5 * chance_verb
    assert metrics['noun_top1'] > 4 * chance_noun
    assert metrics['action_top1'] > 8 * chance_action
