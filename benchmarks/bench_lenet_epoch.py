"""One LeNet epoch on the full Fashion-MNIST: gluon_notes (loader + train_ch5) vs d2lzh.train_ch5.

Both train the same network (sigmoid LeNet, Xavier, SGD lr 0.9, batch 256) for one epoch, including
the test-set evaluation, in this process, alternating runs. d2lzh is fed exactly the way
d2lzh.load_data_fashion_mnist feeds it: ArrayDataset(...).transform_first(ToTensor()) and a
DataLoader with num_workers=4 (over the same bundled images, since d2lzh's own loader would try to
download). Our time includes building the iterators (the decode is cached after the first call, as
it is within any session). Prints each run and the median ratio.

    python benchmarks/bench_lenet_epoch.py [--repeats 3] [--subset N]
"""
import argparse
import io
import statistics
import time
from contextlib import redirect_stdout

import mxnet as mx
from mxnet import gluon, init
from mxnet.gluon import data as gdata

import gluon_notes as gn

BATCH, LR = 256, 0.9


def lenet_and_trainer(seed):
    mx.random.seed(seed)
    net = gn.get_model('lenet')
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
    net, trainer = lenet_and_trainer(seed)
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


def alternate(runners, repeats, subset):
    """Run each ``(name, fn)`` of ``runners`` in turn, ``repeats`` times; print every run and
    return the median seconds per name."""
    gn.load_fashion_mnist_arrays('train', subset=subset)  # decode once, outside the timings
    gn.load_fashion_mnist_arrays('test', subset=subset)
    times = {name: [] for name, _ in runners}
    for i in range(repeats):
        for name, fn in runners:
            seconds, line = fn(i, subset)
            times[name].append(seconds)
            print('%-12s run %d: %6.2f s  | %s' % (name, i + 1, seconds, line), flush=True)
    return {name: statistics.median(t) for name, t in times.items()}


def parse_args(doc):
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--subset', type=int, default=None)
    return parser.parse_args()


def main():
    args = parse_args(__doc__)
    med = alternate((('d2lzh', run_d2lzh), ('gluon_notes', run_ours)), args.repeats, args.subset)
    print('median epoch: d2lzh %.2f s, gluon_notes %.2f s; speed-up %.2fx'
          % (med['d2lzh'], med['gluon_notes'], med['d2lzh'] / med['gluon_notes']))


if __name__ == '__main__':
    main()
