"""gluon-notes doctor: every item on this (CPU) machine; failing items reported, no traceback."""
import os
import platform
import re
import shutil
import subprocess
import sys

import mxnet as mx
import pytest

from gluon_notes import data, doctor as doctor_module
from gluon_notes.doctor import FEATURES, doctor, omp_item


def report(**kwargs):
    lines = []
    status = doctor(out=lines.append, **kwargs)
    return status, lines


def line_of(lines, name):
    found = [line for line in lines if line.split()[1:2] == [name]]
    assert found, (name, lines)
    return found[0]


def test_doctor_reports_every_item_here():
    status, lines = report()
    assert status == 0
    assert platform.python_version() in line_of(lines, 'python')
    mxnet_line = line_of(lines, 'mxnet')
    assert mx.__version__ in mxnet_line
    features = mx.runtime.Features()
    for name in FEATURES:
        assert '%s %s' % (name, 'yes' if features.is_enabled(name) else 'no') in mxnet_line
    if mx.context.num_gpus() == 0:
        assert 'none visible to MXNet' in line_of(lines, 'gpus')
    assert 'logical cores' in line_of(lines, 'openmp')
    data_line = line_of(lines, 'data')
    assert data_line.startswith('ok') and str(data.default_data_root()) in data_line
    conv = line_of(lines, 'conv')
    assert conv.startswith('ok') and 'cpu(0)' in conv and conv.endswith(' ms')
    assert lines[-1].startswith('training can run on cpu(0)')


def test_doctor_command_exits_0_without_traceback():
    result = subprocess.run([sys.executable, '-m', 'gluon_notes.cli', 'doctor'],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'Traceback' not in result.stdout + result.stderr
    assert 'training can run on cpu(0)' in result.stdout


def test_an_item_that_raises_is_reported_and_the_rest_runs(monkeypatch):
    def broken():
        raise RuntimeError('the GPU query broke')
    monkeypatch.setattr(doctor_module, 'gpu_count', broken)
    status, lines = report()
    assert status == 0  # training still runs on the CPU
    gpus = line_of(lines, 'gpus')
    assert gpus.startswith('FAIL')
    assert gpus.endswith('could not be determined: RuntimeError: the GPU query broke')
    for name in ('python', 'mxnet', 'openmp', 'data', 'conv'):
        line_of(lines, name)


def test_exit_1_when_no_context_trains(monkeypatch):
    def conv_fails(ctx):
        raise mx.base.MXNetError('Traceback (most recent call last):\n  File "a.cc", line 1\n'
                                 'MXNetError: Operator Convolution is not implemented')
    monkeypatch.setattr(doctor_module, 'conv_item', conv_fails)
    status, lines = report()
    assert status == 1
    conv = line_of(lines, 'conv')
    assert conv.startswith('FAIL') and conv.endswith(
        'cpu(0)  could not be determined: MXNetError: Operator Convolution is not implemented')
    assert lines[-1] == 'training cannot run here: no context computed a convolution'


def test_a_gpu_that_fails_its_first_operation_is_reported(monkeypatch):
    if mx.runtime.Features().is_enabled('CUDA'):
        pytest.skip('needs a first GPU operation that fails: a CPU build')
    monkeypatch.setattr(mx.context, 'num_gpus', lambda: 1)
    status, lines = report()
    gpu = line_of(lines, 'gpu(0)')
    assert gpu.startswith('FAIL') and 'first operation failed:' in gpu
    assert status == 0 and lines[-1] == 'training can run on cpu(0)'


def test_data_that_does_not_verify(tmp_path, monkeypatch):
    root = data.default_data_root()
    for names in data.FILES.values():
        for name in names:
            shutil.copy(root / name, tmp_path / name)
    bad = tmp_path / data.FILES['test'][1]
    bad.write_bytes(bad.read_bytes()[:-10])  # a truncated gzip stream
    status, lines = report(root=tmp_path)
    failing = [line for line in lines if line.startswith('FAIL  data')]
    assert len(failing) == 1 and str(bad) in failing[0]
    assert status == 1
    assert lines[-1] == 'training cannot run here: the data files above are missing or fail to verify'
    # Only MXNet's own data folder is downloaded into: a file missing elsewhere stops training.
    bad.unlink()
    status, lines = report(root=tmp_path)
    assert status == 1
    assert '%s missing; copy the four Fashion-MNIST files there' % bad.name in line_of(lines, 'data')
    assert lines[-1] == 'training cannot run here: the data files above are missing or fail to verify'
    monkeypatch.setattr(doctor_module, 'MXNET_ROOT', tmp_path)
    status, lines = report(root=tmp_path)
    assert status == 0
    assert '%s missing; training downloads them on first use' % bad.name in line_of(lines, 'data')


@pytest.mark.parametrize('environ, threads, advice', [
    ({'OMP_NUM_THREADS': '1'}, '1 thread(s) (OMP_NUM_THREADS)', True),
    ({'MXNET_OMP_MAX_THREADS': '64'}, '64 thread(s) (MXNET_OMP_MAX_THREADS)', False),
])
def test_omp_threads_from_the_environment(environ, threads, advice, monkeypatch):
    monkeypatch.setattr(doctor_module, 'logical_cores', lambda: 8)
    (item,) = omp_item(environ)
    assert item.text.startswith(threads + ' of 8 logical cores')
    assert ('export OMP_NUM_THREADS=8' in item.text) == advice


def test_omp_default_is_half_the_cores_on_x86(monkeypatch):
    monkeypatch.setattr(doctor_module, 'logical_cores', lambda: 8)
    monkeypatch.setattr(platform, 'machine', lambda: 'x86_64')
    (item,) = omp_item({})
    assert item.status == 'warn'
    assert item.text == ("4 thread(s) (MXNet's default) of 8 logical cores; on a CPU, export "
                         "OMP_NUM_THREADS=8 to use every core")


def test_doctor_reports_an_mxnet_that_cannot_load_without_a_traceback(tmp_path):
    """A CUDA build of MXNet without the NVIDIA driver fails to load libcuda.so.1; a stand-in
    mxnet package that fails the same way shows what the doctor and the package then do."""
    fake = tmp_path / 'mxnet'
    fake.mkdir()
    (fake / '__init__.py').write_text(
        "raise OSError('libcuda.so.1: cannot open shared object file: No such file or "
        "directory')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = subprocess.run([sys.executable, '-m', 'gluon_notes.cli', 'doctor'],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1, result.stderr
    assert 'Traceback' not in result.stdout + result.stderr
    assert re.search(r'FAIL +mxnet +cannot be loaded: libcuda\.so\.1: cannot open shared object '
                     r'file.*the NVIDIA driver is missing', result.stdout)
    assert re.search(r'ok +data ', result.stdout)
    assert result.stdout.splitlines()[-1] == 'training cannot run here: MXNet cannot be loaded'
    use = subprocess.run([sys.executable, '-c', 'import gluon_notes as gn; gn.train_ch5'],
                         capture_output=True, text=True, env=env, timeout=120)
    assert use.returncode == 1
    assert use.stderr.strip().splitlines()[-1] == (
        'ImportError: gluon_notes.train_ch5 needs MXNet, which cannot be loaded here: '
        'libcuda.so.1: cannot open shared object file: No such file or directory; run '
        '"gluon-notes doctor"')
