"""Model selection, underfitting and overfitting (the notes' section 模型选择、欠拟合和过拟合):
polynomial fitting and K-fold cross-validation."""
from collections import namedtuple

import numpy as np
from mxnet import autograd, gluon, nd
from mxnet.gluon import loss as gloss, nn

from .. import checks
from .linear_regression import _as_vector, _check_ndarray, _check_real, data_iter

__all__ = ['poly_features', 'synthetic_poly_data', 'semilogy', 'PolyFit', 'fit_and_plot',
           'get_k_fold_data', 'k_fold']

PolyFit = namedtuple('PolyFit', 'train_loss test_loss weight bias train_ls test_ls')
PolyFit.__doc__ = ('What ``fit_and_plot`` returns: the final train/test losses, the learned weight '
                   '(numpy, one per feature) and bias, and the per-epoch losses.')


def poly_features(x, max_degree):
    """(n, max_degree) matrix with columns x, x², ..., x^max_degree of the n values of ``x``
    (shape (n,) or (n, 1))."""
    _check_ndarray('x', x)
    max_degree = checks.positive_integer('max_degree', max_degree)
    if x.ndim > 2 or (x.ndim == 2 and x.shape[1] != 1):
        raise ValueError('x must have shape (n,) or (n, 1), got %s' % (x.shape,))
    powers = nd.arange(1, max_degree + 1, dtype=x.dtype).reshape((1, -1))
    return nd.broadcast_power(x.reshape((-1, 1)), powers)


def synthetic_poly_data(n_train=100, n_test=100, true_w=(1.2, -3.4, 5.6), true_b=5,
                        noise_std=0.01):
    """``(features, poly, labels)`` for y = b + Σ_k w_k x^k + N(0, noise_std²) noise, x ~ N(0, 1).

    ``features`` is (n, 1) with n = n_train + n_test (train first), ``poly`` holds the powers
    x, ..., x^len(true_w) (``poly_features``), ``labels`` is (n,).
    """
    n = checks.positive_integer('n_train', n_train) + checks.positive_integer('n_test', n_test)
    true_w = _as_vector('true_w', true_w)
    true_b = _check_real('true_b', true_b)
    noise_std = _check_real('noise_std', noise_std, minimum=0)
    features = nd.random.normal(shape=(n, 1))
    poly = poly_features(features, true_w.size)
    labels = nd.dot(poly, true_w) + true_b
    labels += nd.random.normal(scale=noise_std, shape=labels.shape)
    return features, poly, labels


def semilogy(x_vals, y_vals, x_label, y_label, x2_vals=None, y2_vals=None, legend=None,
             figsize=(3.5, 2.5)):
    """Plot ``y_vals`` (and dotted ``y2_vals``) against x on a log y-axis, in a new figure; returns
    the Axes."""
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=figsize)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.semilogy(list(x_vals), list(y_vals))
    if x2_vals is not None and y2_vals is not None:
        ax.semilogy(list(x2_vals), list(y2_vals), linestyle=':')
    if legend:
        ax.legend(legend)
    return ax


def _check_data(train_features, test_features, train_labels, test_labels):
    _check_ndarray('train_features', train_features, ndim=2)
    _check_ndarray('test_features', test_features, ndim=2)
    if test_features.shape[1] != train_features.shape[1]:
        raise ValueError('train_features and test_features must have the same number of columns, '
                         'got %d and %d' % (train_features.shape[1], test_features.shape[1]))
    for name, X, y in (('train', train_features, train_labels),
                       ('test', test_features, test_labels)):
        _check_ndarray('%s_labels' % name, y)
        if y.size != X.shape[0]:
            raise ValueError('%s_labels must hold one label per row of %s_features (%d), got '
                             'shape %s' % (name, name, X.shape[0], y.shape))


