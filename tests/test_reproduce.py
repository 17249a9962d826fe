"""`gluon-notes reproduce --quick`: every registered model, a table row each, resumable."""
import json
import subprocess
import sys

import gluon_notes as gn
from gluon_notes.reproduce import plan_run


def test_quick_reproduction_of_every_model(tmp_path):
    out = tmp_path / 'results'
    cmd = [sys.executable, '-m', 'gluon_notes.cli', 'reproduce', '--quick', '--out', str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((out / 'results.json').read_text())['rows']
    assert [r['model'] for r in rows] == gn.list_models()
    table = (out / 'RESULTS.md').read_text()
    for r in rows:
        spec = gn.get_spec(r['model'])
        assert r['book_test_acc'] == spec.book_test_acc
        assert r['epochs'] == 1 and r['scope'].startswith('quick') and r['diff'] is None
        assert 0.0 <= r['test_acc'] <= 1.0 and r['examples_per_sec'] > 0
        assert '| %s | quick' % r['model'] in table
        assert (out / ('%s.png' % r['model'])).read_bytes()[:4] == b'\x89PNG'
    # Run again: every finished model is skipped, nothing is retrained.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0
    assert again.stdout.count('already done') == len(rows) and 'epoch 1' not in again.stdout


def test_plan_runs_small_models_fully_and_large_ones_on_a_subset_on_cpu():
    epochs, subset, scope = plan_run(gn.get_spec('lenet'), quick=False, on_gpu=False)
    assert (epochs, subset, scope) == (5, None, 'full')
    epochs, subset, scope = plan_run(gn.get_spec('resnet18'), quick=False, on_gpu=False)
    assert epochs == 1 and subset is not None and 'subset' in scope
    assert plan_run(gn.get_spec('resnet18'), quick=False, on_gpu=True) == (5, None, 'full')


def test_unknown_model_fails_before_training(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'gluon_notes.cli', 'reproduce', 'lenet', 'nope',
                             '--quick', '--out', str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "unknown model 'nope'" in result.stderr
    assert 'training on' not in result.stdout
