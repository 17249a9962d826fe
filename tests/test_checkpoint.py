"""Checkpoints, resume, the divergence guard and interrupts (gluon_notes.checkpoint).

The reference for every resumed run is the same run left uninterrupted; killed processes are real
``gluon-notes train`` subprocesses, each bounded by a timeout and killed in a ``finally``.
"""
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, nd

import gluon_notes as gn
from gluon_notes import checkpoint as ckpt
from gluon_notes.checkpoint import (CheckpointError, DivergenceError, TrainingInterrupted,
                                    has_checkpoint, load_checkpoint, save_checkpoint)
from gluon_notes.cli import main
from gluon_notes.runner import seed_everything, train_model

# 16 batches per epoch, 48 in all; the CLI runs checkpoint every 4 batches and at each epoch's end.
RUN = dict(subset=1024, num_epochs=3, batch_size=64)
CLI_RUN = ['--subset', '1024', '--epochs', '3', '--batch-size', '64', '--checkpoint-every', '4',
           '--ctx', 'cpu']
# Same floats in the same order: equal bit for bit on CPU; the slack is for other backends.
RTOL, ATOL = 1e-6, 1e-7


def _file_params(path):
    return {k: v.asnumpy() for k, v in nd.load(str(path)).items()}


def _net_params(net):
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}


def _assert_same_params(got, expected):
    assert sorted(got) == sorted(expected)
    for k in expected:
        np.testing.assert_allclose(got[k], expected[k], rtol=RTOL, atol=ATOL, err_msg=k)


_REFERENCES = {}


def _reference(seed):
    """Final parameters of the uninterrupted run (in-process: the CLI runs the same code)."""
    if seed not in _REFERENCES:
        net, _ = train_model('lenet', ctx='cpu', seed=seed, verbose=False, progress=False, **RUN)
        _REFERENCES[seed] = _net_params(net)
    return _REFERENCES[seed]


