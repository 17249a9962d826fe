"""Which ReLU units of a trained network never fire on test images, and how much its outputs vary.

A network whose training loss jumps to about ln 10 and stays there outputs nearly the same
distribution for every image. One common cause is dead ReLUs: after a large step, a layer's
pre-activations are negative for every input, its outputs and gradients are zero, and nothing
upstream learns any more. This measures it on saved parameters:

    .venv/bin/python tools/dead_units.py nin ~/gluon-notes-runs/runs/nin/model.params --images 512

prints, for each layer with a ReLU (in the network's order), its output channels and the share of
them that are zero on every one of the first ``--images`` test images, and the share of all its
outputs that are zero; then how many distinct classes the network predicts and how far its class
scores move from image to image, and per class how many images are predicted as it, its recall
and how often its score is at most 0.

Given several parameter files (say, the checkpoints of consecutive batches), it prints one line
per file instead: the dead-channel share of each ReLU layer, the classes predicted, the accuracy,
the share of images whose class scores are all equal, and the step from the previous file,
``|theta - theta_prev| / |theta_prev|`` over all parameters and for the one that moved most.
Under plain SGD the step is the learning rate times the batch's gradient, so a step far larger
than its neighbours' is a gradient spike.
"""
import argparse
import sys

import mxnet as mx
import numpy as np
from mxnet.gluon import nn

import gluon_notes as gn
from gluon_notes import checks


def relu_layers(net):
    """``(name, block)`` of every Conv2D or Dense layer of ``net`` with a built-in ReLU, in order."""
    found = []

    def walk(block, prefix):
        for name, child in block._children.items():
            path = '%s.%s' % (prefix, name) if prefix else name
            if isinstance(child, (nn.Conv2D, nn.Dense)):
                act = getattr(child, 'act', None)
                if act is not None and getattr(act, '_act_type', None) == 'relu':
                    found.append((path, child))
            else:
                walk(child, path)

    walk(net, '')
    return found


def dead_units(net, X):
    """``(rows, outputs)`` for the batch ``X`` run through ``net`` (not hybridized: hooks need the
    imperative blocks). Each row is ``(name, channels, dead, zero)``: the layer, its output
    channels, the share of channels zero for every example and position, and the share of its
    outputs that are zero. ``outputs`` is the network's output as a numpy array."""
    layers = relu_layers(net)
    if not layers:
        raise ValueError('the network has no Conv2D or Dense layer with a ReLU')
    seen = {}

    def hook(name):
        def record(block, inputs, output):
            out = output.asnumpy()
            axes = (0,) + tuple(range(2, out.ndim))
            seen[name] = (out.shape[1], float((out.max(axis=axes) <= 0).mean()),
                          float((out <= 0).mean()))
        return record

    handles = [block.register_forward_hook(hook(name)) for name, block in layers]
    try:
        outputs = net(X).asnumpy()
    finally:
        for handle in handles:
            handle.detach()
    return [(name,) + seen[name] for name, _ in layers], outputs


def step_sizes(previous, current):
    """``(total, name, largest)``: the relative change ``|current - previous| / |previous|`` over
    all parameters together, and the parameter whose own relative change is largest with that
    change. Both arguments map parameter names to numpy arrays (``mx.nd.load`` of a saved
    ``save_parameters`` file, as numpy) and must hold the same names and shapes."""
    if set(previous) != set(current):
        raise ValueError('the parameter files hold different parameters: %s'
                         % ', '.join(sorted(set(previous) ^ set(current))))
    changed = total_prev = 0.0
    name, largest = None, -1.0
    for key in sorted(previous):
        a, b = previous[key].astype(np.float64), current[key].astype(np.float64)
        if a.shape != b.shape:
            raise ValueError('parameter %s has shape %s in one file and %s in the other'
                             % (key, a.shape, b.shape))
        d2, p2 = float(((b - a) ** 2).sum()), float((a ** 2).sum())
        changed, total_prev = changed + d2, total_prev + p2
        rel = np.sqrt(d2 / p2) if p2 > 0 else (0.0 if d2 == 0 else np.inf)
        if rel > largest:
            name, largest = key, rel
    return np.sqrt(changed / total_prev), name, largest


