"""Multiple input and output channels (the notes' section 多输入通道和多输出通道)."""
from mxnet import nd

from .conv_layer import corr2d

__all__ = ['corr2d_multi_in', 'corr2d_multi_in_out', 'corr2d_multi_in_out_1x1']


def _check_ndim(name, A, ndim, layout):
    if not isinstance(A, nd.NDArray) or A.ndim != ndim:
        raise ValueError('%s must be a %d-D NDArray %s, got %s'
                         % (name, ndim, layout, getattr(A, 'shape', type(A).__name__)))


def corr2d_multi_in(X, K):
    """Cross-correlate each channel of ``X`` (c_i, h, w) with its kernel in ``K`` (c_i, k_h, k_w)
    and sum over the channels: one 2-D output."""
    _check_ndim('X', X, 3, '(c_i, h, w)')
    _check_ndim('K', K, 3, '(c_i, k_h, k_w)')
    if X.shape[0] != K.shape[0]:
        raise ValueError('X has %d channels but K has %d' % (X.shape[0], K.shape[0]))
    return nd.add_n(*[corr2d(x, k) for x, k in zip(X, K)])


def corr2d_multi_in_out(X, K):
    """One ``corr2d_multi_in`` per output channel of ``K`` (c_o, c_i, k_h, k_w), stacked:
    output (c_o, h', w')."""
    _check_ndim('K', K, 4, '(c_o, c_i, k_h, k_w)')
    return nd.stack(*[corr2d_multi_in(X, k) for k in K])


def corr2d_multi_in_out_1x1(X, K):
    """The 1x1 case of ``corr2d_multi_in_out`` as one matrix product: pixels are examples and
    channels features, (c_o, c_i) x (c_i, h*w)."""
    _check_ndim('X', X, 3, '(c_i, h, w)')
    _check_ndim('K', K, 4, '(c_o, c_i, 1, 1)')
    c_i, h, w = X.shape
    c_o = K.shape[0]
    if K.shape[1:] != (c_i, 1, 1):
        raise ValueError('K must have shape (c_o, %d, 1, 1) for X with %d channels, got %s'
                         % (c_i, c_i, K.shape))
    Y = nd.dot(K.reshape((c_o, c_i)), X.reshape((c_i, h * w)))
    return Y.reshape((c_o, h, w))
