"""Multilayer perceptrons (the notes' section 多层感知机): activation functions, their gradients,
and the from-scratch MLP.

The concise model is ``gluon_notes.get_model('mlp')`` (``gluon_notes/models/mlp.py``).
"""
from mxnet import autograd, nd

from .. import checks
from .linear_regression import _check_ndarray, _check_real
from .softmax_regression import _flatten

__all__ = ['relu', 'activation_and_grad', 'mlp_scratch']


def relu(X):
    """ReLU(x) = max(x, 0), elementwise."""
    _check_ndarray('X', X)
    return nd.maximum(X, 0)


def activation_and_grad(fn, x):
    """``(fn(x), dfn/dx)`` of an elementwise function, the gradient taken by autograd."""
    if not callable(fn):
        raise TypeError('fn must be a callable elementwise function, got %r' % (fn,))
    _check_ndarray('x', x)
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        y = fn(x)
    if not isinstance(y, nd.NDArray) or y.shape != x.shape:
        raise ValueError('fn must map x elementwise to an NDArray of shape %s, got %r'
                         % (x.shape, getattr(y, 'shape', y)))
    y.backward()
    return y, x.grad


def mlp_scratch(num_inputs=784, num_hiddens=256, num_outputs=10, sigma=0.01):
    """``(net, [W1, b1, W2, b2])``: the from-scratch MLP with one ReLU hidden layer, weights
    ~ N(0, σ²), biases 0. ``net`` returns logits (train with ``gloss.SoftmaxCrossEntropyLoss``)."""
    num_inputs = checks.positive_integer('num_inputs', num_inputs)
    num_hiddens = checks.positive_integer('num_hiddens', num_hiddens)
    num_outputs = checks.positive_integer('num_outputs', num_outputs)
    sigma = _check_real('sigma', sigma, minimum=0)
    W1 = nd.random.normal(scale=sigma, shape=(num_inputs, num_hiddens))
    b1 = nd.zeros(num_hiddens)
    W2 = nd.random.normal(scale=sigma, shape=(num_hiddens, num_outputs))
    b2 = nd.zeros(num_outputs)
    params = [W1, b1, W2, b2]
    for param in params:
        param.attach_grad()

    def net(X):
        H = relu(nd.dot(_flatten('mlp_scratch', X, num_inputs), W1) + b1)
        return nd.dot(H, W2) + b2
    return net, params
