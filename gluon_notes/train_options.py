"""The options of ``gluon-notes train``, in a module of their own: the CLI builds its ``train``
subcommand from them and ``gluon-notes launch`` parses a job's command with them, without either
module importing the other."""
import argparse

__all__ = ['add_train_arguments', 'add_checkpoint_minutes', 'train_parser']

# The kvstore types train accepts, kept here (no mxnet import) for the CLI, the launcher and
# gluon_notes.distributed alike; the dist_ ones need a parameter-server job.
DIST_KVSTORES = ('dist_sync', 'dist_device_sync', 'dist_async')
KVSTORE_TYPES = ('device', 'local') + DIST_KVSTORES


def add_checkpoint_minutes(p):
    p.add_argument('--checkpoint-minutes', type=float, default=None, metavar='M',
                   help='with an output directory, also checkpoint at the first batch boundary '
                        'M minutes after the last checkpoint (default 10; 0: off)')


def add_train_arguments(p):
    """Add the arguments of ``gluon-notes train`` to the parser ``p``."""
    p.add_argument('model')
    p.add_argument('--epochs', type=int, default=None)
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--resize', type=int, default=None)
    p.add_argument('--ctx', default='auto', help='auto, cpu, gpu, gpu:0,1 or cpu:0,1')
    p.add_argument('--subset', type=int, default=None,
                   help='keep the first N examples of each split')
    p.add_argument('--seed', type=int, default=None,
                   help='seed every RNG; mx.random is reseeded every batch, so --resume is exact')
    p.add_argument('--out', default=None,
                   help='directory for config.json, history.json, curves.png, model.params and '
                        'the checkpoint')
    p.add_argument('--overwrite', action='store_true',
                   help='allow --out to replace a run already there')
    p.add_argument('--resume', action='store_true',
                   help='continue the run in --out from its last checkpoint (options left out '
                        'are the checkpoint\'s)')
    p.add_argument('--checkpoint-every', type=int, default=None, metavar='N',
                   help='with --out, also checkpoint every N batches (always: every epoch)')
    add_checkpoint_minutes(p)
    p.add_argument('--progress-every', type=float, default=60.0, metavar='S',
                   help='without a terminal, print a progress line every S seconds (default 60; '
                        '0: never)')
    p.add_argument('--data-root', default=None, metavar='DIR',
                   help='directory of the four Fashion-MNIST .gz files (default: bundled copy)')
    p.add_argument('--no-hybridize', dest='hybridize', action='store_false')
    p.add_argument('--kvstore', default=None, choices=KVSTORE_TYPES,
                   help='how gradients are summed: device or local over --ctx devices (default), '
                        'dist_* over the workers of "gluon-notes launch" (default there: dist_sync)')
    return p


def train_parser():
    """A parser of the arguments after ``gluon-notes train``, erring as that subcommand does."""
    return add_train_arguments(argparse.ArgumentParser(prog='gluon-notes train'))
