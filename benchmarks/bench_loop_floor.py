"""How much the training loop costs over the bare operators, for any registered model.

For each model, at the book's settings (batch size, learning rate, input size, init), on the CPU,
three runs over the same number of full batches take turns (in a rotated order), each on a fresh
network:

* ``train_ch5``: the loader (``FashionMNISTIter``) and ``gluon_notes.train_ch5``, as a user calls
  them, then the test-set evaluation;
* ``train_ch5+seed``: the same with ``seed=``, which reseeds MXNet's generator before every batch
  (what ``gluon-notes reproduce`` does, so that a resumed run ends bit for bit where an
  uninterrupted one would);
* ``operators``: the floor of any training loop that calls these MXNet operators: the forward,
  backward and SGD step of every batch and the forward of every test batch, hybridized, over
  batches built in memory beforehand, with no metrics and no per-batch synchronisation.

Every network is hybridized and run forward and backward once before its timing starts, so that
building the graph and oneDNN's kernels is outside the figures. Prints every run and, per model, the
median time of each side and its cost over the floor, both as the ratio of the medians and as the
median of the ratios within each round (steadier when the machine's speed drifts). MXNet reads
OMP_NUM_THREADS when it is imported: set it in the environment to give every run the same number of
threads.

    python benchmarks/bench_loop_floor.py [MODEL ...] [--batches 8] [--test-batches 2] [--repeats 3]
"""
import argparse
import io
import statistics
import sys
import time
from contextlib import redirect_stdout

import mxnet as mx
from mxnet import autograd, gluon, nd

import gluon_notes as gn
from gluon_notes.runner import make_initializer
from bench_lenet_epoch import take_turns, threads


def iterators(spec, batches, test_batches):
    """A shuffled training iterator of exactly ``batches`` full batches and a test iterator of
    ``test_batches``, at the book's batch size and input size."""
    size = spec.batch_size
    train = gn.load_fashion_mnist_arrays('train', resize=spec.resize, subset=batches * size)
    test = gn.load_fashion_mnist_arrays('test', resize=spec.resize, subset=test_batches * size)
    return (gn.FashionMNISTIter(*train, size, shuffle=True),
            gn.FashionMNISTIter(*test, size, shuffle=False))


def warm_network(spec, X, y, loss):
    """A fresh, initialised and hybridized network that has run one forward and backward pass
    (parameters unchanged), and its SGD trainer at the book's learning rate."""
    net = gn.get_model(spec.name)
    net.initialize(make_initializer(spec.init), ctx=mx.cpu())
    net.hybridize(static_alloc=True)
    with autograd.record():
        l = loss(net(X), y)
    l.backward()
    nd.waitall()
    return net, gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': spec.lr})


def run_loop(spec, train_iter, test_iter, seed):
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    loss.hybridize()
    X, y = next(iter(test_iter))
    net, trainer = warm_network(spec, X, y, loss)
    out = io.StringIO()
    start = time.time()
    with redirect_stdout(out):
        # hybridize=False: the network is hybridized (and warm) already; hybridizing again would
        # drop its cached graph.
        gn.train_ch5(net, train_iter, test_iter, spec.batch_size, trainer, mx.cpu(), 1,
                     loss=loss, hybridize=False, progress=False, seed=seed)
    seconds = time.time() - start
    return seconds, out.getvalue().splitlines()[-1]


def run_operators(spec, train_iter, test_iter):
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    loss.hybridize()
    train, test = list(train_iter), list(test_iter)
    net, trainer = warm_network(spec, *test[0], loss)
    start = time.time()
    for X, y in train:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(spec.batch_size)
    for X, _ in test:
        net(X)
    nd.waitall()
    return time.time() - start, 'forward/backward/update of every batch + test forward only'


def bench_model(name, batches, test_batches, repeats):
    """Print every run of ``name`` and return the median seconds of each side."""
    spec = gn.get_spec(name)
    train_iter, test_iter = iterators(spec, batches, test_batches)
    print('== %s: %s; %d training batches (%d examples), %d test batches'
          % (name, spec.describe(), batches, batches * spec.batch_size, test_batches), flush=True)
    sides = (('train_ch5', lambda i: run_loop(spec, train_iter, test_iter, None)),
             ('train_ch5+seed', lambda i: run_loop(spec, train_iter, test_iter, i)),
             ('operators', lambda i: run_operators(spec, train_iter, test_iter)))
    times = take_turns(sides, repeats, rotate=True)
    med = {side: statistics.median(t) for side, t in times.items()}
    # On a shared machine the speed drifts over minutes; a side's time over the floor's within the
    # same round is steadier than the ratio of the medians.
    paired = {side: statistics.median(a / b for a, b in zip(t, times['operators']))
              for side, t in times.items()}
    print('%s median: %s' % (name, ', '.join(
        '%s %.2f s (%+.1f%% over the floor; paired by round %+.1f%%)'
        % (side, med[side], 100 * (med[side] / med['operators'] - 1), 100 * (paired[side] - 1))
        if side != 'operators' else 'operators alone %.2f s' % med[side]
        for side, _ in sides)), flush=True)
    # The loop's own work per batch does not grow with the network: measured on a small network,
    # where the operators are cheap, it bounds what the loop can add to a large one.
    print('%s: the loop adds %.1f ms per training batch (train_ch5 median - floor median) / %d'
          % (name, 1000 * (med['train_ch5'] - med['operators']) / batches, batches), flush=True)
    return med


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='*', default=['resnet18', 'alexnet'],
                        help='registered model names (default: resnet18 alexnet)')
    parser.add_argument('--batches', type=int, default=8, help='training batches per run')
    parser.add_argument('--test-batches', type=int, default=2, help='test batches per run')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    known = gn.list_models()
    for name in args.models:
        if name not in known:
            parser.error('unknown model %r; registered: %s' % (name, ', '.join(known)))
    for option in ('batches', 'test_batches', 'repeats'):
        if getattr(args, option) < 1:
            parser.error('--%s must be a positive integer, got %d'
                         % (option.replace('_', '-'), getattr(args, option)))
    return args


def main():
    args = parse_args()
    print(threads(), flush=True)
    for name in args.models:
        bench_model(name, args.batches, args.test_batches, args.repeats)
    nd.waitall()
    return 0


if __name__ == '__main__':
    sys.exit(main())
