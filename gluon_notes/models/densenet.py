"""DenseNet (the notes' section 稠密连接网络（DenseNet）)."""
from mxnet.gluon import nn

from .. import checks
from ..chapter5.padding_stride import min_input_size
from ..registry import register_model
from .base import BookNet

__all__ = ['conv_block', 'DenseBlock', 'transition_block', 'get_densenet', 'densenet']


def conv_block(num_channels):
    """ResNet's improved order: batch normalization, ReLU, then a 3x3 convolution."""
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=3, padding=1))
    return blk


class DenseBlock(nn.HybridBlock):
    """``num_convs`` conv blocks of ``num_channels`` (the growth rate) outputs each; every block's
    input and output are concatenated on the channel axis, so the block adds
    ``num_convs * num_channels`` channels."""

    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.HybridSequential()
        for _ in range(num_convs):
            self.net.add(conv_block(num_channels))

    def hybrid_forward(self, F, x):
        for blk in self.net:
            y = blk(x)
            x = F.concat(x, y, dim=1)
        return x


def transition_block(num_channels):
    """Batch normalization, ReLU, a 1x1 convolution to ``num_channels`` channels and 2x2/2 average
    pooling: keeps the channel count in check and halves the height and width."""
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=1),
            nn.AvgPool2D(pool_size=2, strides=2))
    return blk


def _densenet_min_size(num_dense_blocks):
    # The stem (7x7/2 convolution, 3x3/2 pooling), then the 2x2/2 pooling of each transition.
    return min_input_size([(7, 2, 3), (3, 2, 1)] + [(2, 2, 0)] * (num_dense_blocks - 1))


def get_densenet(num_convs_in_dense_blocks=(4, 4, 4, 4), growth_rate=32, num_channels=64,
                 classes=10, model_name='densenet'):
    """The notes' DenseNet for 1-channel inputs and ``classes`` classes (10 in the book).

    ResNet's stem (``num_channels`` outputs), then one dense block per entry of
    ``num_convs_in_dense_blocks`` with a transition layer halving the channels between consecutive
    blocks, and finally batch normalization, ReLU, global average pooling and a dense layer. The
    top-level children are the notes' listing. The book trains at 96x96; any side of at least
    ``_densenet_min_size(len(num_convs_in_dense_blocks))`` is accepted.
    """
    num_convs_in_dense_blocks = tuple(num_convs_in_dense_blocks)
    if not num_convs_in_dense_blocks or not all(
            checks.is_integer(n) and n >= 1 for n in num_convs_in_dense_blocks):
        raise ValueError('num_convs_in_dense_blocks must be a non-empty sequence of positive '
                         'integers, got %r' % (num_convs_in_dense_blocks,))
    net = BookNet(model_name, input_size=96,
                  min_size=_densenet_min_size(len(num_convs_in_dense_blocks)))
    net.add(nn.Conv2D(num_channels, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        net.add(DenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(num_convs_in_dense_blocks) - 1:
            num_channels //= 2
            net.add(transition_block(num_channels))
    net.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D(), nn.Dense(classes))
    return net


@register_model('densenet', lr=0.1, batch_size=256, resize=96, min_size=_densenet_min_size(4),
                book_test_acc=0.879, section='稠密连接网络（DenseNet）')
def densenet(classes=10):
    """DenseNet with growth rate 32 and four dense blocks of four convolutions."""
    return get_densenet(classes=classes)
