"""The gluon-notes command end to end, in subprocesses as a user runs it."""
import json
import subprocess
import sys

import pytest

import gluon_notes as gn
from gluon_notes.cli import main


def run(*args, timeout=300):
    return subprocess.run([sys.executable, '-m', 'gluon_notes.cli', *args], capture_output=True,
                          text=True, timeout=timeout)


def test_list_names_every_model_with_its_settings():
    result = run('list')
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == gn.list_models()
    spec = gn.get_spec('lenet')
    assert 'lr %g, batch %d' % (spec.lr, spec.batch_size) in lines[0]


def test_summary_prints_the_book_trace_for_lenet():
    result = run('summary', 'lenet')
    assert result.returncode == 0, result.stderr
    shapes = [line.split('\t')[-1].strip() for line in result.stdout.splitlines() if 'output shape' in line]
    # The book's LeNet trace (section LeNet).
    assert shapes == ['(1, 6, 24, 24)', '(1, 6, 12, 12)', '(1, 16, 8, 8)', '(1, 16, 4, 4)',
                      '(1, 120)', '(1, 84)', '(1, 10)']
    # 6*25+6 + 16*6*25+16 + 256*120+120 + 120*84+84 + 84*10+10
    assert 'parameters: 44426' in result.stdout


def test_train_subset_writes_the_run(tmp_path):
    out = tmp_path / 'run'
    result = run('train', 'lenet', '--subset', '600', '--epochs', '2', '--ctx', 'cpu',
                 '--seed', '1', '--out', str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == 'training on cpu(0)'
    history = json.loads((out / 'history.json').read_text())
    assert [r['epoch'] for r in history] == [1, 2]
    config = json.loads((out / 'config.json').read_text())
    assert config['model'] == 'lenet' and config['lr'] == 0.9 and config['batch_size'] == 256
    assert (out / 'model.params').stat().st_size > 44426 * 4
    # A second run into the same directory is refused, and the first run is untouched.
    before = (out / 'history.json').read_text()
    again = run('train', 'lenet', '--subset', '600', '--epochs', '1', '--ctx', 'cpu', '--out', str(out))
    assert again.returncode == 2 and 'already holds a run' in again.stderr
    assert (out / 'history.json').read_text() == before


@pytest.mark.parametrize('args, message', [
    (['train', 'nosuchnet'], "unknown model 'nosuchnet'; known models: lenet"),
    (['train', 'lenet', '--epochs', '0'], 'num_epochs must be an integer >= 1, got 0'),
    (['train', 'lenet', '--lr', '-1'], 'lr must be a finite number > 0, got -1.0'),
    (['train', 'lenet', '--batch-size', '0'], 'batch_size must be an integer >= 1, got 0'),
    (['train', 'lenet', '--subset', '0'], 'subset must be an integer >= 1, got 0'),
    (['train', 'lenet', '--ctx', 'tpu'], "context 'tpu' not understood"),
    (['train', 'lenet', '--ctx', 'cpu:a'], "context 'cpu:a' not understood"),
    (['train', 'lenet', '--resize', '64'], 'resize 64 does not fit lenet'),
    (['summary', 'lenet', '--resize', '20'], 'lenet expects 1\u00d728\u00d728 inputs'),
    (['summary', 'alexnet', '--resize', '0'], 'resize must be an integer in [1, 1024], got 0'),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err


def test_gpu_without_cuda_says_what_to_install():
    import mxnet as mx
    if mx.runtime.Features().is_enabled('CUDA'):
        pytest.skip('this mxnet build has CUDA')
    result = run('train', 'lenet', '--ctx', 'gpu')
    assert result.returncode == 2 and 'mxnet-cu' in result.stderr


def test_argparse_errors_exit_2():
    assert run('summary', 'nosuchnet').returncode == 2
    assert run('train').returncode == 2
    assert run('train', 'lenet', '--epochs', 'many').returncode == 2
