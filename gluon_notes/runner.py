"""Train a registered model by name at the book's settings: what ``gluon-notes train`` runs."""
import os
import random
import sys
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import init as minit

from . import checks
from .checkpoint import (MANIFEST, make_directory, remove_checkpoint, reporting_faults,
                         resume_settings, save_parameters)
from .data import MAX_RESIZE, load_data_fashion_mnist
from .distributed import (REPORT_ENV, create_kvstore, create_trainer, local_batch_size, worker_rank,
                          write_worker_report)
from .registry import get_spec
from .train import as_ctx_list, gpu_count, probe, save_json, train_ch5, try_gpu

__all__ = ['parse_ctx', 'make_initializer', 'check_settings', 'train_model', 'RUN_FILES']

RUN_FILES = ('config.json', 'history.json', 'curves.png', 'model.params')
CTX_FORMS = 'auto, cpu, gpu, gpu:0,1, cpu:0,1'


def _cuda_build():
    return mx.runtime.Features().is_enabled('CUDA')


def parse_ctx(text, notice=print):
    """Contexts from a string: ``auto`` (a GPU if one is usable, else the CPU with a one-line
    ``notice`` that quotes MXNet's reason when a GPU failed), ``cpu``, ``gpu``, ``gpu:0,1``,
    ``cpu:0,1``. Returns a context or a list of them. A GPU that MXNet reports but whose first
    operation fails is a ValueError quoting MXNet's reason."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError('context %r not understood; accepted: %s' % (text, CTX_FORMS))
    text = text.strip().lower()
    if text == 'auto':
        count, why = gpu_count()
        if count == 0:
            notice('MXNet cannot use the GPUs (%s); training on cpu(0)' % why if why
                   else 'no GPU visible to MXNet; training on cpu(0)')
            return mx.cpu()
        reason = probe(mx.gpu(0))
        if reason is not None:
            notice('gpu(0) failed its first operation (%s); training on cpu(0)' % reason)
            return mx.cpu()
        return mx.gpu(0)
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
            raise ValueError('context %r: this mxnet build has no CUDA; "make gpu" builds the '
                             'GPU environment .venv-gpu with mxnet-cu117 and the CUDA libraries '
                             '(README, "Using a GPU")' % text)
        visible, why = gpu_count()
        if why:
            raise ValueError('context %r: MXNet cannot use the GPUs: %s' % (text, why))
        if max(numbers) >= visible:
            raise ValueError('context %r: only %d GPU(s) visible to MXNet' % (text, visible))
        for i in numbers:
            reason = probe(mx.gpu(i))
            if reason is not None:
                raise ValueError('context %r: gpu(%d) failed its first operation: %s; run '
                                 '"gluon-notes doctor", or train with --ctx cpu'
                                 % (text, i, reason))
    ctxs = [mx.Context(kind, i) for i in numbers]
    return ctxs[0] if len(ctxs) == 1 else ctxs


def make_initializer(name):
    """The registry's init names as MXNet initializers."""
    if name == 'xavier':
        return minit.Xavier()
    if name == 'normal':
        return minit.Normal(sigma=0.01)
    raise ValueError('init %r not understood; accepted: xavier, normal' % (name,))


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def check_settings(*, num_epochs, lr, batch_size, resize, subset, seed, progress_every):
    """The training settings of ``train_model`` checked (None: the book's), as a dict."""
    return dict(num_epochs=checks.integer('num_epochs', num_epochs),
                lr=checks.number('lr', lr),
                batch_size=checks.integer('batch_size', batch_size),
                resize=checks.integer('resize', resize, high=MAX_RESIZE),
                subset=checks.integer('subset', subset), seed=checks.seed(seed),
                progress_every=checks.number('progress_every', progress_every, inclusive=True,
                                             unit='seconds', zero='never'))


