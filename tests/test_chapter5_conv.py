"""Chapter 5 basics (conv layer, padding and stride, channels, pooling) against MXNet's own operators
and the book's printed values."""
import itertools
import re

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, nd
from mxnet.gluon import nn

from gluon_notes import (Conv2D, comp_conv2d, conv_out_size, corr2d, corr2d_multi_in,
                         corr2d_multi_in_out, corr2d_multi_in_out_1x1, edge_detection_data,
                         learn_kernel, min_input_size, pool2d)


@pytest.fixture(autouse=True)
def seeded():
    mx.random.seed(0)
    np.random.seed(0)


def mx_corr(X, K, bias=None, stride=(1, 1), pad=(0, 0)):
    """MXNet's Convolution on (c_i, h, w) / (c_o, c_i, k_h, k_w) arrays, batch dimension removed."""
    c_o = K.shape[0]
    return nd.Convolution(X.expand_dims(0), K, bias, kernel=K.shape[2:], num_filter=c_o,
                          stride=stride, pad=pad, no_bias=bias is None)[0]


def rand(*shape):
    return nd.random.normal(shape=shape)


# ---- 二维卷积层 ----

def test_corr2d_book_example():
    X = nd.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    K = nd.array([[0, 1], [2, 3]])
    np.testing.assert_array_equal(corr2d(X, K).asnumpy(), [[19, 25], [37, 43]])


@pytest.mark.parametrize('x_shape,k_shape', [((3, 3), (2, 2)), ((6, 8), (1, 2)), ((7, 5), (3, 4)),
                                             ((5, 5), (5, 5)), ((4, 9), (1, 1))])
def test_corr2d_matches_mxnet_convolution(x_shape, k_shape):
    X, K = rand(*x_shape), rand(*k_shape)
    expected = mx_corr(X.expand_dims(0), K.reshape((1, 1) + k_shape))[0]
    np.testing.assert_allclose(corr2d(X, K).asnumpy(), expected.asnumpy(), rtol=1e-5, atol=1e-5)


