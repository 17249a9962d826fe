"""gluon_notes: the study notes on chapters 3 and 5 of 动手学深度学习 (MXNet edition) in Gluon.

Importing the package does no work: no device probing, no data loading.
"""
__version__ = '0.1.0'

try:
    import mxnet as _mxnet  # noqa: F401
except OSError as _error:
    # A CUDA build of MXNet on a machine without the NVIDIA driver (libcuda.so.1) cannot load.
    # The package still imports, so that `gluon-notes doctor` can say so; anything else names
    # the reason when it is used.
    MXNET_IMPORT_ERROR = str(_error)

    def __getattr__(name):
        import importlib.util
        if importlib.util.find_spec('%s.%s' % (__name__, name)) is not None:
            raise AttributeError(name)  # a submodule: the import system loads it
        raise ImportError('gluon_notes.%s needs MXNet, which cannot be loaded here: %s; run '
                          '"gluon-notes doctor"' % (name, MXNET_IMPORT_ERROR))
else:
    MXNET_IMPORT_ERROR = None
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
