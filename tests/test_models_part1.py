"""LeNet, AlexNet, VGG, NiN and GoogLeNet: the book's printed shape traces, training steps,
hybridization and the input checks."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss, nn

import gluon_notes
from gluon_notes import (VGG11_ARCH, Inception, get_model, get_spec, load_data_fashion_mnist,
                         nin_block, vgg, vgg_block)
from gluon_notes.models.base import check_input_shape

# The book's printed traces of `for blk in net: X = blk(X); print(blk.name, X.shape)`.
BOOK_TRACES = {
    'lenet': (28, [(1, 6, 24, 24), (1, 6, 12, 12), (1, 16, 8, 8), (1, 16, 4, 4), (1, 120), (1, 84),
                   (1, 10)]),
    'alexnet': (224, [(1, 96, 54, 54), (1, 96, 26, 26), (1, 256, 26, 26), (1, 256, 12, 12),
                      (1, 384, 12, 12), (1, 384, 12, 12), (1, 256, 12, 12), (1, 256, 5, 5),
                      (1, 4096), (1, 4096), (1, 4096), (1, 4096), (1, 10)]),
    'nin': (224, [(1, 96, 54, 54), (1, 96, 26, 26), (1, 256, 26, 26), (1, 256, 12, 12),
                  (1, 384, 12, 12), (1, 384, 5, 5), (1, 384, 5, 5), (1, 10, 5, 5), (1, 10, 1, 1),
                  (1, 10)]),
    'googlenet': (96, [(1, 64, 24, 24), (1, 192, 12, 12), (1, 480, 6, 6), (1, 832, 3, 3),
                       (1, 1024, 1, 1), (1, 10)]),
}
BOOK_VGG11_TRACE = [(1, 64, 112, 112), (1, 128, 56, 56), (1, 256, 28, 28), (1, 512, 14, 14),
                    (1, 512, 7, 7), (1, 4096), (1, 4096), (1, 4096), (1, 4096), (1, 10)]
# The book's settings: (lr, batch size, resize, test accuracy it prints after 5 epochs).
BOOK_SETTINGS = {'alexnet': (0.01, 128, 224, 0.867), 'vgg11': (0.05, 128, 224, 0.909),
                 'nin': (0.1, 128, 224, 0.812), 'googlenet': (0.1, 128, 96, 0.883)}
NAMES = ['lenet', 'alexnet', 'vgg11', 'nin', 'googlenet']


@pytest.fixture(scope='module')
def nets():
    mx.random.seed(1)
    built = {}
    for name in NAMES:
        net = get_model(name)
        net.initialize(init.Xavier())
        built[name] = net
    return built


def trace(net, X):
    shapes = []
    for blk in net:
        X = blk(X)
        shapes.append(X.shape)
    return shapes


@pytest.mark.parametrize('name', sorted(BOOK_TRACES))
def test_trace_matches_book(nets, name):
    size, expected = BOOK_TRACES[name]
    assert trace(nets[name], nd.random.uniform(shape=(1, 1, size, size))) == expected


def test_vgg11_full_channels_trace_matches_book():
    # MXNet's shape inference on the same blocks: running the full network (129M weights,
    # 7.6 GFLOPs) would take seconds for nothing more.
    X, shapes = mx.sym.var('data'), []
    for blk in vgg(VGG11_ARCH):
        X = blk(X)
        shapes.append(X.infer_shape(data=(1, 1, 224, 224))[1][0])
    assert shapes == BOOK_VGG11_TRACE


def test_vgg11_registered_has_quarter_channels(nets):
    # The book's small_conv_arch: channel counts // 4, same spatial sizes and dense head.
    expected = [(1, s[1] // 4) + s[2:] if len(s) == 4 else s for s in BOOK_VGG11_TRACE]
    assert trace(nets['vgg11'], nd.random.uniform(shape=(1, 1, 224, 224))) == expected


def test_vgg_block_layers():
    blk = vgg_block(2, 128)
    blk.initialize()
    assert [type(b) for b in blk] == [nn.Conv2D, nn.Conv2D, nn.MaxPool2D]
    assert trace(blk, nd.zeros((1, 64, 56, 56))) == [(1, 128, 56, 56)] * 2 + [(1, 128, 28, 28)]
    with pytest.raises(ValueError, match='num_convs'):
        vgg_block(0, 64)
    with pytest.raises(ValueError, match='conv_arch'):
        vgg([(1, 64, 3)])


def test_nin_block_layers():
    blk = nin_block(96, kernel_size=11, strides=4, padding=0)
    blk.initialize()
    assert trace(blk, nd.zeros((1, 1, 224, 224))) == [(1, 96, 54, 54)] * 3
    assert [b._kwargs['kernel'] for b in blk] == [(11, 11), (1, 1), (1, 1)]


# Output channels of each Inception block as the notes sum them up (b3, b4, b5).
BOOK_INCEPTION_CHANNELS = [[256, 480], [512, 512, 512, 528, 832], [832, 1024]]


def test_inception_blocks_channel_sums(nets):
    X = nd.random.uniform(shape=(1, 1, 96, 96))
    stages = list(nets['googlenet'])
    X = stages[1](stages[0](X))
    for stage, channels in zip(stages[2:5], BOOK_INCEPTION_CHANNELS):
        blocks = list(stage)
        assert [type(b) for b in blocks[:-1]] == [Inception] * len(channels)
        side = X.shape[2]
        for blk, c in zip(blocks[:-1], channels):
            X = blk(X)
            assert X.shape == (1, c, side, side)  # every path keeps height and width
        X = blocks[-1](X)


def test_inception_concatenates_paths():
    blk = Inception(64, (96, 128), (16, 32), 32)
    blk.initialize(init.Xavier())
    X = nd.random.uniform(shape=(2, 192, 12, 12))
    Y = blk(X)
    assert Y.shape == (2, 64 + 128 + 32 + 32, 12, 12)
    paths = [blk.p1_1(X), blk.p2_2(blk.p2_1(X)), blk.p3_2(blk.p3_1(X)), blk.p4_2(blk.p4_1(X))]
    np.testing.assert_allclose(Y.asnumpy(), np.concatenate([p.asnumpy() for p in paths], axis=1))
    blk.hybridize()
    np.testing.assert_allclose(blk(X).asnumpy(), Y.asnumpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='c2'):
        Inception(64, 96, (16, 32), 32)


@pytest.mark.parametrize('name', NAMES)
def test_one_sgd_step_reduces_the_loss(nets, name):
    spec = get_spec(name)
    train_iter, _ = load_data_fashion_mnist(batch_size=2, resize=spec.resize, subset=2)
    X, y = next(iter(train_iter))
    net, loss = nets[name], gloss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': spec.lr})
    before = loss(net(X), y).mean().asscalar()
    # train_mode=False switches dropout off, so the step follows the gradient of this very loss.
    with autograd.record(train_mode=False):
        l = loss(net(X), y)
    l.backward()
    trainer.step(X.shape[0])
    after = loss(net(X), y).mean().asscalar()
    assert after < before


@pytest.mark.parametrize('name', NAMES)
def test_hybridized_output_equals_imperative(nets, name):
    size = get_spec(name).input_size
    net = nets[name]
    X = nd.random.uniform(shape=(2, 1, size, size))
    imperative = net(X).asnumpy()
    net.hybridize(static_alloc=True)
    try:
        hybrid = net(X).asnumpy()
    finally:
        net.hybridize(False)
    np.testing.assert_allclose(hybrid, imperative, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', sorted(BOOK_SETTINGS))
def test_registry_has_book_settings(name):
    spec = get_spec(name)
    assert (spec.lr, spec.batch_size, spec.resize, spec.book_test_acc) == BOOK_SETTINGS[name]
    assert spec.num_epochs == 5 and spec.init == 'xavier'
    assert spec.fixed_size == (name in ('alexnet', 'vgg11'))
    net = get_model(name)
    assert net.model_name == name
    assert net.input_spec['min_size'] == spec.min_size
    assert net.input_spec['fixed_size'] == spec.fixed_size


def test_wrong_size_messages():
    with pytest.raises(ValueError) as e:
        get_model('alexnet')(nd.zeros((1, 1, 28, 28)))
    assert str(e.value) == 'alexnet expects 1×224×224 inputs, got 1×28×28; use resize=224'
    with pytest.raises(ValueError, match=r'vgg11 expects 1×224×224 inputs, got 1×96×96; use resize=224'):
        get_model('vgg11')(nd.zeros((1, 1, 96, 96)))
    for name in NAMES:
        size = get_spec(name).input_size
        with pytest.raises(ValueError, match=r'%s expects inputs of shape \(N, 1, H, W\), got '
                           r'\(1, 3, %d, %d\)' % (name, size, size)):
            get_model(name)(nd.zeros((1, 3, size, size)))


@pytest.mark.parametrize('name', ['nin', 'googlenet'])
def test_min_size_is_the_smallest_accepted_side(nets, name):
    spec = get_spec(name)
    assert not spec.fixed_size and spec.min_size < spec.input_size
    net = nets[name]
    assert net(nd.zeros((1, 1, spec.min_size, spec.min_size))).shape == (1, 10)
    # Rectangular inputs are fine too: global average pooling removes the spatial size.
    assert net(nd.zeros((1, 1, spec.min_size, spec.min_size + 5))).shape == (1, 10)
    small = spec.min_size - 1
    with pytest.raises(ValueError, match='%s expects inputs of at least %d×%d \\(book: %d×%d\\), '
                       'got %d×%d; use resize=%d' % (name, spec.min_size, spec.min_size,
                                                     spec.resize, spec.resize, small, small,
                                                     spec.resize)):
        check_input_shape(name, (1, 1, small, small), **net.input_spec)
    if small >= 1:
        with pytest.raises(ValueError, match='at least'):
            net(nd.zeros((1, 1, small, small)))
        # Without the check, MXNet itself fails on that size: min_size is tight.
        with pytest.raises(mx.base.MXNetError):
            trace(net, nd.zeros((1, 1, small, small)))


def test_section_titles():
    assert [get_spec(n).section for n in ('alexnet', 'vgg11', 'nin', 'googlenet')] == \
        ['AlexNet', 'VGG', '网络中的网络（NiN）', 'GoogLeNet']
    assert get_spec('lenet').section == 'LeNet'


def test_public_names_at_top_level():
    for name in ('alexnet', 'vgg_block', 'vgg', 'vgg11', 'nin_block', 'nin', 'Inception',
                 'googlenet', 'lenet'):
        assert callable(getattr(gluon_notes, name))


@pytest.fixture(autouse=True)
def _wait():
    yield
    nd.waitall()  # charge each test for its own asynchronous work
