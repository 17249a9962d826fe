"""AlexNet (the notes' section AlexNet), for one-channel 224x224 Fashion-MNIST."""
from mxnet.gluon import nn

from ..registry import register_model
from .base import BookNet

__all__ = ['alexnet']


@register_model('alexnet', lr=0.01, batch_size=128, resize=224, fixed_size=True,
                book_test_acc=0.867, section='AlexNet')
def alexnet(classes=10):
    """AlexNet as in the book: five ReLU conv layers (11x11 stride 4, 5x5, three 3x3) with 3x3
    stride-2 max-pooling after the 1st, 2nd and 5th, then two 4096-unit dense layers with dropout
    0.5 and the output layer. The dense head fixes the input at 224x224."""
    net = BookNet('alexnet', input_size=224, fixed_size=True)
    net.add(nn.Conv2D(96, kernel_size=11, strides=4, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(256, kernel_size=5, padding=2, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Conv2D(384, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(384, kernel_size=3, padding=1, activation='relu'),
            nn.Conv2D(256, kernel_size=3, padding=1, activation='relu'),
            nn.MaxPool2D(pool_size=3, strides=2),
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(4096, activation='relu'), nn.Dropout(0.5),
            nn.Dense(classes))
    return net
