"""Data-parallel training with MXNet's KVStore: several devices in one process, several processes
(on one or several machines) through the parameter server.

The gradients go through the trainer's kvstore and nothing else: ``split_and_load`` gives each
device a slice of the batch, ``backward`` leaves each device the gradient of its slice's summed
loss, and ``gluon.Trainer(kvstore=...)`` adds them over the devices (``device``/``local``) and then
over the workers (``dist_*``: every worker pushes, the servers add, every worker pulls).

Gradient scale. The sum that comes back is the gradient of the loss summed over the *global* batch,
so each step is ``trainer.step(batch_size * num_workers)`` where ``batch_size`` is one worker's
batch: the update is the mean gradient times the learning rate, as on one process with the global
batch, and the book's learning rates keep their meaning. ``train_model`` reads ``batch_size`` as the
global batch and gives each worker ``batch_size / num_workers`` of it. With ``dist_async`` the
servers apply each worker's gradient as it arrives, with the same scale, so the ``num_workers``
updates of one round add up to one synchronous step.

What the trainer does not keep consistent, ``DataParallel`` does, through the same kvstore under
keys of its own: batch-norm moving statistics (Parameters with ``grad_req='null'``, which trainers
leave alone, so each device and worker keeps its own) are averaged at the end of every epoch, and
the epoch's loss and accuracy sums are added over the workers, so the printed line, the history and
the evaluation cover all the data. Both need servers that only add what they receive: a trainer
with ``update_on_kvstore=False`` (``create_trainer`` does it for the synchronous kinds). With
``dist_async`` the servers run the optimizer, so each worker keeps its own statistics and totals.

A launched worker writes ``worker-RANK.json`` (rank, shard indices, parameter checksum) into the
directory named by the environment variable ``GLUON_NOTES_WORKER_REPORT``, if set: the tests use it
to check the shards and that every worker ends with the same parameters.
"""
import hashlib
import json
import os
from pathlib import Path

import mxnet as mx
from mxnet import gluon, nd
from mxnet.gluon.parameter import DeferredInitializationError

from .train_options import KVSTORE_TYPES

__all__ = ['KVSTORE_TYPES', 'DIST_ENV', 'REPORT_ENV', 'DataParallel', 'create_kvstore',
           'create_trainer', 'worker_rank', 'local_batch_size', 'parameter_checksum',
           'write_worker_report']

# What a process of a parameter-server job needs; `gluon-notes launch` sets them.
DIST_ENV = ('DMLC_ROLE', 'DMLC_PS_ROOT_URI', 'DMLC_PS_ROOT_PORT', 'DMLC_NUM_SERVER',
            'DMLC_NUM_WORKER')
REPORT_ENV = 'GLUON_NOTES_WORKER_REPORT'
# Above the trainer's keys, which are 0 .. number of parameters - 1.
_TOTALS_KEY = 1 << 24
_AUX_KEY = _TOTALS_KEY + 1

_connected = []  # the distributed kvstore of this process: ps-lite allows one per process


def _kind(kvstore):
    """The type name of a kvstore given by name or as a KVStore; '' for None."""
    if kvstore is None:
        return ''
    return kvstore if isinstance(kvstore, str) else kvstore.type


def _is_dist(kvstore):
    return 'dist' in _kind(kvstore)


def create_kvstore(kvstore=None):
    """The kvstore for ``gluon.Trainer``: a name for the single-process kinds (``device``,
    ``local``), a connected ``mx.kv.KVStore`` for the distributed ones. ``None`` means ``dist_sync``
    in a worker of a launched job (``DMLC_ROLE=worker``), else ``device``."""
    worker = os.environ.get('DMLC_ROLE') == 'worker'
    if kvstore is None:
        kvstore = 'dist_sync' if worker else 'device'
    if kvstore not in KVSTORE_TYPES:
        raise ValueError('kvstore %r not understood; accepted: %s'
                         % (kvstore, ', '.join(KVSTORE_TYPES)))
    if not _is_dist(kvstore):
        if worker:
            raise ValueError('kvstore %r in a worker of a launched job would train each worker '
                             'alone; use dist_sync, dist_device_sync or dist_async' % kvstore)
        return kvstore
    missing = [v for v in DIST_ENV if not os.environ.get(v)]
    if missing or not worker:
        raise ValueError('kvstore %r needs a parameter-server job (%s unset or not a worker); '
                         'run through: gluon-notes launch -n WORKERS -- train ...'
                         % (kvstore, ', '.join(missing) or 'DMLC_ROLE'))
    if _connected:
        raise ValueError('this process already trained with a distributed kvstore; a launched '
                         'worker runs one training')
    kv = mx.kv.create(kvstore)
    _connected.append(kv)
    return kv


