"""The same LeNet epoch in PyTorch (CPU), for a ratio against gluon_notes.

Optional: needs `pip install torch==2.13.0` in the venv (not a dependency of the package).
Sigmoid LeNet, Xavier-uniform weights and zero biases, SGD lr 0.9, batch 256, mean
cross-entropy (the gradient d2lzh's summed loss / trainer.step(256) gives), one epoch on the full
bundled Fashion-MNIST plus the test-set evaluation, fed from the same in-memory uint8 arrays the
gluon_notes loader uses. Alternates with gluon_notes' train_ch5 in this process and prints the
median ratio.

    python benchmarks/bench_lenet_torch.py [--repeats 3] [--subset N]
"""
import os
import time

import numpy as np
import torch
from torch import nn

import gluon_notes as gn
from bench_lenet_epoch import alternate, parse_args, run_ours

BATCH, LR = 256, 0.9


def torch_lenet():
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2), nn.Flatten(),
        nn.Linear(256, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def batches(images, labels, shuffle, rng):
    order = rng.permutation(len(labels)) if shuffle else np.arange(len(labels))
    for start in range(0, len(labels), BATCH):
        idx = order[start:start + BATCH]
        yield (torch.from_numpy(images[idx].astype(np.float32) / np.float32(255)),
               torch.from_numpy(labels[idx].astype(np.int64)))


def run_torch(seed, subset):
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    train = gn.load_fashion_mnist_arrays('train', subset=subset)
    test = gn.load_fashion_mnist_arrays('test', subset=subset)
    net = torch_lenet()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    start = time.time()
    net.train()
    loss_sum, correct, n = 0.0, 0, 0
    for X, y in batches(*train, True, rng):
        optimizer.zero_grad()
        y_hat = net(X)
        loss = loss_fn(y_hat, y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(y)
        correct += (y_hat.argmax(1) == y).sum().item()
        n += len(y)
    net.eval()
    with torch.no_grad():
        test_correct = sum((net(X).argmax(1) == y).sum().item() for X, y in batches(*test, False, rng))
    seconds = time.time() - start
    return seconds, 'loss %.4f, train acc %.3f, test acc %.3f' % (
        loss_sum / n, correct / n, test_correct / len(test[1]))


def main():
    args = parse_args(__doc__)
    # Importing mxnet leaves torch at one intra-op thread; give it every core, as MXNet has.
    torch.set_num_threads(os.cpu_count())
    print('torch %s, %d threads' % (torch.__version__, torch.get_num_threads()))
    med = alternate((('torch', run_torch), ('gluon_notes', run_ours)), args.repeats, args.subset)
    print('median epoch: torch %.2f s, gluon_notes %.2f s; gluon_notes / torch time = %.2f'
          % (med['torch'], med['gluon_notes'], med['gluon_notes'] / med['torch']))


if __name__ == '__main__':
    main()
