"""``gluon-notes reproduce``: train every registered model at the book's settings and tabulate.

The book's figures are each registered model's ``book_test_acc``: the final-epoch test accuracy that
the MXNet edition of 动手学深度学习 (d2lzh 1.0, chapters 3 and 5) prints at the settings registered
with the model (softmax regression 0.841, MLP 0.872 (concise), dropout MLP 0.860, LeNet 0.754,
AlexNet 0.867, VGG-11 with ratio 4 0.909, NiN 0.812, GoogLeNet 0.883, LeNet-BN 0.870 from scratch /
0.881 Gluon, ResNet-18 0.913, DenseNet 0.879).

On a CPU, the 28-pixel models run at full settings; the larger ones (resized inputs) run one epoch on
a subset, and their rows say so. Each model trains in its own run directory under ``OUT/runs``; a
model whose run finished is not trained again, so an interrupted reproduction resumes where it
stopped.
"""
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import mxnet as mx
import numpy as np

from .checkpoint import has_checkpoint
from .registry import get_spec, list_models
from .runner import train_model
from .train import as_ctx_list, plot_history, save_json

__all__ = ['plan_run', 'reproduce', 'write_results_table', 'QUICK_SUBSET', 'CPU_SUBSETS']

QUICK_SUBSET = 128
# Examples of each split for the resized networks on a CPU, by input side: minutes, not hours
# (AlexNet at 224 trains at a few images per second on 2 cores).
CPU_SUBSETS = {96: 2000, 224: 512}


def plan_run(spec, quick, on_gpu):
    """``(num_epochs, subset, scope)`` for one model: what this machine can afford."""
    if quick:
        return 1, QUICK_SUBSET, 'quick: 1 epoch, subset %d' % QUICK_SUBSET
    if on_gpu or spec.resize is None:
        return spec.num_epochs, None, 'full'
    subset = CPU_SUBSETS[min(side for side in CPU_SUBSETS if side >= spec.resize)]
    return 1, subset, '1 epoch, subset %d (CPU)' % subset


def _machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return '%s, %d cores' % (cpu, os.cpu_count() or 0)


def _versions():
    import matplotlib
    return 'python %s, mxnet %s, numpy %s, matplotlib %s' % (
        platform.python_version(), mx.__version__, np.__version__, matplotlib.__version__)


def _row(spec, scope, num_epochs, subset, ctx, history):
    last = history[-1]
    full = scope == 'full'
    return dict(
        model=spec.name, scope=scope, full=full,
        settings='lr %g, batch %d, %s init, %dx%d' % (spec.lr, spec.batch_size, spec.init,
                                                     spec.input_size, spec.input_size),
        epochs=num_epochs, subset=subset, device=str(ctx),
        train_acc=last['train_acc'], test_acc=last['test_acc'],
        sec_per_epoch=float(np.mean([r['time_sec'] for r in history])),
        examples_per_sec=float(np.mean([r['examples_per_sec'] for r in history])),
        book_test_acc=spec.book_test_acc,
        diff=(last['test_acc'] - spec.book_test_acc) if full and spec.book_test_acc else None,
        date=datetime.date.today().isoformat(), machine=_machine(), versions=_versions())


def write_results_table(rows, path):
    """Write the rows as the Markdown table of RESULTS.md."""
    lines = ['# Reproduction of the book\'s figures',
             '',
             'Written by `gluon-notes reproduce`; every figure comes from a run of this code. '
             '"book" is the final-epoch test accuracy the MXNet edition prints at the same settings; '
             '"diff" is ours minus the book\'s, given only for full-setting runs. Rows more than '
             '1.5 points from the book are discussed in [README.md](README.md).',
             '',
             '| model | scope | settings | epochs | device | train acc | test acc | s/epoch | '
             'examples/s | book | diff | date | packages |',
             '| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |']
    for r in rows:
        lines.append('| %s | %s | %s | %d | %s | %.3f | %.3f | %.1f | %.0f | %s | %s | %s | %s |' % (
            r['model'], r['scope'], r['settings'], r['epochs'], r['device'], r['train_acc'],
            r['test_acc'], r['sec_per_epoch'], r['examples_per_sec'],
            '%.3f' % r['book_test_acc'] if r['book_test_acc'] else '',
            '%+.3f' % r['diff'] if r['diff'] is not None else 'n/a', r['date'], r['versions']))
    machines = sorted({'%s; %s' % (r['machine'], r['versions']) for r in rows})
    lines += ['', 'Machines and packages:'] + ['- ' + m for m in machines]
    Path(path).write_text('\n'.join(lines) + '\n')


def _load_history(run_dir):
    path = run_dir / 'history.json'
    return json.loads(path.read_text()) if path.exists() else []


def _resumable(run_dir, num_epochs, subset):
    config_path = run_dir / 'config.json'
    if not config_path.exists():
        return False
    config = json.loads(config_path.read_text())
    return config.get('num_epochs') == num_epochs and config.get('subset') == subset


def _load_rows(path):
    if not path.exists():
        return []
    return json.loads(path.read_text())['rows']


def reproduce(models=None, *, quick=False, ctx=None, out='results', verbose=True):
    """Train ``models`` (default: every registered one) one after another, as ``plan_run`` says,
    and write ``OUT/RESULTS.md``, ``OUT/results.json`` and ``OUT/<model>.png``. Returns the rows."""
    names = list(models) if models else list_models()
    specs = [get_spec(n) for n in names]  # unknown names fail before any training
    ctx = ctx if ctx is not None else mx.cpu()
    on_gpu = all(c.device_type == 'gpu' for c in as_ctx_list(ctx))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / 'results.json'
    rows = {r['model']: r for r in _load_rows(json_path)}
    for spec in specs:
        num_epochs, subset, scope = plan_run(spec, quick, on_gpu)
        run_dir = out / 'runs' / spec.name
        previous = rows.get(spec.name)
        if (previous and previous['scope'] == scope and previous['device'] == str(ctx)
                and len(_load_history(run_dir)) == num_epochs):
            if verbose:
                print('%s: already done (%s), skipped' % (spec.name, scope), flush=True)
            continue
        if verbose:
            print('== %s: %s, %s' % (spec.name, scope, spec.describe()), flush=True)
        # A run cut short (Ctrl-C, a killed process) continues from its last checkpoint.
        resume = has_checkpoint(run_dir) and _resumable(run_dir, num_epochs, subset)
        _, history = train_model(spec.name, num_epochs=num_epochs, subset=subset, ctx=ctx,
                                 seed=0, out=run_dir, overwrite=not resume, resume=resume,
                                 verbose=verbose)
        plot_history(history, out / ('%s.png' % spec.name))
        rows[spec.name] = _row(spec, scope, num_epochs, subset, ctx, history)
        ordered = [rows[n] for n in list_models() if n in rows]
        save_json({'rows': ordered}, json_path)
        write_results_table(ordered, out / 'RESULTS.md')
    if verbose:
        print('wrote', out / 'RESULTS.md', file=sys.stderr)
    return [rows[n] for n in list_models() if n in rows]
