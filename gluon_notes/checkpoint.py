"""Runs that survive: atomic checkpoints, exact resume, a divergence guard, clean interrupts and
one-line reports of file-system faults.

A checkpoint directory holds ``checkpoint.json`` (the manifest) and one complete checkpoint
``ckpt-NNNNNN/`` with ``model.params`` (``save_parameters``, so batch-norm moving statistics
included), ``trainer.states`` (``Trainer.save_states``) and ``state.json`` (position, history,
partial sums of the epoch in progress, the training iterator's numpy RNG state, the run's
configuration). A new checkpoint is written into a temporary directory, each file fsync'ed, the
directory renamed to its final name, and only then does an atomic replace of the manifest switch to
it; the manifest records each file's size and SHA-256. A process killed at any instant therefore
leaves the manifest naming a complete, verified checkpoint (the previous one, or the new one).
``CheckpointStore`` handles these files, ``TrainingRun`` the training loop's side.

File-system faults while a run's files are written (no space left, no permission, a read-only file
system, a file where a directory belongs, a directory removed mid-run) raise ``RunFilesError``, an
OSError whose message is one line naming the path, the cause and what to do, and which checkpoint is
intact. A failed write removes its temporary file or directory, and the manifest only switches to a
complete checkpoint, so the last complete checkpoint survives any of them. MXNet's C++ streams
report a full disk as an MXNetError without errno ("FileStream.Write incomplete"), so parameters are
serialised to memory and written to disk by Python, which reports the operating system's errno.

Exact resume: the iterator's RNG state at the start of the epoch in progress is restored and the
batches already done are skipped, so the resumed run sees the same batches. MXNet has no way to
read its RNG state, so when a seed is given ``mx.random`` is reseeded from (seed, epoch, batch)
before every batch (about 3 ms per batch on CPU); dropout masks and any other draw then depend only
on the position, not on the process. Parameters, trainer states and the epoch's partial loss and
accuracy sums are stored exactly (float32 and JSON floats), so on CPU a resumed run replays the
same float operations in the same order and ends with the same parameters bit for bit; the tests
allow rtol=1e-6, atol=1e-7 for backends whose reductions are not deterministic (e.g. cuDNN).
"""
import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import mxnet as mx
import numpy as np
from mxnet import nd
from mxnet.gluon.parameter import DeferredInitializationError

from . import checks

__all__ = ['CheckpointError', 'DivergenceError', 'TrainingInterrupted', 'RunFilesError',
           'CheckpointStore', 'TrainingRun', 'save_checkpoint', 'load_checkpoint',
           'restore_checkpoint', 'has_checkpoint', 'remove_checkpoint', 'resume_settings']

MANIFEST = 'checkpoint.json'
FORMAT = 'gluon-notes checkpoint 1'
PARAMS, STATES, STATE = 'model.params', 'trainer.states', 'state.json'
# Settings that may change between a run and its resumption without changing the result.
RESUMABLE_CHANGES = ('num_epochs', 'ctx', 'hybridize', 'mxnet', 'checkpoint_every',
                     'checkpoint_minutes')
# With a directory, a checkpoint at least this often by the clock unless told otherwise: an epoch of
# a 224-pixel network takes most of an hour on a 2-core CPU.
DEFAULT_CHECKPOINT_MINUTES = 10.0


class CheckpointError(ValueError):
    """A missing, truncated, corrupt or incompatible checkpoint."""


