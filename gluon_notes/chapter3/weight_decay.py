"""Weight decay (the notes' section 权重衰减): L2 regularisation of high-dimensional linear
regression, from scratch and with Gluon."""
from collections import namedtuple

from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss, nn

from .. import checks
from .linear_regression import (_check_ndarray, _check_real, data_iter,
                                linreg, sgd, squared_loss, synthetic_data)
from .model_selection import _check_data, semilogy

__all__ = ['l2_penalty', 'high_dim_data', 'init_linreg_params', 'WDFit', 'fit_and_plot_wd',
           'fit_and_plot_gluon']

WDFit = namedtuple('WDFit', 'train_loss test_loss w_norm train_ls test_ls')
WDFit.__doc__ = ('What the weight-decay fits return: final train/test losses, the L2 norm of the '
                 'learned weight and the per-epoch losses.')


def l2_penalty(w):
    """The L2 norm penalty ``‖w‖² / 2``."""
    _check_ndarray('w', w)
    return (w ** 2).sum() / 2


def high_dim_data(n_train=20, n_test=100, num_inputs=200, true_w=0.01, true_b=0.05):
    """The book's over-fitting setting: y = 0.05 + Σ_i 0.01 x_i + N(0, 0.01²) noise with 200
    features but 20 training examples. Returns ``(train_features, test_features, train_labels,
    test_labels)``, labels of shape (n,)."""
    n_train = checks.positive_integer('n_train', n_train)
    n_test = checks.positive_integer('n_test', n_test)
    num_inputs = checks.positive_integer('num_inputs', num_inputs)
    w = nd.ones(num_inputs) * _check_real('true_w', true_w)
    features, labels = synthetic_data(w, true_b, n_train + n_test)
    return features[:n_train], features[n_train:], labels[:n_train], labels[n_train:]


def init_linreg_params(num_inputs, sigma=1.0):
    """``[w, b]`` with w ~ N(0, σ²) of shape (num_inputs, 1) and b = 0, gradients attached."""
    num_inputs = checks.positive_integer('num_inputs', num_inputs)
    w = nd.random.normal(scale=_check_real('sigma', sigma, minimum=0), shape=(num_inputs, 1))
    b = nd.zeros(1)
    w.attach_grad()
    b.attach_grad()
    return [w, b]


def _finish(num_epochs, train_ls, test_ls, w_norm, plot, verbose):
    if verbose:
        print('final epoch: train loss %.6g, test loss %.6g; L2 norm of w: %.6g'
              % (train_ls[-1], test_ls[-1], w_norm))
    if plot:
        epochs = range(1, num_epochs + 1)
        semilogy(epochs, train_ls, 'epochs', 'loss', epochs, test_ls, ['train', 'test'])
    return WDFit(train_ls[-1], test_ls[-1], w_norm, train_ls, test_ls)


def fit_and_plot_wd(lambd, train_features, test_features, train_labels, test_labels,
                    num_epochs=100, lr=0.003, batch_size=1, plot=True, verbose=True):
    """Train linear regression from scratch on ``squared_loss + lambd * l2_penalty(w)`` with
    ``sgd`` (the book's settings by default: w ~ N(0, 1), batch 1, 100 epochs, lr 0.003); record
    the mean squared loss (without the penalty) per epoch. Returns a ``WDFit``."""
    lambd = _check_real('lambd', lambd, minimum=0)
    _check_data(train_features, test_features, train_labels, test_labels)
    num_epochs = checks.positive_integer('num_epochs', num_epochs)
    batch_size = checks.positive_integer('batch_size', batch_size)
    lr = _check_real('lr', lr, minimum=0)
    w, b = init_linreg_params(train_features.shape[1])
    train_ls, test_ls = [], []
    for _ in range(num_epochs):
        for X, y in data_iter(batch_size, train_features, train_labels):
            with autograd.record():
                l = squared_loss(linreg(X, w, b), y) + lambd * l2_penalty(w)
            l.backward()
            sgd([w, b], lr, batch_size)
        train_ls.append(squared_loss(linreg(train_features, w, b), train_labels).mean().asscalar())
        test_ls.append(squared_loss(linreg(test_features, w, b), test_labels).mean().asscalar())
    return _finish(num_epochs, train_ls, test_ls, w.norm().asscalar(), plot, verbose)


def fit_and_plot_gluon(wd, train_features, test_features, train_labels, test_labels,
                       num_epochs=100, lr=0.003, batch_size=1, plot=True, verbose=True):
    """The same fit with Gluon: ``nn.Dense(1)`` initialised N(0, 1), L2Loss, and two SGD Trainers
    so that the weight decay ``wd`` applies to the weight only, not the bias. Returns a
    ``WDFit``."""
    wd = _check_real('wd', wd, minimum=0)
    _check_data(train_features, test_features, train_labels, test_labels)
    num_epochs = checks.positive_integer('num_epochs', num_epochs)
    batch_size = checks.positive_integer('batch_size', batch_size)
    lr = _check_real('lr', lr, minimum=0)
    loss = gloss.L2Loss()
    net = nn.Dense(1)
    net.initialize(init.Normal(sigma=1))
    trainer_w = gluon.Trainer(net.collect_params('.*weight'), 'sgd',
                              {'learning_rate': lr, 'wd': wd})
    trainer_b = gluon.Trainer(net.collect_params('.*bias'), 'sgd', {'learning_rate': lr})
    train_labels, test_labels = train_labels.reshape((-1,)), test_labels.reshape((-1,))
    train_ls, test_ls = [], []
    for _ in range(num_epochs):
        for X, y in data_iter(batch_size, train_features, train_labels):
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer_w.step(batch_size)
            trainer_b.step(batch_size)
        train_ls.append(loss(net(train_features), train_labels).mean().asscalar())
        test_ls.append(loss(net(test_features), test_labels).mean().asscalar())
    return _finish(num_epochs, train_ls, test_ls, net.weight.data().norm().asscalar(),
                   plot, verbose)