def fit_and_plot(train_features, test_features, train_labels, test_labels, num_epochs=100,
                 lr=0.01, batch_size=None, plot=True, verbose=True):
    """Fit a linear model (Gluon ``nn.Dense(1)``, squared loss, SGD) to the features, as the book
    does for polynomial fitting; record the mean train and test loss after every epoch.

    ``batch_size`` defaults to the book's min(10, number of training examples). With ``plot``, draw
    both loss curves with ``semilogy``; with ``verbose``, print the final losses and parameters.
    Returns a ``PolyFit``.
    """
    _check_data(train_features, test_features, train_labels, test_labels)
    num_epochs = checks.positive_integer('num_epochs', num_epochs)
    lr = _check_real('lr', lr, minimum=0)
    n = train_features.shape[0]
    batch_size = (min(10, n) if batch_size is None
                  else checks.positive_integer('batch_size', batch_size))
    train_labels, test_labels = train_labels.reshape((-1,)), test_labels.reshape((-1,))

    loss = gloss.L2Loss()
    net = nn.Dense(1)
    net.initialize()  # the book's default, U(-0.07, 0.07)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    train_ls, test_ls = [], []
    for _ in range(num_epochs):
        for X, y in data_iter(batch_size, train_features, train_labels):
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer.step(batch_size)
        train_ls.append(loss(net(train_features), train_labels).mean().asscalar())
        test_ls.append(loss(net(test_features), test_labels).mean().asscalar())
    weight, bias = net.weight.data().asnumpy().reshape(-1), net.bias.data().asnumpy()
    if verbose:
        print('final epoch: train loss %.6g, test loss %.6g' % (train_ls[-1], test_ls[-1]))
        print('weight:', weight, 'bias:', bias)
    if plot:
        epochs = range(1, num_epochs + 1)
        semilogy(epochs, train_ls, 'epochs', 'loss', epochs, test_ls, ['train', 'test'])
    return PolyFit(train_ls[-1], test_ls[-1], weight, bias, train_ls, test_ls)


def _fold_bounds(k, n):
    # np.array_split sizes: the n mod k leftover examples go to the first folds, where d2lzh's
    # n // k folds would silently never validate (or train on) them.
    sizes = [len(part) for part in np.array_split(np.arange(n), k)]
    ends = np.cumsum(sizes)
    return [(int(end - size), int(end)) for size, end in zip(sizes, ends)]


def _check_k_fold(k, X, y):
    _check_ndarray('X', X)
    _check_ndarray('y', y)
    if X.ndim == 0 or y.ndim == 0 or X.shape[0] != y.shape[0]:
        raise ValueError('X and y must have the same number of examples, got shapes %s and %s'
                         % (X.shape, y.shape))
    k = checks.positive_integer('k', k)
    if not 2 <= k <= X.shape[0]:
        raise ValueError('k must be between 2 and the number of examples (%d), got %d'
                         % (X.shape[0], k))
    return k


def get_k_fold_data(k, i, X, y):
    """``(X_train, y_train, X_valid, y_valid)`` of the i-th of k folds: the data is cut into k
    contiguous, non-overlapping parts (sizes differing by at most one); part i validates, the
    other k - 1 train."""
    k = _check_k_fold(k, X, y)
    if not checks.is_integer(i) or not 0 <= i < k:
        raise ValueError('i must be an integer fold index in [0, %d), got %r' % (k, i))
    start, stop = _fold_bounds(k, X.shape[0])[i]
    train_parts = [(a, b) for a, b in ((0, start), (stop, X.shape[0])) if b > a]
    X_train = nd.concat(*[X[a:b] for a, b in train_parts], dim=0)
    y_train = nd.concat(*[y[a:b] for a, b in train_parts], dim=0)
    return X_train, y_train, X[start:stop], y[start:stop]


def k_fold(k, X, y, train_fn, verbose=True):
    """K-fold cross-validation: for each fold i, ``train_fn(X_train, y_train, X_valid, y_valid)``
    trains a fresh model and returns its ``(train_loss, valid_loss)``. Returns both averaged over
    the k folds."""
    k = _check_k_fold(k, X, y)
    if not callable(train_fn):
        raise TypeError('train_fn must be callable, got %r' % (train_fn,))
    train_sum, valid_sum = 0.0, 0.0
    for i in range(k):
        train_l, valid_l = train_fn(*get_k_fold_data(k, i, X, y))
        train_sum += float(train_l)
        valid_sum += float(valid_l)
        if verbose:
            print('fold %d, train loss %.6g, valid loss %.6g' % (i, train_l, valid_l))
    return train_sum / k, valid_sum / k
