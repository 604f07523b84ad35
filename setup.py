"""Install with ``pip install -e .`` (see README.md for a ready-made venv)."""
import os
import subprocess
import sys

from setuptools import find_packages, setup

MMCV_LITE = 'mmcv-lite>=2.1.0,<2.2.0'
# deployment (docs/deployment.md): ONNX export (torch.onnx's dynamo exporter needs
# onnxscript), onnxruntime inference, RULSTM-style LMDB features
ONNX = ['onnx>=1.17,<2', 'onnxruntime>=1.20,<2', 'onnxscript>=0.3,<1', 'lmdb>=1.4,<4']


def full_mmcv_installed() -> bool:
    """Whether the target environment already has a full ``mmcv`` (CUDA ops).

    pip builds in an isolated environment, so ask the target interpreter with
    pip's isolation variables removed.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'PYTHONNOUSERSITE', 'PYTHONHOME')}
    probe = 'import importlib.metadata as m; print(m.version("mmcv"))'
    try:
        out = subprocess.run([sys.executable, '-c', probe], env=env,
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip().startswith('2.')


def mmcv_requirement() -> list:
    """mmcv-lite by default; a full mmcv 2.0/2.1 that is already there is kept.

    ``EPIC_MMCV=lite`` or ``EPIC_MMCV=keep`` overrides the detection.
    """
    choice = os.environ.get('EPIC_MMCV', 'auto')
    if choice == 'lite':
        return [MMCV_LITE]
    if choice == 'keep' or full_mmcv_installed():
        return []
    return [MMCV_LITE]


version = {}
with open(os.path.join('epic_mmaction', 'version.py')) as f:
    exec(f.read(), version)

setup(
    name='epic_mmaction',
    version=version['__version__'],
    description='EPIC-KITCHENS-100 action recognition from full-length videos '
                'with MMAction2',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['epic_mmaction', 'epic_mmaction.*']),
    python_requires='>=3.9',
    install_requires=[
        'mmaction2==1.2.0',
        'mmengine>=0.10.0,<0.11',
        'decord==0.6.0',
        'torch>=2.0',
        'numpy',
        'pandas',
        'opencv-python',
        'av>=12',
        'tensorboard',  # the configs' TensorboardVisBackend
        'matplotlib',  # tools/analyze_results.py, tools/plot_curves.py
        # undeclared by the PyPI mmaction2/mmengine wheels
        'importlib_metadata',
        'setuptools<82',  # mmengine 0.10.7 imports pkg_resources
    ] + mmcv_requirement(),
    extras_require={
        # tools/export_onnx.py, infer_video.py --onnx, extract_features.py --lmdb
        'onnx': ONNX,
        'tests': ONNX + [
            # pytest 9.2 drops pytest-xdist's xdist_group node ids, so
            # --dist loadgroup stops grouping (pytest-xdist#1386):
            # tests/test_xdist_groups.py fails when that happens
            'pytest>=7,<9.2', 'transformers>=5',
            # make test runs the suite in parallel (-n <cores + 1> --dist loadgroup)
            'pytest-xdist>=3.5',
            # the docs site (mkdocs.yml, docs/); tests/test_docs.py builds it --strict
            'mkdocs>=1.6,<2', 'mkdocs-material>=9.5,<10',
            # lint-imports: the layer contracts in .importlinter (tests/test_package.py)
            'import-linter>=2.13,<3',
        ],
    },
    license='Apache-2.0 (code); synthetic data generated here is free of EPIC content',
)
