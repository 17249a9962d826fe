"""Data parallelism: two CPU contexts in one process against one context, and `gluon-notes launch`
jobs (scheduler, server, workers on 127.0.0.1) with MXNet's distributed KVStore."""
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss, utils as gutils

import gluon_notes as gn
from gluon_notes.cli import main

CTXS = [mx.cpu(0), mx.cpu(1)]
BATCH, SUBSET, LR = 64, 512, 0.9


def _net(name, ctx, seed):
    mx.random.seed(seed)
    net = gn.get_model(name)
    net.initialize(init.Xavier(), ctx=ctx)
    return net


def _data(seed):
    train_iter, test_iter = gn.load_data_fashion_mnist(BATCH, subset=SUBSET)
    train_iter.rng = np.random.RandomState(seed)
    return train_iter, test_iter


def _values(net):
    return [p.list_data()[0].asnumpy() for p in net.collect_params().values()]


def _train_ch5(name, ctx, seed):
    net = _net(name, ctx, seed)
    train_iter, test_iter = _data(seed)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': LR})
    history = gn.train_ch5(net, train_iter, test_iter, BATCH, trainer, ctx, 1, verbose=False)
    return net, history


def _initial_values(name, seed):
    net = _net(name, mx.cpu(), seed)
    net(nd.zeros((1, 1, 28, 28)))  # finishes the deferred initialisation
    return _values(net)


def test_two_contexts_train_lenet_as_one():
    """Each device gets half of every batch; the kvstore sums the halves' gradients, which is the
    gradient of the whole batch, so 8 SGD steps end where one device ends, up to float rounding."""
    one, h_one = _train_ch5('lenet', mx.cpu(), seed=5)
    two, h_two = _train_ch5('lenet', CTXS, seed=5)
    start = _initial_values('lenet', seed=5)
    moved = max(np.abs(a - b).max() for a, b in zip(_values(one), start))
    assert moved > 1e-3  # the comparison below is not between untrained networks
    for a, b in zip(_values(one), _values(two)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    # Both contexts hold the same parameters after the kvstore's update.
    for p in two.collect_params().values():
        np.testing.assert_array_equal(p.list_data()[0].asnumpy(), p.list_data()[1].asnumpy())
    assert h_two[0]['loss'] == pytest.approx(h_one[0]['loss'], rel=1e-5)
    assert h_two[0]['train_acc'] == pytest.approx(h_one[0]['train_acc'], abs=2 / SUBSET)
    assert h_two[0]['test_acc'] == pytest.approx(h_one[0]['test_acc'], abs=2 / SUBSET)


def _ghost_batch_reference(name, seed, parts=2):
    """What ``parts`` devices compute, on one device: every slice of a batch normalised with its
    own batch statistics, the slices' gradients added, each slice's moving statistics updated
    from the same start and then averaged (train_ch5 averages them once per epoch, which is the
    same because their update is linear). Each slice gets its own forward and backward pass:
    nn.BatchNorm updates its moving statistics during the backward pass on CPU."""
    net = _net(name, mx.cpu(), seed)
    net(nd.zeros((1, 1, 28, 28)))  # predict mode: initialises, moves no statistics
    params = list(net.collect_params().values())
    aux = [p for p in params if p.grad_req == 'null']
    for p in params:
        if p.grad_req != 'null':
            p.grad_req = 'add'
    train_iter, test_iter = _data(seed)
    trainer = gluon.Trainer(params, 'sgd', {'learning_rate': LR})
    loss = gloss.SoftmaxCrossEntropyLoss()
    loss_sum, n = 0.0, 0
    for X, y in train_iter:
        start = [p.data().copy() for p in aux]
        ends = []
        net.collect_params().zero_grad()
        for Xi, yi in zip(gutils.split_data(X, parts, even_split=False),
                          gutils.split_data(y, parts, even_split=False)):
            for p, s in zip(aux, start):
                p.data()[:] = s
            with autograd.record():
                l = loss(net(Xi), yi)
            l.backward()
            ends.append([p.data().copy() for p in aux])
            loss_sum += l.sum().asscalar()
        trainer.step(BATCH)
        for k, p in enumerate(aux):
            p.data()[:] = sum(e[k] for e in ends) / parts
        n += X.shape[0]
    return net, loss_sum / n, gn.evaluate_accuracy(test_iter, net, mx.cpu())


@pytest.mark.parametrize('name', ['lenet_bn_gluon', 'lenet_bn'])
def test_two_contexts_train_lenet_bn_as_a_ghost_batch(name):
    """With batch normalisation, two devices are not one device: each normalises its half-batch
    with that half's mean and variance, so the network computes another function than on the
    whole batch, and no tolerance makes the two runs comparable step for step. What two devices
    must compute exactly is the 'ghost batch' reference above: same parameters, same moving
    statistics, same reported loss and test accuracy."""
    two, history = _train_ch5(name, CTXS, seed=7)
    ref, ref_loss, ref_test_acc = _ghost_batch_reference(name, seed=7)
    names = list(two.collect_params().keys())
    for key, a, b in zip(names, _values(ref), _values(two)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=key)
    # The moving statistics were averaged over the devices, so both hold the same ones.
    for p in two.collect_params().values():
        if p.grad_req == 'null':
            np.testing.assert_array_equal(p.list_data()[0].asnumpy(), p.list_data()[1].asnumpy())
    assert history[0]['loss'] == pytest.approx(ref_loss, rel=1e-5)
    assert history[0]['test_acc'] == pytest.approx(ref_test_acc, abs=2 / SUBSET)
    start = _initial_values(name, seed=7)
    assert max(np.abs(a - b).max() for a, b in zip(_values(ref), start)) > 1e-3


def test_shards_are_disjoint_equal_and_read_their_examples():
    train_iter, test_iter = gn.load_data_fashion_mnist(10, subset=103)
    shards = [train_iter.shard(r, 4) for r in range(4)]
    ids = [s.example_indices() for s in shards]
    assert [len(i) for i in ids] == [25] * 4  # 103 // 4: the last 3 examples dropped
    assert sorted(np.concatenate(ids).tolist()) == list(range(100))
    assert [len(s) for s in shards] == [3] * 4  # the same number of batches everywhere
    labels = np.concatenate([y.asnumpy() for _, y in shards[1]])
    assert sorted(labels.tolist()) == sorted(train_iter.labels[ids[1]].tolist())
    uneven = [test_iter.shard(r, 4, equal=False) for r in range(4)]
    assert [s.num_examples for s in uneven] == [26, 26, 26, 25]
    X, y = next(iter(uneven[2]))  # not shuffled: examples 2, 6, 10, ...
    np.testing.assert_array_equal(y.asnumpy(), test_iter.labels[2:42:4])
    np.testing.assert_array_equal(X.asnumpy(), test_iter.images[2:42:4] / np.float32(255))
    a, b = gn.load_data_fashion_mnist(10, subset=103, shard=(1, 2))
    assert (a.num_examples, b.num_examples) == (51, 51)
    with pytest.raises(ValueError, match=r'rank must be an integer in \[0, 4\), got 4'):
        train_iter.shard(4, 4)
    with pytest.raises(ValueError, match='shard 3 would be empty'):
        gn.load_data_fashion_mnist(10, subset=3)[0].shard(3, 4)


def test_distributed_settings_are_checked(monkeypatch):
    with pytest.raises(ValueError, match='256 does not split over 3 workers.*255 or 258'):
        gn.local_batch_size(256, 3)
    for var in gn.DIST_ENV:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match='gluon-notes launch'):
        gn.create_kvstore('dist_sync')
    with pytest.raises(ValueError, match="kvstore 'nccl' not understood"):
        gn.create_kvstore('nccl')
    assert gn.create_kvstore(None) == 'device'
    monkeypatch.setenv('DMLC_ROLE', 'worker')
    with pytest.raises(ValueError, match='would train each worker alone'):
        gn.create_kvstore('local')
    with pytest.raises(TypeError, match='mx.kv.KVStore'):
        gn.DataParallel(CTXS, 'dist_sync')


