"""The benchmark scripts still run (on a small subset; their figures are not checked here)."""
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / 'benchmarks'


def _run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=BENCH, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_lenet_epoch_benchmark_runs_every_side_and_prints_the_ratios():
    out = _run('bench_lenet_epoch.py', '--repeats', '1', '--subset', '512')
    for name in ('d2lzh', 'gluon_notes', 'operators'):
        assert re.search(r'^%s +run 1: +[\d.]+ s' % name, out, re.M), out
    assert re.search(r'speed-up [\d.]+x', out) and 'no loop calling them' in out, out


def test_scaling_benchmark_lists_the_traffic_of_every_registered_network():
    import gluon_notes as gn
    out = _run('bench_scaling.py', '--traffic-only')
    for name in gn.list_models():
        assert re.search(r'^%s +\d+x\d+ +\d+' % re.escape(name), out, re.M), (name, out)


def test_loop_floor_benchmark_times_every_side_of_any_registered_model():
    out = _run('bench_loop_floor.py', 'lenet', 'mlp', '--batches', '2', '--test-batches', '1',
               '--repeats', '1')
    for name in ('lenet', 'mlp'):
        assert re.search(r'^== %s: lr [\d.]+, batch 256' % name, out, re.M), out
        assert re.search(r'^%s median: train_ch5 [\d.]+ s \([+-][\d.]+%% over the floor; paired by '
                         r'round [+-][\d.]+%%\), '
                         r'train_ch5\+seed [\d.]+ s .*operators alone [\d.]+ s$' % name,
                         out, re.M), out
    for side in ('train_ch5', r'train_ch5\+seed', 'operators'):
        assert len(re.findall(r'^%s +run 1: +[\d.]+ s' % side, out, re.M)) == 2, out


def test_loop_floor_benchmark_names_the_registered_models_for_an_unknown_one():
    proc = subprocess.run([sys.executable, 'bench_loop_floor.py', 'lenet5'], cwd=BENCH,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert "unknown model 'lenet5'; registered: " in proc.stderr and 'resnet18' in proc.stderr
