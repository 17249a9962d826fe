"""Checks of numeric settings, shared by the CLI and the Python API so that both say the same.

Each check returns the value normalised (a Python int or float) or raises ValueError with one line
naming the setting, the accepted range and the value given. Settings are named as the Python
arguments (``num_epochs``, ``batch_size``, ``checkpoint_minutes``, ...); the CLI's options are the
same names with dashes.
"""
import math
import numbers

__all__ = ['is_integer', 'integer', 'positive_integer', 'size_pair', 'number', 'seed', 'seeds',
           'checkpoint_minutes', 'given', 'SEED_RANGE']

SEED_RANGE = '[0, 2**32)'  # what numpy's RandomState and mx.random.seed accept


def is_integer(value):
    """Whether ``value`` is an integer (Python's or numpy's), but not a bool: True is an int to
    Python, and a flag passed where a count belongs is a mistake, not a 1."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(name, value, low=1, high=None, *, optional=True):
    """``value`` as an int in ``[low, high]`` (``high`` None: no upper bound); None passes when
    ``optional``."""
    if value is None and optional:
        return None
    accepted = ('an integer >= %d' % low if high is None
                else 'an integer in [%d, %d]' % (low, high))
    if not is_integer(value) or value < low or (high is not None and value > high):
        raise ValueError('%s must be %s, got %r' % (name, accepted, value))
    return int(value)


def positive_integer(name, value):
    """``value`` as an int >= 1, or ValueError ``NAME must be a positive integer, got VALUE``."""
    if not is_integer(value) or value < 1:
        raise ValueError('%s must be a positive integer, got %r' % (name, value))
    return int(value)


def size_pair(name, size):
    """A window size, an int or a pair of them (height, width), as a pair of positive ints."""
    pair = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(pair) != 2 or not all(is_integer(v) and v > 0 for v in pair):
        raise ValueError('%s must be a positive int or a pair of them, got %r' % (name, size))
    return tuple(int(v) for v in pair)


def number(name, value, low=0.0, *, inclusive=False, unit=None, zero=None, optional=True):
    """``value`` as a finite float above ``low`` (or equal to it with ``inclusive``); ``unit``
    ('minutes') and ``zero`` (what 0 means, e.g. 'off') only complete the message. None passes
    when ``optional``."""
    if value is None and optional:
        return None
    if not _is_real(value) or not math.isfinite(value) or (
            value < low if inclusive else value <= low):
        accepted = 'a finite number%s %s %g%s' % (' of ' + unit if unit else '',
                                                 '>=' if inclusive else '>', low,
                                                 ' (0: %s)' % zero if zero else '')
        raise ValueError('%s must be %s, got %r' % (name, accepted, value))
    return float(value)


def seed(value, name='seed', *, optional=True):
    """A seed: an integer in ``[0, 2**32)``."""
    if value is None and optional:
        return None
    if not is_integer(value) or not 0 <= value < 2 ** 32:
        raise ValueError('%s must be an integer in %s, got %r' % (name, SEED_RANGE, value))
    return int(value)


def checkpoint_minutes(value):
    """The ``checkpoint_minutes`` setting: None (the default), 0 (off) or minutes > 0."""
    return number('checkpoint_minutes', value, inclusive=True, unit='minutes', zero='off')


def seeds(values, name='extra_seeds'):
    """A list of distinct seeds (None: empty)."""
    values = list(values or [])
    checked = [seed(v, name) for v in values]
    if len(set(checked)) != len(checked):
        raise ValueError('%s must be distinct, got %s' % (name, ', '.join(map(str, checked))))
    return checked


def given(**options):
    """``'name=value, ...'`` of the options that are set, for an error that names what was given."""
    return ', '.join('%s=%r' % (name, value) for name, value in options.items() if value)
