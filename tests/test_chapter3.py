"""Chapter 3: each helper against numpy or MXNet's own operators, plus short training runs."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss

import gluon_notes as gn


@pytest.fixture(autouse=True)
def seeded():
    mx.random.seed(42)
    np.random.seed(42)


def np_softmax(X):
    X = np.asarray(X, dtype=np.float64)
    e = np.exp(X - X.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# 线性回归 ---------------------------------------------------------------------------------------

def test_synthetic_data_follows_the_linear_model_with_small_noise():
    X, y = gn.synthetic_data([2, -3.4], 4.2, 5000)
    assert X.shape == (5000, 2) and y.shape == (5000,)
    Xn = X.asnumpy().astype(np.float64)
    residual = y.asnumpy() - (Xn @ np.array([2, -3.4]) + 4.2)
    assert abs(residual.std() - 0.01) < 0.001 and abs(residual.mean()) < 0.001
    assert abs(Xn.mean()) < 0.05 and abs(Xn.std() - 1) < 0.05


def test_synthetic_data_rejects_bad_arguments():
    with pytest.raises(ValueError, match='num_examples must be a positive integer'):
        gn.synthetic_data([1, 2], 0, 0)
    with pytest.raises(ValueError, match='w must be a non-empty vector'):
        gn.synthetic_data(np.ones((2, 2)), 0, 10)
    with pytest.raises(TypeError, match='b must be a real number'):
        gn.synthetic_data([1, 2], 'bias', 10)


def test_data_iter_visits_every_example_once_in_aligned_batches():
    X = nd.arange(23).reshape((23, 1))
    y = nd.arange(23) * 10
    seen, sizes = [], []
    for Xb, yb in gn.data_iter(5, X, y):
        np.testing.assert_array_equal(yb.asnumpy(), Xb.asnumpy()[:, 0] * 10)
        seen += list(Xb.asnumpy()[:, 0])
        sizes.append(Xb.shape[0])
    assert sorted(seen) == list(range(23)) and seen != list(range(23))
    assert sizes == [5, 5, 5, 5, 3]


def test_data_iter_rejects_bad_arguments_when_called():
    X = nd.zeros((4, 2))
    with pytest.raises(ValueError, match='same number of examples, got 4 and 3'):
        gn.data_iter(2, X, nd.zeros(3))
    with pytest.raises(ValueError, match='batch_size must be a positive integer'):
        gn.data_iter(0, X, nd.zeros(4))
    with pytest.raises(TypeError, match='features must be an mxnet NDArray, got ndarray'):
        gn.data_iter(2, np.zeros((4, 2)), nd.zeros(4))


def test_linreg_and_squared_loss_match_numpy_and_l2loss():
    X, w, b = nd.random.normal(shape=(7, 3)), nd.random.normal(shape=(3, 1)), 0.5
    y = nd.random.normal(shape=(7,))
    y_hat = gn.linreg(X, w, b)
    np.testing.assert_allclose(y_hat.asnumpy(), X.asnumpy() @ w.asnumpy() + b, rtol=1e-5)
    l = gn.squared_loss(y_hat, y)
    np.testing.assert_allclose(l.asnumpy()[:, 0], gloss.L2Loss()(y_hat, y).asnumpy(), rtol=1e-5)
    np.testing.assert_allclose(l.asnumpy()[:, 0], (y_hat.asnumpy()[:, 0] - y.asnumpy()) ** 2 / 2,
                               rtol=1e-5)
    with pytest.raises(ValueError, match='w must have X.shape\\[1\\] = 3 rows'):
        gn.linreg(X, nd.zeros((2, 1)), 0)
    with pytest.raises(ValueError, match='same number of elements'):
        gn.squared_loss(y_hat, nd.zeros(6))


def test_sgd_steps_against_the_mean_gradient():
    w = nd.array([1.0, 2.0])
    w.attach_grad()
    with autograd.record():
        l = (w * nd.array([3.0, -4.0])).sum()
    l.backward()
    gn.sgd([w], 0.5, 2)
    np.testing.assert_allclose(w.asnumpy(), [1 - 0.5 * 3 / 2, 2 + 0.5 * 4 / 2])


def test_linear_regression_from_scratch_recovers_w_and_b():
    true_w, true_b = [2, -3.4], 4.2
    features, labels = gn.synthetic_data(true_w, true_b, 1000)
    w = nd.random.normal(scale=0.01, shape=(2, 1))
    b = nd.zeros(1)
    w.attach_grad()
    b.attach_grad()
    for _ in range(3):
        for X, y in gn.data_iter(10, features, labels):
            with autograd.record():
                l = gn.squared_loss(gn.linreg(X, w, b), y)
            l.backward()
            gn.sgd([w, b], 0.03, 10)
    np.testing.assert_allclose(w.asnumpy()[:, 0], true_w, atol=3e-3)
    np.testing.assert_allclose(b.asnumpy(), [true_b], atol=3e-3)


# softmax 回归 -----------------------------------------------------------------------------------

def test_softmax_matches_nd_softmax_and_float64_numpy():
    X = nd.random.normal(scale=3, shape=(6, 10))
    P = gn.softmax(X)
    np.testing.assert_allclose(P.asnumpy(), nd.softmax(X).asnumpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(P.asnumpy(), np_softmax(X.asnumpy()), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(P.sum(axis=1).asnumpy(), np.ones(6), rtol=1e-6)


def test_softmax_is_stable_where_the_plain_formula_overflows():
    X = nd.array([[1000, 999, 998], [-1000, 0, 1000], [88.8, 90, 1]])
    plain = X.exp() / X.exp().sum(axis=1, keepdims=True)
    assert np.isnan(plain.asnumpy()).any()
    P = gn.softmax(X).asnumpy()
    assert np.isfinite(P).all()
    np.testing.assert_allclose(P, np_softmax([[1000, 999, 998], [-1000, 0, 1000], [88.8, 90, 1]]),
                               rtol=1e-5, atol=1e-30)


def test_softmax_rejects_non_matrices():
    with pytest.raises(ValueError, match='X must be 2-dimensional, got shape \\(3,\\)'):
        gn.softmax(nd.zeros(3))
    with pytest.raises(TypeError, match='X must be an mxnet NDArray'):
        gn.softmax([[1.0, 2.0]])


def test_cross_entropy_matches_gluon_and_numpy():
    logits = nd.random.normal(shape=(8, 5))
    y = nd.array([0, 4, 2, 2, 1, 3, 0, 4])
    l = gn.cross_entropy(gn.softmax(logits), y)
    np.testing.assert_allclose(l.asnumpy(), gloss.SoftmaxCrossEntropyLoss()(logits, y).asnumpy(),
                               rtol=1e-5)
    p = np_softmax(logits.asnumpy())
    np.testing.assert_allclose(l.asnumpy(), -np.log(p[np.arange(8), y.asnumpy().astype(int)]),
                               rtol=1e-5)
    with pytest.raises(ValueError, match='one label per row of y_hat \\(8\\), got 7'):
        gn.cross_entropy(logits, y[:7])
    with pytest.raises(ValueError, match='y must be 1-dimensional'):
        gn.cross_entropy(logits, y.reshape((8, 1)))


def test_accuracy_matches_numpy():
    y_hat = nd.random.normal(shape=(50, 4))
    y = nd.array(np.random.randint(0, 4, 50))
    expected = (y_hat.asnumpy().argmax(axis=1) == y.asnumpy()).mean()
    assert gn.accuracy(y_hat, y) == pytest.approx(expected)
    # The book's worked example: 0.1, 0.3, 0.6 / 0.3, 0.2, 0.5 with labels 0 and 2 -> 0.5.
    assert gn.accuracy(nd.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]), nd.array([0, 2])) == 0.5


@pytest.fixture(scope='module')
def small_fashion_mnist():
    # Batches of 64 rather than the book's 256: on 2000 examples, enough steps for lr 0.5 to settle.
    return gn.load_data_fashion_mnist(64, subset=2000)


def _train(net, data, loss, num_epochs, params=None, lr=None, trainer=None):
    train_iter, test_iter = data
    return gn.train_ch3(net, train_iter, test_iter, loss, num_epochs, 64, params=params, lr=lr,
                        trainer=trainer, verbose=False, progress=False)


def test_softmax_regression_from_scratch_learns(small_fashion_mnist):
    net, params = gn.softmax_regression_scratch()
    assert [p.shape for p in params] == [(784, 10), (10,)]
    history = _train(net, small_fashion_mnist, gn.cross_entropy, 2, params, 0.1)
    assert history[-1]['test_acc'] > 0.5
    with pytest.raises(ValueError, match='expects examples of 784 values'):
        net(nd.zeros((2, 1, 32, 32)))


def test_concise_softmax_regression_learns(small_fashion_mnist):
    spec = gn.get_spec('softmax_regression')
    net = gn.get_model('softmax_regression')
    net.initialize(init.Normal(sigma=0.01))
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': spec.lr})
    history = _train(net, small_fashion_mnist, gloss.SoftmaxCrossEntropyLoss(), 2, trainer=trainer)
    assert history[-1]['test_acc'] > 0.5


# 多层感知机 -------------------------------------------------------------------------------------

def test_relu_and_activation_gradients_match_closed_forms():
    x = nd.arange(-4, 4.5, 0.5) + 0.1  # avoid ReLU's kink at exactly 0
    xn = x.asnumpy().astype(np.float64)
    np.testing.assert_array_equal(gn.relu(x).asnumpy(), np.maximum(x.asnumpy(), 0))
    sig = 1 / (1 + np.exp(-xn))
    cases = {gn.relu: (np.maximum(xn, 0), (xn > 0).astype(float)),
             nd.sigmoid: (sig, sig * (1 - sig)),
             nd.tanh: (np.tanh(xn), 1 - np.tanh(xn) ** 2)}
    for fn, (value, grad) in cases.items():
        y, dy = gn.activation_and_grad(fn, x)
        np.testing.assert_allclose(y.asnumpy(), value, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dy.asnumpy(), grad, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match='X must be an mxnet NDArray'):
        gn.relu(np.ones(3))
    with pytest.raises(TypeError, match='fn must be a callable'):
        gn.activation_and_grad('relu', x)


def test_mlp_from_scratch_learns(small_fashion_mnist):
    net, params = gn.mlp_scratch()
    assert [p.shape for p in params] == [(784, 256), (256,), (256, 10), (10,)]
    history = _train(net, small_fashion_mnist, gloss.SoftmaxCrossEntropyLoss(), 3, params, 0.5)
    assert history[-1]['test_acc'] > 0.5


def test_concise_mlp_learns(small_fashion_mnist):
    net = gn.get_model('mlp')
    net.initialize(init.Normal(sigma=0.01))
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': gn.get_spec('mlp').lr})
    history = _train(net, small_fashion_mnist, gloss.SoftmaxCrossEntropyLoss(), 3, trainer=trainer)
    assert history[-1]['test_acc'] > 0.5


def test_registered_chapter3_networks_are_the_books():
    from mxnet.gluon import nn
    expected = {'softmax_regression': (0.1, 0.841, [(nn.Dense, 10, None)]),
                'mlp': (0.5, 0.872, [(nn.Dense, 256, 'relu'), (nn.Dense, 10, None)]),
                'mlp_dropout': (0.5, 0.860, [(nn.Dense, 256, 'relu'), (nn.Dropout, 0.2, None),
                                             (nn.Dense, 256, 'relu'), (nn.Dropout, 0.5, None),
                                             (nn.Dense, 10, None)])}
    for name, (lr, acc, layers) in expected.items():
        spec = gn.get_spec(name)
        assert (spec.lr, spec.batch_size, spec.init, spec.book_test_acc) == (lr, 256, 'normal', acc)
        assert spec.fixed_size and spec.input_size == 28
        net = gn.get_model(name)
        assert len(net) == len(layers)
        for blk, (kind, size, act) in zip(net, layers):
            assert type(blk) is kind
            if kind is nn.Dense:
                assert blk._units == size
                assert (blk.act._act_type if blk.act is not None else None) == act
            else:
                assert blk._rate == size
        net.initialize()
        with pytest.raises(ValueError, match='%s expects 1×28×28 inputs, got 1×32×32' % name):
            net(nd.zeros((1, 1, 32, 32)))


# 模型选择、欠拟合和过拟合 -------------------------------------------------------------------------

def test_poly_features_are_the_powers():
    x = nd.array([-1.5, 0.0, 2.0])
    np.testing.assert_allclose(gn.poly_features(x, 4).asnumpy(),
                               np.array([-1.5, 0.0, 2.0])[:, None] ** np.arange(1, 5), rtol=1e-6)
    with pytest.raises(ValueError, match='x must have shape \\(n,\\) or \\(n, 1\\)'):
        gn.poly_features(nd.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match='max_degree must be a positive integer'):
        gn.poly_features(x, 0)


@pytest.fixture(scope='module')
def poly_data():
    mx.random.seed(0)
    features, poly, labels = gn.synthetic_poly_data()
    residual = labels.asnumpy() - (poly.asnumpy() @ np.array([1.2, -3.4, 5.6]) + 5)
    assert poly.shape == (200, 3) and abs(residual.std() - 0.01) < 0.003
    return features, poly, labels


def test_third_order_fit_recovers_the_polynomial_and_linear_fit_underfits(poly_data):
    features, poly, labels = poly_data
    normal = gn.fit_and_plot(poly[:100], poly[100:], labels[:100], labels[100:], plot=False,
                             verbose=False)
    np.testing.assert_allclose(normal.weight, [1.2, -3.4, 5.6], atol=0.25)
    np.testing.assert_allclose(normal.bias, [5], atol=0.25)
    assert len(normal.train_ls) == 100 and normal.test_loss < 0.1
    linear = gn.fit_and_plot(features[:100], features[100:], labels[:100], labels[100:],
                             num_epochs=20, plot=False, verbose=False)
    assert linear.weight.shape == (1,) and linear.train_loss > 100 * normal.train_loss


def test_two_examples_overfit(poly_data):
    _, poly, labels = poly_data
    fit = gn.fit_and_plot(poly[:2], poly[100:], labels[:2], labels[100:], plot=False,
                          verbose=False)
    assert fit.test_loss > 10 * fit.train_loss


@pytest.mark.parametrize('n, k', [(23, 5), (20, 4), (7, 7), (10, 3)])
def test_k_fold_validates_every_example_exactly_once(n, k):
    X, y = nd.arange(n).reshape((n, 1)), nd.arange(n) * 2
    validated = []
    for i in range(k):
        X_train, y_train, X_valid, y_valid = gn.get_k_fold_data(k, i, X, y)
        train, valid = X_train.asnumpy()[:, 0], X_valid.asnumpy()[:, 0]
        np.testing.assert_array_equal(y_train.asnumpy(), train * 2)
        np.testing.assert_array_equal(y_valid.asnumpy(), valid * 2)
        assert sorted(np.concatenate([train, valid])) == list(range(n))
        assert n // k <= len(valid) <= n // k + 1
        validated += list(valid)
    assert sorted(validated) == list(range(n))


def test_k_fold_averages_what_train_fn_returns_over_the_folds():
    X, y = nd.arange(23).reshape((23, 1)), nd.arange(23)
    calls = []

    def train_fn(X_train, y_train, X_valid, y_valid):
        calls.append(X_valid.shape[0])
        return X_train.asnumpy().sum(), X_valid.asnumpy().sum()

    train_l, valid_l = gn.k_fold(5, X, y, train_fn, verbose=False)
    assert sorted(calls) == [4, 4, 5, 5, 5]
    total = sum(range(23))
    assert valid_l == pytest.approx(total / 5)
    assert train_l == pytest.approx(total * 4 / 5)


def test_k_fold_rejects_bad_arguments():
    X, y = nd.zeros((10, 1)), nd.zeros(10)
    with pytest.raises(ValueError, match='k must be between 2 and the number of examples \\(10\\)'):
        gn.get_k_fold_data(11, 0, X, y)
    with pytest.raises(ValueError, match='k must be between 2'):
        gn.k_fold(1, X, y, lambda *a: (0, 0))
    with pytest.raises(ValueError, match='i must be an integer fold index in \\[0, 5\\), got 5'):
        gn.get_k_fold_data(5, 5, X, y)
    with pytest.raises(ValueError, match='same number of examples'):
        gn.get_k_fold_data(5, 0, X, nd.zeros(9))
    with pytest.raises(TypeError, match='train_fn must be callable'):
        gn.k_fold(5, X, y, None)


def test_k_fold_cross_validation_prefers_the_third_order_model(poly_data):
    _, poly, labels = poly_data

    def train_fn(X_train, y_train, X_valid, y_valid):
        return gn.fit_and_plot(X_train, X_valid, y_train, y_valid, num_epochs=10, plot=False,
                               verbose=False)[:2]

    first = gn.k_fold(3, poly[:60, :1], labels[:60], train_fn, verbose=False)
    third = gn.k_fold(3, poly[:60], labels[:60], train_fn, verbose=False)
    assert third[1] < first[1]


# 权重衰减 -------------------------------------------------------------------------------------

def test_l2_penalty_is_half_the_squared_norm():
    w = nd.random.normal(shape=(5, 1))
    assert gn.l2_penalty(w).asscalar() == pytest.approx(0.5 * (w.asnumpy() ** 2).sum(), rel=1e-5)
    with pytest.raises(TypeError, match='w must be an mxnet NDArray'):
        gn.l2_penalty([1.0, 2.0])


def test_weight_decay_shrinks_the_weights_from_scratch_and_in_gluon():
    data = gn.high_dim_data()
    assert [d.shape for d in data] == [(20, 200), (100, 200), (20,), (100,)]
    kw = dict(num_epochs=10, plot=False, verbose=False)
    for fit in (gn.fit_and_plot_wd, gn.fit_and_plot_gluon):
        plain, decayed = fit(0, *data, **kw), fit(3, *data, **kw)
        assert decayed.w_norm < plain.w_norm / 4
        assert decayed.test_loss < plain.test_loss / 4  # and generalises far better
    with pytest.raises(ValueError, match='lambd must be >= 0, got -1'):
        gn.fit_and_plot_wd(-1, *data)
    with pytest.raises(ValueError, match='train_labels must hold one label per row'):
        gn.fit_and_plot_gluon(0, data[0], data[1], data[3], data[3])


def test_gluon_weight_decay_equals_the_l2_penalty_gradient():
    # One SGD step with wd on a Dense layer equals one step on loss + wd * l2_penalty(weight).
    X, y = nd.random.normal(shape=(1, 4)), nd.random.normal(shape=(1,))
    net = gluon.nn.Dense(1, in_units=4)
    net.initialize(init.Normal(sigma=1))
    w0, b0 = net.weight.data().copy(), net.bias.data().copy()
    trainer_w = gluon.Trainer(net.collect_params('.*weight'), 'sgd',
                              {'learning_rate': 0.1, 'wd': 3})
    trainer_b = gluon.Trainer(net.collect_params('.*bias'), 'sgd', {'learning_rate': 0.1})
    with autograd.record():
        l = gloss.L2Loss()(net(X), y)
    l.backward()
    trainer_w.step(1)
    trainer_b.step(1)
    w, b = w0.T, b0
    w.attach_grad()
    b.attach_grad()
    with autograd.record():
        l = gn.squared_loss(gn.linreg(X, w, b), y) + 3 * gn.l2_penalty(w)
    l.backward()
    gn.sgd([w, b], 0.1, 1)
    np.testing.assert_allclose(net.weight.data().asnumpy(), w.T.asnumpy(), rtol=1e-5)
    np.testing.assert_allclose(net.bias.data().asnumpy(), b.asnumpy(), rtol=1e-5)


# 丢弃法 ---------------------------------------------------------------------------------------

def test_dropout_statistics():
    X = nd.random.uniform(1, 2, shape=(200, 500))
    for p in (0.2, 0.5, 0.8):
        out = gn.dropout(X, p).asnumpy()
        kept = out != 0
        assert abs(kept.mean() - (1 - p)) < 0.01
        np.testing.assert_allclose(out[kept], X.asnumpy()[kept] / (1 - p), rtol=1e-6)
        assert abs(out.mean() / X.asnumpy().mean() - 1) < 0.02  # E[dropout(X)] = X


def test_dropout_edge_probabilities_and_bad_values():
    X = nd.random.normal(shape=(3, 4))
    assert gn.dropout(X, 0) is X
    np.testing.assert_array_equal(gn.dropout(X, 1).asnumpy(), np.zeros((3, 4)))
    for bad in (-0.1, 1.5, float('nan')):
        with pytest.raises(ValueError, match='drop_prob must be in \\[0, 1\\]'):
            gn.dropout(X, bad)
    with pytest.raises(TypeError, match='drop_prob must be a real number'):
        gn.dropout(X, '0.5')


def test_mlp_dropout_scratch_drops_only_while_training():
    net, params = gn.mlp_dropout_scratch()
    assert [p.shape for p in params] == [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
    for p in params[::2]:
        p[:] = nd.random.normal(scale=0.1, shape=p.shape)
    X = nd.random.uniform(shape=(4, 1, 28, 28))
    np.testing.assert_array_equal(net(X).asnumpy(), net(X).asnumpy())
    with autograd.train_mode():
        assert not np.array_equal(net(X).asnumpy(), net(X).asnumpy())


def test_mlp_dropout_from_scratch_learns(small_fashion_mnist):
    # Two hidden layers from N(0, 0.01) start on a plateau: give them ~190 steps.
    net, params = gn.mlp_dropout_scratch()
    history = _train(net, small_fashion_mnist, gloss.SoftmaxCrossEntropyLoss(), 6, params, 0.5)
    assert history[-1]['test_acc'] > 0.5


# 正向传播、反向传播和计算图 ------------------------------------------------------------------------

@pytest.mark.parametrize('activation', ['sigmoid', 'tanh', 'relu'])
@pytest.mark.parametrize('lambd', [0.0, 0.7])
def test_hand_derived_gradients_equal_autograd(activation, lambd):
    x = nd.random.normal(shape=(6,))
    W1, W2 = nd.random.normal(shape=(5, 6)), nd.random.normal(shape=(4, 5))
    hand = gn.backward_propagation(x, 3, W1, W2, lambd, activation)
    auto = gn.autograd_gradients(x, 3, W1, W2, lambd, activation)
    for key in ('dJ/do', 'dJ/dW2', 'dJ/dh', 'dJ/dz', 'dJ/dW1'):
        np.testing.assert_allclose(hand[key].asnumpy(), auto[key].asnumpy(), rtol=1e-4, atol=1e-6)
    assert hand['dJ/dW1'].shape == W1.shape and hand['dJ/dW2'].shape == W2.shape


def test_forward_propagation_matches_numpy():
    x = nd.random.normal(shape=(6,))
    W1, W2 = nd.random.normal(shape=(5, 6)), nd.random.normal(shape=(4, 5))
    fwd = gn.forward_propagation(x, 1, W1, W2, 0.3, 'tanh')
    assert list(fwd) == ['z', 'h', 'o', 'L', 's', 'J']
    xn, W1n, W2n = (a.asnumpy().astype(np.float64) for a in (x, W1, W2))
    o = W2n @ np.tanh(W1n @ xn)
    L = -np.log(np.exp(o[1]) / np.exp(o).sum())
    s = 0.3 / 2 * ((W1n ** 2).sum() + (W2n ** 2).sum())
    np.testing.assert_allclose(fwd['o'].asnumpy()[:, 0], o, rtol=1e-5)
    np.testing.assert_allclose(fwd['J'].asnumpy(), [L + s], rtol=1e-5)


def test_computation_graph_order_and_backward_order():
    graph = gn.computation_graph()
    names = [name for name, _, _ in graph]
    order = {name: i for i, name in enumerate(names)}
    assert order['z'] < order['h'] < order['o'] < order['L'] < order['J']
    assert order['s'] < order['J'] and names[-1] == 'J'
    # Every operator's inputs are graph inputs or computed earlier: a forward order.
    for i, (_, _, inputs) in enumerate(graph):
        assert all(inp not in order or order[inp] < i for inp in inputs)
    assert dict((n, (op, inp)) for n, op, inp in graph)['z'] == ('dot', ('W1', 'x'))
    # The hand-derived backward pass visits o, h, z in the reverse of their forward order.
    hand = gn.backward_propagation(nd.ones(3), 0, nd.ones((2, 3)), nd.ones((2, 2)), 0.1)
    visited = [k[-1] for k in hand if k.startswith('dJ/d') and k[-1] in 'ohz']
    assert visited == sorted('ohz', key=order.get, reverse=True)


def test_backprop_helpers_reject_bad_inputs():
    x, W1, W2 = nd.ones(3), nd.ones((2, 3)), nd.ones((4, 2))
    with pytest.raises(ValueError, match='y must be an integer class label in \\[0, 4\\), got 4'):
        gn.backward_propagation(x, 4, W1, W2, 0.1)
    with pytest.raises(ValueError, match='x must be a vector of W1.shape\\[1\\] = 3 values'):
        gn.autograd_gradients(nd.ones(4), 0, W1, W2, 0.1)
    with pytest.raises(ValueError, match='W2 must have W1.shape\\[0\\] = 2 columns'):
        gn.forward_propagation(x, 0, W1, nd.ones((4, 3)), 0.1)
    with pytest.raises(ValueError, match='activation must be one of sigmoid, tanh, relu'):
        gn.computation_graph('softplus')
    with pytest.raises(ValueError, match='lambd must be >= 0'):
        gn.backward_propagation(x, 0, W1, W2, -1)
