"""The chapter-3 networks in Gluon: softmax regression, the MLP and the MLP with dropout
(the notes' sections softmax 回归, 多层感知机, 丢弃法)."""
from mxnet.gluon import nn

from ..registry import register_model
from .base import BookNet

__all__ = ['mlp_spec', 'get_mlp', 'softmax_regression', 'mlp', 'mlp_dropout']

# name -> hidden layers as (units, dropout probability after the layer, or None).
mlp_spec = {
    'softmax_regression': [],
    'mlp': [(256, None)],
    'mlp_dropout': [(256, 0.2), (256, 0.5)],
}


def get_mlp(name, classes=10):
    """A chapter-3 network from ``mlp_spec``: Dense + ReLU hidden layers, each optionally followed
    by Dropout, then a Dense output layer of ``classes`` logits. Dense flattens the 1x28x28
    input, which fixes the input size at the first forward pass."""
    if name not in mlp_spec:
        raise ValueError('unknown chapter-3 network %r; known: %s' % (name, ', '.join(mlp_spec)))
    net = BookNet(name, input_size=28, fixed_size=True)
    for units, drop_prob in mlp_spec[name]:
        net.add(nn.Dense(units, activation='relu'))
        if drop_prob is not None:
            net.add(nn.Dropout(drop_prob))
    net.add(nn.Dense(classes))
    return net


@register_model('softmax_regression', lr=0.1, batch_size=256, fixed_size=True, init='normal',
                book_test_acc=0.841, section='softmax 回归')
def softmax_regression(classes=10):
    """Softmax regression: Dense(10) on the flattened image (the softmax is in the loss)."""
    return get_mlp('softmax_regression', classes)


@register_model('mlp', lr=0.5, batch_size=256, fixed_size=True, init='normal',
                book_test_acc=0.872, section='多层感知机')
def mlp(classes=10):
    """MLP: Dense(256, relu), Dense(10)."""
    return get_mlp('mlp', classes)


@register_model('mlp_dropout', lr=0.5, batch_size=256, fixed_size=True, init='normal',
                book_test_acc=0.860, section='丢弃法')
def mlp_dropout(classes=10):
    """MLP with dropout: two Dense(256, relu) layers, followed by Dropout 0.2 and 0.5."""
    return get_mlp('mlp_dropout', classes)