def _start(*args):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    return subprocess.Popen([sys.executable, '-m', 'gluon_notes.cli', *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


def _manifest(out):
    try:
        return (out / ckpt.MANIFEST).read_bytes()
    except FileNotFoundError:
        return None


def _wait_for_new_checkpoint(proc, out, before, timeout=90):
    """Wait until ``proc`` has written a checkpoint other than ``before`` (or has exited)."""
    deadline = time.time() + timeout
    while proc.poll() is None and _manifest(out) in (before, None):
        assert time.time() < deadline, 'no checkpoint after %d s' % timeout
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# Killed processes

def _kill_twice_then_finish(out, train_args, seed, pause):
    """Run ``gluon-notes train`` into ``out``, SIGKILL it ``pause(attempt, proc)`` after each of
    its first two new checkpoints, resume it each time, and let the third run finish; returns the
    number of kills. Killed anywhere, even mid-write, the manifest names a complete checkpoint."""
    kills = 0
    for attempt in range(3):
        before = _manifest(out)
        proc = _start('train', 'lenet', *train_args, '--seed', str(seed), '--out', str(out),
                      *(['--resume'] if attempt else []))
        try:
            if attempt < 2:
                _wait_for_new_checkpoint(proc, out, before)
                pause(attempt, proc)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=30)
                    kills += 1
                    load_checkpoint(out)
                    continue
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            break
        finally:
            _stop(proc)
    return kills


@pytest.mark.parametrize('seed', [11, 12])
def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_parameters(tmp_path, seed):
    out, rng = tmp_path / 'run', random.Random(seed)
    kills = _kill_twice_then_finish(out, CLI_RUN, seed,
                                    lambda attempt, proc: time.sleep(rng.uniform(0.0, 1.2)))
    assert kills >= 1
    _assert_same_params(_file_params(out / 'model.params'), _reference(seed))
    history = json.loads((out / 'history.json').read_text())
    assert [r['epoch'] for r in history] == [1, 2, 3]
    # Only the manifest's checkpoint remains: leftovers of killed writes were cleaned up.
    assert sorted(p.name for p in out.iterdir() if 'ckpt' in p.name) == [
        json.loads(_manifest(out))['checkpoint']]


def test_sigkill_with_checkpoints_by_the_clock_then_resume_gives_the_uninterrupted_parameters(
        tmp_path):
    """Checkpoints every 60 ms (--checkpoint-minutes 0.001) fall on whatever batch the clock says,
    mid-epoch; killed after some of them, the resumed run still ends bit for bit as the
    uninterrupted one."""
    out, seed, positions = tmp_path / 'run', 13, set()
    clock_run = [a for a in CLI_RUN if a not in ('--checkpoint-every', '4')]

    def watch(attempt, proc):  # the positions of the checkpoints written before the kill
        deadline = time.time() + 0.3 + 0.3 * attempt
        while time.time() < deadline and proc.poll() is None:
            manifest = _manifest(out)
            if manifest:
                positions.add(json.loads(manifest)['batch'])
            time.sleep(0.005)
    kills = _kill_twice_then_finish(out, clock_run + ['--checkpoint-minutes', '0.001'], seed,
                                    watch)
    assert kills >= 1
    assert positions - {0}, 'no checkpoint fell mid-epoch: %s' % positions
    _assert_same_params(_file_params(out / 'model.params'), _reference(seed))
    assert [r['epoch'] for r in json.loads((out / 'history.json').read_text())] == [1, 2, 3]


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_clock_checkpoint_is_due_after_the_interval_at_a_batch_boundary(tmp_path):
    clock = _Clock()
    run = ckpt.TrainingRun(2, directory=tmp_path, minutes=2, clock=clock)
    run._num_batches = 10
    clock.now = 119.0
    assert not run.end_batch()
    clock.now = 120.0
    assert run.end_batch()
    run._last_write = clock.now  # as _write does
    clock.now = 200.0
    assert not run.end_batch()
    run.batch = 9  # the epoch's last batch is left to the end-of-epoch checkpoint
    clock.now = 1000.0
    assert not run.end_batch()


def test_clock_checkpoints_default_to_ten_minutes_with_a_directory_and_zero_turns_them_off(
        tmp_path):
    assert ckpt.TrainingRun(1, directory=tmp_path).minutes == ckpt.DEFAULT_CHECKPOINT_MINUTES == 10
    assert ckpt.TrainingRun(1, directory=tmp_path, minutes=0).minutes is None
    assert ckpt.TrainingRun(1).minutes is None
    for bad in (-1, float('nan'), float('inf'), '5', True):
        with pytest.raises(ValueError, match=r'checkpoint_minutes must be a finite number of '
                                             r'minutes >= 0 \(0: off\), got'):
            ckpt.TrainingRun(1, directory=tmp_path, minutes=bad)


def test_sigint_checkpoints_exits_130_and_resumes_exactly(tmp_path):
    out = tmp_path / 'run'
    proc = _start('train', 'lenet', *CLI_RUN, '--seed', '11', '--out', str(out))
    try:
        _wait_for_new_checkpoint(proc, out, None)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        _stop(proc)
    assert proc.returncode == 130, err
    assert 'interrupted by SIGINT' in err
    assert 'resume with: gluon-notes train lenet --out %s --resume' % out in err
    state = load_checkpoint(out)
    assert 0 < state['epoch'] * 16 + state['batch'] < 48
    resumed = _start('train', 'lenet', '--out', str(out), '--resume', '--ctx', 'cpu')
    try:
        stdout, err = resumed.communicate(timeout=120)
    finally:
        _stop(resumed)
    assert resumed.returncode == 0, err
    assert 'resuming from %s at ' % out in stdout
    _assert_same_params(_file_params(out / 'model.params'), _reference(11))


def test_sigterm_checkpoints_and_exits_143(tmp_path, capsys):
    out = tmp_path / 'run'

    def guard(*args):  # never let SIGTERM end pytest
        pass
    previous = signal.signal(signal.SIGTERM, guard)

    def send_when_training():
        deadline = time.time() + 60
        while not has_checkpoint(out) and time.time() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
    sender = threading.Thread(target=send_when_training)
    sender.start()
    try:
        code = main(['train', 'lenet', '--subset', '1024', '--epochs', '20', '--batch-size', '64',
                     '--checkpoint-every', '2', '--ctx', 'cpu', '--seed', '3', '--out', str(out)])
        restored = signal.getsignal(signal.SIGTERM)
    finally:
        sender.join(timeout=70)
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    assert code == 143, err
    assert 'interrupted by SIGTERM' in err and '--resume' in err
    assert len(err.strip().splitlines()) == 1
    assert restored is guard
    state = load_checkpoint(out)
    assert state['epoch'] < 20 and not (out / 'model.params').exists()


class _SignalAt:
    """A training iterator sending ``signum`` to this process while producing batch ``at``
    (0-based, counted over all epochs); ``rng`` is the wrapped iterator's, for exact resume."""

    def __init__(self, data_iter, at, signum=signal.SIGINT):
        self.data_iter, self.at, self.signum, self.count = data_iter, at, signum, 0

    rng = property(lambda self: self.data_iter.rng)

    def __len__(self):
        return len(self.data_iter)

    def __iter__(self):
        for batch in self.data_iter:
            if self.count == self.at:
                os.kill(os.getpid(), self.signum)
            self.count += 1
            yield batch


def _dropout_run(ctx, seed=7):
    """mlp_dropout (SGD with momentum) on 640 examples, 10 batches per epoch: dropout draws
    random masks every batch, so an exact resume needs the per-batch reseeding."""
    seed_everything(seed)
    train_iter, test_iter = gn.load_data_fashion_mnist(64, subset=640)
    net = gn.get_model('mlp_dropout')
    net.initialize(mx.init.Normal(sigma=0.01), ctx=ctx)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1, 'momentum': 0.9})
    return net, trainer, train_iter, test_iter


