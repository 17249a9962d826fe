"""批量归一化: the from-scratch function and block against numpy and Gluon's nn.BatchNorm."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import nn

from gluon_notes import BatchNorm, batch_norm, get_model

EPS, MOMENTUM = 1e-5, 0.9
SHAPES = [(6, 5), (4, 3, 5, 5)]


def _axes(ndim):
    return (0,) if ndim == 2 else (0, 2, 3)


def _stat_shape(shape):
    return (1, shape[1]) if len(shape) == 2 else (1, shape[1], 1, 1)


def _random_args(shape, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.normal(loc=2.0, scale=3.0, size=shape)
    s = _stat_shape(shape)
    gamma, beta = rng.uniform(0.5, 2.0, size=s), rng.normal(size=s)
    moving_mean, moving_var = rng.normal(size=s), rng.uniform(0.5, 2.0, size=s)
    return x, gamma, beta, moving_mean, moving_var


def _call(x, gamma, beta, moving_mean, moving_var):
    return batch_norm(*(nd.array(a) for a in (x, gamma, beta, moving_mean, moving_var)),
                      eps=EPS, momentum=MOMENTUM)


@pytest.mark.parametrize('shape', SHAPES)
def test_batch_norm_training_mode_matches_the_formula(shape):
    x, gamma, beta, mm, mv = _random_args(shape)
    with autograd.record():
        Y, new_mm, new_mv = _call(x, gamma, beta, mm, mv)
    mean = x.mean(axis=_axes(x.ndim), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=_axes(x.ndim), keepdims=True)  # biased, 1/m
    np.testing.assert_allclose(Y.asnumpy(), gamma * (x - mean) / np.sqrt(var + EPS) + beta,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_mm.asnumpy().reshape(mm.shape),
                               MOMENTUM * mm + (1 - MOMENTUM) * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_mv.asnumpy().reshape(mv.shape),
                               MOMENTUM * mv + (1 - MOMENTUM) * var, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('shape', SHAPES)
def test_batch_norm_prediction_mode_uses_the_moving_statistics(shape):
    x, gamma, beta, mm, mv = _random_args(shape)
    Y, new_mm, new_mv = _call(x, gamma, beta, mm, mv)
    np.testing.assert_allclose(Y.asnumpy(), gamma * (x - mm) / np.sqrt(mv + EPS) + beta,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_mm.asnumpy(), mm, rtol=1e-6)
    np.testing.assert_allclose(new_mv.asnumpy(), mv, rtol=1e-6)


@pytest.mark.parametrize('shape', [(2, 3, 4), (5,), (1, 2, 3, 4, 5)])
@pytest.mark.parametrize('train', [True, False])
def test_batch_norm_rejects_other_ranks(shape, train):
    s = (1, shape[1] if len(shape) > 1 else shape[0])
    args = [nd.ones(shape)] + [nd.ones(s)] * 4
    with autograd.record(train_mode=train), pytest.raises(ValueError, match=r'2-D.*4-D.*got shape'):
        batch_norm(*args, eps=EPS, momentum=MOMENTUM)


def test_block_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='num_dims'):
        BatchNorm(3, 3)
    with pytest.raises(ValueError, match='num_features'):
        BatchNorm(0, 2)
    bn = BatchNorm(3, 2)
    bn.initialize()
    # A (1, 3) scale would silently broadcast against the width of a 4-D input.
    with pytest.raises(ValueError, match=r'2-D inputs.*got shape \(2, 3, 4, 3\)'):
        bn(nd.ones((2, 3, 4, 3)))


def _pair(shape, seed=0):
    """Our block and nn.BatchNorm with the same gamma, beta and (zero) starting statistics."""
    c = shape[1]
    ours = BatchNorm(c, len(shape))
    ref = nn.BatchNorm(in_channels=c, running_variance_initializer='zeros')
    ours.initialize()
    ref.initialize()
    rng = np.random.RandomState(seed)
    gamma, beta = rng.uniform(0.5, 2.0, size=c), rng.normal(size=c)
    ours.gamma.set_data(nd.array(gamma.reshape(_stat_shape(shape))))
    ours.beta.set_data(nd.array(beta.reshape(_stat_shape(shape))))
    ref.gamma.set_data(nd.array(gamma))
    ref.beta.set_data(nd.array(beta))
    return ours, ref


@pytest.mark.parametrize('shape', SHAPES)
def test_block_matches_nn_batchnorm(shape):
    ours, ref = _pair(shape)
    rng = np.random.RandomState(1)
    c = shape[1]
    for step in range(4):
        x = rng.normal(loc=step, scale=1.0 + step, size=shape)
        head = nd.array(rng.normal(size=shape))
        X_ours, X_ref = nd.array(x), nd.array(x)
        X_ours.attach_grad()
        X_ref.attach_grad()
        with autograd.record():
            Y_ours, Y_ref = ours(X_ours), ref(X_ref)
        # nn.BatchNorm's fused operator updates its running statistics during backward.
        Y_ours.backward(head)
        Y_ref.backward(head)
        np.testing.assert_allclose(Y_ours.asnumpy(), Y_ref.asnumpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(X_ours.grad.asnumpy(), X_ref.grad.asnumpy(),
                                   rtol=1e-3, atol=1e-4)
        for mine, theirs in [(ours.gamma, ref.gamma), (ours.beta, ref.beta),
                             (ours.moving_mean, ref.running_mean),
                             (ours.moving_var, ref.running_var)]:
            if mine.grad_req != 'null':
                np.testing.assert_allclose(mine.grad().asnumpy().reshape(c),
                                           theirs.grad().asnumpy(), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(ours.moving_mean.data().asnumpy().reshape(c),
                                   ref.running_mean.data().asnumpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(ours.moving_var.data().asnumpy().reshape(c),
                                   ref.running_var.data().asnumpy(), rtol=1e-4, atol=1e-6)
    X = nd.array(rng.normal(size=shape))
    np.testing.assert_allclose(ours(X).asnumpy(), ref(X).asnumpy(), rtol=1e-4, atol=1e-4)


def _train_steps(net, shape, steps=3, seed=0):
    rng = np.random.RandomState(seed)
    for _ in range(steps):
        with autograd.record():
            Y = net(nd.array(rng.normal(loc=1.0, scale=2.0, size=shape)))
        Y.backward()


def test_prediction_does_not_depend_on_the_batch():
    bn = BatchNorm(3, 4)
    bn.initialize()
    _train_steps(bn, (8, 3, 4, 4))
    X = nd.array(np.random.RandomState(5).normal(size=(6, 3, 4, 4)))
    full = bn(X).asnumpy()
    np.testing.assert_allclose(bn(X[2:4]).asnumpy(), full[2:4], rtol=1e-6)
    np.testing.assert_allclose(bn(X[::-1]).asnumpy(), full[::-1], rtol=1e-6)
    np.testing.assert_allclose(bn(X[4:5]).asnumpy(), full[4:5], rtol=1e-6)
    with autograd.train_mode():  # by contrast, training mode normalises with the batch's statistics
        assert not np.allclose(bn(X[2:4]).asnumpy(), full[2:4], atol=1e-3)


def test_save_load_round_trip_keeps_the_moving_statistics(tmp_path):
    net = get_model('lenet_bn')
    net.initialize(init.Xavier())
    _train_steps(net, (8, 1, 28, 28))
    bn = net[1]
    assert float(nd.abs(bn.moving_mean.data()).sum().asscalar()) > 0
    path = str(tmp_path / 'lenet_bn.params')
    net.save_parameters(path)

    loaded = get_model('lenet_bn')
    loaded.load_parameters(path)
    for ours, theirs in zip(net, loaded):
        if isinstance(ours, BatchNorm):
            for name in ('gamma', 'beta', 'moving_mean', 'moving_var'):
                np.testing.assert_array_equal(getattr(ours, name).data().asnumpy(),
                                              getattr(theirs, name).data().asnumpy())
    X = nd.array(np.random.RandomState(3).uniform(size=(5, 1, 28, 28)))
    np.testing.assert_array_equal(loaded(X).asnumpy(), net(X).asnumpy())


def _two_context_step(net, trainer, x, w, ctxs):
    Xs = gluon.utils.split_and_load(nd.array(x), ctxs)
    Ws = gluon.utils.split_and_load(nd.array(w), ctxs)
    with autograd.record():
        losses = [(net(X) * W).sum() for X, W in zip(Xs, Ws)]
    for l in losses:
        l.backward()
    trainer.step(x.shape[0])


def test_training_on_two_contexts_updates_each_copy():
    ctxs = [mx.cpu(0), mx.cpu(1)]
    n, c, lr = 8, 3, 0.5
    ours = BatchNorm(c, 2)
    ref = nn.BatchNorm(in_channels=c, running_variance_initializer='zeros')
    trainers = []
    for net in (ours, ref):
        net.initialize(ctx=ctxs)
        trainers.append(gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr}))
    rng = np.random.RandomState(0)
    steps = []
    for _ in range(3):
        x = np.concatenate([rng.normal(0.0, 1.0, size=(n // 2, c)),
                            rng.normal(5.0, 3.0, size=(n // 2, c))])
        steps.append((x, rng.normal(size=(n, c))))

    def state(ctx):
        return [p.data(ctx).asnumpy().reshape(c)
                for p in (ours.gamma, ours.beta, ours.moving_mean, ours.moving_var)]

    for step, (x, w) in enumerate(steps):
        before = [state(ctx) for ctx in ctxs]
        for net, trainer in zip((ours, ref), trainers):
            _two_context_step(net, trainer, x, w, ctxs)
        # Same per-device statistics as nn.BatchNorm (whose trainer's first step also copies
        # device 0's values to every device, as it does for any parameter).
        for ctx in ctxs:
            np.testing.assert_allclose(ours.moving_mean.data(ctx).asnumpy()[0],
                                       ref.running_mean.data(ctx).asnumpy(), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(ours.moving_var.data(ctx).asnumpy()[0],
                                       ref.running_var.data(ctx).asnumpy(), rtol=1e-4, atol=1e-6)
        if step == 0:
            continue
        grad_gamma = np.zeros(c)
        for i, half in enumerate((x[:n // 2], x[n // 2:])):
            gamma, beta, moving_mean, moving_var = before[i]
            mean, var = half.mean(axis=0), half.var(axis=0)
            # Each device folds in the statistics of its own half of the batch.
            np.testing.assert_allclose(ours.moving_mean.data(ctxs[i]).asnumpy()[0],
                                       MOMENTUM * moving_mean + (1 - MOMENTUM) * mean,
                                       rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(ours.moving_var.data(ctxs[i]).asnumpy()[0],
                                       MOMENTUM * moving_var + (1 - MOMENTUM) * var,
                                       rtol=1e-4, atol=1e-6)
            w_half = w[i * n // 2:(i + 1) * n // 2]
            grad_gamma += ((half - mean) / np.sqrt(var + EPS) * w_half).sum(axis=0)
        # The trainer sums both devices' gradients and applies the same update to both copies.
        for ctx in ctxs:
            np.testing.assert_allclose(ours.gamma.data(ctx).asnumpy()[0],
                                       before[0][0] - lr * grad_gamma / n, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(ours.beta.data(ctx).asnumpy()[0],
                                       before[0][1] - lr * w.sum(0) / n, rtol=1e-4, atol=1e-5)
    assert not np.allclose(ours.moving_mean.data(ctxs[0]).asnumpy(),
                           ours.moving_mean.data(ctxs[1]).asnumpy())
