"""ResNet (the notes' section 残差网络（ResNet）)."""
from mxnet.gluon import nn

from ..chapter5.padding_stride import min_input_size
from ..registry import register_model
from .base import BookNet

__all__ = ['Residual', 'resnet_block', 'resnet_spec', 'get_resnet', 'resnet18']

# num_layers: (residual blocks per module, output channels per module)
resnet_spec = {18: ((2, 2, 2, 2), (64, 128, 256, 512))}


class Residual(nn.HybridBlock):
    """The residual block: two 3x3 convolutions with batch normalization, added to the input
    (through a 1x1 convolution when ``use_1x1conv``, needed when the channels or ``strides``
    change)."""

    def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
        self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.Conv2D(num_channels, kernel_size=1, strides=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.BatchNorm()
        self.bn2 = nn.BatchNorm()

    def hybrid_forward(self, F, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.relu(y + x)


def resnet_block(num_channels, num_residuals, first_block=False):
    """``num_residuals`` residual blocks; unless ``first_block``, the first one halves the height
    and width and changes the channels to ``num_channels``."""
    blk = nn.HybridSequential()
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.add(Residual(num_channels, use_1x1conv=True, strides=2))
        else:
            blk.add(Residual(num_channels))
    return blk


def _resnet_min_size(num_layers):
    # The stem's 7x7/2 convolution and 3x3/2 pooling, then the stride-2 3x3 convolution of every
    # module but the first (its parallel 1x1/2 convolution gives the same side).
    num_modules = len(resnet_spec[num_layers][0])
    return min_input_size([(7, 2, 3), (3, 2, 1)] + [(3, 2, 1)] * (num_modules - 1))


def get_resnet(num_layers, classes=10, model_name=None):
    """The notes' ResNet for 1-channel inputs and ``classes`` classes (10 in the book).

    The stem is GoogLeNet's (7x7/2 convolution, here followed by batch normalization, then 3x3/2 max
    pooling); four modules of residual blocks follow (``resnet_spec[num_layers]``), each but the
    first halving the height and width and doubling the channels; global average pooling and a
    dense layer end it. The top-level children are the notes' listing, so ``for blk in net``
    prints its trace. The book trains at 96x96; any side of at least
    ``_resnet_min_size(num_layers)`` is accepted.
    """
    if num_layers not in resnet_spec:
        raise ValueError('num_layers must be one of %s, got %r' % (sorted(resnet_spec), num_layers))
    num_residuals, channels = resnet_spec[num_layers]
    model_name = model_name or 'resnet%d' % num_layers
    net = BookNet(model_name, input_size=96, min_size=_resnet_min_size(num_layers))
    net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    for i, (n, c) in enumerate(zip(num_residuals, channels)):
        net.add(resnet_block(c, n, first_block=(i == 0)))
    net.add(nn.GlobalAvgPool2D(), nn.Dense(classes))
    return net


@register_model('resnet18', lr=0.05, batch_size=256, resize=96, min_size=_resnet_min_size(18),
                book_test_acc=0.913, section='残差网络（ResNet）')
def resnet18(classes=10):
    """ResNet-18: two residual blocks per module."""
    return get_resnet(18, classes)
