"""The common training loop behind the book's ``train_ch3`` and ``train_ch5``, and device helpers.

Unlike d2lzh, the loop never calls ``asscalar()`` per batch: the loss and accuracy sums stay on the
device and are read once per epoch, so MXNet's engine can overlap the Python loop with computation.
To bound the memory of queued batches it waits on the batch issued ``_LAG`` steps earlier.
"""
import io
import json
import sys
import time

import mxnet as mx
from mxnet import autograd, gluon, nd
from mxnet.gluon import loss as gloss, utils as gutils

from . import checks
from .checkpoint import TrainingRun, describe_position, write_atomically
from .distributed import DataParallel

__all__ = ['try_gpu', 'try_all_gpus', 'Accumulator', 'evaluate_accuracy', 'train_ch3', 'train_ch5',
           'plot_history', 'save_history', 'save_json', 'as_ctx_list']

_LAG = 2


def mxnet_reason(error):
    """The one line of an MXNetError that says what went wrong, without MXNet's traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith('MXNetError:'):
            return line[len('MXNetError:'):].strip()
    return lines[-1] if lines else type(error).__name__


def gpu_count():
    """``(number of GPUs MXNet reports, None)``, or ``(0, MXNet's reason)`` when counting them
    failed (a CUDA build with a driver that is missing or too old raises there)."""
    try:
        return mx.context.num_gpus(), None
    except mx.base.MXNetError as e:
        return 0, mxnet_reason(e)


def probe(ctx):
    """None when a first operation on ``ctx`` works, else MXNet's reason: a missing library, no
    kernel image for the GPU's architecture, out of memory..."""
    try:
        nd.zeros((1,), ctx=ctx).wait_to_read()
    except mx.base.MXNetError as e:
        return mxnet_reason(e)
    return None


_NOTIFIED = set()


def _notify(message):
    """A one-line notice on stderr, once per process: try_gpu() is called in loops and cells."""
    if message not in _NOTIFIED:
        _NOTIFIED.add(message)
        print('gluon-notes: ' + message, file=sys.stderr)


def try_gpu():
    """``mx.gpu()`` if a GPU is usable, else ``mx.cpu()``. When MXNet reports a GPU whose first
    operation fails, says so once on stderr, quoting MXNet's reason."""
    count, why = gpu_count()
    if count == 0:  # skips MXNet's "GPU support is disabled" log line
        if why:
            _notify('MXNet cannot use the GPUs (%s); using cpu(0)' % why)
        return mx.cpu()
    reason = probe(mx.gpu())
    if reason is None:
        return mx.gpu()
    _notify('gpu(0) failed its first operation, using cpu(0) instead: %s' % reason)
    return mx.cpu()


def try_all_gpus():
    """Every usable GPU, or ``[mx.cpu()]`` when there is none. GPUs whose first operation fails
    are skipped, with a notice naming them and MXNet's reason."""
    count, why = gpu_count()
    ctxes, skipped = [], []
    for i in range(count):
        reason = probe(mx.gpu(i))
        if reason is None:
            ctxes.append(mx.gpu(i))
        else:
            skipped.append('gpu(%d): %s' % (i, reason))
    if why:
        _notify('MXNet cannot use the GPUs (%s); using cpu(0)' % why)
    elif skipped:
        _notify('skipped %s; using %s' % ('; '.join(skipped),
                                          ', '.join(str(c) for c in ctxes) or 'cpu(0)'))
    return ctxes or [mx.cpu()]


def as_ctx_list(ctx):
    """``ctx`` (a context or a non-empty list of them) as a list."""
    ctxs = list(ctx) if isinstance(ctx, (list, tuple)) else [ctx]
    if not ctxs or not all(isinstance(c, mx.Context) for c in ctxs):
        raise TypeError('ctx must be an mx.Context or a non-empty list of them, got %r' % (ctx,))
    return ctxs


class Accumulator:
    """Sums ``n`` running values."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + b for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def _split(X, y, ctxs):
    if len(ctxs) == 1:
        return [X.as_in_context(ctxs[0])], [y.as_in_context(ctxs[0])]
    return (gutils.split_and_load(X, ctxs, even_split=False),
            gutils.split_and_load(y, ctxs, even_split=False))


def _correct(F, y_hat, y):
    """Correct predictions in the batch, with ``F`` = ``nd`` or, in a hybrid block, ``sym``."""
    return F.sum(F.argmax(y_hat, axis=1) == F.cast(y, 'float32'))


class _RunningSums(gluon.HybridBlock):
    """``(loss_sum + sum(l), acc_sum + correct predictions)`` for one batch, in one hybridized
    call: the six small operators it replaces each cost a Python-to-engine push, and Python's time
    is taken from the cores that compute. The sums are new arrays, so waiting for one later
    waits for its batch and no later one."""

    def hybrid_forward(self, F, l, y_hat, y, loss_sum, acc_sum):
        return loss_sum + F.sum(l), acc_sum + _correct(F, y_hat, y)


def evaluate_accuracy(data_iter, net, ctx=None):
    """Accuracy of ``net`` on ``data_iter``; ``ctx`` is a context, a list of them, or None (leave
    each batch where it is)."""
    correct, n = _count_correct(data_iter, net, as_ctx_list(ctx) if ctx is not None else None)
    return correct / n if n else float('nan')


def _count_correct(data_iter, net, ctxs):
    """``(correct predictions, examples)`` of ``net`` on ``data_iter``."""
    correct, n, pending = None, 0, []
    for X, y in data_iter:
        Xs, ys = _split(X, y, ctxs) if ctxs else ([X], [y])
        for Xi, yi in zip(Xs, ys):
            c = _correct(nd, net(Xi), yi).as_in_context(Xs[0].context)
            correct = c if correct is None else correct + c
        n += y.shape[0]
        pending.append(correct)
        if len(pending) > _LAG:
            pending.pop(0).wait_to_read()
    return (correct.asscalar() if n else 0.0), n


def _duration(seconds):
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return '%dh%02dm' % (hours, rest // 60) if hours else '%dm%02ds' % divmod(rest, 60)


class _ProgressLines:
    """A line every ``every`` seconds of training, for runs whose output goes to a log (no tqdm
    bar): where the run is, its speed, the running loss and accuracy, and when the epoch and the
    run should end. Reading the running sums waits for the batches queued so far, once a line."""

    def __init__(self, name, num_epochs, num_batches, test_batches, every, clock=time.time):
        self.name, self.num_epochs, self.every, self.clock = name, num_epochs, every, clock
        self.num_batches, self.test_batches = num_batches, test_batches
        self.last = clock()

    def start_epoch(self):
        self.last = self.clock()

    def due(self):
        return self.clock() - self.last >= self.every

    def line(self, epoch, batch, n, start, loss_sums, acc_sums, history):
        """The progress line at ``batch`` batches done of the 0-based ``epoch``; ``start`` is the
        epoch's start on ``clock`` (earlier sessions' training time included)."""
        loss = sum(s.asscalar() for s in loss_sums) / max(n, 1)
        acc = sum(s.asscalar() for s in acc_sums) / max(n, 1)
        now = self.last = self.clock()  # after the reads, which wait for the queued batches
        spent = max(now - start, 1e-9)
        text = '[%s] epoch %d/%d, batch %d' % (self.name, epoch + 1, self.num_epochs, batch)
        if self.num_batches:
            text += '/%d' % self.num_batches
        text += ', %.1f examples/s, loss %.4f, train acc %.3f' % (n / spent, loss, acc)
        if not self.num_batches or not batch:
            return text
        per_batch = spent / batch
        # Evaluation is a forward pass only: about a third of a training step per batch.
        evaluation = (self.test_batches or 0) * per_batch / 3
        epoch_left = (self.num_batches - batch) * per_batch + evaluation
        whole = ([r['time_sec'] for r in history if r.get('time_sec')] or
                 [self.num_batches * per_batch + evaluation])
        run_left = epoch_left + (self.num_epochs - epoch - 1) * sum(whole) / len(whole)
        return text + '; epoch ends in %s, run in %s' % (_duration(epoch_left),
                                                         _duration(run_left))


def _fully_hybrid(net):
    return isinstance(net, gluon.HybridBlock)


def _run_epochs(net, train_iter, test_iter, loss, num_epochs, update, ctxs, line, progress,
                history_file, plot_file, verbose, run=None, parallel=None, progress_every=None,
                name=None):
    """The loop both chapters share; ``update(n)`` applies one optimiser step for ``n`` examples,
    ``line(record)`` formats an epoch's printed line. ``run`` (a ``checkpoint.TrainingRun``)
    resumes, reseeds and checkpoints; every run stops on a NaN/inf loss. Without a bar, a verbose
    run prints a progress line every ``progress_every`` seconds."""
    run = run if run is not None else TrainingRun(num_epochs)
    history = run.history
    running_sums = _RunningSums()
    running_sums.hybridize()
    show_bar = sys.stderr.isatty() if progress is None else progress
    lines = None
    if verbose and not show_bar and progress_every:
        lines = _ProgressLines(name or getattr(net, 'name', 'net'), num_epochs,
                               len(train_iter) if hasattr(train_iter, '__len__') else None,
                               len(test_iter) if hasattr(test_iter, '__len__') else None,
                               progress_every)
    for epoch in range(run.start_epoch, num_epochs):
        batches, loss0, acc0, n, elapsed = run.begin_epoch(epoch, train_iter)
        start = time.time() - elapsed
        loss_sum = [nd.zeros((1,), ctx=c) for c in (ctxs or [mx.cpu()])]
        acc_sum = [nd.zeros((1,), ctx=c) for c in (ctxs or [mx.cpu()])]
        loss_sum[0] += loss0
        acc_sum[0] += acc0
        pending = []
        if lines is not None:
            lines.start_epoch()
        if show_bar:
            from tqdm import tqdm
            batches = tqdm(batches, desc='epoch %d' % (epoch + 1), leave=False, initial=run.batch,
                           total=len(train_iter) if hasattr(train_iter, '__len__') else None)
        for X, y in batches:
            Xs, ys = _split(X, y, ctxs) if ctxs else ([X], [y])
            with autograd.record():
                y_hats = [net(Xi) for Xi in Xs]
                ls = [loss(y_hat, yi) for y_hat, yi in zip(y_hats, ys)]
            for l in ls:
                l.backward()
            update(X.shape[0])
            for i, (l, y_hat, yi) in enumerate(zip(ls, y_hats, ys)):
                j = i if ctxs else 0
                loss_sum[j], acc_sum[j] = running_sums(
                    l, y_hat, yi, loss_sum[j].as_in_context(l.context),
                    acc_sum[j].as_in_context(l.context))
            n += y.shape[0]
            pending.append((run.batch, loss_sum[0]))
            if len(pending) > _LAG:
                run.check_loss(*pending.pop(0))
            if run.end_batch():
                run.save(run.sync(pending, loss_sum, acc_sum), n, time.time() - start)
            if lines is not None and lines.due():
                print(lines.line(epoch, run.batch, n, start, loss_sum, acc_sum, history),
                      flush=True)
        loss_total, acc_total = run.sync(pending, loss_sum, acc_sum)
        train_time = time.time() - start
        if parallel is not None:  # data parallel: one set of moving statistics, global totals
            parallel.average_aux(net)
        test_correct, test_n = _count_correct(test_iter, net, ctxs)
        if parallel is not None:
            loss_total, acc_total, n, test_correct, test_n = parallel.sum(
                [loss_total, acc_total, n, test_correct, test_n])
        train_loss, train_acc = loss_total / n, acc_total / n
        test_acc = test_correct / test_n if test_n else float('nan')
        record = dict(epoch=epoch + 1, loss=train_loss, train_acc=train_acc, test_acc=test_acc,
                      time_sec=time.time() - start, examples_per_sec=n / train_time)
        history.append(record)
        if verbose:
            print(line(record), flush=True)
        if history_file:
            save_history(history, history_file)
        run.end_epoch(epoch, history, train_iter)
    if plot_file and history:
        plot_history(history, plot_file)
    return history


def train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs, *, loss=None,
              hybridize=True, progress=None, history_file=None, plot_file=None, verbose=True,
              checkpoint_dir=None, checkpoint_every=None, checkpoint_minutes=None, resume=False,
              seed=None, config=None, kvstore=None, progress_every=60.0):
    """Train ``net`` with ``trainer`` and softmax cross-entropy, printing d2lzh's epoch lines.

    ``ctx`` is a context or a list of them (each batch is split over the list and the trainer's
    kvstore sums the gradients). As in d2lzh, each step is ``trainer.step(batch_size)``. The network
    is hybridized when it is a HybridBlock, unless ``hybridize=False``. ``progress`` shows a tqdm bar
    (default: when stderr is a terminal); without one, a progress line is printed every
    ``progress_every`` seconds (None or 0: never). Returns the history, one dict per epoch with keys
    ``epoch, loss, train_acc, test_acc, time_sec, examples_per_sec`` (time_sec includes evaluation,
    examples_per_sec counts training only); ``history_file`` (JSON) and ``plot_file`` (PNG) save it.

    A NaN or infinite loss raises ``DivergenceError``. With ``checkpoint_dir``, a checkpoint is
    written there after every epoch, every ``checkpoint_every`` batches and every
    ``checkpoint_minutes`` (default 10; 0 turns the clock off) at a batch boundary, and SIGINT/SIGTERM
    checkpoint at the next batch then raise ``TrainingInterrupted``; ``resume=True`` continues
    from it, refusing a checkpoint of another network or of other settings (``config``, extra
    JSON-able settings, is compared too). A file-system fault while writing the run's files raises
    ``RunFilesError`` (an OSError): one line naming the path, the cause, what to do and the
    checkpoint still intact. ``seed`` reseeds ``mx.random`` before every batch from
    (seed, epoch, batch), so that a resumed run ends with the parameters of an uninterrupted one.
    See ``gluon_notes.checkpoint``.

    Data parallel (``gluon_notes.distributed``): with several contexts, batch-norm moving statistics
    are averaged over them every epoch. ``kvstore`` is the distributed ``mx.kv.KVStore`` the trainer
    was built with (``create_trainer``) when this process is one worker of a launched job:
    ``train_iter`` is then this worker's shard and ``batch_size`` its batch, each step is
    ``trainer.step(batch_size * num_workers)``, the epoch totals and statistics are combined over
    the workers, and only rank 0 prints and writes files; there are no checkpoints (a worker
    stopping alone would leave the others waiting), so no resume either.
    """
    ctxs = as_ctx_list(ctx)
    num_epochs = checks.integer('num_epochs', num_epochs, optional=False)
    batch_size = checks.integer('batch_size', batch_size, optional=False)
    checks.number('lr', trainer.learning_rate, optional=False)
    progress_every = checks.number('progress_every', progress_every, inclusive=True,
                                   unit='seconds', zero='never')
    parallel = DataParallel(ctxs, kvstore) if len(ctxs) > 1 or kvstore is not None else None
    if parallel is not None:
        parallel.check_trainer(trainer)
        if parallel.distributed and (resume or checkpoint_every or checkpoint_minutes):
            raise ValueError('checkpoints (resume, checkpoint_every, checkpoint_minutes) are '
                             'not supported with a distributed kvstore (%s); got %s' % (
                                 parallel.kv.type, checks.given(
                                     resume=resume, checkpoint_every=checkpoint_every,
                                     checkpoint_minutes=checkpoint_minutes)))
        if parallel.distributed:
            # A worker stopping alone at a batch boundary would leave the others waiting.
            checkpoint_dir = None
        if not parallel.is_root:
            verbose = progress = False
            history_file = plot_file = None
    if hybridize and _fully_hybrid(net):
        net.hybridize(static_alloc=True)
    run_config = dict(config or {}, batch_size=batch_size, lr=trainer.learning_rate,
                      optimizer=type(trainer.optimizer).__name__.lower(),
                      num_batches=len(train_iter) if hasattr(train_iter, '__len__') else None)
    run = TrainingRun(num_epochs, net=net, trainer=trainer, ctx=ctxs, directory=checkpoint_dir,
                      every=checkpoint_every, minutes=checkpoint_minutes, resume=resume,
                      seed=seed, config=run_config,
                      lr=trainer.learning_rate)
    if verbose:
        print('training on', ctx)
        if parallel is not None and parallel.distributed:
            print('rank 0 of %d workers, kvstore %s, global batch %d'
                  % (parallel.num_workers, kvstore.type, batch_size * parallel.num_workers))
        if run.resumed:
            print('resuming from %s at %s' % (checkpoint_dir, describe_position(*run.resumed)))
    if loss is None:
        loss = gloss.SoftmaxCrossEntropyLoss()
        if hybridize:
            loss.hybridize()

    def line(r):
        return ('epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec, '
                '%.1f examples/sec' % (r['epoch'], r['loss'], r['train_acc'], r['test_acc'],
                                       r['time_sec'], r['examples_per_sec']))
    # The kvstore returns the gradient summed over every worker's batch.
    step_size = batch_size * (parallel.num_workers if parallel is not None else 1)
    if parallel is not None:
        parallel.prepare(net, trainer, train_iter)
        update = lambda n: parallel.step(trainer, step_size, net)  # noqa: E731
    else:
        update = lambda n: trainer.step(step_size)  # noqa: E731
    with run.handling_signals(), run.reporting_faults():
        return _run_epochs(net, train_iter, test_iter, loss, num_epochs, update, ctxs, line,
                           progress, history_file, plot_file, verbose, run, parallel,
                           progress_every, (config or {}).get('model'))


def train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, params=None, lr=None,
              trainer=None, *, progress=None, history_file=None, plot_file=None, verbose=True):
    """The book's chapter-3 loop: ``sgd(params, lr, batch_size)`` when ``trainer`` is None, else
    ``trainer.step(batch_size)``. ``net`` may be any callable. Returns the history as train_ch5."""
    if trainer is None and (params is None or lr is None):
        raise ValueError('train_ch3 needs either trainer= or both params= and lr=')
    num_epochs = checks.integer('num_epochs', num_epochs, optional=False)
    batch_size = checks.integer('batch_size', batch_size, optional=False)
    if trainer is None:
        lr = checks.number('lr', lr, optional=False)
    else:
        checks.number('lr', trainer.learning_rate, optional=False)
    from .chapter3.linear_regression import sgd

    def update(_):
        if trainer is None:
            sgd(params, lr, batch_size)
        else:
            trainer.step(batch_size)

    def line(r):
        return ('epoch %d, loss %.4f, train acc %.3f, test acc %.3f'
                % (r['epoch'], r['loss'], r['train_acc'], r['test_acc']))
    return _run_epochs(net, train_iter, test_iter, loss, num_epochs, update, None, line, progress,
                       history_file, plot_file, verbose)


def save_json(obj, path):
    """Write ``obj`` as JSON, atomically."""
    write_atomically(path, (json.dumps(obj, indent=1) + '\n').encode())


def save_history(history, path):
    """Write the history as JSON, atomically."""
    save_json(history, path)


def plot_history(history, path):
    """Plot loss and train/test accuracy per epoch into a PNG at ``path``, atomically."""
    write_atomically(path, history_png(history))


def history_png(history):
    """The PNG (bytes) of ``plot_history``."""
    # A bare Figure needs no pyplot backend, so this works headless and leaves notebooks alone.
    from matplotlib.figure import Figure
    epochs = [r['epoch'] for r in history]
    fig = Figure(figsize=(9, 3.5))
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(epochs, [r['loss'] for r in history], 'o-')
    ax_loss.set(xlabel='epoch', ylabel='train loss')
    ax_acc.plot(epochs, [r['train_acc'] for r in history], 'o-', label='train acc')
    ax_acc.plot(epochs, [r['test_acc'] for r in history], 's--', label='test acc')
    ax_acc.set(xlabel='epoch', ylabel='accuracy')
    ax_acc.legend()
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format='png', dpi=100)
    return png.getvalue()
