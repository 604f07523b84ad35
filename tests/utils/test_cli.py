"""``@tool_main``: a user error is one line and exit 2; a bug keeps its traceback."""
import subprocess
import sys
import textwrap

import pytest

from epic_mmaction.annotations.records import AnnotationError
from epic_mmaction.utils import EpicError, UsageError
from epic_mmaction.utils.cli import EXIT_INTERRUPTED, EXIT_USAGE, tool_main

from ..conftest import REPO


def test_user_errors_become_one_line_and_exit_2(capsys, tmp_path):
    missing = tmp_path / 'nope.csv'

    @tool_main
    def main(argv=None):
        kind = argv[0]
        if kind == 'epic':
            raise AnnotationError('ann.csv line 3: bad timestamp')
        if kind == 'os':
            open(missing)
        return 0

    assert main(['ok']) == 0
    assert main(['epic']) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == 'test_cli.py: error: ann.csv line 3: bad timestamp\n'
    assert main(['os']) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and str(missing) in err and 'No such file' in err


def test_ctrl_c_is_one_line_and_exit_130(capsys):
    @tool_main
    def main(argv=None):
        raise KeyboardInterrupt

    assert main([]) == EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err == 'test_cli.py: interrupted (Ctrl-C)\n'


@pytest.mark.parametrize('error', [ValueError('a bug'), KeyError('x'),
                                   OSError('no path: a system problem, not user input')])
def test_bugs_keep_their_traceback(error):
    @tool_main
    def main(argv=None):
        raise error

    with pytest.raises(type(error)):
        main([])


def test_every_project_error_is_an_epic_error():
    """Tools catch one base: every exception class the package defines derives from it."""
    import importlib
    import inspect
    import pkgutil

    import epic_mmaction
    torch_side = ('datasets', 'models', 'engine', 'evaluation.metrics', 'plugin',
                  'inference', 'evaluation.tta')
    found = []
    for info in pkgutil.walk_packages(epic_mmaction.__path__, 'epic_mmaction.'):
        if any(info.name.startswith(f'epic_mmaction.{p}') for p in torch_side):
            continue  # checked where torch is imported anyway; keeps this test fast
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, Exception)
                    and obj.__module__ == module.__name__):
                found.append(obj)
    assert len(found) >= 15
    assert [c.__name__ for c in found if not issubclass(c, EpicError)] == []
    assert issubclass(UsageError, ValueError)


def test_a_real_tool_reports_a_user_error_in_one_line(tmp_path):
    """build_annotations.py with a directory that holds no CSVs: one line, exit 2."""
    out = subprocess.run([sys.executable, 'tools/build_annotations.py', str(tmp_path),
                          '--out-dir', str(tmp_path / 'lists')], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == EXIT_USAGE, out.stderr
    assert out.stderr.count('\n') == 1 and 'Traceback' not in out.stderr
    assert out.stderr.startswith('build_annotations.py: error: ')


def test_a_bug_in_a_real_tool_shows_its_traceback(tmp_path):
    """A programming error (here: a library function broken on purpose) is not hidden."""
    code = textwrap.dedent(f'''
        import runpy, sys
        import epic_mmaction.annotations.builder as builder
        def broken(opts):
            raise ValueError('a bug, not bad input')
        builder.build_annotations = broken
        sys.argv = ['build_annotations.py', {str(tmp_path)!r}]
        runpy.run_path('tools/build_annotations.py', run_name='__main__')
    ''')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1
    assert 'Traceback' in out.stderr and 'ValueError: a bug, not bad input' in out.stderr
