"""Train a registered model by name at the book's settings: what ``gluon-notes train`` runs."""
import json
import random
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import gluon, init as minit

from .data import load_data_fashion_mnist
from .registry import get_spec
from .train import save_history, train_ch5, try_gpu

__all__ = ['parse_ctx', 'make_initializer', 'train_model', 'RUN_FILES']

RUN_FILES = ('config.json', 'history.json', 'curves.png', 'model.params')
CTX_FORMS = 'auto, cpu, gpu, gpu:0,1, cpu:0,1'


def _cuda_build():
    return mx.runtime.Features().is_enabled('CUDA')


def parse_ctx(text, notice=print):
    """Contexts from a string: ``auto`` (a GPU if one is visible, else the CPU with a notice),
    ``cpu``, ``gpu``, ``gpu:0,1``, ``cpu:0,1``. Returns a context or a list of them."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError('context %r not understood; accepted: %s' % (text, CTX_FORMS))
    text = text.strip().lower()
    if text == 'auto':
        ctx = try_gpu()
        if ctx.device_type == 'cpu':
            notice('no GPU visible to MXNet; training on cpu(0)')
        return ctx
    kind, _, ids = text.partition(':')
    if kind not in ('cpu', 'gpu'):
        raise ValueError('context %r not understood; accepted: %s' % (text, CTX_FORMS))
    try:
        numbers = [int(i) for i in ids.split(',')] if ids else [0]
    except ValueError:
        raise ValueError('context %r not understood: device ids must be integers, as in %s:0,1'
                         % (text, kind)) from None
    if any(i < 0 for i in numbers) or len(set(numbers)) != len(numbers):
        raise ValueError('context %r: device ids must be distinct non-negative integers' % text)
    if kind == 'gpu':
        if not _cuda_build():
            raise ValueError('context %r: this mxnet build has no CUDA; install the CUDA wheel '
                             'matching your driver, e.g. pip uninstall -y mxnet && pip install '
                             'mxnet-cu112==1.9.1' % text)
        visible = mx.context.num_gpus()
        if max(numbers) >= visible:
            raise ValueError('context %r: only %d GPU(s) visible to MXNet' % (text, visible))
    ctxs = [mx.Context(kind, i) for i in numbers]
    return ctxs[0] if len(ctxs) == 1 else ctxs


def make_initializer(name):
    """The registry's init names as MXNet initializers."""
    if name == 'xavier':
        return minit.Xavier()
    if name == 'normal':
        return minit.Normal(sigma=0.01)
    raise ValueError('init %r not understood; accepted: xavier, normal' % (name,))


def _positive(name, value, kind):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ValueError('%s must be a positive %s, got %r'
                         % (name, 'integer' if kind is int else 'number', value))
    return value


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def train_model(name, *, num_epochs=None, lr=None, batch_size=None, resize=None, ctx=None,
                subset=None, seed=None, out=None, hybridize=True, overwrite=False, progress=None,
                verbose=True):
    """Build, initialise and train the registered model ``name``; ``None`` means the book's setting.

    ``ctx`` is a context, a list of them, a string for ``parse_ctx`` or None (``try_gpu()``). With ``out``, the run's
    configuration, history, curves and parameters are written there; a directory that already
    holds a run is refused unless ``overwrite``. Returns ``(net, history)``.
    """
    spec = get_spec(name)
    num_epochs = _positive('epochs', num_epochs, int) or spec.num_epochs
    lr = _positive('lr', lr, (int, float)) or spec.lr
    batch_size = _positive('batch size', batch_size, int) or spec.batch_size
    resize = _positive('resize', resize, int) or spec.resize
    subset = _positive('subset', subset, int)
    size = resize or 28
    if size < spec.min_size or (spec.fixed_size and size != spec.input_size):
        accepted = (str(spec.input_size) if spec.fixed_size
                    else 'at least %d (book: %d)' % (spec.min_size, spec.input_size))
        raise ValueError('resize %d does not fit %s, which accepts %s' % (size, name, accepted))
    if isinstance(ctx, str):
        ctx = parse_ctx(ctx, notice=lambda m: print(m, file=sys.stderr))
    ctx = ctx if ctx is not None else try_gpu()
    out = Path(out) if out is not None else None
    if out is not None:
        taken = [f for f in RUN_FILES if (out / f).exists()]
        if taken and not overwrite:
            raise ValueError('%s already holds a run (%s); pass overwrite=True (--overwrite) or '
                             'choose another directory' % (out, ', '.join(taken)))
        out.mkdir(parents=True, exist_ok=True)
    if seed is not None:
        seed_everything(seed)
    config = dict(model=name, num_epochs=num_epochs, lr=lr, batch_size=batch_size,
                  resize=resize, subset=subset, seed=seed, init=spec.init,
                  ctx=str(ctx), hybridize=hybridize, mxnet=mx.__version__)
    if out is not None:
        (out / 'config.json').write_text(json.dumps(config, indent=1) + '\n')
    train_iter, test_iter = load_data_fashion_mnist(batch_size, resize=resize, subset=subset)
    net = spec.builder()
    net.initialize(make_initializer(spec.init), ctx=ctx)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    history = train_ch5(net, train_iter, test_iter, batch_size, trainer, ctx, num_epochs,
                        hybridize=hybridize, progress=progress, verbose=verbose,
                        history_file=out / 'history.json' if out is not None else None,
                        plot_file=out / 'curves.png' if out is not None else None)
    if out is not None:
        net.save_parameters(str(out / 'model.params'))
        save_history(history, out / 'history.json')
    return net, history
