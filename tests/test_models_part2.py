"""LeNet with batch normalization, ResNet and DenseNet against the notes' listings and the book."""
import d2lzh as d2l
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss, nn

from gluon_notes import (BatchNorm, BookNet, BookSequential, DenseBlock, Residual, get_model,
                         get_spec, load_data_fashion_mnist, resnet_block, transition_block)

# name: (lr, batch size, resize, fixed size, book's test accuracy, section), from the notes/book.
BOOK = {
    'lenet_bn': (1.0, 256, None, True, 0.870, '批量归一化'),
    'lenet_bn_gluon': (1.0, 256, None, True, 0.881, '批量归一化'),
    'resnet18': (0.05, 256, 96, False, 0.913, '残差网络（ResNet）'),
    'densenet': (0.1, 256, 96, False, 0.879, '稠密连接网络（DenseNet）'),
}
NAMES = list(BOOK)


def _initialized(name, size):
    net = get_model(name)
    net.initialize(init.Xavier())
    net(nd.zeros((1, 1, size, size)))
    return net


def _trace(net, X):
    shapes = []
    for blk in net:
        X = blk(X)
        shapes.append(X.shape)
    return shapes


def _copy_params(src, dst):
    """Copy ``src``'s parameters into ``dst`` in registration order (the layouts must agree)."""
    src_params = list(src.collect_params().values())
    dst_params = list(dst.collect_params().values())
    assert len(src_params) == len(dst_params)
    for p, q in zip(src_params, dst_params):
        # The from-scratch BatchNorm keeps (1, C[, 1, 1]) shapes where nn.BatchNorm keeps (C,).
        assert [d for d in p.shape if d != 1] == [d for d in q.shape if d != 1], (p.name, q.name)
        q.set_data(p.data().reshape(q.shape))


@pytest.mark.parametrize('name', NAMES)
def test_registry_has_the_books_settings(name):
    spec = get_spec(name)
    lr, batch_size, resize, fixed_size, acc, section = BOOK[name]
    assert (spec.lr, spec.batch_size, spec.num_epochs, spec.resize, spec.fixed_size, spec.init,
            spec.book_test_acc, spec.section) == (lr, batch_size, 5, resize, fixed_size, 'xavier',
                                                  acc, section)


# ---- LeNet with batch normalization ----

LENET_BN_LAYERS = [(nn.Conv2D, (6, 24, 24)), (None, (6, 24, 24)), ('sigmoid', (6, 24, 24)),
                   (nn.MaxPool2D, (6, 12, 12)),
                   (nn.Conv2D, (16, 8, 8)), (None, (16, 8, 8)), ('sigmoid', (16, 8, 8)),
                   (nn.MaxPool2D, (16, 4, 4)),
                   (nn.Dense, (120,)), (None, (120,)), ('sigmoid', (120,)),
                   (nn.Dense, (84,)), (None, (84,)), ('sigmoid', (84,)),
                   (nn.Dense, (10,))]


@pytest.mark.parametrize('name, bn_type, container', [('lenet_bn', BatchNorm, BookSequential),
                                                      ('lenet_bn_gluon', nn.BatchNorm, BookNet)])
def test_lenet_bn_layers_and_trace(name, bn_type, container):
    net = _initialized(name, 28)
    assert isinstance(net, container)
    assert len(net) == len(LENET_BN_LAYERS)
    for blk, (kind, _) in zip(net, LENET_BN_LAYERS):
        if kind is None:
            assert type(blk) is bn_type
        elif kind == 'sigmoid':
            assert isinstance(blk, nn.Activation) and blk._act_type == 'sigmoid'
        else:
            assert type(blk) is kind
    assert _trace(net, nd.zeros((2, 1, 28, 28))) == [(2,) + s for _, s in LENET_BN_LAYERS]


