"""Chapter 5, convolutional networks: one module per section of the notes (the networks
themselves live in ``gluon_notes.models``, one module per family)."""
from .conv_layer import *  # noqa: F401,F403
from .padding_stride import *  # noqa: F401,F403
from .channels import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .batch_norm import *  # noqa: F401,F403