class DivergenceError(ArithmeticError):
    """The loss or the parameters became NaN or infinite; ``epoch`` and ``batch`` are 1-based."""

    def __init__(self, message, epoch, batch):
        super().__init__(message)
        self.epoch, self.batch = epoch, batch


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training; ``saved`` is the position ``(epoch, batch)`` of the
    checkpoint in ``directory`` to resume from (None if there is none)."""

    def __init__(self, message, signum, saved, directory):
        super().__init__(message)
        self.signum, self.saved, self.directory = signum, saved, directory


class RunFilesError(OSError):
    """An operating-system fault while writing a run's files. ``errno`` and ``filename`` are the
    OSError's; ``cause`` and ``advice`` say what happened and what to do; ``run_dir`` and
    ``saved`` (a position, or None) say which checkpoint is intact, when the run is known."""

    def __init__(self, code, action, path, cause, advice):
        super().__init__(code, cause, str(path))
        self.action, self.cause, self.advice = action, cause, advice
        self.run_dir = self.saved = None

    def describe(self, resume='continue it with resume=True', restart='start the run again'):
        """The one-line message; ``resume`` and ``restart`` say how to continue from the intact
        checkpoint, or without one, as the caller's user would do it."""
        text = 'cannot %s %s: %s; %s' % (self.action, self.filename, self.cause, self.advice)
        if self.run_dir is not None and self.saved is not None:
            text += ('; the last checkpoint (%s) in %s is intact: once fixed, %s'
                     % (describe_position(*self.saved), self.run_dir, resume))
        elif self.run_dir is not None:
            text += '; no checkpoint was written yet: once fixed, %s' % restart
        return text

    def __str__(self):
        return self.describe()


def batch_seed(seed, epoch, batch):
    """The ``mx.random`` seed of batch ``batch`` of epoch ``epoch`` in a run seeded ``seed``."""
    return int(np.random.SeedSequence([seed, epoch, batch]).generate_state(1)[0] >> 1)


def describe_position(epoch, batch):
    """Position ``(epoch, batch)`` (0-based epoch in progress, batches done) in words."""
    return 'epoch %d, batch %d' % (epoch + 1, batch) if batch else 'end of epoch %d' % epoch


# ---------------------------------------------------------------------------------------------
# Files

_CAUSES = {errno.ENOSPC: 'no space left on device', errno.EACCES: 'permission denied',
           errno.EPERM: 'operation not permitted', errno.EROFS: 'read-only file system',
           errno.EIO: 'input/output error'}
_EDQUOT = getattr(errno, 'EDQUOT', None)
if _EDQUOT is not None:
    _CAUSES[_EDQUOT] = 'disk quota exceeded'
_ELSEWHERE = 'or choose another output directory'


def _not_a_directory(directory):
    """``(path, exists)`` of the first of ``directory`` and its parents, from the root down,
    that is not a directory (a file in its place, or nothing); None if all are directories."""
    directory = Path(directory)
    for p in list(reversed(directory.parents)) + [directory]:
        if not os.path.isdir(p):
            return p, os.path.lexists(p)
    return None


def _fault(e, path, directory, action):
    """``e``, an OSError raised while trying to ``action`` ``path`` in ``directory``, as a
    RunFilesError saying what to do about it."""
    code = e.errno
    cause = _CAUSES.get(code) or (e.strerror or str(e)).lower()
    blocked = (_not_a_directory(directory)
               if code in (errno.ENOENT, errno.ENOTDIR, errno.EEXIST) else None)
    existing = next((p for p in [directory] + list(directory.parents) if p.is_dir()), directory)
    if code in (errno.ENOSPC, _EDQUOT):
        advice = 'free space on the file system holding %s, %s' % (existing, _ELSEWHERE)
    elif code in (errno.EACCES, errno.EPERM):
        advice = 'make %s writable for this user, %s' % (existing, _ELSEWHERE)
    elif code == errno.EROFS:
        advice = 'remount that file system read-write, %s' % _ELSEWHERE
    elif code == errno.EIO:
        advice = 'check the disk (the kernel log says more), %s' % _ELSEWHERE
    elif blocked and blocked[1]:
        cause = '%s is a file, not a directory' % blocked[0]
        advice = 'remove or rename that file, %s' % _ELSEWHERE
    elif blocked:
        cause = '%s no longer exists (removed or renamed while the run was writing)' % blocked[0]
        advice = 'put it back and continue from its checkpoint, or start again'
    elif code == errno.EISDIR:
        cause = '%s is a directory' % path
        advice = 'remove or rename it, %s' % _ELSEWHERE
    else:
        advice = 'fix the cause, %s' % _ELSEWHERE
    name = errno.errorcode.get(code)
    return RunFilesError(code, action, path, '%s (%s)' % (cause, name) if name else cause, advice)