def worker_rank(kv=None):
    """``(rank, num_workers)`` of this process: from ``kv`` if it is a KVStore, else from the
    distributed kvstore this process created, else ``(0, 1)``."""
    if kv is None or isinstance(kv, str):
        kv = _connected[0] if _connected else None
    return (kv.rank, kv.num_workers) if kv is not None else (0, 1)


def local_batch_size(batch_size, num_workers):
    """One worker's share of the global ``batch_size``; it must divide evenly."""
    if batch_size % num_workers:
        lower = batch_size - batch_size % num_workers
        near = ('%d or %d' % (lower, lower + num_workers)) if lower else str(num_workers)
        raise ValueError('batch size %d does not split over %d workers; use a multiple of %d, '
                         'e.g. %s' % (batch_size, num_workers, num_workers, near))
    return batch_size // num_workers


def create_trainer(params, optimizer, optimizer_params=None, kvstore='device'):
    """``gluon.Trainer`` on ``kvstore`` (a name or a KVStore). With a synchronous distributed
    kvstore the servers only add the gradients and every worker applies the same update
    (``update_on_kvstore=False``), which ``train_ch5`` needs for its totals and statistics."""
    sync = _is_dist(kvstore) and 'async' not in _kind(kvstore)
    return gluon.Trainer(params, optimizer, optimizer_params, kvstore=kvstore,
                         update_on_kvstore=False if sync else None)


def _has_deferred(net):
    for p in net.collect_params().values():
        try:
            p.list_data()
        except DeferredInitializationError:
            return True
    return False


def _aux_params(net):
    """The Parameters no trainer updates: batch-norm moving statistics."""
    if not isinstance(net, gluon.Block):
        return []
    return [p for p in net.collect_params().values() if p.grad_req == 'null']


