"""``gluon-notes reproduce``: train every registered model at the book's settings and tabulate.

The book's figures are each registered model's ``book_test_acc``: the final-epoch test accuracy that
the MXNet edition of 动手学深度学习 (d2lzh 1.0, chapters 3 and 5) prints at the settings registered
with the model (softmax regression 0.841, MLP 0.872 (concise), dropout MLP 0.860, LeNet 0.754,
AlexNet 0.867, VGG-11 with ratio 4 0.909, NiN 0.812, GoogLeNet 0.883, LeNet-BN 0.870 from scratch /
0.881 Gluon, ResNet-18 0.913, DenseNet 0.879).

On a CPU, the 28-pixel models run at full settings; the larger ones (resized inputs) run one epoch on
a subset, and their rows say so, unless ``full`` asks for the book's settings whatever the device
(hours per model on a CPU). Each model trains in its own run directory under ``RUNS`` (default
``OUT/runs``), checkpointed by the clock; a model whose run finished is not trained again and an
interrupted one resumes from its checkpoint, so a reproduction can be stopped and started again.

Each row is the run with ``seed``; ``extra_seeds`` trains the same settings again with other seeds
and records their accuracies in the row, so the table shows how much one run varies. Several
reproductions may share ``OUT`` (say one per core, each with other models): each publishes a
finished model by reading the rows back under a lock and replacing only that model's.
"""
import contextlib
import datetime
import fcntl
import json
import os
import platform
import sys
from pathlib import Path

import mxnet as mx
import numpy as np

from . import checks
from .checkpoint import (as_run_files_error, has_checkpoint, make_directory,
                         write_files_atomically)
from .registry import get_spec, list_models
from .runner import train_model
from .train import as_ctx_list, history_png

__all__ = ['plan_run', 'reproduce', 'spread', 'QUICK_SUBSET', 'CPU_SUBSETS']

QUICK_SUBSET = 128
# Examples of each split for the resized networks on a CPU, by input side: minutes, not hours
# (AlexNet at 224 trains at a few images per second on 2 cores).
CPU_SUBSETS = {96: 2000, 224: 512}


def plan_run(spec, quick, on_gpu, full=False):
    """``(num_epochs, subset, scope)`` for one model: what this machine can afford, or the book's
    settings with ``full``."""
    if quick and full:
        raise ValueError('quick and full exclude each other: choose one')
    if quick:
        return 1, QUICK_SUBSET, 'quick: 1 epoch, subset %d' % QUICK_SUBSET
    if full or on_gpu or spec.resize is None:
        return spec.num_epochs, None, 'full'
    # An input larger than any listed side costs at least as much as the largest: its subset.
    side = min((side for side in CPU_SUBSETS if side >= spec.resize), default=max(CPU_SUBSETS))
    subset = CPU_SUBSETS[side]
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


def _row(spec, scope, num_epochs, subset, ctx, seed, history):
    last = history[-1]
    full = scope == 'full'
    return dict(
        model=spec.name, scope=scope, full=full,
        settings='lr %g, batch %d, %s init, %dx%d' % (spec.lr, spec.batch_size, spec.init,
                                                     spec.input_size, spec.input_size),
        epochs=num_epochs, subset=subset, device=str(ctx), seed=seed,
        train_acc=last['train_acc'], test_acc=last['test_acc'],
        sec_per_epoch=float(np.mean([r['time_sec'] for r in history])),
        examples_per_sec=float(np.mean([r['examples_per_sec'] for r in history])),
        book_test_acc=spec.book_test_acc,
        diff=(last['test_acc'] - spec.book_test_acc) if full and spec.book_test_acc else None,
        date=datetime.date.today().isoformat(), machine=_machine(), versions=_versions(),
        history=history, seed_runs=[])


def spread(row):
    """``(runs, mean, std, min, max)`` of the final test accuracy over the row's run and its
    ``seed_runs`` (population std), or None when there is only the one run."""
    accs = [row['test_acc']] + [r['test_acc'] for r in row.get('seed_runs', [])]
    if len(accs) < 2:
        return None
    return len(accs), float(np.mean(accs)), float(np.std(accs)), min(accs), max(accs)


