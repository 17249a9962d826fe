"""The common training loop behind the book's ``train_ch3`` and ``train_ch5``, and device helpers.

Unlike d2lzh, the loop never calls ``asscalar()`` per batch: the loss and accuracy sums stay on the
device and are read once per epoch, so MXNet's engine can overlap the Python loop with computation.
To bound the memory of queued batches it waits on the batch issued ``_LAG`` steps earlier.
"""
import json
import os
import sys
import time

import mxnet as mx
from mxnet import autograd, gluon, nd
from mxnet.gluon import loss as gloss, utils as gutils

__all__ = ['try_gpu', 'try_all_gpus', 'Accumulator', 'evaluate_accuracy', 'train_ch3', 'train_ch5',
           'plot_history', 'save_history', 'as_ctx_list']

_LAG = 2


def try_gpu():
    """``mx.gpu()`` if a GPU is usable, else ``mx.cpu()``."""
    if mx.context.num_gpus() == 0:  # skips MXNet's "GPU support is disabled" log line
        return mx.cpu()
    try:
        ctx = mx.gpu()
        nd.zeros((1,), ctx=ctx).wait_to_read()
    except mx.base.MXNetError:
        ctx = mx.cpu()
    return ctx


def try_all_gpus():
    """Every usable GPU, or ``[mx.cpu()]`` when there is none."""
    ctxes = []
    for i in range(mx.context.num_gpus()):
        try:
            ctx = mx.gpu(i)
            nd.zeros((1,), ctx=ctx).wait_to_read()
            ctxes.append(ctx)
        except mx.base.MXNetError:
            break
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


def _correct(y_hat, y):
    return (y_hat.argmax(axis=1) == y.astype('float32')).sum()


def evaluate_accuracy(data_iter, net, ctx=None):
    """Accuracy of ``net`` on ``data_iter``; ``ctx`` is a context, a list of them, or None (leave
    each batch where it is)."""
    ctxs = as_ctx_list(ctx) if ctx is not None else None
    correct, n, pending = None, 0, []
    for X, y in data_iter:
        Xs, ys = _split(X, y, ctxs) if ctxs else ([X], [y])
        for Xi, yi in zip(Xs, ys):
            c = _correct(net(Xi), yi).as_in_context(Xs[0].context)
            correct = c if correct is None else correct + c
        n += y.shape[0]
        pending.append(correct)
        if len(pending) > _LAG:
            pending.pop(0).wait_to_read()
    return correct.asscalar() / n if n else float('nan')


def _fully_hybrid(net):
    return isinstance(net, gluon.HybridBlock)


def _run_epochs(net, train_iter, test_iter, loss, num_epochs, update, ctxs, line, progress,
                history_file, plot_file, verbose):
    """The loop both chapters share; ``update(n)`` applies one optimiser step for ``n`` examples,
    ``line(record)`` formats an epoch's printed line."""
    history = []
    show_bar = sys.stderr.isatty() if progress is None else progress
    for epoch in range(num_epochs):
        start = time.time()
        loss_sum = [nd.zeros((1,), ctx=c) for c in (ctxs or [mx.cpu()])]
        acc_sum = [nd.zeros((1,), ctx=c) for c in (ctxs or [mx.cpu()])]
        n, pending = 0, []
        batches = train_iter
        if show_bar:
            from tqdm import tqdm
            batches = tqdm(train_iter, desc='epoch %d' % (epoch + 1), leave=False,
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
                loss_sum[j] += l.sum().as_in_context(loss_sum[j].context)
                acc_sum[j] += _correct(y_hat, yi).as_in_context(acc_sum[j].context)
            n += y.shape[0]
            pending.append(loss_sum[0])
            if len(pending) > _LAG:
                pending.pop(0).wait_to_read()
        train_loss = sum(s.asscalar() for s in loss_sum) / n
        train_acc = sum(s.asscalar() for s in acc_sum) / n
        train_time = time.time() - start
        test_acc = evaluate_accuracy(test_iter, net, ctxs)
        record = dict(epoch=epoch + 1, loss=train_loss, train_acc=train_acc, test_acc=test_acc,
                      time_sec=time.time() - start, examples_per_sec=n / train_time)
        history.append(record)
        if verbose:
            print(line(record), flush=True)
        if history_file:
            save_history(history, history_file)
    if plot_file and history:
        plot_history(history, plot_file)
    return history


def train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs, *, loss=None,
              hybridize=True, progress=None, history_file=None, plot_file=None, verbose=True):
    """Train ``net`` with ``trainer`` and softmax cross-entropy, printing d2lzh's epoch lines.

    ``ctx`` is a context or a list of them (each batch is split over the list and the trainer's
    kvstore sums the gradients). As in d2lzh, each step is ``trainer.step(batch_size)``. The network
    is hybridized when it is a HybridBlock, unless ``hybridize=False``. ``progress`` shows a tqdm bar
    (default: when stderr is a terminal). Returns the history, one dict per epoch with keys
    ``epoch, loss, train_acc, test_acc, time_sec, examples_per_sec`` (time_sec includes evaluation,
    examples_per_sec counts training only); ``history_file`` (JSON) and ``plot_file`` (PNG) save it.
    """
    ctxs = as_ctx_list(ctx)
    if verbose:
        print('training on', ctx)
    if hybridize and _fully_hybrid(net):
        net.hybridize(static_alloc=True)
    loss = loss if loss is not None else gloss.SoftmaxCrossEntropyLoss()

    def line(r):
        return ('epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec, '
                '%.1f examples/sec' % (r['epoch'], r['loss'], r['train_acc'], r['test_acc'],
                                       r['time_sec'], r['examples_per_sec']))
    return _run_epochs(net, train_iter, test_iter, loss, num_epochs,
                       lambda n: trainer.step(batch_size), ctxs, line, progress, history_file,
                       plot_file, verbose)


def train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, params=None, lr=None,
              trainer=None, *, progress=None, history_file=None, plot_file=None, verbose=True):
    """The book's chapter-3 loop: ``sgd(params, lr, batch_size)`` when ``trainer`` is None, else
    ``trainer.step(batch_size)``. ``net`` may be any callable. Returns the history as train_ch5."""
    if trainer is None and (params is None or lr is None):
        raise ValueError('train_ch3 needs either trainer= or both params= and lr=')
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


def _atomic_write_bytes(path, data):
    tmp = '%s.tmp%d' % (path, os.getpid())
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_history(history, path):
    """Write the history as JSON, atomically."""
    _atomic_write_bytes(path, (json.dumps(history, indent=1) + '\n').encode())


def plot_history(history, path):
    """Plot loss and train/test accuracy per epoch into a PNG at ``path``."""
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
    fig.savefig(path, dpi=100)
