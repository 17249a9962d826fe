"""Two-dimensional convolutional layers (the notes' section 二维卷积层).

``corr2d`` is the 2-D cross-correlation every "convolution" layer computes, ``Conv2D`` a layer built on
it from scratch, and the edge-detection example learns the kernel ``[[1, -1]]`` back from data.
"""
from mxnet import autograd, nd
from mxnet.gluon import nn

from .. import checks

__all__ = ['corr2d', 'Conv2D', 'edge_detection_data', 'learn_kernel']


def _as_2d(name, A):
    A = A if isinstance(A, nd.NDArray) else nd.array(A)
    if A.ndim != 2:
        raise ValueError('%s must be a 2-D array, got shape %s' % (name, A.shape))
    return A


def corr2d(X, K):
    """2-D cross-correlation of the array ``X`` (n_h, n_w) with the kernel ``K`` (k_h, k_w).

    The output has shape (n_h - k_h + 1, n_w - k_w + 1). Instead of the book's loop over output
    elements (which writes into ``Y`` in place, so autograd cannot record it), it loops over the kernel
    elements and adds shifted slices of ``X``: the same sum, differentiable and vectorised.
    """
    X, K = _as_2d('X', X), _as_2d('K', K)
    (n_h, n_w), (k_h, k_w) = X.shape, K.shape
    if k_h > n_h or k_w > n_w:
        raise ValueError('kernel of shape %s does not fit in an input of shape %s'
                         % (K.shape, X.shape))
    h, w = n_h - k_h + 1, n_w - k_w + 1
    return nd.add_n(*[X[i:i + h, j:j + w] * K[i, j] for i in range(k_h) for j in range(k_w)])


class Conv2D(nn.Block):
    """A from-scratch 2-D convolutional layer: ``corr2d(x, weight) + bias`` on a 2-D input.

    Gluon's own layer is ``nn.Conv2D``; this one has a single input and output channel.
    """

    def __init__(self, kernel_size, **kwargs):
        super().__init__(**kwargs)
        kernel_size = checks.size_pair('kernel_size', kernel_size)
        self.weight = self.params.get('weight', shape=kernel_size)
        self.bias = self.params.get('bias', shape=(1,))

    def forward(self, x):
        return corr2d(x, self.weight.data()) + self.bias.data()


def edge_detection_data():
    """The book's edge example: ``X`` 6x8 ones with columns 2-5 zero, ``K = [[1, -1]]`` and
    ``Y = corr2d(X, K)`` (1 at the white-to-black edge, -1 at the black-to-white one)."""
    X = nd.ones((6, 8))
    X[:, 2:6] = 0
    K = nd.array([[1, -1]])
    return X, K, corr2d(X, K)


def learn_kernel(X, Y, num_iters=10, lr=3e-2):
    """Learn the kernel mapping the 2-D ``X`` to the 2-D ``Y`` with Gluon's ``nn.Conv2D``.

    As in the book: one output channel, kernel shape implied by the shapes of ``X`` and ``Y``
    (1x2 for the edge example), squared error, plain gradient steps on the weight only (the bias
    stays at its initial 0). Returns ``(kernel, losses)``: the learned kernel as a 2-D array and
    the summed loss of each iteration (before its update).
    """
    X, Y = _as_2d('X', X), _as_2d('Y', Y)
    k_h, k_w = X.shape[0] - Y.shape[0] + 1, X.shape[1] - Y.shape[1] + 1
    if k_h < 1 or k_w < 1:
        raise ValueError('Y of shape %s is larger than X of shape %s' % (Y.shape, X.shape))
    num_iters = checks.positive_integer('num_iters', num_iters)
    conv2d = nn.Conv2D(1, kernel_size=(k_h, k_w))
    conv2d.initialize()
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for _ in range(num_iters):
        with autograd.record():
            l = (conv2d(X) - Y) ** 2
        l.backward()
        conv2d.weight.data()[:] -= lr * conv2d.weight.grad()
        losses.append(l.sum().asscalar())
    return conv2d.weight.data().reshape((k_h, k_w)), losses
