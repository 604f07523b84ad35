"""tools/check_clips.py refuses unusable inputs before decoding any clip:
one line naming the file (or id) and the fix, exit 2, no traceback."""
import json
import os
import os.path as osp
import subprocess

import pytest

from epic_mmaction.annotations.listfile import Segment, write_list
from epic_mmaction.synthetic.generator import SyntheticConfig, generate

from .. import toolrun
from ..conftest import REPO

CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets', 'synthetic_epic_segments.py')
# no pairs.json needed: verb and noun labels straight from the list
OPTIONS = ['--cfg-options', 'val_dataloader.dataset.label_mode=verb_noun',
           'val_dataloader.dataset.pairs_file=None']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Two real frame-coded videos, their truth file and a val list of them."""
    root = tmp_path_factory.mktemp('check_clips')
    cfg = SyntheticConfig(videos={'train': 2, 'validation': 0, 'test': 0}, duration=6,
                          width=128, height=72, quirks=False)
    plans = generate(str(root / 'data'), cfg)
    segments = [Segment(p.rel_path, e.start, e.stop, e.verb, e.noun,
                        f'{p.video_id}_{k}')
                for p in plans
                for k, e in enumerate([e for e, a in zip(p.events, p.annotated) if a][:2])]
    return root, plans, segments


def _run(lists: str, videos: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO, EPIC_VIDEOS=videos, EPIC_LISTS=lists)
    return toolrun.run_tool('check_clips.py', CONFIG, '--split', 'val', *args, *OPTIONS,
                            env=env, timeout=300)


@pytest.mark.slow
def test_unusable_inputs_refused_up_front(data, tmp_path):
    root, plans, segments = data
    videos, truth = str(root / 'data' / 'videos'), str(root / 'data' / 'synthetic_truth.json')
    cases = {}
    for name in ('good', 'missing', 'empty', 'other_truth'):
        os.makedirs(tmp_path / name)
    write_list(str(tmp_path / 'good' / 'epic100_val_clean.txt'), segments)
    missing = Segment('P07/P07_99.MP4', 0, 20, 1, 2, 'P07_99_0')
    write_list(str(tmp_path / 'missing' / 'epic100_val_clean.txt'),
               segments[:1] + [missing])
    (tmp_path / 'empty' / 'epic100_val_clean.txt').write_text('')
    write_list(str(tmp_path / 'other_truth' / 'epic100_val_clean.txt'), segments)
    other = json.load(open(truth))
    for video in other['videos']:  # another dataset: other video ids
        video['video_id'] = video['video_id'].replace('P', 'Q')
    with open(tmp_path / 'other.json', 'w') as f:
        json.dump(other, f)
    cases = {
        'good': (_run(str(tmp_path / 'good'), videos, '--truth', truth), None),
        'missing': (_run(str(tmp_path / 'missing'), videos, '--truth', truth),
                    [osp.join(videos, missing.video), 'P07_99_0', 'data_prefix']),
        'empty': (_run(str(tmp_path / 'empty'), videos),
                  [str(tmp_path / 'empty' / 'epic100_val_clean.txt')]),
        'other truth': (_run(str(tmp_path / 'other_truth'), videos, '--truth',
                               str(tmp_path / 'other.json')),
                        [str(tmp_path / 'other.json'), plans[0].video_id]),
        'missing truth': (_run(str(tmp_path / 'good'), videos, '--truth',
                                 str(tmp_path / 'nope.json')),
                          [str(tmp_path / 'nope.json')]),
    }
    for name, (proc, names) in cases.items():
        stdout, stderr = proc.stdout, proc.stderr
        if names is None:  # the check does not refuse good inputs
            assert proc.returncode == 0, stdout + stderr
            assert 'show their labelled actions' in stdout
            continue
        assert proc.returncode == 2, (name, stdout, stderr)
        assert 'Traceback' not in stderr, (name, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('check_clips.py: error: '), \
            (name, stderr)
        for text in names:
            assert text in lines[0], (name, text, lines[0])
        assert 'checked' not in stdout, name  # no clip was decoded