def test_python_interrupt_and_resume_with_dropout_and_momentum(tmp_path):
    ctx = mx.cpu()
    net, trainer, train_iter, test_iter = _dropout_run(ctx)
    expected_history = gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 2, seed=7,
                                    verbose=False, progress=False)
    expected = _net_params(net)

    net, trainer, train_iter, test_iter = _dropout_run(ctx)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as info:
        gn.train_ch5(net, _SignalAt(train_iter, 12), test_iter, 64, trainer, ctx, 2, seed=7,
                     verbose=False, progress=False, checkpoint_dir=tmp_path)
    # The signal came while batch 3 of epoch 2 was produced: the checkpoint follows that batch.
    assert info.value.saved == (1, 3) and info.value.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGINT) is handler

    # A new process would rebuild everything: a fresh network, trainer and iterator.
    net, trainer, train_iter, test_iter = _dropout_run(ctx, seed=99)
    history = gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 2, seed=7, verbose=False,
                           progress=False, checkpoint_dir=tmp_path, resume=True)
    _assert_same_params(_net_params(net), expected)
    for got, want in zip(history, expected_history):
        assert (got['epoch'], got['loss'], got['train_acc'], got['test_acc']) == pytest.approx(
            (want['epoch'], want['loss'], want['train_acc'], want['test_acc']), rel=1e-6)


