"""VGG (the notes' section VGG): blocks of 3x3 convolutions, each block closed by 2x2 max-pooling."""
from mxnet.gluon import nn

from .. import checks
from ..registry import register_model
from .base import BookNet

__all__ = ['VGG11_ARCH', 'vgg_block', 'vgg', 'vgg11']

# (number of conv layers, output channels) of each block: 8 conv + 3 dense layers, hence VGG-11.
VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def vgg_block(num_convs, num_channels):
    """``num_convs`` 3x3 ReLU conv layers with padding 1 (size kept), then 2x2 stride-2 max-pooling
    (size halved)."""
    num_convs = checks.positive_integer('num_convs', num_convs)
    num_channels = checks.positive_integer('num_channels', num_channels)
    blk = nn.HybridSequential()
    for _ in range(num_convs):
        blk.add(nn.Conv2D(num_channels, kernel_size=3, padding=1, activation='relu'))
    blk.add(nn.MaxPool2D(pool_size=2, strides=2))
    return blk


def vgg(conv_arch, classes=10, model_name='vgg', input_size=224):
    """A VGG network: one ``vgg_block`` per ``(num_convs, num_channels)`` pair of ``conv_arch``,
    then AlexNet's head (two 4096-unit ReLU dense layers with dropout 0.5, and the output layer).

    The dense head fixes the input size, ``input_size`` (224 in the book), at the first forward pass.
    """
    conv_arch = list(conv_arch)
    if not conv_arch or not all(isinstance(pair, (tuple, list)) and len(pair) == 2
                                for pair in conv_arch):
        raise ValueError('conv_arch must be a non-empty sequence of (num_convs, num_channels) '
                         'pairs, got %r' % (conv_arch,))
    if input_size < 2 ** len(conv_arch):
        raise ValueError('input_size must be >= %d for %d blocks (each halves it), got %d'
                         % (2 ** len(conv_arch), len(conv_arch), input_size))
    net = BookNet(model_name, input_size=input_size, fixed_size=True)
    for num_convs, num_channels in conv_arch:
        net.add(vgg_block(num_convs, num_channels))
    net.add(nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(classes))
    return net


@register_model('vgg11', lr=0.05, batch_size=128, resize=224, fixed_size=True,
                book_test_acc=0.909, section='VGG')
def vgg11(ratio=4, classes=10):
    """VGG-11 with every channel count divided by ``ratio`` (4 in the book; 1: the full network)."""
    smallest = min(num_channels for _, num_channels in VGG11_ARCH)
    if not checks.is_integer(ratio) or not 1 <= ratio <= smallest:
        raise ValueError('ratio must be an integer in [1, %d] (it divides every channel count), '
                         'got %r' % (smallest, ratio))
    return vgg([(num_convs, num_channels // ratio) for num_convs, num_channels in VGG11_ARCH],
               classes=classes, model_name='vgg11')
