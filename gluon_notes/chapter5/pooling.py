"""Pooling (the notes' section 池化层)."""
from mxnet import nd

from .. import checks

__all__ = ['pool2d']

POOL_MODES = ('max', 'avg')


def pool2d(X, pool_size, mode='max'):
    """Max or average pooling of the 2-D array ``X`` with window ``pool_size`` (int or (p_h, p_w)),
    stride 1 and no padding, as in the book. Like ``corr2d`` it loops over the window's offsets
    rather than over the output, so it is vectorised and differentiable."""
    if mode not in POOL_MODES:
        raise ValueError('mode must be one of %s, got %r' % (', '.join(map(repr, POOL_MODES)), mode))
    pool_size = checks.size_pair('pool_size', pool_size)
    if not isinstance(X, nd.NDArray) or X.ndim != 2:
        raise ValueError('X must be a 2-D NDArray, got %s' % (getattr(X, 'shape', type(X).__name__),))
    (p_h, p_w), (n_h, n_w) = pool_size, X.shape
    if p_h > n_h or p_w > n_w:
        raise ValueError('pool_size %s does not fit in an input of shape %s' % (pool_size, X.shape))
    h, w = n_h - p_h + 1, n_w - p_w + 1
    windows = [X[i:i + h, j:j + w] for i in range(p_h) for j in range(p_w)]
    if mode == 'avg':
        return nd.add_n(*windows) / (p_h * p_w)
    Y = windows[0]
    for win in windows[1:]:
        Y = nd.maximum(Y, win)
    return Y