@contextlib.contextmanager
def as_run_files_error(path, directory, action='write'):
    """Raise an OSError of the block as a RunFilesError about ``path`` in ``directory``."""
    try:
        yield
    except RunFilesError:
        raise
    except OSError as e:
        raise _fault(e, Path(path), Path(directory), action) from e


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def _fsync_dir(path):
    if os.name == 'posix':  # a directory cannot be opened for fsync on Windows
        fd = os.open(str(path), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_bytes(path, data):
    """Every byte of a run's files reaches the disk here."""
    with open(path, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_files_atomically(files):
    """Write each ``(path, data)`` (bytes) of ``files`` through a hidden, fsync'ed temporary file
    in its directory renamed over ``path``: a reader sees the old file or the new one, never a
    part. Every temporary file is written before the first rename, so a fault (RunFilesError)
    while writing leaves every file as it was; the renames follow the order given, so the file
    that makes the others count goes last."""
    staged = []
    try:
        for path, data in files:
            path = Path(path)
            tmp = path.parent / ('.%s.tmp%d' % (path.name, os.getpid()))
            staged.append((tmp, path))
            with as_run_files_error(path, path.parent):
                _write_bytes(tmp, data)
        for tmp, path in staged:
            with as_run_files_error(path, path.parent):
                os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            _remove_quietly(tmp)
        raise


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` atomically (``write_files_atomically``)."""
    write_files_atomically([(path, data)])


def make_directory(path):
    """Create the directory ``path`` and its parents if missing; RunFilesError if impossible."""
    path = Path(path)
    with as_run_files_error(path, path, 'create the directory'):
        path.mkdir(parents=True, exist_ok=True)
    return path


def _saved_bytes(save):
    """The bytes ``save(path)`` writes into a file, written into memory (a memfd on Linux), so
    that a disk fault is met by Python's write with its errno, not by MXNet's C++ stream."""
    if hasattr(os, 'memfd_create'):
        fd = os.memfd_create('gluon-notes')
        try:
            path = '/proc/self/fd/%d' % fd
            if os.path.exists(path):  # /proc may be missing in a container
                save(path)
                with open(path, 'rb') as f:
                    return f.read()
        finally:
            os.close(fd)
    with tempfile.TemporaryDirectory(prefix='gluon-notes-') as tmp:
        path = os.path.join(tmp, 'data')
        try:
            save(path)
        except mx.base.MXNetError:
            raise OSError(errno.EIO, 'MXNet could not write a temporary file in %s' % tmp) from None
        with open(path, 'rb') as f:
            return f.read()


def save_parameters(net, path):
    """``net.save_parameters(path)``, atomically, a file-system fault raised as RunFilesError."""
    write_atomically(path, _saved_bytes(net.save_parameters))


def _digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _seq_of(name):
    stem = name.split('.tmp')[0].lstrip('.')
    return int(stem[5:]) if stem.startswith('ckpt-') and stem[5:].isdigit() else -1


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CheckpointError('%s: unreadable %s (%s); delete the directory or start over with '
                              '--overwrite' % (path, what, e)) from None


class CheckpointStore:
    """The checkpoint files of ``directory``: the manifest and the one checkpoint it names."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def exists(self):
        """Whether the directory has a checkpoint manifest."""
        return (self.directory / MANIFEST).is_file()

    def create(self):
        """Create the directory (and its parents) if missing."""
        make_directory(self.directory)

    def save(self, net, trainer, state):
        """Write a checkpoint of ``net``, ``trainer`` (may be None) and the JSON-able ``state``
        into the existing directory, atomically (see the module docstring); returns its path.
        On a fault, nothing written is left behind and the manifest still names the previous
        checkpoint."""
        directory = self.directory
        # Serialised before the disk is touched: a fault below is the file system's alone.
        files = {PARAMS: _saved_bytes(net.save_parameters)}
        if trainer is not None:
            files[STATES] = _saved_bytes(trainer.save_states)
        files[STATE] = (json.dumps(state) + '\n').encode()
        with as_run_files_error(directory, directory, 'write a checkpoint into'):
            seq = 1 + max([_seq_of(p.name) for p in directory.iterdir()] + [0])
        name = 'ckpt-%06d' % seq
        tmp, final = directory / ('.%s.tmp%d' % (name, os.getpid())), directory / name
        switched = False
        try:
            with as_run_files_error(final, directory, 'write the checkpoint'):
                shutil.rmtree(tmp, ignore_errors=True)
                tmp.mkdir()
                for fname in sorted(files):
                    _write_bytes(tmp / fname, files[fname])
                _fsync_dir(tmp)
                # A leftover of a process killed before the switch:
                shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
                _fsync_dir(directory)
            manifest = dict(format=FORMAT, checkpoint=name,
                            files={f: dict(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
                                   for f, data in sorted(files.items())},
                            epoch=state['epoch'], batch=state['batch'],
                            model=state.get('config', {}).get('model'))
            # The switch: from here on the manifest names the new checkpoint.
            write_atomically(directory / MANIFEST, (json.dumps(manifest, indent=1) + '\n').encode())
            switched = True
            with as_run_files_error(directory / MANIFEST, directory):
                _fsync_dir(directory)
        except BaseException:
            if not switched:
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.rmtree(final, ignore_errors=True)
            raise
        self._remove_all_but(name)
        return final

    def _remove_all_but(self, name):
        """Leftovers of earlier checkpoints and of killed writes; they hold no data still needed,
        so a failure to remove one is left to the next save."""
        with contextlib.suppress(OSError):
            for p in self.directory.iterdir():
                if p.name.startswith('.' + MANIFEST + '.tmp'):
                    _remove_quietly(p)
                elif p.name != name and (p.name.startswith('ckpt-') or p.name.startswith('.ckpt-')):
                    shutil.rmtree(p, ignore_errors=True)

    def load(self, verify=True):
        """The state saved by the last complete checkpoint, plus ``'path'`` (its directory). With
        ``verify``, each file's size and SHA-256 are checked against the manifest."""
        directory = self.directory
        if not self.exists():
            raise CheckpointError('no checkpoint in %s (%s is missing); run without --resume '
                                  '(resume=) to start a new run' % (directory, MANIFEST))
        manifest = _read_json(directory / MANIFEST, 'checkpoint manifest')
        try:
            fmt, name, files = manifest.get('format'), manifest['checkpoint'], manifest['files']
            sizes = {fname: (int(meta['bytes']), str(meta['sha256']))
                     for fname, meta in files.items()}
        except (AttributeError, KeyError, TypeError, ValueError):
            fmt, sizes = None, {}
        if fmt != FORMAT or STATE not in sizes or PARAMS not in sizes:
            raise CheckpointError('%s is not a valid gluon-notes checkpoint manifest (expected '
                                  'format %r naming %s and %s)'
                                  % (directory / MANIFEST, FORMAT, PARAMS, STATE))
        path = directory / str(name)
        for fname, (size, digest) in sizes.items():
            f = path / fname
            if not f.is_file():
                raise CheckpointError('%s is missing; the checkpoint in %s is incomplete'
                                      % (f, directory))
            if verify and f.stat().st_size != size:
                raise CheckpointError('%s is truncated or altered: %d bytes, the manifest says %d'
                                      % (f, f.stat().st_size, size))
            if verify and _digest(f) != digest:
                raise CheckpointError('%s is corrupt: its SHA-256 does not match the manifest'
                                      % f)
        state = _read_json(path / STATE, 'checkpoint state')
        if not isinstance(state, dict):
            raise CheckpointError('%s is not a checkpoint state' % (path / STATE))
        state['path'] = str(path)
        return state

    def describe(self):
        """``'model, position'`` of the checkpoint, from the manifest alone."""
        try:
            m = json.loads((self.directory / MANIFEST).read_text())
            return '%s, %s' % (m.get('model') or 'model', describe_position(m['epoch'], m['batch']))
        except (OSError, ValueError, KeyError, TypeError):
            return MANIFEST

    def remove(self):
        """Delete the checkpoint (manifest and checkpoint directories), if any."""
        directory = self.directory
        if not directory.is_dir():
            return
        with as_run_files_error(directory / MANIFEST, directory, 'remove'):
            (directory / MANIFEST).unlink(missing_ok=True)
        for p in directory.iterdir():
            if p.name.startswith('ckpt-') or p.name.startswith('.ckpt-') or p.name.startswith(
                    '.' + MANIFEST):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    _remove_quietly(p)

    def note(self, error):
        """Record in ``error`` (a RunFilesError) which checkpoint of the directory is intact,
        unless already recorded or the directory is gone."""
        if error.run_dir is not None or not self.directory.is_dir():
            return error
        error.run_dir = self.directory
        try:
            state = self.load()
            error.saved = (state['epoch'], state['batch'])
        except (CheckpointError, OSError, KeyError):
            error.saved = None
        return error


@contextlib.contextmanager
def reporting_faults(directory):
    """Add to a RunFilesError raised in the block which checkpoint of the run directory
    ``directory`` (None: no run directory) is intact."""
    try:
        yield
    except RunFilesError as e:
        if directory is not None:
            CheckpointStore(directory).note(e)
        raise


def has_checkpoint(directory):
    """Whether ``directory`` has a checkpoint manifest."""
    return CheckpointStore(directory).exists()


def save_checkpoint(directory, net, trainer, state):
    """Write a checkpoint of ``net``, ``trainer`` (may be None) and the JSON-able ``state`` into
    ``directory`` (created if missing), atomically; returns its path."""
    store = CheckpointStore(directory)
    store.create()
    return store.save(net, trainer, state)


def load_checkpoint(directory, verify=True):
    """The state saved by the last complete checkpoint in ``directory``, plus ``'path'`` (its
    directory). With ``verify``, each file's size and SHA-256 are checked against the manifest."""
    return CheckpointStore(directory).load(verify)


def restore_checkpoint(state, net, trainer=None, ctx=None):
    """Load the parameters (and trainer states) of a checkpoint ``state`` (``load_checkpoint``)
    into ``net`` on ``ctx``; CheckpointError names what differs if it is another network's."""
    path = Path(state['path'])
    saved = nd.load(str(path / PARAMS))
    params = net._collect_params_with_prefix()  # the structural names save_parameters writes
    missing, extra = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
    if missing or extra:
        raise CheckpointError('the checkpoint in %s holds the parameters of another network '
                              '(not in the checkpoint: %s; not in this network: %s)'
                              % (path.parent, ', '.join(missing[:5]) or '-',
                                 ', '.join(extra[:5]) or '-'))
    for key, p in params.items():
        shape, own = saved[key].shape, tuple(p.shape) if p.shape is not None else None
        # Deferred initialisation leaves unknown dimensions as 0.
        if own is not None and (len(own) != len(shape) or
                                any(a and a != b for a, b in zip(own, shape))):
            raise CheckpointError('the checkpoint in %s holds parameter %s of shape %s, this '
                                  'network has shape %s' % (path.parent, key, shape, own))
    net.load_parameters(str(path / PARAMS), ctx=ctx)
    if trainer is not None and (path / STATES).is_file():
        trainer.load_states(str(path / STATES))


def remove_checkpoint(directory):
    """Delete the checkpoint (manifest and checkpoint directories) in ``directory``, if any."""
    CheckpointStore(directory).remove()


# ---------------------------------------------------------------------------------------------
# The training loop's hooks

def _rng_to_json(state):
    kind, keys, pos, has_gauss, gauss = state
    return [kind, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(gauss)]


def _rng_from_json(state):
    kind, keys, pos, has_gauss, gauss = state
    return kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss


def _differences(saved, current):
    keys = sorted((set(saved) | set(current)) - set(RESUMABLE_CHANGES))
    return ['%s (checkpoint %r, now %r)' % (k, saved.get(k), current.get(k))
            for k in keys if saved.get(k) != current.get(k)]


class TrainingRun:
    """What the training loop needs between batches to survive: resume position, per-batch
    reseeding, checkpoints (through a ``CheckpointStore``), the divergence guard and SIGINT/SIGTERM
    handling.

    Without ``directory`` it only reseeds (with ``seed``) and guards against divergence. With it,
    a checkpoint is written at the end of every epoch, every ``every`` batches, at the first batch
    boundary ``minutes`` after the last checkpoint (default ``DEFAULT_CHECKPOINT_MINUTES``; 0
    turns the clock off) and at the batch boundary following SIGINT/SIGTERM (then
    TrainingInterrupted is raised). ``resume`` continues
    from the checkpoint there; ``config`` (JSON-able) is stored and must match on resume except
    for RESUMABLE_CHANGES. A directory holding a checkpoint is refused unless ``resume``; a new one
    is created at once, so that a path it cannot be fails before training.
    """

    def __init__(self, num_epochs, *, net=None, trainer=None, ctx=None, directory=None, every=None,
                 minutes=None, resume=False, seed=None, config=None, lr=None, clock=time.monotonic):
        self.num_epochs = checks.integer('num_epochs', num_epochs, optional=False)
        self.net, self.trainer = net, trainer
        self.seed, self.lr = checks.seed(seed), lr
        self.every = checks.integer('checkpoint_every', every)
        minutes = checks.checkpoint_minutes(minutes)
        if minutes is None and directory is not None:
            minutes = DEFAULT_CHECKPOINT_MINUTES
        self.minutes = minutes or None
        self._clock = clock
        self._last_write = clock()
        self.directory = Path(directory) if directory is not None else None
        if self.directory is None and (self.every or resume or minutes):
            raise ValueError('checkpoint_every, checkpoint_minutes and resume need checkpoint_dir '
                             '(--out); got %s' % checks.given(checkpoint_every=self.every,
                                                              checkpoint_minutes=minutes,
                                                              resume=resume))
        self.store = CheckpointStore(self.directory) if self.directory is not None else None
        self.config = dict(config or {}, seed=self.seed)
        self.history, self.start_epoch, self.batch, self.epoch = [], 0, 0, 0
        self.saved, self.stop_signal, self.resumed = None, None, None
        self._partial, self._rng_state, self._epoch_rng = None, None, None
        self._skip, self._num_batches = 0, None
        if self.store is None:
            return
        if resume:
            self._resume(ctx)
        elif self.store.exists():
            raise CheckpointError('%s already holds a checkpoint (%s); pass resume=True (--resume) '
                                  'to continue it, or remove it to start over (--overwrite)'
                                  % (self.directory, self.store.describe()))
        else:
            self.store.create()

    def _resume(self, ctx):
        state = self.store.load()
        diffs = _differences(state.get('config', {}), self.config)
        if diffs:
            raise CheckpointError('cannot resume %s with different settings: %s; resume with the '
                                  'checkpoint\'s settings or start over (--overwrite)'
                                  % (self.directory, '; '.join(diffs)))
        epoch, batch = state['epoch'], state['batch']
        if epoch > self.num_epochs or (epoch == self.num_epochs and batch):
            raise CheckpointError('the checkpoint in %s is at %s, past num_epochs=%d'
                                  % (self.directory, describe_position(epoch, batch),
                                     self.num_epochs))
        restore_checkpoint(state, self.net, self.trainer, ctx)
        self.history = list(state['history'])
        self.start_epoch, self._skip = epoch, batch
        self._partial = state.get('partial')
        self._rng_state = state.get('rng')
        self.saved = self.resumed = (epoch, batch)

    # -- the loop's calls ----------------------------------------------------------------------

    def begin_epoch(self, epoch, train_iter):
        """``(batches, loss_sum, acc_sum, n, elapsed)`` of epoch ``epoch``: the batches still to
        run and the sums of those already done (zeros unless resuming mid-epoch)."""
        rng = getattr(train_iter, 'rng', None)
        if self._rng_state is not None and isinstance(rng, np.random.RandomState):
            rng.set_state(_rng_from_json(self._rng_state))
        self._rng_state = None
        self._epoch_rng = rng.get_state() if isinstance(rng, np.random.RandomState) else None
        skip, self._skip = self._skip, 0
        self._num_batches = len(train_iter) if hasattr(train_iter, '__len__') else None
        partial, self._partial = self._partial or {}, None
        self.epoch, self.batch = epoch, skip
        return (self._batches(train_iter, skip), partial.get('loss', 0.0), partial.get('acc', 0.0),
                partial.get('n', 0), partial.get('elapsed', 0.0))

    def _batches(self, train_iter, skip):
        it = iter(train_iter)
        for _ in range(skip):  # same permutation as the interrupted epoch, so skip what it did
            next(it, None)
        for X, y in it:
            if self.seed is not None:
                mx.random.seed(batch_seed(self.seed, self.epoch, self.batch))
            yield X, y

    def check_loss(self, batch, value):
        """DivergenceError if ``value`` (the running loss sum up to batch ``batch``, 0-based, an
        NDArray the loop already waits for, or a float) is NaN or infinite."""
        value = value.asscalar() if isinstance(value, nd.NDArray) else value
        if not math.isfinite(value):
            self._diverged('the loss became %s' % value, batch)

    def sync(self, pending, loss_sums, acc_sums):
        """Check the lagged loss sums still pending, in order, then return the epoch's (loss, acc)
        sums so far as floats."""
        while pending:
            self.check_loss(*pending.pop(0))
        loss = float(sum(s.asscalar() for s in loss_sums))
        self.check_loss(self.batch - 1, loss)
        return loss, float(sum(s.asscalar() for s in acc_sums))

    def end_batch(self):
        """Count the batch; True when a checkpoint is due now (every N batches or a signal)."""
        self.batch += 1
        if self.directory is None:
            return False
        if self.stop_signal is not None:
            return True
        if self.batch == self._num_batches:  # left to the end-of-epoch checkpoint
            return False
        return bool(self.every and self.batch % self.every == 0) or bool(
            self.minutes and self._clock() - self._last_write >= 60 * self.minutes)

    def save(self, sums, n, elapsed):
        """Checkpoint the epoch in progress; raise TrainingInterrupted after it if a signal came."""
        partial = dict(loss=sums[0], acc=sums[1], n=n, elapsed=elapsed)
        self._write(self.epoch, self.batch, partial, self._epoch_rng)
        if self.stop_signal is not None:
            raise self._interrupted()

    def end_epoch(self, epoch, history, train_iter):
        """Check the parameters and, with a directory, checkpoint the finished epoch."""
        self._check_params()
        if self.directory is None:
            return
        rng = getattr(train_iter, 'rng', None)
        rng_state = rng.get_state() if isinstance(rng, np.random.RandomState) else None
        self.history = history
        self._write(epoch + 1, 0, None, rng_state, checked=True)
        if self.stop_signal is not None:
            raise self._interrupted()

    # -- internals -----------------------------------------------------------------------------

    def _write(self, epoch, batch, partial, rng_state, checked=False):
        if not checked:
            self._check_params()
        state = dict(epoch=epoch, batch=batch, history=self.history, partial=partial,
                     rng=_rng_to_json(rng_state) if rng_state is not None else None,
                     config=self.config)
        self.store.save(self.net, self.trainer, state)
        self.saved = (epoch, batch)
        self._last_write = self._clock()

    def _check_params(self):
        """DivergenceError if a parameter is NaN or infinite after the current batch."""
        if self.net is None:
            return
        datas = []
        for p in self.net.collect_params().values():
            try:
                datas.append(p.data())
            except DeferredInitializationError:  # not reached by a forward pass yet
                pass
        # x * 0 is 0 for every finite x and NaN otherwise, and the sum cannot overflow.
        if datas and not math.isfinite(nd.add_n(*[nd.sum(d * 0).as_in_context(datas[0].context)
                                                  for d in datas]).asscalar()):
            self._diverged('the parameters became NaN or infinite', self.batch - 1)

    def _diverged(self, what, batch):
        kept = ('the last good checkpoint (%s) is kept in %s'
                % (describe_position(*self.saved), self.directory)
                if self.saved and self.directory else 'no checkpoint was written')
        lr = ' (now %g)' % self.lr if self.lr is not None else ''
        raise DivergenceError('training diverged: %s at epoch %d, batch %d; %s; lower the '
                              'learning rate%s and start again'
                              % (what, self.epoch + 1, batch + 1, kept, lr),
                              self.epoch + 1, batch + 1)

    def _interrupted(self):
        name = signal.Signals(self.stop_signal).name
        return TrainingInterrupted('interrupted by %s; checkpoint saved in %s at %s; continue it '
                                   'with resume=True' % (name, self.directory,
                                                         describe_position(*self.saved)),
                                   self.stop_signal, self.saved, self.directory)

    def reporting_faults(self):
        """A context in which a RunFilesError is completed with the checkpoint still intact."""
        return reporting_faults(self.directory)

    @contextlib.contextmanager
    def handling_signals(self):
        """While training with a directory (in the main thread), SIGINT/SIGTERM ask for a
        checkpoint at the next batch boundary; a second signal stops at once. The previous
        handlers are restored on exit."""
        if self.directory is None or threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {s: signal.getsignal(s) for s in signals}

        def restore():
            for s, h in previous.items():
                signal.signal(s, h if h is not None else signal.SIG_DFL)

        def handler(signum, frame):
            if self.stop_signal is None:
                self.stop_signal = signum
                return
            restore()
            where = describe_position(*self.saved) if self.saved else None
            raise TrainingInterrupted(
                'interrupted again by %s while stopping; %s' % (
                    signal.Signals(signum).name,
                    'the checkpoint in %s at %s is intact' % (self.directory, where) if where
                    else 'no checkpoint was written'), signum, self.saved, self.directory)

        for s in signals:
            signal.signal(s, handler)
        try:
            yield
        finally:
            restore()


def resume_settings(directory, model, settings):
    """``settings`` (a dict) with its None values replaced by those of the run checkpointed in
    ``directory``; CheckpointError if there is none, if it is a run of another model than
    ``model``, or if a setting given differs from the checkpoint's."""
    state = load_checkpoint(directory, verify=False)
    config = state.get('config', {})
    if config.get('model') != model:
        raise CheckpointError('%s holds a checkpoint of model %r, not %r; resume it with its own '
                              'model or start over (--overwrite)'
                              % (directory, config.get('model'), model))
    given = {k: v for k, v in settings.items() if v is not None}
    diffs = _differences({k: config.get(k) for k in given}, given)
    if diffs:
        raise CheckpointError('cannot resume %s with different settings: %s; leave them out to '
                              'use the checkpoint\'s, or start over (--overwrite)'
                              % (directory, '; '.join(diffs)))
    return {k: config.get(k) if v is None else v for k, v in settings.items()}
