"""LeNet (the notes' section LeNet)."""
from mxnet.gluon import nn

from ..registry import register_model
from .base import BookNet

__all__ = ['lenet']


@register_model('lenet', lr=0.9, batch_size=256, fixed_size=True, book_test_acc=0.754,
                section='LeNet')
def lenet(classes=10):
    """LeNet-5 for 28x28 inputs: two sigmoid conv + max-pool units, then three dense layers."""
    net = BookNet('lenet', input_size=28, fixed_size=True)
    net.add(nn.Conv2D(channels=6, kernel_size=5, activation='sigmoid'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=16, kernel_size=5, activation='sigmoid'),
            nn.MaxPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation='sigmoid'),
            nn.Dense(84, activation='sigmoid'),
            nn.Dense(classes))
    return net