def test_resume_refuses_another_network_and_other_settings(tmp_path):
    ctx = mx.cpu()
    net, trainer, train_iter, test_iter = _dropout_run(ctx)
    gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 2, seed=7, verbose=False,
                 progress=False, checkpoint_dir=tmp_path)
    other = gn.get_model('mlp')
    other.initialize(ctx=ctx)
    other_trainer = gluon.Trainer(other.collect_params(), 'sgd', {'learning_rate': 0.1,
                                                                  'momentum': 0.9})
    with pytest.raises(CheckpointError, match='parameters of another network'):
        gn.train_ch5(other, train_iter, test_iter, 64, other_trainer, ctx, 2, seed=7,
                     verbose=False, checkpoint_dir=tmp_path, resume=True)
    net, trainer, train_iter, test_iter = _dropout_run(ctx)
    with pytest.raises(CheckpointError, match=r'batch_size \(checkpoint 64, now 32\)'):
        gn.train_ch5(net, train_iter, test_iter, 32, trainer, ctx, 2, seed=7, verbose=False,
                     checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match=r'seed \(checkpoint 7, now 8\)'):
        gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 2, seed=8, verbose=False,
                     checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match='already holds a checkpoint'):
        gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 2, seed=7, verbose=False,
                     checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match='at end of epoch 2, past num_epochs=1'):
        gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 1, seed=7, verbose=False,
                     checkpoint_dir=tmp_path, resume=True)


# ---------------------------------------------------------------------------------------------
# Atomic writes


class _Crash(Exception):
    pass


def _tiny_net():
    net = gluon.nn.Dense(3)
    net.initialize(mx.init.Normal(1.0))
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1, 'momentum': 0.9})
    with mx.autograd.record():
        loss = net(nd.ones((2, 4))).sum()
    loss.backward()
    trainer.step(2)
    return net, trainer


def _state(tag):
    return dict(epoch=1, batch=tag, history=[], partial=None, rng=None, config=dict(model='tiny'))


def test_a_crash_at_any_step_of_a_save_leaves_a_complete_checkpoint(tmp_path, monkeypatch):
    """Stop a save before each of its file-system steps (and half-way through each write): the
    manifest then names either the old checkpoint or, once switched, the new one, never a mix."""
    steps = []

    class CrashingOS:
        def __getattr__(self, name):
            return getattr(os, name)

        def __init__(self):
            for name in ('rename', 'replace', 'fsync'):
                setattr(self, name, self._step(getattr(os, name)))

        @staticmethod
        def _step(fn):
            def wrapped(*args):
                steps.append(fn.__name__)
                if len(steps) == crash_at:
                    raise _Crash(fn.__name__)
                return fn(*args)
            return wrapped

    def half_write(path, data):
        steps.append('write')
        if len(steps) == crash_at:
            with open(path, 'wb') as f:
                f.write(data[:len(data) // 2])
            raise _Crash('write')
        original_write(path, data)

    original_write = ckpt._write_bytes
    monkeypatch.setattr(ckpt, 'os', CrashingOS())
    monkeypatch.setattr(ckpt, '_write_bytes', half_write)
    net, trainer = _tiny_net()
    old = net.weight.data().asnumpy()
    crash_at = None
    save_checkpoint(tmp_path / 'dry', net, trainer, _state(1))
    total, replace_step = len(steps), steps.index('replace') + 1
    assert total >= 8  # 2 file fsyncs, the state write, 2 dir fsyncs, rename, manifest, replace
    for crash_at_step in range(1, total + 1):
        d = tmp_path / ('c%d' % crash_at_step)
        net.weight.set_data(nd.array(old))
        crash_at = None
        save_checkpoint(d, net, trainer, _state(1))
        net.weight.set_data(nd.array(old + 1))
        steps.clear()
        crash_at = crash_at_step
        with pytest.raises(_Crash):
            save_checkpoint(d, net, trainer, _state(2))
        crash_at = None
        state = load_checkpoint(d)  # verifies sizes and digests
        switched = state['batch'] == 2
        assert switched == (crash_at_step > replace_step)
        check = gluon.nn.Dense(3)
        check.initialize()
        ckpt.restore_checkpoint(state, check)
        np.testing.assert_array_equal(check.weight.data().asnumpy(), old + 1 if switched else old)
        # The next save succeeds and cleans up what the crash left.
        save_checkpoint(d, net, trainer, _state(3))
        assert load_checkpoint(d)['batch'] == 3
        assert sorted(p.name for p in d.iterdir()) == sorted(
            [ckpt.MANIFEST, os.path.basename(load_checkpoint(d)['path'])])


def test_truncated_or_corrupt_checkpoint_files_are_one_line_errors(tmp_path):
    net, trainer = _tiny_net()
    save_checkpoint(tmp_path, net, trainer, _state(1))
    params = tmp_path / load_checkpoint(tmp_path)['path'] / ckpt.PARAMS
    raw = params.read_bytes()
    params.write_bytes(raw[:-10])
    with pytest.raises(CheckpointError, match='truncated or altered: %d bytes, the manifest says %d'
                       % (len(raw) - 10, len(raw))):
        load_checkpoint(tmp_path)
    params.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(CheckpointError, match='corrupt'):
        load_checkpoint(tmp_path)
    (tmp_path / ckpt.MANIFEST).write_text('{"format": ')
    with pytest.raises(CheckpointError, match='unreadable checkpoint manifest'):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match='no checkpoint in'):
        load_checkpoint(tmp_path / 'elsewhere')


# ---------------------------------------------------------------------------------------------
# Divergence


class _NaNLossAt:
    """Softmax cross-entropy, NaN on call ``at`` (0-based)."""

    def __init__(self, at):
        self.loss, self.at, self.calls = gluon.loss.SoftmaxCrossEntropyLoss(), at, 0

    def __call__(self, y_hat, y):
        l = self.loss(y_hat, y)
        self.calls += 1
        return l * float('nan') if self.calls - 1 == self.at else l


def test_nan_loss_stops_at_its_batch_and_keeps_the_last_good_checkpoint(tmp_path):
    ctx = mx.cpu()
    net, trainer, train_iter, test_iter = _dropout_run(ctx)
    with pytest.raises(DivergenceError) as info:
        gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 2, loss=_NaNLossAt(15),
                     verbose=False, progress=False, checkpoint_dir=tmp_path, checkpoint_every=2)
    e = info.value
    assert isinstance(e, ArithmeticError)
    assert (e.epoch, e.batch) == (2, 6)  # call 15 = batch 6 of epoch 2 (10 batches per epoch)
    assert 'the loss became nan at epoch 2, batch 6' in str(e)
    assert 'lower the learning rate' in str(e)
    state = load_checkpoint(tmp_path)
    assert (state['epoch'], state['batch']) == (1, 4)
    assert 'last good checkpoint (epoch 2, batch 4)' in str(e)
    params = _file_params(os.path.join(state['path'], ckpt.PARAMS))
    assert all(np.isfinite(v).all() for v in params.values())


