"""Batch normalization (the notes' section 批量归一化) from scratch; the LeNet built on it is
``models.lenet_bn``."""
from mxnet import autograd, init, nd
from mxnet.gluon import nn

from .. import checks

__all__ = ['batch_norm', 'BatchNorm']


def _check_rank(X):
    if X.ndim not in (2, 4):
        raise ValueError('batch_norm expects a 2-D (N, features) or 4-D (N, C, H, W) input, '
                         'got shape %s' % (X.shape,))


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """The notes' batch normalization; returns ``(Y, moving_mean, moving_var)``.

    The mode follows ``autograd.is_training()``. Training normalises with the mini-batch's mean and
    biased variance (per feature for a 2-D input, per channel over (N, H, W) for a 4-D one) and
    returns the moving statistics updated as ``momentum * moving + (1 - momentum) * batch``;
    prediction normalises with the moving statistics and returns them unchanged. Unlike the
    notes' assert, which only guards training, another input rank is a ValueError in both modes.
    """
    _check_rank(X)
    if not autograd.is_training():
        X_hat = (X - moving_mean) / nd.sqrt(moving_var + eps)
    else:
        if X.ndim == 2:
            mean = X.mean(axis=0)
            var = ((X - mean) ** 2).mean(axis=0)
        else:
            # keepdims so that the (1, C, 1, 1) statistics broadcast over N, H and W.
            mean = X.mean(axis=(0, 2, 3), keepdims=True)
            var = ((X - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
        X_hat = (X - mean) / nd.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta
    return Y, moving_mean, moving_var


class BatchNorm(nn.Block):
    """The notes' batch-normalization layer over ``num_features`` features (``num_dims=2``, after a
    dense layer) or channels (``num_dims=4``, after a convolution).

    Unlike the notes, the moving statistics are Parameters with ``grad_req='null'`` (as in
    ``nn.BatchNorm``), so ``save_parameters``/``load_parameters`` keep them and each context the
    block is initialised on holds and updates its own copy. It stays an ``nn.Block``: the statistics
    are written during the forward pass, which a hybridized (symbolic) graph cannot do, whereas
    ``nn.BatchNorm`` delegates that write to its fused operator.
    """

    def __init__(self, num_features, num_dims, eps=1e-5, momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        checks.positive_integer('num_features', num_features)
        if num_dims not in (2, 4):
            raise ValueError('num_dims must be 2 (dense layer) or 4 (convolution), got %r'
                             % (num_dims,))
        self.num_dims, self.eps, self.momentum = num_dims, eps, momentum
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = self.params.get('gamma', shape=shape, init=init.One())
        self.beta = self.params.get('beta', shape=shape, init=init.Zero())
        # Zeros for both statistics, as in the notes (nn.BatchNorm starts the variance at one); the
        # start value fades as momentum**steps, so after an epoch it no longer matters.
        self.moving_mean = self.params.get('moving_mean', shape=shape, init=init.Zero(),
                                           grad_req='null', differentiable=False)
        self.moving_var = self.params.get('moving_var', shape=shape, init=init.Zero(),
                                          grad_req='null', differentiable=False)

    def forward(self, X):
        if X.ndim != self.num_dims:
            raise ValueError('%s was built for %d-D inputs (num_dims=%d), got shape %s'
                             % (self.name, self.num_dims, self.num_dims, X.shape))
        ctx = X.context
        moving_mean, moving_var = self.moving_mean.data(ctx), self.moving_var.data(ctx)
        Y, new_mean, new_var = batch_norm(X, self.gamma.data(ctx), self.beta.data(ctx),
                                          moving_mean, moving_var, self.eps, self.momentum)
        if autograd.is_training():
            # Detached, so the statistics do not chain one step's autograd graph to the next.
            with autograd.pause():
                moving_mean[:] = new_mean.detach()
                moving_var[:] = new_var.detach()
        return Y

    def __repr__(self):
        return '%s(%d, num_dims=%d, eps=%g, momentum=%g)' % (
            self.__class__.__name__, self.gamma.shape[1], self.num_dims, self.eps, self.momentum)
