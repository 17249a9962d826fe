"""`gluon-notes reproduce --quick`: every registered model, a table row each, resumable."""
import dataclasses
import json
import subprocess
import sys

import numpy as np

import gluon_notes as gn
from gluon_notes.reproduce import CPU_SUBSETS, plan_run


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
        # The row is its run's own last epoch (runs default to OUT/runs/MODEL).
        run_history = json.loads((out / 'runs' / r['model'] / 'history.json').read_text())
        assert run_history[-1]['test_acc'] == r['test_acc'] and r['history'] == run_history
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
    # A model registered at an input side above every listed one gets the largest side's subset.
    big = dataclasses.replace(gn.get_spec('alexnet'), resize=299)
    assert plan_run(big, quick=False, on_gpu=False)[1] == CPU_SUBSETS[max(CPU_SUBSETS)]


def test_unknown_model_fails_before_training(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'gluon_notes.cli', 'reproduce', 'lenet', 'nope',
                             '--quick', '--out', str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "unknown model 'nope'" in result.stderr
    assert 'training on' not in result.stdout


def test_full_plans_the_books_settings_whatever_the_device():
    for name in ('alexnet', 'resnet18', 'lenet'):
        spec = gn.get_spec(name)
        assert plan_run(spec, quick=False, on_gpu=False, full=True) == (spec.num_epochs, None,
                                                                         'full')


def test_extra_seeds_record_the_spread_and_are_not_trained_twice(tmp_path):
    out, runs = tmp_path / 'results', tmp_path / 'runs'
    cmd = [sys.executable, '-m', 'gluon_notes.cli', 'reproduce', 'softmax_regression', '--quick',
           '--out', str(out), '--runs', str(runs), '--seed', '3', '--extra-seeds', '4', '5']
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in runs.iterdir()) == [
        'softmax_regression', 'softmax_regression-seed4', 'softmax_regression-seed5']
    [row] = json.loads((out / 'results.json').read_text())['rows']
    assert row['seed'] == 3 and [r['seed'] for r in row['seed_runs']] == [4, 5]
    assert [r['epoch'] for r in row['history']] == [1]
    accs = [row['test_acc']] + [r['test_acc'] for r in row['seed_runs']]
    for seed, acc in zip((3, 4, 5), accs):  # each run's own final figure
        name = 'softmax_regression' + ('' if seed == 3 else '-seed%d' % seed)
        assert json.loads((runs / name / 'history.json').read_text())[-1]['test_acc'] == acc
    cell = '3 seeds: %.3f ± %.3f (%.3f–%.3f)' % (np.mean(accs), np.std(accs), min(accs),
                                                 max(accs))
    assert cell in (out / 'RESULTS.md').read_text()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and 'epoch 1' not in again.stdout
    assert again.stdout.count('already done (') == 1
    assert again.stdout.count('seed 4 already done') == 1


def test_quick_and_full_exclude_each_other(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'gluon_notes.cli', 'reproduce', '--quick',
                             '--full', '--out', str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and 'not allowed with argument' in result.stderr


def test_a_reproduction_keeps_the_rows_another_one_published_meanwhile(tmp_path, monkeypatch):
    """Two reproductions sharing OUT (one per core): while the first trains, the second publishes
    its model; the first's publication keeps that row instead of writing back what it read."""
    import gluon_notes.reproduce as rp
    out, runs = tmp_path / 'results', tmp_path / 'runs'
    rp.reproduce(['lenet'], quick=True, out=out, runs=runs, verbose=False)
    train = rp._train

    def train_while_another_publishes(spec, *args):
        history = train(spec, *args)
        if spec.name == 'softmax_regression':
            rp.reproduce(['mlp'], quick=True, out=out, runs=runs, verbose=False)
        return history
    monkeypatch.setattr(rp, '_train', train_while_another_publishes)
    rp.reproduce(['softmax_regression'], quick=True, out=out, runs=runs, verbose=False)
    rows = json.loads((out / 'results.json').read_text())['rows']
    assert [r['model'] for r in rows] == [n for n in gn.list_models()
                                          if n in ('lenet', 'softmax_regression', 'mlp')]
    table = (out / 'RESULTS.md').read_text()
    for name in ('lenet', 'softmax_regression', 'mlp'):
        assert '| %s | quick' % name in table and (out / ('%s.png' % name)).exists()
