"""GoogLeNet (the notes' section GoogLeNet): Inception blocks between stride-2 max-pooling."""
from mxnet.gluon import nn

from .. import checks
from ..chapter5.padding_stride import min_input_size
from ..registry import register_model
from .base import BookNet

__all__ = ['Inception', 'googlenet']

# The Inception blocks (c1, c2, c3, c4) of stages b3, b4 and b5.
_STAGES = (
    ((64, (96, 128), (16, 32), 32),
     (128, (128, 192), (32, 96), 64)),
    ((192, (96, 208), (16, 48), 64),
     (160, (112, 224), (24, 64), 64),
     (128, (128, 256), (24, 64), 64),
     (112, (144, 288), (32, 64), 64),
     (256, (160, 320), (32, 128), 128)),
    ((256, (160, 320), (32, 128), 128),
     (384, (192, 384), (48, 128), 128)),
)
_POOL = (3, 2, 1)
# b1's 7x7 stride-2 conv and the four stride-2 poolings; Inception blocks keep any size.
GOOGLENET_MIN_SIZE = min_input_size([(7, 2, 3)] + [_POOL] * 4)


def _channels(name, v, n):
    vs = (v,) if n == 1 else tuple(v) if isinstance(v, (tuple, list)) else ()
    if len(vs) != n or not all(checks.is_integer(c) and c > 0 for c in vs):
        raise ValueError('%s must be %s, got %r'
                         % (name, 'a positive int' if n == 1 else 'a pair of positive ints', v))


class Inception(nn.HybridBlock):
    """Four parallel paths concatenated on the channel axis: a 1x1 conv (``c1`` channels); 1x1 then
    3x3 conv (``c2`` = pair of channel counts); 1x1 then 5x5 conv (``c3``, a pair); 3x3 max-pooling
    then 1x1 conv (``c4``). Every path keeps the height and width, so the output has
    c1 + c2[1] + c3[1] + c4 channels."""

    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        for name, v, n in (('c1', c1, 1), ('c2', c2, 2), ('c3', c3, 2), ('c4', c4, 1)):
            _channels(name, v, n)
        self.p1_1 = nn.Conv2D(c1, kernel_size=1, activation='relu')
        self.p2_1 = nn.Conv2D(c2[0], kernel_size=1, activation='relu')
        self.p2_2 = nn.Conv2D(c2[1], kernel_size=3, padding=1, activation='relu')
        self.p3_1 = nn.Conv2D(c3[0], kernel_size=1, activation='relu')
        self.p3_2 = nn.Conv2D(c3[1], kernel_size=5, padding=2, activation='relu')
        self.p4_1 = nn.MaxPool2D(pool_size=3, strides=1, padding=1)
        self.p4_2 = nn.Conv2D(c4, kernel_size=1, activation='relu')

    def hybrid_forward(self, F, x):
        p1 = self.p1_1(x)
        p2 = self.p2_2(self.p2_1(x))
        p3 = self.p3_2(self.p3_1(x))
        p4 = self.p4_2(self.p4_1(x))
        return F.concat(p1, p2, p3, p4, dim=1)


@register_model('googlenet', lr=0.1, batch_size=128, resize=96, min_size=GOOGLENET_MIN_SIZE,
                book_test_acc=0.883, section='GoogLeNet')
def googlenet(classes=10):
    """GoogLeNet as in the book: stages b1 (7x7 conv), b2 (1x1 and 3x3 conv), b3-b5 (2, 5 and 2
    Inception blocks), each of b1-b4 closed by 3x3 stride-2 max-pooling and b5 by global average
    pooling, then the output layer. The book trains at 96x96; every padded window fits any size."""
    net = BookNet('googlenet', input_size=96, min_size=GOOGLENET_MIN_SIZE)
    b1 = nn.HybridSequential()
    b1.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3, activation='relu'),
           nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    b2 = nn.HybridSequential()
    b2.add(nn.Conv2D(64, kernel_size=1, activation='relu'),
           nn.Conv2D(192, kernel_size=3, padding=1, activation='relu'),
           nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    net.add(b1, b2)
    for i, stage in enumerate(_STAGES):
        blk = nn.HybridSequential()
        blk.add(*[Inception(*c) for c in stage])
        blk.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1) if i < len(_STAGES) - 1
                else nn.GlobalAvgPool2D())
        net.add(blk)
    net.add(nn.Dense(classes))
    return net
