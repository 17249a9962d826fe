"""The networks of the notes, one module per family; importing this registers them all
(in this order, which is the order ``list_models()`` reports)."""
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
