"""The registry, and one parametrised check over every registered model."""
import mxnet as mx
import pytest
from mxnet import autograd, gluon, nd
from mxnet.gluon import loss as gloss

import gluon_notes as gn
from gluon_notes.registry import register_model
from gluon_notes.runner import make_initializer


def test_duplicate_name_is_refused():
    with pytest.raises(ValueError, match="'lenet' is already registered"):
        register_model('lenet', lr=0.1, batch_size=1)(lambda: None)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        gn.get_model('lenet5')
    for name in gn.list_models():
        assert name in str(info.value)


def test_lenet_is_the_first_entry():
    assert gn.list_models()[0] == 'lenet'


@pytest.mark.parametrize('name', gn.list_models())
def test_every_model_builds_trains_and_checks_its_input(name):
    spec = gn.get_spec(name)
    assert spec.num_epochs == 5 and spec.lr > 0 and spec.batch_size > 0
    assert spec.book_test_acc is not None and 0.7 < spec.book_test_acc < 0.95
    mx.random.seed(0)
    net = gn.get_model(name)
    net.initialize(make_initializer(spec.init))
    size = spec.input_size
    X = nd.random.uniform(shape=(2, 1, size, size))
    y = nd.array([1, 7])
    assert net(X).shape == (2, 10)
    # One SGD step on this batch lowers the loss on it.
    loss = gloss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': min(spec.lr, 0.05)})
    # Both passes in training mode with the same seed, so dropout draws the same masks.
    mx.random.seed(1)
    with autograd.record():
        before = loss(net(X), y).mean()
    before.backward()
    trainer.step(1)
    mx.random.seed(1)
    with autograd.record():
        after = loss(net(X), y).mean()
    assert after.asscalar() < before.asscalar()
    # The wrong channel count is refused with a message that says what is expected.
    with pytest.raises(ValueError, match=r'%s expects' % name):
        net(nd.zeros((1, 3, size, size)))


@pytest.mark.parametrize('name', gn.list_models())
def test_every_model_takes_the_number_of_classes(name):
    spec = gn.get_spec(name)
    net = gn.get_model(name, classes=3)
    net.initialize(make_initializer(spec.init))
    size = spec.input_size
    assert net(nd.random.uniform(shape=(2, 1, size, size))).shape == (2, 3)
