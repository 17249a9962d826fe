"""Softmax regression (the notes' section softmax 回归): the softmax operation, cross-entropy
loss, accuracy and the from-scratch model.

The concise model is ``gluon_notes.get_model('softmax_regression')``
(``gluon_notes/models/mlp.py``).
"""
from mxnet import nd

from .. import checks
from .linear_regression import _check_ndarray, _check_real

__all__ = ['softmax', 'cross_entropy', 'accuracy', 'softmax_regression_scratch']


def softmax(X):
    """Row-wise softmax of a 2-D NDArray.

    Unlike the notes' plain ``exp(o_i) / Σ exp(o_j)``, each row's maximum is subtracted first: the
    ratio is unchanged, but ``exp`` no longer overflows to inf (and the ratio to nan) for large
    logits.
    """
    _check_ndarray('X', X, ndim=2)
    X_exp = (X - X.max(axis=1, keepdims=True)).exp()
    return X_exp / X_exp.sum(axis=1, keepdims=True)


def _check_predictions(y_hat, y):
    _check_ndarray('y_hat', y_hat, ndim=2)
    _check_ndarray('y', y, ndim=1)
    if y.shape[0] != y_hat.shape[0]:
        raise ValueError('y must hold one label per row of y_hat (%d), got %d labels'
                         % (y_hat.shape[0], y.shape[0]))


def cross_entropy(y_hat, y):
    """Per-example cross-entropy ``-log y_hat[i, y[i]]`` of predicted probabilities ``y_hat``
    (n, q) and integer labels ``y`` (n,). Labels are not range-checked: that would need a device
    sync on every batch."""
    _check_predictions(y_hat, y)
    return -nd.pick(y_hat, y).log()


def accuracy(y_hat, y):
    """Fraction of rows of ``y_hat`` whose argmax equals the label in ``y``, as a float."""
    _check_predictions(y_hat, y)
    return (y_hat.argmax(axis=1) == y.astype('float32')).mean().asscalar()


def softmax_regression_scratch(num_inputs=784, num_outputs=10, sigma=0.01):
    """``(net, [W, b])``: the from-scratch softmax regression ``softmax(XW + b)`` with W ~ N(0, σ²)
    and b = 0, gradients attached; ``net`` flattens each example to ``num_inputs`` values."""
    num_inputs = checks.positive_integer('num_inputs', num_inputs)
    num_outputs = checks.positive_integer('num_outputs', num_outputs)
    sigma = _check_real('sigma', sigma, minimum=0)
    W = nd.random.normal(scale=sigma, shape=(num_inputs, num_outputs))
    b = nd.zeros(num_outputs)
    params = [W, b]
    for param in params:
        param.attach_grad()

    def net(X):
        return softmax(nd.dot(_flatten('softmax_regression_scratch', X, num_inputs), W) + b)
    return net, params


def _flatten(model_name, X, num_inputs):
    """``X`` as (batch, num_inputs); a ValueError if its examples do not hold num_inputs values."""
    _check_ndarray('X', X)
    per_example = X.size // X.shape[0] if X.ndim and X.shape[0] else 0
    if X.ndim < 2 or per_example != num_inputs:
        raise ValueError('%s expects examples of %d values (e.g. 1x28x28 images), got X of shape %s'
                         % (model_name, num_inputs, X.shape))
    return X.reshape((-1, num_inputs))
