"""No silent fall-back: try_gpu, try_all_gpus and parse_ctx when MXNet reports GPUs that fail.

This machine's mxnet has no CUDA, so a first operation on ``mx.gpu(i)`` really fails here: with
``mx.context.num_gpus`` stubbed to report GPUs, the functions meet MXNet's own error, and the tests
compare the notice with the error the same operation raises when run directly.
"""
import mxnet as mx
import pytest
from mxnet import nd

import gluon_notes as gn
from gluon_notes import runner, train
from gluon_notes.cli import main

pytestmark = pytest.mark.skipif(mx.runtime.Features().is_enabled('CUDA'),
                                reason='needs a first GPU operation that fails: a CPU build')


def mxnet_error_line():
    """The last line of the error MXNet raises for a first operation on a GPU here."""
    with pytest.raises(mx.base.MXNetError) as info:
        nd.zeros((1,), ctx=mx.gpu(0)).wait_to_read()
    return str(info.value).strip().splitlines()[-1].replace('MXNetError: ', '')


@pytest.fixture(autouse=True)
def fresh_notices(monkeypatch):
    monkeypatch.setattr(train, '_NOTIFIED', set())


def report_gpus(monkeypatch, n):
    monkeypatch.setattr(mx.context, 'num_gpus', lambda: n)


def test_no_gpu_is_silent(monkeypatch, capsys):
    report_gpus(monkeypatch, 0)
    assert gn.try_gpu() == mx.cpu()
    assert gn.try_all_gpus() == [mx.cpu()]
    assert capsys.readouterr().err == ''


def test_try_gpu_falls_back_once_quoting_mxnet(monkeypatch, capsys):
    reason = mxnet_error_line()
    capsys.readouterr()
    report_gpus(monkeypatch, 1)
    assert gn.try_gpu() == mx.cpu()
    assert gn.try_gpu() == mx.cpu()
    lines = [line for line in capsys.readouterr().err.splitlines() if 'gluon-notes' in line]
    assert len(lines) == 1, lines  # a notebook calling try_gpu() in every cell sees it once
    assert 'gpu(0) failed its first operation, using cpu(0) instead' in lines[0]
    assert reason in lines[0]


def test_try_gpu_when_counting_fails(monkeypatch, capsys):
    def num_gpus():
        raise mx.base.MXNetError('Traceback (most recent call last):\n  File "x.cc", line 1\n'
                                 'MXNetError: CUDA: CUDA driver version is insufficient')
    monkeypatch.setattr(mx.context, 'num_gpus', num_gpus)
    assert gn.try_gpu() == mx.cpu()
    err = capsys.readouterr().err
    assert 'MXNet cannot use the GPUs (CUDA: CUDA driver version is insufficient)' in err
    notices = []
    assert runner.parse_ctx('auto', notice=notices.append) == mx.cpu()
    assert notices == ['MXNet cannot use the GPUs (CUDA: CUDA driver version is insufficient); '
                       'training on cpu(0)']
    monkeypatch.setattr(runner, '_cuda_build', lambda: True)
    with pytest.raises(ValueError, match='cannot use the GPUs: CUDA: CUDA driver version'):
        runner.parse_ctx('gpu')


def test_try_all_gpus_keeps_the_usable_ones(monkeypatch, capsys):
    report_gpus(monkeypatch, 3)
    real_probe = train.probe
    # gpu(0) and gpu(2) answer; gpu(1) goes through MXNet's real failure.
    monkeypatch.setattr(train, 'probe', lambda ctx: None if ctx.device_id != 1 else real_probe(ctx))
    assert gn.try_all_gpus() == [mx.gpu(0), mx.gpu(2)]
    err = capsys.readouterr().err
    assert 'skipped gpu(1): %s; using gpu(0), gpu(2)' % mxnet_error_line() in err


def test_try_all_gpus_with_none_usable(monkeypatch, capsys):
    reason = mxnet_error_line()
    capsys.readouterr()
    report_gpus(monkeypatch, 2)
    assert gn.try_all_gpus() == [mx.cpu()]
    err = capsys.readouterr().err
    assert 'skipped gpu(0): %s; gpu(1): %s; using cpu(0)' % (reason, reason) in err


def test_parse_ctx_auto_notices_the_reason(monkeypatch):
    notices = []
    report_gpus(monkeypatch, 0)
    assert runner.parse_ctx('auto', notice=notices.append) == mx.cpu()
    assert notices == ['no GPU visible to MXNet; training on cpu(0)']
    report_gpus(monkeypatch, 1)
    assert runner.parse_ctx('auto', notice=notices.append) == mx.cpu()
    assert notices[1] == ('gpu(0) failed its first operation (%s); training on cpu(0)'
                          % mxnet_error_line())


def test_ctx_gpu_exits_2_with_the_reason(monkeypatch, capsys):
    reason = mxnet_error_line()
    capsys.readouterr()
    monkeypatch.setattr(runner, '_cuda_build', lambda: True)
    report_gpus(monkeypatch, 1)
    assert main(['train', 'lenet', '--ctx', 'gpu', '--subset', '64', '--epochs', '1']) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if 'gluon-notes' in line]
    assert len(err) == 1
    assert err[0].startswith("gluon-notes: error: context 'gpu': gpu(0) failed its first "
                             "operation: %s" % reason)


def test_ctx_gpu_list_names_the_failing_gpu(monkeypatch):
    monkeypatch.setattr(runner, '_cuda_build', lambda: True)
    report_gpus(monkeypatch, 2)
    monkeypatch.setattr(runner, 'probe',
                        lambda ctx: 'out of memory' if ctx.device_id == 1 else None)
    assert runner.parse_ctx('gpu:0') == mx.gpu(0)
    with pytest.raises(ValueError, match=r"gpu\(1\) failed its first operation: out of memory"):
        runner.parse_ctx('gpu:0,1')


def test_mxnet_reason_takes_the_message_line():
    error = mx.base.MXNetError('Traceback (most recent call last):\n  File "a.cc", line 9\n'
                               'MXNetError: Check failed: e == cudaSuccess: CUDA: no kernel '
                               'image is available for execution on the device')
    assert train.mxnet_reason(error) == ('Check failed: e == cudaSuccess: CUDA: no kernel image '
                                         'is available for execution on the device')
    assert train.mxnet_reason(mx.base.MXNetError('out of memory')) == 'out of memory'
