"""tools/benchmark_deploy.py on a tiny setting (demo model only, a 3 s video, one
repeat): it extracts, exports, verifies and times, and prints its table (times
are not asserted)."""
import pytest

from benchmark.deploy import MODELS, DeployRow, format_table, run_benchmark

from ..conftest import load_tool

pytest.importorskip('onnxruntime')


@pytest.mark.slow
def test_deploy_benchmark_prints_its_table(tmp_path, capsys):
    code = load_tool('benchmark_deploy').main([
        '--models', 'demo X3D', '--threads', '1', '--repeats', '1', '--duration', '3',
        '--work-dir', str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'windows/s' in out and '1 thread(s)' in out
    table = [line for line in out.splitlines() if line.startswith('|')]
    assert table[0].startswith('| model |') and len(table) == 3
    cells = [c.strip() for c in table[2].strip('|').split('|')]
    assert cells[0] == 'demo X3D' and cells[1] == '3x4x32x32' and cells[4] == 'yes'
    assert float(cells[3]) <= 1e-4 and float(cells[5]) > 0 and float(cells[6]) > 0
    assert list(tmp_path.iterdir()) == []  # its files were temporary


def test_failed_export_row_names_the_operator():
    from benchmark.deploy import ExtractionResult
    row = DeployRow('X', [3, 4, 8, 8], 1.0, None, None, 5.0, None,
                    'UnsupportedOperator: ... the operator aten.kthvalue has no ONNX translation')
    table = format_table(ExtractionResult(10, 2.0, 432, 'v'), [row], 1)
    assert '5.0 windows/s' in table and 'export failed' in table and 'aten.kthvalue' in table


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match='unknown models'):
        run_benchmark(['nope'])
    assert 'demo X3D' in MODELS
