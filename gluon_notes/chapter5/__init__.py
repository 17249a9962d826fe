"""Chapter 5, convolutional networks: one module per section of the notes (the networks
themselves live in ``gluon_notes.models``, one module per family)."""
import importlib

from .conv_layer import *  # noqa: F401,F403
from .padding_stride import *  # noqa: F401,F403
from .channels import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .batch_norm import *  # noqa: F401,F403

# Only the listings: without __all__, a star import of this package would export its submodules
# too (``gluon_notes.pooling`` would be a module beside the ``pool2d`` it defines).
_SECTIONS = (
    'conv_layer', 'padding_stride', 'channels', 'pooling', 'batch_norm',
)
__all__ = [name for module in _SECTIONS
           for name in importlib.import_module('.' + module, __name__).__all__]
