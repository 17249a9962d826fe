"""Chapter 3, deep-learning basics: one module per section of the notes."""
import importlib

from .linear_regression import *  # noqa: F401,F403
from .softmax_regression import *  # noqa: F401,F403
from .mlp import *  # noqa: F401,F403
from .model_selection import *  # noqa: F401,F403
from .weight_decay import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .backprop import *  # noqa: F401,F403

# Only the listings: without __all__, a star import of this package would export its submodules
# too (``gluon_notes.pooling`` would be a module beside the ``pool2d`` it defines).
_SECTIONS = (
    'linear_regression', 'softmax_regression', 'mlp', 'model_selection', 'weight_decay',
    'dropout', 'backprop',
)
__all__ = [name for module in _SECTIONS
           for name in importlib.import_module('.' + module, __name__).__all__]
