"""Each stack fix fails without it and works with it, in a fresh interpreter.

The fixes change import-time state, so every check runs in a subprocess that
loads ``compat.py`` by path (without importing the package, which would apply
all fixes) and applies only the fixes named.
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

from ..conftest import REPO

COMPAT = osp.join(REPO, 'epic_mmaction', 'compat.py')
LOAD = f'''
import importlib.util
spec = importlib.util.spec_from_file_location('compat_under_test', {COMPAT!r})
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
'''


def run_python(code: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', LOAD + textwrap.dedent(code)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def _mmaction_file(*parts) -> str:
    import importlib.util
    spec = importlib.util.find_spec('mmaction')
    return osp.join(list(spec.submodule_search_locations)[0], *parts)


def _transformers_major() -> int:
    try:
        return int(metadata.version('transformers').split('.')[0])
    except metadata.PackageNotFoundError:
        return 0


def test_missing_drn_placeholder():
    wheel_lacks_drn = not osp.exists(_mmaction_file('models', 'localizers', 'drn',
                                                    '__init__.py'))
    before = run_python('''
        compat.patch_vindlu_for_transformers5()
        import mmaction.models
    ''')
    after = run_python('''
        print(compat.patch_missing_drn())
        compat.patch_vindlu_for_transformers5()
        import mmaction.models
        from mmaction.registry import MODELS
        try:
            MODELS.build(dict(type='DRN'))
        except ImportError as e:
            print('DRN:', e)
    ''')
    if wheel_lacks_drn:  # the PyPI 1.2.0 wheel (mmaction2#2714)
        assert before.returncode != 0
        assert "No module named 'mmaction.models.localizers.drn'" in before.stderr
        assert after.returncode == 0, after.stderr
        assert after.stdout.startswith('True') and '2714' in after.stdout
    else:  # a source install has DRN: the fix must stay out of the way
        assert before.returncode == 0
        assert after.stdout.startswith('False')


@pytest.mark.skipif(not os.environ.get('CI') and _transformers_major() < 5,
                    reason='needs transformers>=5 (pip install -e ".[tests]")')
def test_vindlu_placeholders_with_transformers5():
    # CI installs the tests extra: there a missing transformers 5 is a failure
    assert _transformers_major() >= 5, 'the tests extra must install transformers>=5'
    before = run_python('''
        compat.patch_missing_drn()
        import mmaction.models
    ''')
    assert before.returncode != 0
    # VindLU imports timm (undeclared) before transformers' removed helpers
    assert ('apply_chunking_to_forward' in before.stderr
            or "No module named 'timm'" in before.stderr), before.stderr[-2000:]
    after = run_python('''
        compat.patch_missing_drn()
        print(compat.patch_vindlu_for_transformers5())
        import mmaction.models
        from mmaction.registry import MODELS
        MODELS.build(dict(type='X3D'))  # the rest of mmaction.models works
        try:
            MODELS.build(dict(type='VindLUVQA'))
        except ImportError as e:
            print('VindLU:', e)
    ''')
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith('True') and 'transformers<5' in after.stdout


RESUME = '''
import torch, torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, x, y, mode='loss'):
        return {'loss': ((self.fc(x).squeeze(-1) - y) ** 2).mean()}

class Data(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(x=torch.ones(2) * i, y=torch.tensor(float(i)))

def run(epochs, resume):
    runner = Runner(
        model=Toy(), work_dir='work', experiment_name=f'run{epochs}',
        train_dataloader=dict(dataset=Data(), batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        resume=resume)
    runner.train()
    return runner

run(1, False)
runner = run(2, True)
print('resumed at epoch', runner.train_loop.epoch)
'''


@pytest.mark.skipif(not hasattr(__import__('torch').serialization, 'safe_globals'),
                    reason='torch < 2.5 loads checkpoints without weights_only')
def test_resume_on_torch_with_weights_only(tmp_path):
    before = run_python(RESUME, cwd=tmp_path / '.')
    assert before.returncode != 0
    assert 'Unsupported global' in before.stderr
    (tmp_path / 'b').mkdir()
    after = run_python('compat.patch_checkpoint_loading()\n' + RESUME, cwd=tmp_path / 'b')
    assert after.returncode == 0, after.stderr[-3000:]
    assert 'resumed at epoch 2' in after.stdout


def test_checkpoint_allow_list_refuses_code_execution(tmp_path):
    """A crafted 'checkpoint' that calls os.system via getattr must not load."""
    marker = tmp_path / 'pwned'
    result = run_python(f'''
        import os, pickle, torch
        from mmengine.logging import HistoryBuffer
        from mmengine.runner.checkpoint import CheckpointLoader
        compat.patch_checkpoint_loading()

        class Evil:
            def __reduce__(self):
                return (os.system, ('touch {marker}',))

        class ViaGetattr:  # getattr(HistoryBuffer, '__init__') -> __globals__ ...
            def __reduce__(self):
                return (getattr, (HistoryBuffer, '__init__'))

        for i, obj in enumerate([Evil(), ViaGetattr()]):
            torch.save({{'state_dict': {{}}, 'x': obj}}, f'evil{{i}}.pth')
            try:
                CheckpointLoader.load_checkpoint(f'evil{{i}}.pth')
                print('LOADED', i)
            except Exception as e:
                print('refused', i, type(e).__name__)
        good = {{'message_hub': HistoryBuffer([1.0, 2.0], [1, 1])}}
        torch.save(good, 'good.pth')
        print('good', CheckpointLoader.load_checkpoint('good.pth')['message_hub'].mean())
        try:
            torch.load('good.pth')  # outside mmengine's loader: not allow-listed
            print('global allow-list!')
        except Exception as e:
            print('plain torch.load refused', type(e).__name__)
    ''', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'refused 0' in result.stdout and 'refused 1' in result.stdout
    assert 'LOADED' not in result.stdout and not marker.exists()
    assert 'good 1.5' in result.stdout
    assert 'plain torch.load refused' in result.stdout


def test_plugin_import_applies_fixes_and_registers():
    result = subprocess.run([sys.executable, '-c', textwrap.dedent('''
        import epic_mmaction.plugin
        from epic_mmaction import compat
        import mmaction.models  # works after the package import
        from mmaction.registry import DATASETS, TRANSFORMS
        print(compat.applied())
        print('EpicSegmentVideoDataset' in DATASETS.module_dict,
              'SegmentVideoInit' in TRANSFORMS.module_dict,
              'SegmentDecordInit' in TRANSFORMS.module_dict)
    ''')], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'True True False' in result.stdout  # the decord alias is gone:
    # SegmentVideoInit(backend='decord') is the one way to read with decord


def test_custom_imports_config_builds_the_dataset(small_epic, tmp_path):
    """A config needs only custom_imports + default_scope, as MMAction2 tools load it."""
    root, _, _ = small_epic
    from epic_mmaction.annotations.builder import BuildOptions, build_annotations
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(textwrap.dedent(f'''
        custom_imports = dict(imports=['epic_mmaction.plugin'], allow_failed_imports=False)
        default_scope = 'mmaction'
        dataset = dict(type='EpicSegmentVideoDataset',
                       ann_file={str(tmp_path / 'epic100_val.txt')!r},
                       data_prefix=dict(video={osp.join(root, 'videos')!r}),
                       label_mode='verb_noun',
                       pipeline=[dict(type='SegmentVideoInit'),
                                 dict(type='SampleFrames', clip_len=2, num_clips=1),
                                 dict(type='DecordDecode')])
    '''))
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(f'''
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        cfg = Config.fromfile({str(cfg)!r})
        init_default_scope(cfg.default_scope)
        from mmaction.registry import DATASETS
        ds = DATASETS.build(cfg.dataset)
        print(len(ds), ds[0]['imgs'][0].shape)
    ''')], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert '(90, 160, 3)' in result.stdout


def test_mmcv_check_accepts_installed_version():
    import importlib.util
    spec = importlib.util.spec_from_file_location('compat_check', COMPAT)
    compat = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compat)
    version = compat.check_mmcv()
    assert compat.MMCV_MIN <= compat._version_tuple(version) < compat.MMCV_MAX
    assert compat._version_tuple('2.0.0rc4') == (2, 0, 0)
    assert compat._version_tuple('2.2.0') == compat.MMCV_MAX
