"""Chapter 3, deep-learning basics: one module per section of the notes."""
from .linear_regression import *  # noqa: F401,F403
from .softmax_regression import *  # noqa: F401,F403
from .mlp import *  # noqa: F401,F403
from .model_selection import *  # noqa: F401,F403
from .weight_decay import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .backprop import *  # noqa: F401,F403
