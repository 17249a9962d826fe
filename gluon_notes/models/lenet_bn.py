"""LeNet with batch normalization (the notes' section 批量归一化)."""
from mxnet.gluon import nn

from ..chapter5.batch_norm import BatchNorm
from ..registry import register_model
from .base import BookNet, BookSequential

__all__ = ['get_lenet_bn', 'lenet_bn', 'lenet_bn_gluon']


def get_lenet_bn(model_name, norm_layer, classes=10):
    """LeNet for 28x28 inputs with a batch-normalization layer between every convolution or dense
    layer and its sigmoid.

    ``norm_layer(num_features, num_dims)`` builds each normalization layer. The from-scratch
    ``BatchNorm`` is not hybridizable, so its network is a ``BookSequential`` (``train_ch5`` then
    runs it imperatively); with ``nn.BatchNorm`` the network is a hybridizable ``BookNet``.
    """
    layers = [nn.Conv2D(6, kernel_size=5), norm_layer(6, 4), nn.Activation('sigmoid'),
              nn.MaxPool2D(pool_size=2, strides=2),
              nn.Conv2D(16, kernel_size=5), norm_layer(16, 4), nn.Activation('sigmoid'),
              nn.MaxPool2D(pool_size=2, strides=2),
              nn.Dense(120), norm_layer(120, 2), nn.Activation('sigmoid'),
              nn.Dense(84), norm_layer(84, 2), nn.Activation('sigmoid'),
              nn.Dense(classes)]
    hybrid = all(isinstance(layer, nn.HybridBlock) for layer in layers)
    net = (BookNet if hybrid else BookSequential)(model_name, input_size=28, fixed_size=True)
    net.add(*layers)
    return net


@register_model('lenet_bn', lr=1.0, batch_size=256, fixed_size=True, book_test_acc=0.870,
                section='批量归一化')
def lenet_bn(classes=10):
    """LeNet with the from-scratch ``BatchNorm``."""
    return get_lenet_bn('lenet_bn', BatchNorm, classes)


@register_model('lenet_bn_gluon', lr=1.0, batch_size=256, fixed_size=True, book_test_acc=0.881,
                section='批量归一化')
def lenet_bn_gluon(classes=10):
    """LeNet with Gluon's ``nn.BatchNorm``."""
    return get_lenet_bn('lenet_bn_gluon', lambda num_features, num_dims: nn.BatchNorm(), classes)