def train_model(name, *, num_epochs=None, lr=None, batch_size=None, resize=None, ctx=None,
                subset=None, seed=None, out=None, hybridize=True, overwrite=False, progress=None,
                verbose=True, resume=False, checkpoint_every=None, checkpoint_minutes=None,
                root=None, kvstore=None, progress_every=60.0):
    """Build, initialise and train the registered model ``name``; ``None`` means the book's setting.

    ``ctx`` is a context, a list of them, a string for ``parse_ctx`` or None (``try_gpu()``). With ``out``, the run's
    configuration, history, curves and parameters are written there, and a checkpoint after every
    epoch, every ``checkpoint_every`` batches and every ``checkpoint_minutes`` (default 10, 0: off;
    see ``gluon_notes.checkpoint``); a directory that
    already holds a run is refused unless ``overwrite`` (start over) or ``resume`` (continue from
    its checkpoint; settings left None are then the checkpoint's). ``root`` is the Fashion-MNIST
    directory (default: the bundled copy). ``kvstore`` is one of ``distributed.KVSTORE_TYPES``
    (default ``device``; ``dist_sync`` in a worker of ``gluon-notes launch``): with a distributed
    one, ``batch_size`` is the global batch, each worker trains on its shard with its share, and
    rank 0 alone prints and writes ``out``. Returns ``(net, history)``.
    """
    spec = get_spec(name)
    settings = check_settings(num_epochs=num_epochs, lr=lr, batch_size=batch_size,
                              resize=resize, subset=subset, seed=seed,
                              progress_every=progress_every)
    progress_every = settings.pop('progress_every')
    checkpoint_every = checks.integer('checkpoint_every', checkpoint_every)
    checkpoint_minutes = checks.checkpoint_minutes(checkpoint_minutes)
    if (resume or checkpoint_every or checkpoint_minutes) and out is None:
        raise ValueError('resume, checkpoint_every and checkpoint_minutes need out= (--out), the '
                         'run\'s directory; got %s' % checks.given(
                             resume=resume, checkpoint_every=checkpoint_every,
                             checkpoint_minutes=checkpoint_minutes))
    if resume and overwrite:
        raise ValueError('resume and overwrite exclude each other: continue the run in %s or '
                         'replace it' % (out,))
    if resume:
        settings = resume_settings(out, name, settings)
    num_epochs = settings['num_epochs'] or spec.num_epochs
    lr = settings['lr'] or spec.lr
    batch_size = settings['batch_size'] or spec.batch_size
    resize = settings['resize'] or spec.resize
    subset, seed = settings['subset'], settings['seed']
    size = resize or 28
    if size < spec.min_size or (spec.fixed_size and size != spec.input_size):
        accepted = (str(spec.input_size) if spec.fixed_size
                    else 'at least %d (book: %d)' % (spec.min_size, spec.input_size))
        raise ValueError('resize %d does not fit %s, which accepts %s' % (size, name, accepted))
    if isinstance(ctx, str):
        ctx = parse_ctx(ctx, notice=lambda m: print(m, file=sys.stderr))
    ctx = ctx if ctx is not None else try_gpu()
    as_ctx_list(ctx)  # a TypeError naming a ctx that is neither a context nor a list of them
    kv = create_kvstore(kvstore)  # a name, or the job's KVStore: this joins a launched job
    rank, num_workers = worker_rank(kv)
    local_batch = local_batch_size(batch_size, num_workers)
    out = Path(out) if out is not None and rank == 0 else None
    if out is not None:
        taken = [f for f in RUN_FILES + (MANIFEST,) if (out / f).exists()]
        if taken and not (overwrite or resume):
            raise ValueError('%s already holds a run (%s); pass overwrite=True (--overwrite), '
                             'resume=True (--resume) or choose another directory'
                             % (out, ', '.join(taken)))
    with reporting_faults(out):  # a file-system fault says which checkpoint is intact
        if out is not None:
            if overwrite:
                remove_checkpoint(out)
            make_directory(out)
        if seed is not None:
            seed_everything(seed)
        config = dict(model=name, num_epochs=num_epochs, lr=lr, batch_size=batch_size,
                      resize=resize, subset=subset, seed=seed, init=spec.init,
                      ctx=str(ctx), hybridize=hybridize, mxnet=mx.__version__,
                      checkpoint_every=checkpoint_every, checkpoint_minutes=checkpoint_minutes,
                      kvstore=kv if isinstance(kv, str) else kv.type, num_workers=num_workers)
        if out is not None:
            save_json(config, out / 'config.json')
        train_iter, test_iter = load_data_fashion_mnist(
            local_batch, resize=resize, subset=subset, root=root,
            shard=(rank, num_workers) if num_workers > 1 else None)
        net = spec.builder()
        net.initialize(make_initializer(spec.init), ctx=ctx)
        trainer = create_trainer(net.collect_params(), 'sgd', {'learning_rate': lr}, kv)
        history = train_ch5(net, train_iter, test_iter, local_batch, trainer, ctx, num_epochs,
                            hybridize=hybridize, progress=progress, verbose=verbose,
                            history_file=out / 'history.json' if out is not None else None,
                            plot_file=out / 'curves.png' if out is not None else None,
                            checkpoint_dir=out, checkpoint_every=checkpoint_every,
                            checkpoint_minutes=checkpoint_minutes, progress_every=progress_every,
                            resume=resume,
                            seed=seed, config=config, kvstore=None if isinstance(kv, str) else kv)
        if os.environ.get(REPORT_ENV):
            write_worker_report(os.environ[REPORT_ENV], net, train_iter, kv)
        if out is not None:  # train_ch5 has written history.json and curves.png
            save_parameters(net, out / 'model.params')
        return net, history