def _spread_cell(row):
    stats = spread(row)
    if stats is None:
        return ''
    n, mean, std, low, high = stats
    return '%d seeds: %.3f ± %.3f (%.3f–%.3f)' % (n, mean, std, low, high)


def results_table(rows):
    """The text of RESULTS.md for ``rows``."""
    lines = ['# Reproduction of the book\'s figures',
             '',
             'Written by `gluon-notes reproduce`; every figure comes from a run of this code. '
             '"book" is the final-epoch test accuracy the MXNet edition prints at the same settings; '
             '"diff" is ours minus the book\'s, given only for full-setting runs. "over seeds" is '
             'the final test accuracy of the same settings trained with several seeds: mean ± '
             'standard deviation (min–max). Rows more than 1.5 points from the book are discussed '
             'in [README.md](README.md).',
             '',
             '| model | scope | settings | epochs | device | seed | train acc | test acc | book | '
             'diff | over seeds | s/epoch | examples/s | date | packages |',
             '| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: '
             '| --- | --- |']
    for r in rows:
        seed = r.get('seed', 0)
        lines.append('| %s | %s | %s | %d | %s | %s | %.3f | %.3f | %s | %s | %s | %.1f | %.0f | '
                     '%s | %s |' % (
                         r['model'], r['scope'], r['settings'], r['epochs'], r['device'],
                         '' if seed is None else seed, r['train_acc'], r['test_acc'],
                         '%.3f' % r['book_test_acc'] if r['book_test_acc'] else '',
                         '%+.3f' % r['diff'] if r['diff'] is not None else 'n/a',
                         _spread_cell(r), r['sec_per_epoch'], r['examples_per_sec'], r['date'],
                         r['versions']))
    machines = sorted({'%s; %s' % (r['machine'], r['versions']) for r in rows})
    lines += ['', 'Machines and packages:'] + ['- ' + m for m in machines]
    return '\n'.join(lines) + '\n'


def _resumable(run_dir, num_epochs, subset, seed):
    config_path = run_dir / 'config.json'
    if not config_path.exists():
        return False
    config = json.loads(config_path.read_text())
    return (config.get('num_epochs') == num_epochs and config.get('subset') == subset
            and config.get('seed') == seed)


def _load_rows(path):
    if not path.exists():
        return []
    return json.loads(path.read_text())['rows']


def _train(spec, run_dir, num_epochs, subset, ctx, seed, checkpoint_minutes, verbose):
    """Train one run of the reproduction in ``run_dir``, resuming it when it was cut short."""
    # A run cut short (Ctrl-C, a killed process) continues from its last checkpoint.
    resume = has_checkpoint(run_dir) and _resumable(run_dir, num_epochs, subset, seed)
    _, history = train_model(spec.name, num_epochs=num_epochs, subset=subset, ctx=ctx, seed=seed,
                             out=run_dir, overwrite=not resume, resume=resume, verbose=verbose,
                             checkpoint_minutes=checkpoint_minutes)
    return history


@contextlib.contextmanager
def _results_lock(out):
    """Hold an exclusive lock on ``OUT/.results.lock`` (a file kept there, empty) while rows are
    read back and written, so that reproductions sharing ``OUT`` take turns."""
    path = out / '.results.lock'
    with as_run_files_error(path, out):  # a read-only OUT fails here as it would at the first write
        lock = open(path, 'a')
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _publish(out, rows, histories):
    """Write ``results.json``, ``RESULTS.md`` and the PNG of each of ``histories`` (model name to
    history) into ``out``: all of them or, after a fault, none (``write_files_atomically``).
    results.json, which a later call reads back, is renamed into place last."""
    files = [(out / ('%s.png' % name), history_png(h)) for name, h in histories.items()]
    files.append((out / 'RESULTS.md', results_table(rows).encode()))
    files.append((out / 'results.json', (json.dumps({'rows': rows}, indent=1) + '\n').encode()))
    write_files_atomically(files)