class _NaNParamsAfterStep(gluon.Trainer):
    """A trainer whose ``at``-th step (0-based) leaves a NaN in the first parameter."""

    def __init__(self, params, at):
        super().__init__(params, 'sgd', {'learning_rate': 0.1})
        self.at, self.steps = at, 0

    def step(self, batch_size, ignore_stale_grad=False):
        super().step(batch_size, ignore_stale_grad)
        if self.steps == self.at:
            p = self._params[0]
            p.set_data(p.data() * float('nan'))
        self.steps += 1


def test_nan_parameters_are_never_checkpointed(tmp_path):
    ctx = mx.cpu()
    net, _, train_iter, test_iter = _dropout_run(ctx)
    trainer = _NaNParamsAfterStep(net.collect_params(), at=3)
    # Batch 4's loss is still finite (computed before the step), its checkpoint is due: refused.
    message = (r'the parameters became NaN or infinite at epoch 1, batch 4; '
               r'the last good checkpoint \(epoch 1, batch 2\)')
    with pytest.raises(DivergenceError, match=message):
        gn.train_ch5(net, train_iter, test_iter, 64, trainer, ctx, 1, verbose=False,
                     progress=False, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert load_checkpoint(tmp_path)['batch'] == 2


def test_cli_divergence_is_one_line_exit_3_and_keeps_the_checkpoint(tmp_path, capsys):
    out = tmp_path / 'run'
    # mlp at lr 1e9: ReLU activations blow up and the loss is NaN from batch 6 on.
    code = main(['train', 'mlp', '--lr', '1e9', '--subset', '1024', '--batch-size', '64',
                 '--epochs', '1', '--checkpoint-every', '2', '--ctx', 'cpu', '--seed', '0',
                 '--out', str(out)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert len(err.strip().splitlines()) == 1
    assert 'training diverged' in err and 'lower the learning rate (now 1e+09)' in err
    state = load_checkpoint(out)
    batch = int(err.split('at epoch 1, batch ')[1].split(';')[0])
    assert 0 < state['batch'] < batch
    params = _file_params(os.path.join(state['path'], ckpt.PARAMS))
    assert all(np.isfinite(v).all() for v in params.values())
    assert not (out / 'model.params').exists()


# ---------------------------------------------------------------------------------------------
# Bad input around checkpoints: one line, exit 2


@pytest.fixture(scope='module')
def lenet_run(tmp_path_factory):
    """A finished 1-epoch lenet run with a checkpoint (2 batches of 64)."""
    out = tmp_path_factory.mktemp('lenet') / 'run'
    train_model('lenet', subset=128, num_epochs=1, batch_size=64, ctx='cpu', seed=1, out=out,
                verbose=False, progress=False)
    return out


@pytest.mark.parametrize('args, message', [
    (['train', 'mlp', '--resume'], "holds a checkpoint of model 'lenet', not 'mlp'"),
    (['train', 'lenet', '--resume', '--lr', '0.5'], 'lr (checkpoint 0.9, now 0.5)'),
    (['train', 'lenet', '--resume', '--subset', '256'], 'subset (checkpoint 128, now 256)'),
    (['train', 'lenet', '--resume', '--overwrite'], 'resume and overwrite exclude each other'),
    (['train', 'lenet', '--epochs', '2'], 'already holds a run'),
    (['train', 'lenet', '--checkpoint-every', '0'],
     'checkpoint_every must be an integer >= 1, got 0'),
])
def test_bad_checkpoint_use_is_one_line_and_exit_2(lenet_run, args, message, capsys):
    assert main(args + ['--out', str(lenet_run), '--ctx', 'cpu']) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


def test_resume_without_checkpoint_or_out_is_refused(tmp_path, capsys):
    assert main(['train', 'lenet', '--resume', '--out', str(tmp_path / 'none')]) == 2
    assert main(['train', 'lenet', '--resume']) == 2
    assert main(['train', 'lenet', '--checkpoint-every', '3']) == 2
    err = capsys.readouterr().err.splitlines()
    assert 'no checkpoint in' in err[0] and 'need out= (--out)' in err[1] and len(err) == 3


def test_resume_of_a_truncated_checkpoint_is_refused(lenet_run, tmp_path, capsys):
    import shutil
    out = tmp_path / 'copy'
    shutil.copytree(lenet_run, out)
    params = out / os.path.basename(load_checkpoint(out)['path']) / ckpt.PARAMS
    params.write_bytes(params.read_bytes()[:1000])
    assert main(['train', 'lenet', '--resume', '--out', str(out), '--epochs', '2',
                 '--ctx', 'cpu']) == 2
    err = capsys.readouterr().err
    assert 'is truncated or altered: 1000 bytes' in err and len(err.strip().splitlines()) == 1


def test_resume_can_extend_a_finished_run(lenet_run, tmp_path):
    import shutil
    out = tmp_path / 'copy'
    shutil.copytree(lenet_run, out)
    net, history = train_model('lenet', resume=True, out=out, num_epochs=2, ctx='cpu',
                               verbose=False, progress=False)
    assert [r['epoch'] for r in history] == [1, 2]
    assert history[0] == json.loads((lenet_run / 'history.json').read_text())[0]
    # Same as running 2 epochs at once.
    ref, ref_history = train_model('lenet', subset=128, num_epochs=2, batch_size=64, ctx='cpu',
                                   seed=1, verbose=False, progress=False)
    _assert_same_params(_net_params(net), _net_params(ref))
    assert math.isclose(history[1]['loss'], ref_history[1]['loss'], rel_tol=1e-6)
