"""Containers for the book's networks that say what input they expect.

The networks are plain ``HybridSequential``/``Sequential`` containers, so ``for blk in net`` walks the
book's top-level children; these subclasses only check the input's shape first, so a wrong resize or
channel count is a one-line ``ValueError`` instead of an MXNet shape-inference traceback.
"""
from mxnet import nd
from mxnet.gluon import nn

__all__ = ['BookNet', 'BookSequential', 'check_input_shape']


def check_input_shape(model_name, shape, in_channels, input_size, min_size, fixed_size):
    """Raise ValueError unless ``shape`` is (N, in_channels, H, W) the network accepts."""
    side = '%d\u00d7%d' % (input_size, input_size)
    hint = 'use resize=%d' % input_size if input_size != 28 else 'use resize=None (28\u00d728)'
    if len(shape) != 4 or shape[1] != in_channels:
        raise ValueError('%s expects inputs of shape (N, %d, H, W), got %s; %s'
                         % (model_name, in_channels, tuple(shape), hint))
    h, w = shape[2], shape[3]
    if fixed_size and (h, w) != (input_size, input_size):
        raise ValueError('%s expects %d\u00d7%s inputs, got %d\u00d7%d\u00d7%d; %s'
                         % (model_name, in_channels, side, shape[1], h, w, hint))
    if min(h, w) < min_size:
        raise ValueError('%s expects inputs of at least %d\u00d7%d (book: %s), got %d\u00d7%d; %s'
                         % (model_name, min_size, min_size, side, h, w, hint))


class _InputChecked:
    def _init_input_spec(self, model_name, in_channels, input_size, min_size, fixed_size):
        self.model_name = model_name
        self.input_spec = dict(in_channels=in_channels, input_size=input_size,
                               min_size=input_size if min_size is None else min_size,
                               fixed_size=fixed_size)

    def __getitem__(self, key):
        # A slice is a part of the network with its own inputs: return it unchecked, as the plain
        # container (Gluon's own slicing would call our constructor without a model name).
        layers = list(self._children.values())[key]
        if not isinstance(layers, list):
            return layers
        net = self._plain(prefix=self._prefix)
        with net.name_scope():
            net.add(*layers)
        return net

    def forward(self, x, *args):
        if isinstance(x, nd.NDArray):
            check_input_shape(self.model_name, x.shape, **self.input_spec)
        return super().forward(x, *args)


class BookNet(_InputChecked, nn.HybridSequential):
    """A ``HybridSequential`` that checks its input shape (see ``check_input_shape``)."""
    _plain = nn.HybridSequential

    def __init__(self, model_name, input_size=28, min_size=None, fixed_size=False,
                 in_channels=1, **kwargs):
        super().__init__(**kwargs)
        self._init_input_spec(model_name, in_channels, input_size, min_size, fixed_size)


class BookSequential(_InputChecked, nn.Sequential):
    """The same check for networks holding a non-hybridizable block."""
    _plain = nn.Sequential

    def __init__(self, model_name, input_size=28, min_size=None, fixed_size=False,
                 in_channels=1, **kwargs):
        super().__init__(**kwargs)
        self._init_input_spec(model_name, in_channels, input_size, min_size, fixed_size)
