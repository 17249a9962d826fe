"""Bad input not covered elsewhere: one-line ValueError/TypeError in Python, exit 2 from the CLI.

(Unknown model, non-positive numbers, bad contexts, GPUs without CUDA: tests/test_cli.py; a wrong
input shape or channel count given to a network: tests/test_models_part*.py; IDX files:
tests/test_idx_fuzz.py; checkpoints: tests/test_checkpoint.py.)
"""
import mxnet as mx
import pytest
from mxnet import gluon

import gluon_notes as gn
from gluon_notes.cli import main
from gluon_notes.runner import train_model


@pytest.mark.parametrize('args, message', [
    (['train', 'nin', '--resize', '32'], 'resize 32 does not fit nin, which accepts at least 67 '
                                         '(book: 224)'),
    (['train', 'densenet', '--resize', '28'], 'resize 28 does not fit densenet, which accepts at '
                                              'least 29'),
    (['train', 'lenet', '--seed', '-1'], 'seed must be an integer in [0, 2**32) or None, got -1'),
    (['train', 'lenet', '--checkpoint-every', '-2', '--out', 'x'],
     'checkpoint every must be a positive integer, got -2'),
    (['train', 'lenet', '--resume'], 'resume, checkpoint_every and checkpoint_minutes need out= (--out)'),
])
def test_cli_bad_input_is_one_line_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(num_epochs=2.5), ValueError, 'epochs must be a positive integer, got 2.5'),
    (dict(lr='0.1'), ValueError, "lr must be a positive number, got '0.1'"),
    (dict(ctx=5), TypeError, 'ctx must be an mx.Context or a non-empty list of them, got 5'),
    (dict(ctx='gpu:x'), ValueError, "context 'gpu:x' not understood"),
    (dict(seed='a'), ValueError, "seed must be an integer in [0, 2**32) or None, got 'a'"),
    (dict(resize=96), ValueError, 'resize 96 does not fit lenet, which accepts 28'),
])
def test_train_model_bad_input(kwargs, error, message):
    with pytest.raises(error) as info:
        train_model('lenet', verbose=False, **kwargs)
    assert message in str(info.value) and '\n' not in str(info.value)


@pytest.mark.parametrize('kwargs, message', [
    (dict(checkpoint_every=0, checkpoint_dir='x'), 'checkpoint_every must be a positive integer'),
    (dict(checkpoint_every=3), 'checkpoint_every, checkpoint_minutes and resume need checkpoint_dir'),
    (dict(resume=True), 'checkpoint_every, checkpoint_minutes and resume need checkpoint_dir'),
    (dict(seed=-1), 'seed must be a non-negative integer or None, got -1'),
])
def test_train_ch5_bad_checkpoint_options(kwargs, message):
    net = gn.get_model('softmax_regression')
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    train_iter, test_iter = gn.load_data_fashion_mnist(32, subset=64)
    with pytest.raises(ValueError, match=message.replace('(', r'\(').replace(')', r'\)')):
        gn.train_ch5(net, train_iter, test_iter, 32, trainer, mx.cpu(), 1, verbose=False, **kwargs)
