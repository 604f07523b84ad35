"""tools/benchmark_startup.py: the table it prints (times are not asserted)."""
import pytest

from benchmark.startup import BASELINE, format_table, measure_startup

from ..conftest import REPO, load_tool


def test_startup_rows_compare_each_tool_with_the_baseline():
    rows = measure_startup(REPO, tools=('build_annotations', ), repeats=1)
    assert [r.name for r in rows] == [f'python -c "{BASELINE}"',
                                      'tools/build_annotations.py --help']
    assert rows[0].ratio == 1.0 and all(r.median_s > 0 for r in rows)
    table = format_table(rows).splitlines()
    assert table[0] == '| command | median start (s) | x baseline |' and len(table) == 4


def test_startup_tool_rejects_bad_repeats(capsys):
    tool = load_tool('benchmark_startup')
    with pytest.raises(SystemExit) as exit_info:
        tool.main(['--repeats', '0'])
    assert exit_info.value.code == 2
    assert 'must be >= 1' in capsys.readouterr().err
