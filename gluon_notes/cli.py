"""The ``gluon-notes`` command: list, summary and train the networks of the notes."""
import argparse
import sys

__all__ = ['main', 'build_parser', 'layer_trace']


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
    p.add_argument('model')
    p.add_argument('--epochs', type=int, default=None)
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--batch-size', type=int, default=None)
    p.add_argument('--resize', type=int, default=None)
    p.add_argument('--ctx', default='auto', help='auto, cpu, gpu, gpu:0,1 or cpu:0,1')
    p.add_argument('--subset', type=int, default=None,
                   help='keep the first N examples of each split')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--out', default=None,
                   help='directory for config.json, history.json, curves.png, model.params')
    p.add_argument('--overwrite', action='store_true',
                   help='allow --out to replace a run already there')
    p.add_argument('--no-hybridize', dest='hybridize', action='store_false')
    p.set_defaults(func=_cmd_train)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='gluon-notes', description='The networks of chapters 3 and 5 of the d2l notes.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for add in (_add_list, _add_summary, _add_train):
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
    from .models.base import check_input_shape
    from .registry import get_model, get_spec
    from .runner import make_initializer
    spec = get_spec(args.model)
    size = args.resize or spec.input_size
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
    from .runner import train_model
    train_model(args.model, num_epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                resize=args.resize, ctx=args.ctx, subset=args.subset, seed=args.seed, out=args.out,
                hybridize=args.hybridize, overwrite=args.overwrite)
    if args.out:
        print('wrote', args.out)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError) as e:
        # Bad input: one line, argparse's exit status.
        print('gluon-notes: error: %s' % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('gluon-notes: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