def per_class(outputs, y):
    """A row per class (column of ``outputs``): ``(images, predicted, recall, nonpositive)``, that
    is how many of the examples have that label, how many are predicted as it, the share of its
    own examples predicted right (None without any) and the share of all examples whose score for
    it is <= 0. Behind a ReLU (NiN's head) a score at 0 passes no gradient, so a class whose score
    is 0 for most images can hardly be learned again."""
    predicted, y = outputs.argmax(axis=1), np.asarray(y).astype(int)
    rows = []
    for c in range(outputs.shape[1]):
        mine = y == c
        rows.append((int(mine.sum()), int((predicted == c).sum()),
                     float((predicted[mine] == c).mean()) if mine.any() else None,
                     float((outputs[:, c] <= 0).mean())))
    return rows


def equal_scores(outputs):
    """The share of rows (images) of ``outputs`` whose class scores are all equal: for those the
    softmax is uniform, the loss is exactly ln(classes) and no gradient flows back (NiN's class
    scores pass a ReLU, so all ten being zero does it)."""
    return float((outputs.max(axis=1) == outputs.min(axis=1)).mean())


def load_into(net, path, model):
    """Load ``path`` into ``net``; a file that is not ``model``'s parameters is a ValueError."""
    try:
        net.load_parameters(path, ctx=mx.cpu())
    except (AssertionError, ValueError, OSError, mx.base.MXNetError) as e:
        raise ValueError('%s: not the saved parameters of %s (%s)'
                         % (path, model, str(e).strip().splitlines()[0])) from None


def _load_numpy(path):
    return {k: v.asnumpy() for k, v in mx.nd.load(path).items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('model', help='a registered model: %s' % ', '.join(gn.list_models()))
    parser.add_argument('params', nargs='+',
                        help='its saved parameters (net.save_parameters); several give a line '
                             'each')
    parser.add_argument('--images', type=int, default=512, help='test images to run (default 512)')
    args = parser.parse_args(argv)
    try:
        images = checks.integer('images', args.images, high=10000, optional=False)
        spec = gn.get_spec(args.model)
    except ValueError as e:
        parser.error(e.args[0])
    net = spec.builder()
    _, test_iter = gn.load_data_fashion_mnist(images, resize=spec.resize, subset=images)
    X, y = next(iter(test_iter))
    try:
        if len(args.params) > 1:
            return _trace(net, args.model, args.params, X, y)
        load_into(net, args.params[0], args.model)
    except ValueError as e:
        parser.error(e.args[0])
    rows, outputs = dead_units(net, X)
    print('%-28s %8s %14s %12s' % ('layer (ReLU)', 'channels', 'dead channels', 'zero outputs'))
    for name, channels, dead, zero in rows:
        print('%-28s %8d %13.1f%% %11.1f%%' % (name, channels, 100 * dead, 100 * zero))
    predicted = outputs.argmax(axis=1)
    counts = np.bincount(predicted, minlength=outputs.shape[1])
    print('%d test images: %d distinct predicted classes, the commonest for %.1f%% of them; '
          'accuracy %.3f' % (images, int((counts > 0).sum()), 100 * counts.max() / images,
                            float((predicted == y.asnumpy()).mean())))
    print('class scores: std over images %.3f (mean over classes), std over classes %.3f '
          '(mean over images)' % (outputs.std(axis=0).mean(), outputs.std(axis=1).mean()))
    print('%-16s %7s %10s %7s %11s' % ('class', 'images', 'predicted', 'recall', 'score <= 0'))
    for c, (count, hits, recall, nonpositive) in enumerate(per_class(outputs, y.asnumpy())):
        print('%-16s %7d %10d %7s %10.1f%%' % (
            '%d %s' % (c, gn.get_fashion_mnist_labels([c])[0]), count, hits,
            '-' if recall is None else '%.3f' % recall, 100 * nonpositive))
    return 0


def _trace(net, model, paths, X, y):
    """One line per parameter file: dead-channel shares, classes, accuracy, step."""
    previous = None
    for i, path in enumerate(paths):
        load_into(net, path, model)
        rows, outputs = dead_units(net, X)
        if i == 0:
            print('dead channels (%%) of: %s' % ' '.join(r[0] for r in rows))
        current = _load_numpy(path)
        step = ''
        if previous is not None:
            total, name, largest = step_sizes(previous, current)
            step = ' step %.4f (largest %.4f, %s)' % (total, largest, name)
        predicted = outputs.argmax(axis=1)
        print('%s: dead %s; %d classes, acc %.3f, equal scores %.0f%%;%s' % (
            path, ' '.join('%.0f' % (100 * r[2]) for r in rows),
            len(np.unique(predicted)), float((predicted == y.asnumpy()).mean()),
            100 * equal_scores(outputs), step))
        previous = current
    return 0


if __name__ == '__main__':
    sys.exit(main())
