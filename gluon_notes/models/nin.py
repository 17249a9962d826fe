"""Network in Network (the notes' section 网络中的网络（NiN）)."""
from mxnet.gluon import nn

from ..chapter5.padding_stride import min_input_size
from ..registry import register_model
from .base import BookNet

__all__ = ['nin_block', 'nin']

# (num_channels, kernel_size, strides, padding) of the NiN blocks; each but the last is followed by
# 3x3 stride-2 max-pooling, the last one has one channel per class.
_NIN_SPEC = ((96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1))
_NIN_HEAD = (3, 1, 1)
_POOL = (3, 2, 0)
NIN_MIN_SIZE = min_input_size([w for _, k, s, p in _NIN_SPEC for w in ((k, s, p), _POOL)]
                              + [_NIN_HEAD])


def nin_block(num_channels, kernel_size, strides, padding):
    """A conv layer with the given window, then two 1x1 conv layers acting as dense layers on each
    pixel; all ReLU with ``num_channels`` outputs."""
    blk = nn.HybridSequential()
    blk.add(nn.Conv2D(num_channels, kernel_size, strides, padding, activation='relu'),
            nn.Conv2D(num_channels, kernel_size=1, activation='relu'),
            nn.Conv2D(num_channels, kernel_size=1, activation='relu'))
    return blk


@register_model('nin', lr=0.1, batch_size=128, resize=224, min_size=NIN_MIN_SIZE,
                book_test_acc=0.812, section='网络中的网络（NiN）')
def nin(classes=10):
    """NiN: AlexNet's conv windows as NiN blocks with max-pooling between them, dropout, then a NiN
    block with one channel per class averaged by global pooling instead of dense layers. Any input
    of at least ``NIN_MIN_SIZE`` (67) pixels fits; the book uses 224."""
    net = BookNet('nin', input_size=224, min_size=NIN_MIN_SIZE)
    for num_channels, k, s, p in _NIN_SPEC:
        net.add(nin_block(num_channels, k, s, p), nn.MaxPool2D(pool_size=3, strides=2))
    net.add(nn.Dropout(0.5),
            nin_block(classes, *_NIN_HEAD),
            nn.GlobalAvgPool2D(),
            nn.Flatten())
    return net
