"""The networks of the notes, one module per family; importing this registers them all
(in this order, which is the order ``list_models()`` reports)."""
import importlib

from .base import *  # noqa: F401,F403
from .lenet import *  # noqa: F401,F403
from .mlp import *  # noqa: F401,F403
from .alexnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .nin import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .lenet_bn import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403

# Only the listings: without __all__, a star import of this package would export its submodules
# too (``gluon_notes.pooling`` would be a module beside the ``pool2d`` it defines).
_FAMILIES = (
    'base', 'lenet', 'mlp', 'alexnet', 'vgg', 'nin', 'googlenet', 'lenet_bn', 'resnet',
    'densenet',
)
__all__ = [name for module in _FAMILIES
           for name in importlib.import_module('.' + module, __name__).__all__]