def test_lenet_bn_scratch_and_gluon_agree_with_the_same_parameters():
    ours, ref = _initialized('lenet_bn', 28), _initialized('lenet_bn_gluon', 28)
    _copy_params(ref, ours)  # both BN layers hold gamma, beta, mean, variance in that order
    X = nd.array(np.random.RandomState(0).uniform(size=(6, 1, 28, 28)))
    np.testing.assert_allclose(ours(X).asnumpy(), ref(X).asnumpy(), rtol=1e-4, atol=1e-5)
    with autograd.record():
        y_ours, y_ref = ours(X), ref(X)
    np.testing.assert_allclose(y_ours.asnumpy(), y_ref.asnumpy(), rtol=1e-4, atol=1e-5)


# ---- ResNet ----

def test_residual_shapes_from_the_book():
    X = nd.random.uniform(shape=(4, 3, 6, 6))
    blk = Residual(3)
    blk.initialize()
    assert blk(X).shape == (4, 3, 6, 6)
    blk = Residual(6, use_1x1conv=True, strides=2)
    blk.initialize()
    assert blk(X).shape == (4, 6, 3, 3)


@pytest.mark.parametrize('num_channels, use_1x1conv, strides', [(3, False, 1), (6, True, 2)])
def test_residual_matches_d2lzh(num_channels, use_1x1conv, strides):
    X = nd.array(np.random.RandomState(0).normal(size=(4, 3, 6, 6)))
    ours = Residual(num_channels, use_1x1conv=use_1x1conv, strides=strides)
    ref = d2l.Residual(num_channels, use_1x1conv=use_1x1conv, strides=strides)
    for blk in (ours, ref):
        blk.initialize(init.Xavier())
        blk(X)
    _copy_params(ref, ours)
    for hybrid in (False, True):
        if hybrid:
            ours.hybridize()
        with autograd.record():
            y_ours, y_ref = ours(X), ref(X)
        np.testing.assert_allclose(y_ours.asnumpy(), y_ref.asnumpy(), rtol=1e-4, atol=1e-5)


def test_resnet_block_halves_unless_first():
    X = nd.random.uniform(shape=(2, 4, 8, 8))
    first, later = resnet_block(4, 2, first_block=True), resnet_block(8, 2)
    for blk in (first, later):
        blk.initialize()
    assert [type(b) for b in first] == [Residual, Residual]
    assert first(X).shape == (2, 4, 8, 8)
    assert later(X).shape == (2, 8, 4, 4)


def test_resnet18_trace_at_96():
    net = _initialized('resnet18', 96)
    types = [nn.Conv2D, nn.BatchNorm, nn.Activation, nn.MaxPool2D] + [nn.HybridSequential] * 4 + \
        [nn.GlobalAvgPool2D, nn.Dense]
    assert [type(b) for b in net] == types
    assert [len(net[i]) for i in range(4, 8)] == [2, 2, 2, 2]
    # The book's printed trace.
    assert _trace(net, nd.zeros((1, 1, 96, 96))) == [
        (1, 64, 48, 48), (1, 64, 48, 48), (1, 64, 48, 48), (1, 64, 24, 24), (1, 64, 24, 24),
        (1, 128, 12, 12), (1, 256, 6, 6), (1, 512, 3, 3), (1, 512, 1, 1), (1, 10)]


def _notes_resnet18():
    """The notes' listing verbatim, on d2lzh's Residual."""
    def block(num_channels, num_residuals, first_block=False):
        blk = nn.Sequential()
        for i in range(num_residuals):
            if i == 0 and not first_block:
                blk.add(d2l.Residual(num_channels, use_1x1conv=True, strides=2))
            else:
                blk.add(d2l.Residual(num_channels))
        return blk
    net = nn.Sequential()
    net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    net.add(block(64, 2, first_block=True), block(128, 2), block(256, 2), block(512, 2))
    net.add(nn.GlobalAvgPool2D(), nn.Dense(10))
    return net


