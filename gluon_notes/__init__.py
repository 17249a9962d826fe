"""gluon_notes: the study notes on chapters 3 and 5 of 动手学深度学习 (MXNet edition) in Gluon.

Importing the package does no work: no device probing, no data loading.
"""
from .data import *  # noqa: F401,F403
from .train import *  # noqa: F401,F403
from .registry import *  # noqa: F401,F403
from .chapter3 import *  # noqa: F401,F403
from .chapter5 import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .notebook import *  # noqa: F401,F403
from .plotting import *  # noqa: F401,F403
from .checkpoint import *  # noqa: F401,F403
from .distributed import *  # noqa: F401,F403

__version__ = '0.1.0'