@pytest.mark.parametrize('args, message', [
    (['launch', '-n', '2', '--', 'summary', 'lenet'], 'launch runs gluon-notes train'),
    (['launch', '-n', '3', '--', 'train', 'lenet'], 'batch size 256 does not split over 3'),
    (['launch', '-n', '2', '--', 'train', 'lenet', '--kvstore', 'local'], 'each worker alone'),
    (['launch', '-n', '2', '--', 'train', 'nosuchnet'], "unknown model 'nosuchnet'"),
    (['launch', '-n', '0', '--', 'train', 'lenet'], 'num_workers must be an integer >= 1, got 0'),
    (['launch', '-n', '2', '--', 'train', 'lenet', '--out', 'x', '--checkpoint-every', '5'],
     'not supported by launch; got --checkpoint-every'),
    (['launch', '-n', '2', '--port', '0', '--', 'train', 'lenet'],
     'port must be an integer in [1, 65535], got 0'),
    (['launch', '-n', '2', '--', 'train', 'lenet', '--lr', 'nan'],
     'lr must be a finite number > 0, got nan'),
    (['launch', '-n', '2', '--', 'train', 'lenet', '--epochs', '0'],
     'num_epochs must be an integer >= 1, got 0'),
    (['launch', '-n', '2', '-s', '1', '--port', '65533', '--', 'train', 'lenet'],
     'port 65533 leaves no room for the 3 ports after it (at most 65532)'),
    (['launch', '-n', '2', '--remote-dir', 'x', '--ssh-option', 'Port=2', '--', 'train', 'lenet'],
     '--remote-dir, --ssh-option: only with --hosts'),
    (['launch', '-n', '2', '--hosts', '/nonexistent/hosts', '--', 'train', 'lenet'],
     'hosts file /nonexistent/hosts: No such file or directory'),
])
def test_launch_refuses_bad_jobs_before_starting_anything(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


# --- gluon-notes launch: real jobs on 127.0.0.1 ----------------------------------------------

def _marked_pids(mark):
    """Processes that inherited the environment variable GLUON_NOTES_TEST_MARK=mark."""
    needle = ('GLUON_NOTES_TEST_MARK=%s' % mark).encode()
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/environ' % entry, 'rb') as f:
                    if needle in f.read().split(b'\0'):
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def _launch(args, tmp_path, timeout=100):
    """Run ``gluon-notes launch ARGS`` as a user would; whatever happens, leave no process."""
    mark = uuid.uuid4().hex
    env = dict(os.environ, GLUON_NOTES_TEST_MARK=mark,
               GLUON_NOTES_WORKER_REPORT=str(tmp_path / 'reports'))
    proc = subprocess.Popen([sys.executable, '-m', 'gluon_notes.cli', 'launch', *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        leftovers = []
        deadline = time.time() + 5
        while time.time() < deadline:
            leftovers = _marked_pids(mark)
            if not leftovers:
                break
            time.sleep(0.1)
        assert not leftovers, 'launch left processes behind: %s' % leftovers
        return proc.returncode, out, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in _marked_pids(mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _reports(tmp_path):
    return sorted((json.loads(p.read_text()) for p in (tmp_path / 'reports').glob('worker-*.json')),
                  key=lambda r: r['rank'])


def test_launch_two_workers_train_one_model(tmp_path):
    code, out, err = _launch(['-n', '2', '-s', '1', '--', 'train', 'lenet', '--subset', '2048',
                              '--epochs', '1', '--kvstore', 'dist_sync', '--ctx', 'cpu',
                              '--out', 'run'], tmp_path)
    assert code == 0, err
    reports = _reports(tmp_path)
    assert [(r['rank'], r['num_workers'], r['kvstore']) for r in reports] == \
        [(0, 2, 'dist_sync'), (1, 2, 'dist_sync')]
    # Every worker read its own half of the 2048 examples.
    shards = [set(r['train_indices']) for r in reports]
    assert len(shards[0]) == len(shards[1]) == 1024 and not shards[0] & shards[1]
    assert shards[0] | shards[1] == set(range(2048))
    # Identical parameters everywhere, and they are those rank 0 saved.
    assert reports[0]['parameter_sha256'] == reports[1]['parameter_sha256']
    saved = nd.load(str(tmp_path / 'run' / 'model.params'))
    assert gn.parameter_checksum(list(saved.values())) == reports[0]['parameter_sha256']
    # Only rank 0 reports progress; its line counts all 2048 examples.
    epoch_lines = [line for line in out.splitlines() if '] epoch 1, loss' in line]
    assert len(epoch_lines) == 1 and epoch_lines[0].startswith('[worker ')
    assert 'rank 0 of 2 workers, kvstore dist_sync, global batch 256' in out
    config = json.loads((tmp_path / 'run' / 'config.json').read_text())
    assert (config['kvstore'], config['num_workers'], config['batch_size']) == ('dist_sync', 2, 256)


def test_two_workers_take_the_step_of_one_worker_on_their_union(tmp_path):
    """The gradient scale: with the whole 1024-example subset as the global batch, one epoch is
    one SGD step. Two workers (512 examples each, gradients summed by the server, step(512 * 2))
    must take the step one worker takes on all 1024 examples, from the same initial parameters."""
    runs = {}
    for n in (1, 2):
        code, out, err = _launch(['-n', str(n), '-s', '1', '--', 'train', 'lenet', '--subset',
                                  '1024', '--batch-size', '1024', '--epochs', '2', '--seed', '3',
                                  '--ctx', 'cpu', '--out', 'run%d' % n], tmp_path)
        assert code == 0, err
        run = tmp_path / ('run%d' % n)
        runs[n] = (nd.load(str(run / 'model.params')),
                   json.loads((run / 'history.json').read_text()))
    (p1, h1), (p2, h2) = runs[1], runs[2]
    assert list(p1) == list(p2)
    for key in p1:
        np.testing.assert_allclose(p2[key].asnumpy(), p1[key].asnumpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=key)
    # Epoch 2's loss is measured after the first step, which moved it well beyond the tolerance.
    assert abs(h1[1]['loss'] - h1[0]['loss']) > 1e-2
    assert h2[1]['loss'] == pytest.approx(h1[1]['loss'], rel=1e-5)
    assert h2[1]['test_acc'] == pytest.approx(h1[1]['test_acc'], abs=2 / 1024)


def test_a_failing_worker_stops_the_job(tmp_path):
    (tmp_path / 'taken').mkdir()
    (tmp_path / 'taken' / 'config.json').write_text('{}')
    code, out, err = _launch(['-n', '2', '-s', '1', '--', 'train', 'lenet', '--subset', '512',
                              '--epochs', '1', '--ctx', 'cpu', '--out', 'taken'], tmp_path,
                             timeout=60)
    # Rank 0 refuses the directory; the other worker would wait for it forever.
    assert code == 2
    assert 'already holds a run' in err and '[launch] worker' in err
    assert 'stopping the job' in err