def test_resnet18_matches_the_notes_listing():
    X = nd.array(np.random.RandomState(0).uniform(size=(2, 1, 32, 32)))
    ours, ref = get_model('resnet18'), _notes_resnet18()
    for net in (ours, ref):
        net.initialize(init.Xavier())
        net(X)
    _copy_params(ref, ours)
    with autograd.record():
        y_ours, y_ref = ours(X), ref(X)
    np.testing.assert_allclose(y_ours.asnumpy(), y_ref.asnumpy(), rtol=1e-4, atol=1e-4)


def test_resnet18_accepts_down_to_its_min_size():
    spec = get_spec('resnet18')
    assert spec.min_size == 1  # every stride-2 window is padded, so even 1x1 goes through
    net = _initialized('resnet18', 96)
    assert net(nd.zeros((2, 1, spec.min_size, spec.min_size))).shape == (2, 10)


# ---- DenseNet ----

class _NotesDenseBlock(nn.Block):
    """The notes' DenseBlock verbatim."""

    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.Sequential()
        for _ in range(num_convs):
            blk = nn.Sequential()
            blk.add(nn.BatchNorm(), nn.Activation('relu'),
                    nn.Conv2D(num_channels, kernel_size=3, padding=1))
            self.net.add(blk)

    def forward(self, X):
        for blk in self.net:
            Y = blk(X)
            X = nd.concat(X, Y, dim=1)
        return X


def test_dense_and_transition_block_shapes_from_the_book():
    X = nd.random.uniform(shape=(4, 3, 8, 8))
    blk = DenseBlock(2, 10)
    blk.initialize()
    Y = blk(X)
    assert Y.shape == (4, 23, 8, 8)
    np.testing.assert_array_equal(Y[:, :3].asnumpy(), X.asnumpy())  # the input passes through
    tr = transition_block(10)
    tr.initialize()
    assert tr(Y).shape == (4, 10, 4, 4)


def test_dense_block_matches_the_notes():
    X = nd.array(np.random.RandomState(0).normal(size=(4, 3, 8, 8)))
    ours, ref = DenseBlock(3, 5), _NotesDenseBlock(3, 5)
    for blk in (ours, ref):
        blk.initialize(init.Xavier())
        blk(X)
    _copy_params(ref, ours)
    ours.hybridize()
    with autograd.record():
        y_ours, y_ref = ours(X), ref(X)
    np.testing.assert_allclose(y_ours.asnumpy(), y_ref.asnumpy(), rtol=1e-4, atol=1e-5)


def test_densenet_stages_and_channels():
    net = _initialized('densenet', 96)
    types = [nn.Conv2D, nn.BatchNorm, nn.Activation, nn.MaxPool2D,
             DenseBlock, nn.HybridSequential, DenseBlock, nn.HybridSequential,
             DenseBlock, nn.HybridSequential, DenseBlock,
             nn.BatchNorm, nn.Activation, nn.GlobalAvgPool2D, nn.Dense]
    assert [type(b) for b in net] == types
    shapes = _trace(net, nd.zeros((1, 1, 96, 96)))
    # After the stem, then after every dense block and transition layer.
    assert [shapes[3][1]] + [s[1] for s in shapes[4:11]] == [64, 192, 96, 224, 112, 240, 120, 248]
    assert [s[2] for s in shapes[3:11]] == [24, 24, 12, 12, 6, 6, 3, 3]
    assert shapes[-1] == (1, 10)


def test_densenet_matches_the_notes_listing():
    net = nn.Sequential()
    net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    num_channels, growth_rate = 64, 32
    for i, num_convs in enumerate([4, 4, 4, 4]):
        net.add(_NotesDenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate
        if i != 3:
            num_channels //= 2
            net.add(transition_block(num_channels))
    net.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D(), nn.Dense(10))
    X = nd.array(np.random.RandomState(0).uniform(size=(2, 1, 32, 32)))
    ours = get_model('densenet')
    for n in (ours, net):
        n.initialize(init.Xavier())
        n(X)
    _copy_params(net, ours)
    with autograd.record():
        y_ours, y_ref = ours(X), net(X)
    np.testing.assert_allclose(y_ours.asnumpy(), y_ref.asnumpy(), rtol=1e-4, atol=1e-4)