class DataParallel:
    """What ``train_ch5`` keeps consistent over ``ctxs`` and, with a distributed ``kv``, over the
    workers, besides the gradients (see the module's documentation)."""

    def __init__(self, ctxs, kv=None):
        if kv is not None and not isinstance(kv, mx.kv.KVStore):
            raise TypeError('kvstore must be the mx.kv.KVStore the trainer was built with (e.g. '
                            "mx.kv.create('dist_sync')), got %r" % (kv,))
        self.ctxs, self.kv = list(ctxs), kv
        self.rank, self.num_workers = (kv.rank, kv.num_workers) if kv is not None else (0, 1)
        self.distributed = _is_dist(kv)
        # Servers that run the optimizer (async) cannot add anything else.
        self.reduces = self.distributed and 'async' not in kv.type
        self._keys, self._first_step = set(), True

    @property
    def is_root(self):
        return self.rank == 0

    def check_trainer(self, trainer):
        """ValueError unless ``trainer`` was built on this kvstore, with ``update_on_kvstore=False``
        when synchronous."""
        if self.kv is None:
            return
        config = getattr(trainer, '_kvstore_params', {})  # gluon.Trainer's kvstore arguments
        if config.get('kvstore') is not self.kv:
            raise ValueError('the trainer does not use the kvstore given to train_ch5; build it '
                             'with gluon.Trainer(..., kvstore=kv) or gluon_notes.create_trainer')
        if self.reduces and config.get('update_on_kvstore') is not False:
            raise ValueError('with kvstore %r build the trainer with update_on_kvstore=False '
                             '(gluon_notes.create_trainer does): the servers must only add'
                             % self.kv.type)

    def prepare(self, net, trainer, train_iter):
        """Before the first step, with a synchronous kvstore: put rank 0's parameters on the
        servers and on every worker, and wait until that is done.

        A trainer does this inside its first step, but MXNet 1.9 has it race there: the
        parameters and then the gradients go through the same keys (``broadcast``, then
        ``pushpull``) with nothing in between, so a worker's parameter pull can reach a server
        after the gradient sum has replaced the parameters, and that worker starts from the sum
        (in practice zeros). Done here, apart, it also means every worker takes its first
        gradients at the same parameters.
        """
        if not self.reduces:
            return
        if _has_deferred(net):
            X, _ = next(iter(train_iter))
            net(X[:1].as_in_context(self.ctxs[0]))  # predict mode: no statistics move
            # In predict mode MKL-DNN keeps convolution weights in its own layout, which the
            # kvstore cannot push ("We can't generate TBlob for MKLDNN data"); a copy written
            # back is in the default layout.
            for p in net.collect_params().values():
                for d in p.list_data():
                    d[:] = d.copy()
        nd.waitall()
        # The trainer's own initialisation, without the gradient sum its public methods add.
        trainer._init_kvstore()
        trainer._init_params()
        nd.waitall()  # every worker comes here: the broadcast waits for all of them

    def step(self, trainer, batch_size, net):
        """``trainer.step(batch_size)``. A trainer puts the parameters into its kvstore at its first
        step, after the first backward pass, copying the first context's values, moving
        statistics included, over the other contexts' (and rank 0's over the other workers'):
        the first step keeps each context's own statistics, for ``average_aux``."""
        if not self._first_step:
            trainer.step(batch_size)
            return
        self._first_step = False
        aux = _aux_params(net)
        saved = [[d.copy() for d in p.list_data()] for p in aux]
        trainer.step(batch_size)
        for p, copies in zip(aux, saved):
            for d, c in zip(p.list_data(), copies):
                d[:] = c
        nd.waitall()  # as in prepare; every worker comes here, and async servers answer at once

    def sum(self, values):
        """The floats ``values`` added over the workers (float32 on the servers)."""
        if not self.reduces:
            return list(values)
        return self._sum(_TOTALS_KEY, nd.array(values, dtype='float32')).asnumpy().tolist()

    def average_aux(self, net):
        """Set every ``grad_req='null'`` Parameter (moving statistics) of ``net`` to its mean over
        the devices and the workers. Their updates are linear (``m*s + (1-m)*batch_stat``), so
        averaging once per epoch equals keeping one copy updated with the mean batch statistics."""
        if len(self.ctxs) == 1 and not self.reduces:
            return
        aux = _aux_params(net)
        if not aux:
            return
        ctx = self.ctxs[0]
        means = [nd.add_n(*[d.as_in_context(ctx) for d in p.list_data()]) / len(p.list_data())
                 for p in aux]
        flat = nd.concat(*[m.reshape((-1,)) for m in means], dim=0)
        if self.reduces:
            flat = self._sum(_AUX_KEY, flat) / self.num_workers
        start = 0
        for p, m in zip(aux, means):
            value = flat[start:start + m.size].reshape(m.shape)
            start += m.size
            for d in p.list_data():
                # In place: Parameter.set_data would make a trainer that updates on its kvstore
                # start over.
                d[:] = value.as_in_context(d.context)

    def _sum(self, key, value):
        if key not in self._keys:
            self.kv.init(key, nd.zeros(value.shape, ctx=value.context, dtype=value.dtype))
            self._keys.add(key)
        # A fresh array every time: the kvstore may reuse a pushed array as its receive buffer.
        self.kv.push(key, value.copy())
        out = nd.zeros(value.shape, ctx=value.context, dtype=value.dtype)
        self.kv.pull(key, out=out)
        return out


def parameter_checksum(arrays):
    """SHA-256 of the float values of ``arrays`` (NDArrays, or a Block's parameters on their first
    context), in order; equal checksums mean bitwise-equal parameters."""
    if isinstance(arrays, gluon.Block):
        arrays = [p.list_data()[0] for p in arrays.collect_params().values()]
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(a.asnumpy().tobytes())
    return digest.hexdigest()


def write_worker_report(directory, net, train_iter, kv=None):
    """Write ``directory/worker-RANK.json``: rank, number of workers, kvstore, the positions of the
    training examples this worker read, ``parameter_checksum(net)``, and where the worker ran:
    ``SSH_CONNECTION`` (set by sshd for a worker started over ssh) and ``DMLC_NODE_HOST``."""
    rank, num_workers = worker_rank(kv)
    indices = train_iter.example_indices() if hasattr(train_iter, 'example_indices') else None
    report = dict(rank=rank, num_workers=num_workers,
                  kvstore=kv if isinstance(kv, str) or kv is None else kv.type,
                  train_indices=None if indices is None else [int(i) for i in indices],
                  parameter_sha256=parameter_checksum(net),
                  ssh_connection=os.environ.get('SSH_CONNECTION'),
                  node_host=os.environ.get('DMLC_NODE_HOST'))
    path = Path(directory) / ('worker-%d.json' % rank)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report) + '\n')
    return path
