"""The package's shape: enforced layers, and a cheap import for data-side tools."""
import os.path as osp
import shutil
import subprocess
import sys
import textwrap

import pytest

from .conftest import REPO

HEAVY = ('torch', 'mmengine', 'mmaction')
# tools that need neither torch nor MMAction2: they must start fast
TORCH_FREE_TOOLS = ('build_annotations', 'clean_segments', 'export_codabench', 'evaluate',
                    'analyze_results', 'reencode_videos', 'plot_curves',
                    'make_synthetic_epic', 'make_synthetic_clips')
TORCH_FREE_PACKAGES = ('epic_mmaction', 'epic_mmaction.utils', 'epic_mmaction.annotations',
                       'epic_mmaction.video', 'epic_mmaction.results',
                       'epic_mmaction.evaluation', 'epic_mmaction.synthetic',
                       'epic_mmaction.cleaning', 'epic_mmaction.reencode',
                       'epic_mmaction.export', 'epic_mmaction.analysis')


def lint_imports() -> str:
    found = shutil.which('lint-imports') or osp.join(osp.dirname(sys.executable),
                                                      'lint-imports')
    if not osp.exists(found):
        pytest.fail('lint-imports is missing: pip install -e ".[tests]"')
    return found


def heavy_modules_after(code: str) -> list:
    probe = code + textwrap.dedent(f'''
        import sys
        print('HEAVY:', *(m for m in {HEAVY!r} if m in sys.modules))
    ''')
    out = subprocess.run([sys.executable, '-c', probe], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.rsplit('HEAVY:', 1)[1].split()


def test_layers_hold():
    """``.importlinter``: lower layers never import higher ones; no cycles."""
    out = subprocess.run([lint_imports(), '--config', osp.join(REPO, '.importlinter')],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert '0 broken' in out.stdout


def test_layers_contract_catches_an_upward_import(tmp_path):
    """The contract is live: a data-side module importing the model side breaks it."""
    pkg = tmp_path / 'epic_mmaction'
    shutil.copytree(osp.join(REPO, 'epic_mmaction'), pkg,
                    ignore=shutil.ignore_patterns('__pycache__'))
    with open(pkg / 'export' / 'scores.py', 'a') as f:
        f.write('\nfrom ..datasets import EpicSegmentVideoDataset  # noqa\n')
    out = subprocess.run([lint_imports(), '--config', osp.join(REPO, '.importlinter')],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={'PYTHONPATH': str(tmp_path), 'PATH': ''})
    assert out.returncode != 0
    assert 'epic_mmaction.export.scores -> epic_mmaction.datasets' in out.stdout


@pytest.mark.parametrize('package', TORCH_FREE_PACKAGES)
def test_torch_free_package_imports_no_torch(package):
    assert heavy_modules_after(f'import {package}') == []


@pytest.mark.parametrize('tool', TORCH_FREE_TOOLS)
def test_torch_free_tool_starts_without_torch(tool):
    """Importing the tool and parsing ``--help`` loads neither torch nor mmengine."""
    code = textwrap.dedent(f'''
        import runpy, sys
        sys.argv = ['{tool}.py', '--help']
        try:
            runpy.run_path('tools/{tool}.py', run_name='__main__')
        except SystemExit as e:
            assert e.code == 0, e.code
    ''')
    assert heavy_modules_after(code) == []


def test_plugin_is_what_registers():
    """``epic_mmaction.plugin`` applies the fixes and registers every kind of module."""
    code = textwrap.dedent('''
        import epic_mmaction.plugin
        from mmaction.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS
        names = ['EpicSegmentVideoDataset' in DATASETS.module_dict,
                 'SegmentVideoInit' in TRANSFORMS.module_dict,
                 'EpicActionHead' in MODELS.module_dict,
                 'EpicActionMetric' in METRICS.module_dict,
                 'DumpEpicResults' in METRICS.module_dict,
                 'PreemptionCheckpointHook' in HOOKS.module_dict,
                 'FineTuningHook' in HOOKS.module_dict]
        print(all(names), names)
    ''')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('True'), out.stdout
