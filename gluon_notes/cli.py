"""The ``gluon-notes`` command: list, summary and train the networks of the notes."""
import argparse
import sys

from .launch import add_parser as _add_launch, worker_exits
from .train_options import add_checkpoint_minutes, add_train_arguments

__all__ = ['main', 'build_parser', 'layer_trace', 'EXIT_FILE_FAULT']

# A run's files could not be written (disk full, no permission, read-only, a file in the way, a
# directory gone); the last complete checkpoint is intact.
EXIT_FILE_FAULT = 4


def _add_list(sub):
    p = sub.add_parser('list', help='registered models with the book\'s settings')
    p.set_defaults(func=_cmd_list)


def _add_summary(sub):
    p = sub.add_parser('summary', help='the book\'s layer-by-layer output-shape trace')
    p.add_argument('model')
    p.add_argument('--resize', type=int, default=None,
                   help='input side length (default: the book\'s for this model)')
    p.set_defaults(func=_cmd_summary)


def _add_train(sub):
    p = sub.add_parser('train', help='train a model; defaults are the book\'s settings')
    add_train_arguments(p)
    p.set_defaults(func=_cmd_train)


def _add_reproduce(sub):
    p = sub.add_parser('reproduce', help='train every model at the book\'s settings and tabulate '
                                         'the results against the book\'s')
    p.add_argument('models', nargs='*', metavar='MODEL', help='default: every registered model')
    scope = p.add_mutually_exclusive_group()
    scope.add_argument('--quick', action='store_true', help='one epoch on a small subset per model')
    scope.add_argument('--full', action='store_true',
                       help='the book\'s full settings for every model, even on a CPU (hours for '
                            'the resized networks)')
    p.add_argument('--ctx', default='cpu', help='cpu, gpu, gpu:0,1 ... (default: cpu)')
    p.add_argument('--out', default='results', help='directory for RESULTS.md, results.json, PNGs')
    p.add_argument('--runs', default=None, metavar='DIR',
                   help='directory for the run directories (checkpoints, parameters; default: '
                        'OUT/runs)')
    p.add_argument('--seed', type=int, default=0, help='the seed of each row\'s run (default 0)')
    p.add_argument('--extra-seeds', type=int, nargs='+', default=None, metavar='SEED',
                   help='train each model again with these seeds; the table shows the spread')
    add_checkpoint_minutes(p)
    p.set_defaults(func=_cmd_reproduce)


def _cmd_reproduce(args):
    from .checkpoint import RunFilesError
    from .reproduce import reproduce
    from .runner import parse_ctx
    try:
        reproduce(args.models, quick=args.quick, full=args.full, ctx=parse_ctx(args.ctx),
                  out=args.out, runs=args.runs, seed=args.seed, extra_seeds=args.extra_seeds,
                  checkpoint_minutes=args.checkpoint_minutes)
    except RunFilesError as e:
        again = 'run the same gluon-notes reproduce command again (finished runs are kept)'
        message = e.describe(resume=again, restart=again)
        if e.run_dir is None:  # a results file, not a run's
            message += '; once fixed, ' + again
        print('gluon-notes: error: %s' % message, file=sys.stderr)
        return EXIT_FILE_FAULT
    return 0


def _add_doctor(sub):
    p = sub.add_parser('doctor', help='what this machine can do: Python, MXNet and its features, '
                                      'GPUs, OpenMP threads, data, a timed convolution')
    p.add_argument('--data-root', default=None, metavar='DIR',
                   help='the Fashion-MNIST directory to verify (default: the one training uses)')
    p.set_defaults(func=_cmd_doctor)


def _cmd_doctor(args):
    from .doctor import doctor
    return doctor(root=args.data_root)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='gluon-notes', description='The networks of chapters 3 and 5 of the d2l notes.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for add in (_add_list, _add_summary, _add_train, _add_reproduce, _add_launch, _add_doctor):
        add(sub)
    return parser


def _cmd_list(args):
    from .registry import get_spec, list_models
    names = list_models()
    width = max(len(n) for n in names)
    for name in names:
        spec = get_spec(name)
        book = 'book test acc %.3f' % spec.book_test_acc if spec.book_test_acc else ''
        print('%-*s  %s  %s' % (width, name, spec.describe(), book))
    return 0


def layer_trace(net, X):
    """``(name, output shape)`` per top-level child, as the book's ``for blk in net`` loop."""
    rows = []
    for blk in net:
        X = blk(X)
        rows.append((blk.name, X.shape))
    return rows


def _cmd_summary(args):
    import numpy as np
    from mxnet import nd
    from . import checks
    from .data import MAX_RESIZE
    from .models.base import check_input_shape
    from .registry import get_model, get_spec
    from .runner import make_initializer
    spec = get_spec(args.model)
    size = checks.integer('resize', args.resize, high=MAX_RESIZE) or spec.input_size
    shape = (1, 1, size, size)
    check_input_shape(spec.name, shape, 1, spec.input_size, spec.min_size, spec.fixed_size)
    net = get_model(args.model)
    net.initialize(make_initializer(spec.init))
    for name, out_shape in layer_trace(net, nd.random.uniform(shape=shape)):
        print(name, 'output shape:\t', out_shape)
    params = net.collect_params().values()
    total = sum(int(np.prod(p.shape)) for p in params)
    trainable = sum(int(np.prod(p.shape)) for p in params if p.grad_req != 'null')
    print('parameters: %d (trainable %d), input %s' % (total, trainable, shape))
    return 0


def _cmd_train(args):
    import shlex
    import signal
    from .checkpoint import DivergenceError, RunFilesError, TrainingInterrupted, describe_position
    from .runner import train_model
    try:
        train_model(args.model, num_epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                    resize=args.resize, ctx=args.ctx, subset=args.subset, seed=args.seed,
                    out=args.out, hybridize=args.hybridize, overwrite=args.overwrite,
                    resume=args.resume, checkpoint_every=args.checkpoint_every,
                    checkpoint_minutes=args.checkpoint_minutes,
                    progress_every=args.progress_every,
                    root=args.data_root, kvstore=args.kvstore)
    except TrainingInterrupted as e:
        if e.saved:
            print('gluon-notes: interrupted by %s; checkpoint in %s at %s; resume with: '
                  'gluon-notes train %s --out %s --resume'
                  % (signal.Signals(e.signum).name, e.directory, describe_position(*e.saved),
                     shlex.quote(args.model), shlex.quote(args.out)), file=sys.stderr)
        else:
            print('gluon-notes: %s' % e, file=sys.stderr)
        return 128 + e.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    except DivergenceError as e:
        print('gluon-notes: error: %s' % e, file=sys.stderr)
        return 3
    except RunFilesError as e:
        resume = 'continue with gluon-notes train %s --out %s --resume' % (
            shlex.quote(args.model), shlex.quote(str(e.run_dir)))
        print('gluon-notes: error: %s' % e.describe(
            resume=resume, restart='run the same command with --overwrite'), file=sys.stderr)
        return EXIT_FILE_FAULT
    from .distributed import worker_rank
    if args.out and worker_rank()[0] == 0:
        print('wrote', args.out)
    return 0


@worker_exits
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as e:
        # Bad input: one line, argparse's exit status.
        print('gluon-notes: error: %s' % e, file=sys.stderr)
        return 2
    except OSError as e:
        from .checkpoint import RunFilesError  # imports mxnet: not for --help
        print('gluon-notes: error: %s' % e, file=sys.stderr)
        return EXIT_FILE_FAULT if isinstance(e, RunFilesError) else 1
    except KeyboardInterrupt:
        print('gluon-notes: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
