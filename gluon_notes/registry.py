"""The model registry: every network of the notes with the book's training settings.

A family module registers each named builder with ``@register_model(...)``; ``get_model`` builds one by
name, ``get_spec`` returns its settings, ``list_models`` lists the names in registration order.
"""
import importlib
from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ['ModelSpec', 'register_model', 'get_model', 'get_spec', 'list_models']

INITS = ('xavier', 'normal')


@dataclass(frozen=True)
class ModelSpec:
    """The book's settings for one registered network.

    ``resize`` is the side length the book trains at (None: the native 28); ``min_size`` the smallest
    side the network accepts, ``fixed_size`` whether it accepts only ``input_size`` (flatten + dense
    heads fix the input size at the first forward pass). ``init`` is ``'xavier'`` (chapter 5) or
    ``'normal'`` (N(0, 0.01), chapter 3). ``book_test_acc`` is the final-epoch test accuracy the book
    prints at these settings.
    """
    name: str
    builder: Callable
    lr: float
    batch_size: int
    num_epochs: int = 5
    resize: Optional[int] = None
    min_size: int = 28
    fixed_size: bool = False
    init: str = 'xavier'
    book_test_acc: Optional[float] = None
    section: str = ''

    @property
    def input_size(self):
        return self.resize or 28

    def describe(self):
        return ('lr %g, batch %d, %d epochs, %dx%d input, %s init'
                % (self.lr, self.batch_size, self.num_epochs, self.input_size, self.input_size,
                   self.init))


_REGISTRY = {}
# Importing these registers every family. Imported on first use, not here: the families import
# register_model from this module, so importing them at the top would be circular.
_FAMILY_PACKAGE = 'gluon_notes.models'


def register_model(name, *, lr, batch_size, num_epochs=5, resize=None, min_size=None,
                   fixed_size=False, init='xavier', book_test_acc=None, section=''):
    """Decorator registering a builder under ``name``; a duplicate name is an error."""
    if init not in INITS:
        raise ValueError('init %r is not one of %s' % (init, ', '.join(INITS)))

    def decorate(builder):
        if name in _REGISTRY:
            raise ValueError('model %r is already registered (by %s)'
                             % (name, _REGISTRY[name].builder.__module__))
        size = resize or 28
        _REGISTRY[name] = ModelSpec(
            name=name, builder=builder, lr=lr, batch_size=batch_size, num_epochs=num_epochs,
            resize=resize, min_size=size if min_size is None else min_size,
            fixed_size=fixed_size, init=init, book_test_acc=book_test_acc, section=section)
        return builder
    return decorate


def _load_families():
    importlib.import_module(_FAMILY_PACKAGE)


def list_models():
    """Names of the registered models, in registration order."""
    _load_families()
    return list(_REGISTRY)


def get_spec(name):
    """The ``ModelSpec`` of ``name``; an unknown name is a ValueError listing the known ones."""
    _load_families()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError('unknown model %r; known models: %s' % (name, ', '.join(_REGISTRY)))
    return _REGISTRY[name]


def get_model(name, **kwargs):
    """Build the registered network ``name`` (uninitialised), passing ``kwargs`` to its builder."""
    return get_spec(name).builder(**kwargs)