def reproduce(models=None, *, quick=False, full=False, ctx=None, out='results', runs=None, seed=0,
              extra_seeds=None, checkpoint_minutes=None, verbose=True):
    """Train ``models`` (default: every registered one) one after another, as ``plan_run`` says,
    and write ``OUT/RESULTS.md``, ``OUT/results.json`` and ``OUT/<model>.png``. Run directories go
    under ``runs`` (default ``OUT/runs``). Each row is the run with ``seed``; every seed of
    ``extra_seeds`` trains the same settings again, recorded in the row's ``seed_runs``.
    Results are published as each run finishes, all files together (``_publish``): a file-system
    fault (``checkpoint.RunFilesError``) leaves ``out`` as it was after the last finished run, and
    the same call continues the reproduction once the fault is fixed. Returns the rows."""
    names = list(models) if models else list_models()
    specs = [get_spec(n) for n in names]  # unknown names fail before any training
    seed = checks.seed(seed, optional=False)
    extra_seeds = [s for s in checks.seeds(extra_seeds) if s != seed]
    checkpoint_minutes = checks.checkpoint_minutes(checkpoint_minutes)
    if quick and full:
        raise ValueError('quick and full exclude each other: choose one')
    ctx = ctx if ctx is not None else mx.cpu()
    on_gpu = all(c.device_type == 'gpu' for c in as_ctx_list(ctx))
    out = make_directory(out)
    runs = Path(runs) if runs is not None else out / 'runs'
    json_path = out / 'results.json'
    rows = {r['model']: r for r in _load_rows(json_path)}

    def publish(spec, history=None):
        # Another reproduce may have published into the same OUT since this one read it (two
        # queues sharing the cores): take its rows, replace only this model's.
        with _results_lock(out):
            rows.update((r['model'], r) for r in _load_rows(json_path) if r['model'] != spec.name)
            ordered = [rows[n] for n in list_models() if n in rows]
            _publish(out, ordered, {spec.name: history} if history is not None else {})

    for spec in specs:
        num_epochs, subset, scope = plan_run(spec, quick, on_gpu, full)
        run_dir = runs / spec.name
        previous = rows.get(spec.name)
        if (previous and previous['scope'] == scope and previous['device'] == str(ctx)
                and previous.get('seed', 0) == seed and previous['epochs'] == num_epochs):
            if verbose:
                print('%s: already done (%s, seed %d), skipped' % (spec.name, scope, seed),
                      flush=True)
        else:
            if verbose:
                print('== %s: %s, seed %d, %s' % (spec.name, scope, seed, spec.describe()),
                      flush=True)
            history = _train(spec, run_dir, num_epochs, subset, ctx, seed, checkpoint_minutes,
                             verbose)
            rows[spec.name] = _row(spec, scope, num_epochs, subset, ctx, seed, history)
            publish(spec, history)
        row = rows[spec.name]
        row.setdefault('seed_runs', [])
        for extra in extra_seeds:
            if any(r['seed'] == extra for r in row['seed_runs']):
                if verbose:
                    print('%s: seed %d already done, skipped' % (spec.name, extra), flush=True)
                continue
            if verbose:
                print('== %s: %s, seed %d (spread)' % (spec.name, scope, extra), flush=True)
            history = _train(spec, runs / ('%s-seed%d' % (spec.name, extra)), num_epochs, subset,
                             ctx, extra, checkpoint_minutes, verbose)
            row['seed_runs'].append(dict(seed=extra, train_acc=history[-1]['train_acc'],
                                         test_acc=history[-1]['test_acc'],
                                         date=datetime.date.today().isoformat(),
                                         versions=_versions()))
            publish(spec)
    if verbose:
        print('wrote', out / 'RESULTS.md', file=sys.stderr)
    return [rows[n] for n in list_models() if n in rows]
