"""What the chapter notebooks share: the quick mode the test suite runs them in."""
import os

__all__ = ['QUICK_ENV', 'quick_mode']

QUICK_ENV = 'GLUON_NOTES_QUICK'


def quick_mode():
    """True when ``GLUON_NOTES_QUICK=1``: notebooks then train a few hundred examples for one epoch."""
    return os.environ.get(QUICK_ENV) == '1'
