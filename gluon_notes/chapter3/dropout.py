"""Dropout (the notes' section 丢弃法): inverted dropout and the from-scratch MLP that uses it.

The concise model is ``gluon_notes.get_model('mlp_dropout')`` (``gluon_notes/models/mlp.py``).
"""
from mxnet import autograd, nd

from .. import checks
from .linear_regression import _check_ndarray, _check_real
from .mlp import relu
from .softmax_regression import _flatten

__all__ = ['dropout', 'mlp_dropout_scratch']


def dropout(X, drop_prob):
    """Inverted dropout: zero each element of ``X`` with probability ``drop_prob`` and divide the
    kept ones by 1 - drop_prob, so that E[dropout(X)] = X. ``drop_prob`` 0 returns ``X`` itself,
    1 returns zeros."""
    _check_ndarray('X', X)
    drop_prob = _check_real('drop_prob', drop_prob, minimum=0, maximum=1)
    if drop_prob == 0:
        return X
    keep_prob = 1 - drop_prob
    if keep_prob == 0:
        return X.zeros_like()
    mask = nd.random.uniform(0, 1, X.shape, ctx=X.context) < keep_prob
    return mask * X / keep_prob


def mlp_dropout_scratch(num_inputs=784, num_outputs=10, num_hiddens1=256, num_hiddens2=256,
                        drop_prob1=0.2, drop_prob2=0.5, sigma=0.01):
    """``(net, [W1, b1, W2, b2, W3, b3])``: the from-scratch MLP with two ReLU hidden layers, each
    followed by dropout, but only while training (``autograd.is_training()``); weights ~ N(0, σ²),
    biases 0. ``net`` returns logits."""
    sizes = [checks.positive_integer(name, value) for name, value in
             (('num_inputs', num_inputs), ('num_hiddens1', num_hiddens1),
              ('num_hiddens2', num_hiddens2), ('num_outputs', num_outputs))]
    drop_prob1 = _check_real('drop_prob1', drop_prob1, minimum=0, maximum=1)
    drop_prob2 = _check_real('drop_prob2', drop_prob2, minimum=0, maximum=1)
    sigma = _check_real('sigma', sigma, minimum=0)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [nd.random.normal(scale=sigma, shape=(fan_in, fan_out)), nd.zeros(fan_out)]
    for param in params:
        param.attach_grad()
    W1, b1, W2, b2, W3, b3 = params

    def net(X):
        H1 = relu(nd.dot(_flatten('mlp_dropout_scratch', X, sizes[0]), W1) + b1)
        if autograd.is_training():
            H1 = dropout(H1, drop_prob1)
        H2 = relu(nd.dot(H1, W2) + b2)
        if autograd.is_training():
            H2 = dropout(H2, drop_prob2)
        return nd.dot(H2, W3) + b3
    return net, params
