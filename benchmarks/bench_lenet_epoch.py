"""One LeNet epoch on the full Fashion-MNIST: gluon_notes (loader + train_ch5) vs d2lzh.train_ch5.

Both train the same network (sigmoid LeNet, Xavier, SGD lr 0.9, batch 256) for one epoch, including
the test-set evaluation, in this process, alternating runs. The d2lzh side is what a reader of the
book runs: the book's LeNet listing (an ``nn.Sequential`` of Gluon layers), d2lzh.train_ch5, fed
exactly the way d2lzh.load_data_fashion_mnist feeds it: ArrayDataset(...).transform_first(ToTensor())
and a DataLoader with num_workers=4 (over the same bundled images, since d2lzh's own loader would try
to download). Ours is gluon_notes' loader, get_model('lenet') and train_ch5; its time includes
building the iterators (the decode is cached after the first call, as it is within any session).
A third run, ``operators``, is the floor of any training loop: the same epoch's forward, backward
and SGD steps and the test-set forward of get_model('lenet'), hybridized, over batches built in
memory beforehand, with no metrics and no per-batch synchronisation; d2lzh's time over that floor
is the largest speed-up any loop calling these MXNet operators can reach on this machine. Prints
each run, the median speed-up and that bound. MXNet reads OMP_NUM_THREADS when it is imported:
set it in the environment to give every run the same number of threads.

    python benchmarks/bench_lenet_epoch.py [--repeats 3] [--subset N]
"""
import argparse
import io
import os
import statistics
import time
from contextlib import redirect_stdout

import mxnet as mx
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import data as gdata, nn

import gluon_notes as gn

BATCH, LR = 256, 0.9


def book_lenet():
    """The book's LeNet listing, as a d2lzh user writes it; written out here rather than taken
    from gluon_notes, so that the baseline stays the book's code whatever our builder becomes."""
    net = nn.Sequential()
    net.add(nn.Conv2D(channels=6, kernel_size=5, activation='sigmoid'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=16, kernel_size=5, activation='sigmoid'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation='sigmoid'),
            nn.Dense(84, activation='sigmoid'),
            nn.Dense(10))
    return net


def lenet_and_trainer(seed, build=None):
    mx.random.seed(seed)
    net = build() if build is not None else gn.get_model('lenet')
    net.initialize(init.Xavier())
    return net, gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': LR})


def d2lzh_iters(subset):
    to_tensor = gdata.vision.transforms.ToTensor()
    loaders = []
    for split, shuffle in (('train', True), ('test', False)):
        images, labels = gn.load_fashion_mnist_arrays(split, subset=subset)
        dataset = gdata.ArrayDataset(mx.nd.array(images.transpose(0, 2, 3, 1), dtype='uint8'), labels)
        loaders.append(gdata.DataLoader(dataset.transform_first(to_tensor), BATCH, shuffle=shuffle,
                                        num_workers=4))
    return loaders


def run_d2lzh(seed, subset):
    import d2lzh
    train_iter, test_iter = d2lzh_iters(subset)
    net, trainer = lenet_and_trainer(seed, book_lenet)
    start = time.time()
    out = io.StringIO()
    with redirect_stdout(out):
        d2lzh.train_ch5(net, train_iter, test_iter, BATCH, trainer, mx.cpu(), 1)
    return time.time() - start, out.getvalue().splitlines()[-1]


def run_ours(seed, subset):
    start = time.time()
    train_iter, test_iter = gn.load_data_fashion_mnist(BATCH, subset=subset)
    net, trainer = lenet_and_trainer(seed)
    out = io.StringIO()
    with redirect_stdout(out):
        gn.train_ch5(net, train_iter, test_iter, BATCH, trainer, mx.cpu(), 1, progress=False)
    return time.time() - start, out.getvalue().splitlines()[-1]


def run_operators(seed, subset):
    train_iter, test_iter = gn.load_data_fashion_mnist(BATCH, subset=subset)
    train, test = list(train_iter), list(test_iter)
    net, trainer = lenet_and_trainer(seed)
    net.hybridize(static_alloc=True)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    nd.waitall()
    start = time.time()
    for X, y in train:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(BATCH)
    for X, _ in test:
        net(X)
    nd.waitall()
    return time.time() - start, 'forward/backward/update of every batch + test forward only'


def take_turns(runners, repeats, *args, rotate=False):
    """Run each ``(name, fn)`` of ``runners`` in turn, ``repeats`` times, as ``fn(i, *args)`` in
    round ``i``, which returns ``(seconds, line)``; print every run and return the seconds of
    every run per name. ``rotate`` starts each round one runner later, so that none always runs
    first or last."""
    runners = list(runners)
    times = {name: [] for name, _ in runners}
    for i in range(repeats):
        shift = i % len(runners) if rotate else 0
        for name, fn in runners[shift:] + runners[:shift]:
            seconds, line = fn(i, *args)
            times[name].append(seconds)
            print('%-16s run %d: %6.2f s  | %s' % (name, i + 1, seconds, line), flush=True)
    return times


def alternate(runners, repeats, subset):
    """``take_turns`` over the data's first ``subset`` examples (decoded once, outside the
    timings); return the median seconds per name."""
    gn.load_fashion_mnist_arrays('train', subset=subset)
    gn.load_fashion_mnist_arrays('test', subset=subset)
    times = take_turns(runners, repeats, subset)
    return {name: statistics.median(t) for name, t in times.items()}


def parse_args(doc):
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--subset', type=int, default=None)
    return parser.parse_args()


def threads():
    return 'OMP_NUM_THREADS=%s' % os.environ.get('OMP_NUM_THREADS', "unset (MXNet's default)")


def main():
    args = parse_args(__doc__)
    print(threads(), flush=True)
    med = alternate((('d2lzh', run_d2lzh), ('gluon_notes', run_ours), ('operators', run_operators)),
                    args.repeats, args.subset)
    print('median epoch: d2lzh %.2f s, gluon_notes %.2f s; speed-up %.2fx'
          % (med['d2lzh'], med['gluon_notes'], med['d2lzh'] / med['gluon_notes']))
    print('operators alone: %.2f s, so no loop calling them can be more than %.2fx faster than '
          'd2lzh here; gluon_notes spends %.2f s around them'
          % (med['operators'], med['d2lzh'] / med['operators'],
             med['gluon_notes'] - med['operators']))


if __name__ == '__main__':
    main()