def test_densenet_min_size_is_what_mxnet_accepts():
    min_size = get_spec('densenet').min_size
    net = _initialized('densenet', 96)
    assert net(nd.zeros((1, 1, min_size, min_size))).shape == (1, 10)
    # One pixel less and the last transition's 2x2 pooling gets a 1x1 map (bypassing the check).
    with pytest.raises(mx.base.MXNetError):
        _trace(net, nd.zeros((1, 1, min_size - 1, min_size - 1)))
    with pytest.raises(ValueError, match=r'densenet expects inputs of at least 29\u00d729'):
        net(nd.zeros((1, 1, min_size - 1, min_size - 1)))


# ---- all four ----

def _tiny_batch(name, n=8):
    spec = get_spec(name)
    train_iter, _ = load_data_fashion_mnist(n, resize=spec.resize, subset=n)
    return next(iter(train_iter))


@pytest.mark.parametrize('name', NAMES)
def test_one_sgd_step_reduces_the_loss(name):
    mx.random.seed(0)
    X, y = _tiny_batch(name)
    net = get_model(name)
    net.initialize(init.Xavier())
    # A small step, so the first-order decrease dominates: at the book's rate ResNet-18 can
    # overshoot on eight examples.
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.01})
    loss = gloss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(2):
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        losses.append(l.mean().asscalar())
        trainer.step(X.shape[0])
    assert losses[1] < losses[0]


@pytest.mark.parametrize('name, size', [('lenet_bn', 28), ('lenet_bn_gluon', 28),
                                        ('resnet18', 40), ('densenet', 40)])
def test_hybridized_equals_imperative(name, size):
    net = _initialized(name, size)
    # A training step first, so that the moving statistics are not the initial ones.
    with autograd.record():
        net(nd.array(np.random.RandomState(1).normal(size=(4, 1, size, size))))
    X = nd.array(np.random.RandomState(2).uniform(size=(3, 1, size, size)))
    before = net(X).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(X).asnumpy(), before, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name, shape, message', [
    ('lenet_bn', (1, 1, 32, 32),
     'lenet_bn expects 1\u00d728\u00d728 inputs, got 1\u00d732\u00d732'),
    ('lenet_bn_gluon', (1, 1, 96, 96), 'lenet_bn_gluon expects 1\u00d728\u00d728 inputs'),
    ('resnet18', (1, 3, 96, 96),
     r'resnet18 expects inputs of shape \(N, 1, H, W\), got \(1, 3, 96'),
    ('densenet', (1, 1, 28, 28), 'densenet expects inputs of at least 29'),
])
def test_wrong_input_is_a_clear_value_error(name, shape, message):
    net = get_model(name)
    net.initialize()
    with pytest.raises(ValueError, match=message):
        net(nd.zeros(shape))


def test_constructors_reject_unknown_configurations():
    from gluon_notes import get_densenet, get_resnet
    with pytest.raises(ValueError, match=r'num_layers must be one of \[18\], got 34'):
        get_resnet(34)
    with pytest.raises(ValueError, match='num_convs_in_dense_blocks.*got \\(4, 0\\)'):
        get_densenet((4, 0))
    with pytest.raises(ValueError, match='num_convs_in_dense_blocks.*got \\(4, True\\)'):
        get_densenet((4, True))
    from gluon_notes import vgg, vgg11
    with pytest.raises(ValueError, match=r'input_size must be >= 32 for 5 blocks \(each halves it\), '
                                         r'got 16'):
        vgg(((1, 8),) * 5, input_size=16)
    for ratio in (0, 65, True, 2.0):
        with pytest.raises(ValueError, match=r'ratio must be an integer in \[1, 64\] .*got %s'
                                             % ratio):
            vgg11(ratio=ratio)
    assert vgg11(ratio=64)[0][0]._channels == 1  # the smallest that still leaves a channel
