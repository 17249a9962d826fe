"""Padding and stride (the notes' section 填充和步幅).

With total padding p (both sides together) and stride s, a window of size k over n inputs yields
⌊(n - k + p + s) / s⌋ outputs. Gluon's ``padding=q`` pads q on *each* side, so p = 2q.
"""
from mxnet import nd

from .. import checks

__all__ = ['comp_conv2d', 'conv_out_size', 'min_input_size']


def comp_conv2d(conv2d, X):
    """Apply the Gluon layer ``conv2d`` to the 2-D array ``X`` and return the 2-D output.

    Initialises the layer if it is not yet, and adds (then removes) the batch and channel
    dimensions, so ``comp_conv2d(conv2d, X).shape`` is the output's height and width.
    """
    if not isinstance(X, nd.NDArray) or X.ndim != 2:
        raise ValueError('X must be a 2-D NDArray, got %s'
                         % (('shape %s' % (X.shape,)) if hasattr(X, 'shape') else type(X).__name__))
    # Only layers never initialised: re-initialising would reset weights and warn.
    if any(p._data is None and not p._deferred_init for p in conv2d.collect_params().values()):
        conv2d.initialize()
    Y = conv2d(X.reshape((1, 1) + X.shape))
    return Y.reshape(Y.shape[2:])


def conv_out_size(n, k, p=0, s=1):
    """Output length ⌊(n - k + p + s) / s⌋ of a window of size ``k`` with total padding ``p``
    (both sides together) and stride ``s`` over ``n`` inputs; ValueError if the window does not fit."""
    n, k, p, s = (checks.integer(name, v, low, optional=False)
                  for name, v, low in (('n', n, 1), ('k', k, 1), ('p', p, 0), ('s', s, 1)))
    if k > n + p:
        raise ValueError('window of size %d does not fit in %d inputs padded by %d' % (k, n, p))
    return (n - k + p + s) // s


def min_input_size(windows):
    """The smallest input side that a chain of windows maps to an output side of at least 1.

    ``windows`` lists ``(kernel, stride, padding)`` in forward order, padding per side as in Gluon.
    Each layer's output grows with its input, so walking back from 1 with the inverse of
    ``conv_out_size`` gives the smallest input every window fits into.
    """
    need = 1
    for k, s, p in reversed(list(windows)):
        need = max(1, (need - 1) * s + k - 2 * p)
    return need
