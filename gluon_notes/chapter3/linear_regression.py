"""Linear regression (the notes' section 线性回归) from scratch; the concise version is plain
Gluon, see the notebook.

The helpers here (data, model, loss, optimiser) are the book's ``d2lzh`` ones; the validation
helpers at the bottom are shared by the other chapter-3 modules.
"""
import numbers

import numpy as np
from mxnet import nd

from .. import checks

__all__ = ['synthetic_data', 'data_iter', 'linreg', 'squared_loss', 'sgd']


def synthetic_data(w, b, num_examples, noise_std=0.01):
    """``(features, labels)`` with features ~ N(0, 1) of shape (num_examples, len(w)) and
    labels = features·w + b + N(0, noise_std²) noise, of shape (num_examples,)."""
    w = _as_vector('w', w)
    b = _check_real('b', b)
    num_examples = checks.positive_integer('num_examples', num_examples)
    noise_std = _check_real('noise_std', noise_std, minimum=0)
    features = nd.random.normal(scale=1, shape=(num_examples, w.size))
    labels = nd.dot(features, w) + b
    labels += nd.random.normal(scale=noise_std, shape=labels.shape)
    return features, labels


def data_iter(batch_size, features, labels):
    """Iterate over ``(X, y)`` mini-batches of ``batch_size`` examples in a random order (numpy's
    global RNG); the last batch may be smaller."""
    batch_size = checks.positive_integer('batch_size', batch_size)
    _check_ndarray('features', features)
    _check_ndarray('labels', labels)
    if features.shape[0] != labels.shape[0]:
        raise ValueError('features and labels must have the same number of examples, got %d and %d'
                         % (features.shape[0], labels.shape[0]))
    return _batches(batch_size, features, labels)


def _batches(batch_size, features, labels):
    num_examples = features.shape[0]
    indices = np.random.permutation(num_examples)
    for i in range(0, num_examples, batch_size):
        j = nd.array(indices[i:i + batch_size], dtype='int64')
        yield features.take(j), labels.take(j)


def linreg(X, w, b):
    """The linear regression model ``Xw + b``."""
    _check_ndarray('X', X, ndim=2)
    _check_ndarray('w', w)
    if w.shape[0] != X.shape[1]:
        raise ValueError('w must have X.shape[1] = %d rows, got shape %s' % (X.shape[1], w.shape))
    return nd.dot(X, w) + b


def squared_loss(y_hat, y):
    """Per-example squared loss ``(y_hat - y)² / 2``; ``y`` is reshaped like ``y_hat``."""
    _check_ndarray('y_hat', y_hat)
    _check_ndarray('y', y)
    if y_hat.size != y.size:
        raise ValueError('y_hat and y must have the same number of elements, got shapes %s and %s'
                         % (y_hat.shape, y.shape))
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Mini-batch SGD in place: ``param -= lr * grad / batch_size`` (the loss is summed)."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


# Validation shared by the chapter-3 modules: one-line errors naming the value and what is accepted.

def _check_ndarray(name, value, ndim=None):
    if not isinstance(value, nd.NDArray):
        raise TypeError('%s must be an mxnet NDArray, got %s' % (name, type(value).__name__))
    if ndim is not None and value.ndim != ndim:
        raise ValueError('%s must be %d-dimensional, got shape %s' % (name, ndim, value.shape))
    return value


def _check_real(name, value, minimum=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError('%s must be a real number, got %r' % (name, value))
    if not np.isfinite(value) or (minimum is not None and value < minimum) or \
            (maximum is not None and value > maximum):
        bounds = ('in [%g, %g]' % (minimum, maximum) if maximum is not None
                  else '>= %g' % minimum if minimum is not None else 'finite')
        raise ValueError('%s must be %s, got %r' % (name, bounds, value))
    return float(value)


def _as_vector(name, value):
    """A list, tuple, numpy array or NDArray of numbers as a float32 1-D NDArray."""
    if isinstance(value, nd.NDArray):
        value = value.asnumpy()
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError('%s must be a sequence of numbers, got %r' % (name, value)) from None
    if arr.ndim == 0 or arr.size == 0 or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 1):
        raise ValueError('%s must be a non-empty vector (shape (d,) or (d, 1)), got shape %s'
                         % (name, arr.shape))
    return nd.array(arr.reshape(-1))
