"""train_ch5 / train_ch3 / evaluate_accuracy: they learn, report what d2lzh reports, return the history."""
import json

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, init, nd
from mxnet.gluon import loss as gloss, nn

import gluon_notes as gn

KEYS = {'epoch', 'loss', 'train_acc', 'test_acc', 'time_sec', 'examples_per_sec'}


def _lenet(seed=0, ctx=None):
    mx.random.seed(seed)
    net = gn.get_model('lenet')
    net.initialize(init.Xavier(), ctx=ctx)
    return net


def test_train_ch5_learns_and_returns_history(tmp_path, capsys):
    mx.random.seed(0)
    np.random.seed(0)
    train_iter, test_iter = gn.load_data_fashion_mnist(64, subset=4000)
    net = _lenet()
    # Sigmoid LeNet sits on a plateau for the first few hundred SGD steps; Adam leaves it at once.
    trainer = gluon.Trainer(net.collect_params(), 'adam', {'learning_rate': 0.01})
    history = gn.train_ch5(net, train_iter, test_iter, 64, trainer, mx.cpu(), 4,
                           history_file=tmp_path / 'h.json', plot_file=tmp_path / 'c.png')
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'training on cpu(0)'
    assert [line.split(',')[0] for line in out[1:]] == ['epoch 1', 'epoch 2', 'epoch 3', 'epoch 4']
    assert all('examples/sec' in line and 'test acc' in line for line in out[1:])
    assert [r['epoch'] for r in history] == [1, 2, 3, 4] and all(set(r) == KEYS for r in history)
    assert history[-1]['test_acc'] > 0.5 and history[-1]['loss'] < history[0]['loss']  # chance: 0.1
    assert json.loads((tmp_path / 'h.json').read_text()) == history
    assert (tmp_path / 'c.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_reported_metrics_match_an_independent_pass():
    """The on-device sums must equal a plain numpy recount of accuracy on the test set."""
    _, test_iter = gn.load_data_fashion_mnist(100, subset=500)
    net = _lenet(1, ctx=[mx.cpu(0), mx.cpu(1)])
    correct = sum((net(X).asnumpy().argmax(axis=1) == y.asnumpy()).sum() for X, y in test_iter)
    assert gn.evaluate_accuracy(test_iter, net, mx.cpu()) == pytest.approx(correct / 500)
    assert gn.evaluate_accuracy(test_iter, net, [mx.cpu(0), mx.cpu(1)]) == pytest.approx(correct / 500)


def test_hybridized_training_equals_imperative():
    train_iter, test_iter = gn.load_data_fashion_mnist(128, subset=512)
    results = []
    for hybridize in (False, True):
        np.random.seed(3)
        train_iter.rng = np.random.RandomState(3)
        net = _lenet(2)
        trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.9})
        gn.train_ch5(net, train_iter, test_iter, 128, trainer, mx.cpu(), 1,
                     hybridize=hybridize, verbose=False)
        results.append(net(next(iter(test_iter))[0]).asnumpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-5)


def test_train_ch3_with_params_and_with_trainer(capsys):
    train_iter, test_iter = gn.load_data_fashion_mnist(256, subset=2000)
    W = nd.random.normal(scale=0.01, shape=(784, 10))
    b = nd.zeros(10)
    for p in (W, b):
        p.attach_grad()

    def net(X):
        return nd.softmax(nd.dot(X.reshape((-1, 784)), W) + b)

    def cross_entropy(y_hat, y):
        return -nd.pick(y_hat, y).log()
    history = gn.train_ch3(net, train_iter, test_iter, cross_entropy, 2, 256, [W, b], 0.1)
    assert history[-1]['test_acc'] > 0.5
    assert capsys.readouterr().out.splitlines()[0].startswith('epoch 1, loss ')

    concise = nn.Dense(10)
    concise.initialize(init.Normal(sigma=0.01))
    trainer = gluon.Trainer(concise.collect_params(), 'sgd', {'learning_rate': 0.1})
    history = gn.train_ch3(concise, train_iter, test_iter, gloss.SoftmaxCrossEntropyLoss(), 2, 256,
                           trainer=trainer, verbose=False)
    assert history[-1]['test_acc'] > 0.5
    with pytest.raises(ValueError, match='trainer'):
        gn.train_ch3(concise, train_iter, test_iter, gloss.SoftmaxCrossEntropyLoss(), 1, 256)


def test_accumulator():
    acc = gn.Accumulator(2)
    acc.add(1, 2.5)
    acc.add(3, 0.5)
    assert (acc[0], acc[1]) == (4, 3.0)
    acc.reset()
    assert acc[0] == 0


def test_bad_ctx_is_a_type_error():
    with pytest.raises(TypeError, match='ctx'):
        gn.as_ctx_list('cpu')
