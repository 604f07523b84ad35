"""The bad-input rule, tried on every tool: a missing input file.

Each tool is run as a user would, as a real subprocess, with one input path
that does not exist. The rule (docs/troubleshooting.md): one line on stderr
that names the file, exit code 2, no traceback, and nothing written.
"""
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'x3d', 'x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py')

# tool -> argv, with MISSING for the absent input and OUT for an output path
CASES = {
    'analyze_results': ['MISSING.npz', '--out-dir', 'OUT'],
    'build_annotations': ['MISSING.csv', '--out-dir', 'OUT'],
    'check_clips': ['MISSING.py'],
    'clean_segments': ['MISSING.txt', '--data-root', '.', '--out', 'OUT/clean.txt',
                       '--report', 'OUT/report.json'],
    'evaluate': ['MISSING.npz', '--gt', 'MISSING.csv', '--json', 'OUT/scores.json'],
    'export_codabench': ['MISSING.npz', '--split-csv', 'MISSING.csv', '--out-dir', 'OUT'],
    'infer_video': [CONFIG, 'MISSING.pth', 'MISSING.mp4', '--out', 'OUT/preds.csv'],
    'plot_curves': ['MISSING', '--out', 'OUT/curves.png'],
    'reencode_videos': ['MISSING', 'OUT', '--lists', 'MISSING.txt', '--out-lists', 'OUT'],
    'test': ['MISSING.py', 'MISSING.pth', '--work-dir', 'OUT'],
    'train': ['MISSING.py', '--work-dir', 'OUT'],
}


@pytest.mark.parametrize('tool', sorted(CASES))
def test_missing_input_is_one_line_and_exit_2(tool, tmp_path):
    missing = str(tmp_path / 'missing')
    out = str(tmp_path / 'out')
    argv = [a.replace('MISSING', missing).replace('OUT', out) for a in CASES[tool]]
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', f'{tool}.py'), *argv],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    errors = [line for line in lines if f'{tool}.py: error:' in line]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert missing in errors[0]
    assert not osp.exists(out), f'{tool} wrote {out} before failing'