def test_corr2d_gradient_matches_mxnet():
    X, K = rand(5, 6), rand(2, 3)
    grads = []
    for f in (lambda X, K: corr2d(X, K),
              lambda X, K: mx_corr(X.expand_dims(0), K.reshape((1, 1, 2, 3)))[0]):
        X.attach_grad()
        K.attach_grad()
        with autograd.record():
            y = (f(X, K) ** 2).sum()
        y.backward()
        grads.append((X.grad.asnumpy().copy(), K.grad.asnumpy().copy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('X,K,message', [(nd.ones((1, 3, 3)), nd.ones((2, 2)), 'X must be a 2-D'),
                                         (nd.ones((3, 3)), nd.ones((2,)), 'K must be a 2-D'),
                                         (nd.ones((3, 3)), nd.ones((4, 1)), 'does not fit')])
def test_corr2d_rejects_bad_shapes(X, K, message):
    with pytest.raises(ValueError, match=message):
        corr2d(X, K)


def test_conv2d_block_matches_mxnet_convolution():
    layer = Conv2D(kernel_size=(2, 3))
    layer.initialize(mx.init.Normal(1))
    layer.bias.set_data(nd.array([0.5]))
    X = rand(6, 7)
    expected = mx_corr(X.expand_dims(0), layer.weight.data().reshape((1, 1, 2, 3)), layer.bias.data())
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (1,)
    np.testing.assert_allclose(layer(X).asnumpy(), expected[0].asnumpy(), rtol=1e-5, atol=1e-5)
    assert Conv2D(3).weight.shape == (3, 3)
    for bad in ((0, 2), True, (2, False)):  # True is an int to Python, not a kernel size
        with pytest.raises(ValueError, match=r'kernel_size must be a positive int or a pair of '
                                             r'them, got %s$' % re.escape(repr(bad))):
            Conv2D(bad)


def test_numpy_integer_sizes_act_as_python_ints():
    # Sizes often come out of numpy arithmetic (shapes, np.arange); a bool never counts.
    X = rand(5, 6)
    layer = Conv2D((np.int64(2), np.int32(3)))
    assert layer.weight.shape == (2, 3) and all(type(k) is int for k in layer.weight.shape)
    np.testing.assert_array_equal(pool2d(X, np.int64(2)).asnumpy(), pool2d(X, 2).asnumpy())
    assert conv_out_size(np.int64(28), np.int32(5), p=np.int16(4)) == conv_out_size(28, 5, p=4)
    with pytest.raises(ValueError, match=r'^k must be an integer >= 1, got True$'):
        conv_out_size(28, True)
    with pytest.raises(ValueError, match=r'^n must be an integer >= 1, got 28\.0$'):
        conv_out_size(28.0, 5)


def test_edge_detection_example():
    X, K, Y = edge_detection_data()
    x = np.ones((6, 8))
    x[:, 2:6] = 0
    np.testing.assert_array_equal(X.asnumpy(), x)
    np.testing.assert_array_equal(K.asnumpy(), [[1, -1]])
    # 1 where white turns black, -1 where black turns white, as the book prints.
    np.testing.assert_array_equal(Y.asnumpy(), x[:, :-1] - x[:, 1:])
    assert set(np.nonzero(Y.asnumpy())[1]) == {1, 5}
    # The kernel detects only vertical edges: the transposed image gives all zeros.
    assert not corr2d(X.T, K).asnumpy().any()


def test_learn_kernel_recovers_edge_kernel():
    X, K, Y = edge_detection_data()
    learned, losses = learn_kernel(X, Y, num_iters=10, lr=3e-2)
    assert learned.shape == (1, 2) and len(losses) == 10
    np.testing.assert_allclose(learned.asnumpy(), K.asnumpy(), atol=0.05)
    assert all(b < a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.05 * losses[0]


def test_learn_kernel_rejects_bad_arguments():
    X, _, Y = edge_detection_data()
    with pytest.raises(ValueError, match='larger'):
        learn_kernel(Y, X)
    for bad in (0, True):
        with pytest.raises(ValueError, match='num_iters must be a positive integer, got %s' % bad):
            learn_kernel(X, Y, num_iters=bad)


# ---- 填充和步幅 ----

@pytest.mark.parametrize('layer,expected', [
    (lambda: nn.Conv2D(1, kernel_size=3, padding=1), (8, 8)),
    (lambda: nn.Conv2D(1, kernel_size=(5, 3), padding=(2, 1)), (8, 8)),
    (lambda: nn.Conv2D(1, kernel_size=3, padding=1, strides=2), (4, 4)),
    (lambda: nn.Conv2D(1, kernel_size=(3, 5), padding=(0, 1), strides=(3, 4)), (2, 2)),
])
def test_comp_conv2d_book_cases(layer, expected):
    X = nd.random.uniform(shape=(8, 8))
    conv2d = layer()
    Y = comp_conv2d(conv2d, X)
    assert Y.shape == expected
    # It really is the layer's output on X with batch and channel dimensions added.
    np.testing.assert_allclose(Y.asnumpy(), conv2d(X.reshape((1, 1, 8, 8)))[0, 0].asnumpy())
    # A second call keeps the weights rather than re-initialising.
    w = conv2d.weight.data().asnumpy().copy()
    comp_conv2d(conv2d, X)
    np.testing.assert_array_equal(conv2d.weight.data().asnumpy(), w)


def test_output_size_formula_matches_gluon_layers():
    """⌊(n - k + p + s)/s⌋ with p the total padding, for convolution and both poolings."""
    checked = 0
    for n_h, n_w, k, q, s in itertools.product((5, 8, 11), (4, 9), (1, 2, 3, 5), (0, 1, 2), (1, 2, 3)):
        if k > min(n_h, n_w) + 2 * q or q >= k:  # MXNet pooling needs pad < kernel
            continue
        X = nd.zeros((n_h, n_w))
        expected = (conv_out_size(n_h, k, 2 * q, s), conv_out_size(n_w, k, 2 * q, s))
        assert comp_conv2d(nn.Conv2D(1, kernel_size=k, strides=s, padding=q), X).shape == expected
        for pool in (nn.MaxPool2D, nn.AvgPool2D):
            assert pool(k, strides=s, padding=q)(X.reshape((1, 1, n_h, n_w))).shape[2:] == expected
        checked += 1
    assert checked > 100


def test_conv_out_size_rejects_bad_arguments():
    with pytest.raises(ValueError, match='does not fit'):
        conv_out_size(3, 6, p=2)
    for kwargs, message in ((dict(n=0, k=1), 'n must be an integer >= 1, got 0'),
                            (dict(n=3, k=1, s=0), 's must be an integer >= 1, got 0'),
                            (dict(n=3, k=1, p=-1), 'p must be an integer >= 0, got -1'),
                            (dict(n=3.0, k=1), r'n must be an integer >= 1, got 3\.0')):
        with pytest.raises(ValueError, match=message):
            conv_out_size(**kwargs)


@pytest.mark.parametrize('windows', [[(3, 1, 0)], [(11, 4, 0), (3, 2, 0), (5, 1, 2)],
                                     [(7, 2, 3), (3, 2, 1), (3, 2, 1)], [(2, 2, 0)] * 5,
                                     [(5, 3, 1), (3, 1, 1), (4, 2, 0)]])
def test_min_input_size_is_the_smallest_fitting_side(windows):
    def fits(n):
        try:
            for k, s, p in windows:
                n = conv_out_size(n, k, 2 * p, s)
        except ValueError:
            return False
        return n >= 1
    smallest = next(n for n in range(1, 1000) if fits(n))
    assert min_input_size(windows) == smallest


# ---- 多输入通道和多输出通道 ----

BOOK_X = nd.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
BOOK_K = nd.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]])


def test_corr2d_multi_in_book_example():
    Y = corr2d_multi_in(BOOK_X, BOOK_K)
    assert Y[0, 0].asscalar() == 56
    np.testing.assert_array_equal(Y.asnumpy(), [[56, 72], [104, 120]])


def test_corr2d_multi_in_out_book_example():
    K = nd.stack(BOOK_K, BOOK_K + 1, BOOK_K + 2)
    assert K.shape == (3, 2, 2, 2)
    np.testing.assert_array_equal(corr2d_multi_in_out(BOOK_X, K).asnumpy(),
                                  [[[56, 72], [104, 120]], [[76, 100], [148, 172]],
                                   [[96, 128], [192, 224]]])


@pytest.mark.parametrize('c_i,c_o,h,w,k_h,k_w', [(2, 1, 5, 5, 2, 2), (3, 4, 6, 7, 3, 2),
                                                 (1, 2, 4, 4, 1, 1)])
def test_multi_channel_corr_matches_mxnet(c_i, c_o, h, w, k_h, k_w):
    X, K = rand(c_i, h, w), rand(c_o, c_i, k_h, k_w)
    expected = mx_corr(X, K).asnumpy()
    np.testing.assert_allclose(corr2d_multi_in_out(X, K).asnumpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(corr2d_multi_in(X, K[0]).asnumpy(), expected[0], rtol=1e-4, atol=1e-4)


def test_1x1_corr_as_matrix_product():
    X, K = rand(3, 3, 3), rand(2, 3, 1, 1)
    Y1 = corr2d_multi_in_out_1x1(X, K)
    assert Y1.shape == (2, 3, 3)
    np.testing.assert_allclose(Y1.asnumpy(), corr2d_multi_in_out(X, K).asnumpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Y1.asnumpy(), mx_corr(X, K).asnumpy(), rtol=1e-5, atol=1e-5)


def test_multi_channel_rejects_mismatched_channels():
    with pytest.raises(ValueError, match='channels'):
        corr2d_multi_in(rand(3, 4, 4), rand(2, 2, 2))
    with pytest.raises(ValueError, match=r'\(c_o, 3, 1, 1\)'):
        corr2d_multi_in_out_1x1(rand(3, 4, 4), rand(2, 3, 2, 2))
    with pytest.raises(ValueError, match='4-D'):
        corr2d_multi_in_out(rand(3, 4, 4), rand(3, 2, 2))


# ---- 池化层 ----

def test_pool2d_book_example():
    X = nd.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    np.testing.assert_array_equal(pool2d(X, (2, 2)).asnumpy(), [[4, 5], [7, 8]])
    np.testing.assert_array_equal(pool2d(X, (2, 2), 'avg').asnumpy(), [[2, 3], [5, 6]])


@pytest.mark.parametrize('mode', ['max', 'avg'])
@pytest.mark.parametrize('x_shape,pool_size', [((4, 4), (2, 2)), ((6, 5), (3, 2)), ((5, 7), 3),
                                               ((3, 3), (1, 1))])
def test_pool2d_matches_mxnet_pooling(mode, x_shape, pool_size):
    X = rand(*x_shape)
    size = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
    expected = nd.Pooling(X.reshape((1, 1) + x_shape), kernel=size, pool_type=mode, stride=(1, 1))
    np.testing.assert_allclose(pool2d(X, pool_size, mode).asnumpy(), expected[0, 0].asnumpy(),
                               rtol=1e-5, atol=1e-6)


def test_pool2d_rejects_bad_arguments():
    X = nd.ones((3, 3))
    with pytest.raises(ValueError, match="'max', 'avg'.*'min'"):
        pool2d(X, 2, mode='min')
    with pytest.raises(ValueError, match='does not fit'):
        pool2d(X, (4, 1))
    for bad in ((2, 0), True):
        with pytest.raises(ValueError, match=r'pool_size must be a positive int or a pair of '
                                             r'them, got %s$' % re.escape(repr(bad))):
            pool2d(X, bad)


def test_gluon_pooling_book_examples():
    X = nd.arange(16).reshape((1, 1, 4, 4))
    assert nn.MaxPool2D(3)(X).asnumpy().ravel().tolist() == [10]  # default stride = window
    np.testing.assert_array_equal(nn.MaxPool2D(3, padding=1, strides=2)(X)[0, 0].asnumpy(),
                                  [[5, 7], [13, 15]])
    # Several channels are pooled separately: the output keeps the channel count.
    X2 = nd.concat(X, X + 1, dim=1)
    Y2 = nn.MaxPool2D(3, padding=1, strides=2)(X2)
    assert Y2.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(Y2[0, 1].asnumpy(), [[6, 8], [14, 16]])


@pytest.mark.parametrize('mode', ['max', 'avg'])
@pytest.mark.parametrize('size,pad,stride', [((3, 3), (1, 1), (2, 2)), ((2, 3), (1, 2), (2, 3)),
                                             ((3, 2), (0, 1), (1, 2))])
def test_gluon_pooling_with_padding_and_stride_matches_pool2d(mode, size, pad, stride):
    """Gluon's padded strided pooling = pool2d on the padded input, subsampled by the stride
    (MXNet pads max-pooling with -inf, in effect, and counts padding in the average)."""
    X = rand(2, 5, 6)
    layer = (nn.MaxPool2D if mode == 'max' else nn.AvgPool2D)(size, strides=stride, padding=pad)
    Y = layer(X.expand_dims(0))[0]
    fill = -np.inf if mode == 'max' else 0
    for c in range(2):
        padded = np.pad(X[c].asnumpy(), [(pad[0],) * 2, (pad[1],) * 2], constant_values=fill)
        ref = pool2d(nd.array(padded), size, mode)[::stride[0], ::stride[1]]
        np.testing.assert_allclose(Y[c].asnumpy(), ref.asnumpy(), rtol=1e-5, atol=1e-6)
