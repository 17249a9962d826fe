"""Bad input: one-line ValueError/TypeError in Python, exit 2 from the CLI, before any work.

Every numeric setting is refused with the same message whether it comes from the command line or
from each Python function that takes it. (Unknown model, bad contexts, GPUs without CUDA:
tests/test_cli.py; a wrong input shape or channel count given to a network:
tests/test_models_part*.py; IDX files: tests/test_idx_fuzz.py; checkpoints:
tests/test_checkpoint.py; launch jobs: tests/test_parallel.py.)
"""
import mxnet as mx
import pytest
from mxnet import gluon

import gluon_notes as gn
from gluon_notes.cli import main
from gluon_notes.launch import launch
from gluon_notes.reproduce import reproduce
from gluon_notes.runner import train_model

NAN, INF = float('nan'), float('inf')

# (message, command line or None, {Python function: keyword arguments}); the command lines name
# --out DIR, which must not be created.
NUMBERS = [
    ('lr must be a finite number > 0, got nan', ['train', 'lenet', '--lr', 'nan'],
     dict(train_model=dict(lr=NAN), train_ch5=dict(lr=NAN), train_ch3=dict(lr=NAN))),
    ('lr must be a finite number > 0, got inf', ['train', 'lenet', '--lr', 'inf'],
     dict(train_model=dict(lr=INF), train_ch5=dict(lr=INF))),
    ('lr must be a finite number > 0, got -inf', ['train', 'lenet', '--lr=-inf'],
     dict(train_model=dict(lr=-INF), train_ch5=dict(lr=-INF))),
    ('lr must be a finite number > 0, got 0.0', ['train', 'lenet', '--lr', '0'],
     dict(train_model=dict(lr=0.0), train_ch5=dict(lr=0.0), train_ch3=dict(lr=0.0))),
    ("lr must be a finite number > 0, got '0.1'", None, dict(train_model=dict(lr='0.1'))),
    ('num_epochs must be an integer >= 1, got 0', ['train', 'lenet', '--epochs', '0'],
     dict(train_model=dict(num_epochs=0), train_ch5=dict(num_epochs=0),
          train_ch3=dict(num_epochs=0))),
    ('num_epochs must be an integer >= 1, got 2.5', None,
     dict(train_model=dict(num_epochs=2.5), train_ch5=dict(num_epochs=2.5))),
    ('batch_size must be an integer >= 1, got 0', ['train', 'lenet', '--batch-size', '0'],
     dict(train_model=dict(batch_size=0), train_ch5=dict(batch_size=0),
          train_ch3=dict(batch_size=0), load_data=dict(batch_size=0))),
    ('batch_size must be an integer >= 1, got -64', ['train', 'lenet', '--batch-size', '-64'],
     dict(train_model=dict(batch_size=-64), load_data=dict(batch_size=-64))),
    ('subset must be an integer >= 1, got 0', ['train', 'lenet', '--subset', '0'],
     dict(train_model=dict(subset=0), load_data=dict(subset=0))),
    ('resize must be an integer in [1, 1024], got 0', ['train', 'lenet', '--resize', '0'],
     dict(train_model=dict(resize=0), load_data=dict(resize=0))),
    ('resize must be an integer in [1, 1024], got 100000',
     ['train', 'alexnet', '--resize', '100000'],
     dict(train_model=dict(resize=100000), load_data=dict(resize=100000))),
    ('seed must be an integer in [0, 2**32), got -1', ['train', 'lenet', '--seed', '-1'],
     dict(train_model=dict(seed=-1), train_ch5=dict(seed=-1), reproduce=dict(seed=-1))),
    ('seed must be an integer in [0, 2**32), got 4294967296',
     ['reproduce', 'lenet', '--seed', '4294967296'],
     dict(train_model=dict(seed=2 ** 32), train_ch5=dict(seed=2 ** 32),
          reproduce=dict(seed=2 ** 32))),
    ("seed must be an integer in [0, 2**32), got 'a'", None, dict(train_model=dict(seed='a'))),
    ('extra_seeds must be an integer in [0, 2**32), got -5',
     ['reproduce', 'lenet', '--extra-seeds', '1', '-5'], dict(reproduce=dict(extra_seeds=[1, -5]))),
    ('extra_seeds must be distinct, got 4, 4', ['reproduce', 'lenet', '--extra-seeds', '4', '4'],
     dict(reproduce=dict(extra_seeds=[4, 4]))),
    ('checkpoint_every must be an integer >= 1, got 0',
     ['train', 'lenet', '--checkpoint-every', '0'],
     dict(train_model=dict(checkpoint_every=0), train_ch5=dict(checkpoint_every=0))),
    ('checkpoint_minutes must be a finite number of minutes >= 0 (0: off), got nan',
     ['train', 'lenet', '--checkpoint-minutes', 'nan'],
     dict(train_model=dict(checkpoint_minutes=NAN), train_ch5=dict(checkpoint_minutes=NAN),
          reproduce=dict(checkpoint_minutes=NAN))),
    ('checkpoint_minutes must be a finite number of minutes >= 0 (0: off), got -1.0',
     ['reproduce', 'lenet', '--checkpoint-minutes', '-1'],
     dict(train_model=dict(checkpoint_minutes=-1.0), reproduce=dict(checkpoint_minutes=-1.0))),
    ('progress_every must be a finite number of seconds >= 0 (0: never), got inf',
     ['train', 'lenet', '--progress-every', 'inf'],
     dict(train_model=dict(progress_every=INF), train_ch5=dict(progress_every=INF))),
    ('num_workers must be an integer >= 1, got 0', ['launch', '-n', '0', '--', 'train', 'lenet'],
     dict(launch=dict(num_workers=0))),
    ('num_servers must be an integer >= 1, got -1',
     ['launch', '-n', '2', '-s', '-1', '--', 'train', 'lenet'],
     dict(launch=dict(num_workers=2, num_servers=-1))),
    ('num_workers must be an integer >= 0, got -1', None, dict(load_data=dict(num_workers=-1))),
]


def _with_out(argv, out):
    if argv[0] == 'launch':
        return argv + ['--out', str(out)]
    return argv + ['--out', str(out), '--ctx', 'cpu']


@pytest.mark.parametrize('message, argv', [(m, a) for m, a, _ in NUMBERS if a],
                         ids=lambda v: v if isinstance(v, str) else ' '.join(v))
def test_cli_refuses_a_bad_number_in_one_line_exit_2_before_any_work(message, argv, tmp_path,
                                                                    capsys):
    out = tmp_path / 'out'
    assert main(_with_out(argv, out)) == 2
    captured = capsys.readouterr()
    assert captured.err == 'gluon-notes: error: %s\n' % message
    assert captured.out == '' and not out.exists()


def _train_ch5(lr=0.1, batch_size=32, num_epochs=1, **kwargs):
    net = gn.get_model('softmax_regression')
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    train_iter, test_iter = gn.load_data_fashion_mnist(32, subset=64)
    gn.train_ch5(net, train_iter, test_iter, batch_size, trainer, mx.cpu(), num_epochs,
                 verbose=False, progress=False, **kwargs)


def _train_ch3(lr=0.1, batch_size=32, num_epochs=1):
    net = gn.get_model('softmax_regression')
    net.initialize()
    train_iter, test_iter = gn.load_data_fashion_mnist(32, subset=64)
    gn.train_ch3(net, train_iter, test_iter, gluon.loss.SoftmaxCrossEntropyLoss(), num_epochs,
                 batch_size, params=list(net.collect_params().values()), lr=lr, verbose=False,
                 progress=False)


def _surfaces(tmp_path):
    out = tmp_path / 'out'
    return out, dict(
        train_model=lambda **kw: train_model('lenet', ctx='cpu', out=out, verbose=False, **kw),
        train_ch5=lambda **kw: _train_ch5(**dict(dict(checkpoint_dir=out), **kw)),
        train_ch3=_train_ch3,
        load_data=lambda batch_size=32, **kw: gn.load_data_fashion_mnist(batch_size, **kw),
        reproduce=lambda **kw: reproduce(['lenet'], quick=True, out=out, verbose=False, **kw),
        launch=lambda **kw: launch(['train', 'lenet'], **kw))


@pytest.mark.parametrize('message, calls', [(m, c) for m, _, c in NUMBERS],
                         ids=[m for m, _, _ in NUMBERS])
def test_python_api_refuses_a_bad_number_with_the_cli_message_before_any_work(message, calls,
                                                                             tmp_path):
    out, surfaces = _surfaces(tmp_path)
    for function, kwargs in calls.items():
        with pytest.raises(ValueError) as info:
            surfaces[function](**kwargs)
        assert str(info.value) == message, function
        assert not out.exists(), function


@pytest.mark.parametrize('args, message', [
    (['train', 'nin', '--resize', '32'], 'resize 32 does not fit nin, which accepts at least 67 '
                                         '(book: 224)'),
    (['train', 'densenet', '--resize', '28'], 'resize 28 does not fit densenet, which accepts at '
                                              'least 29'),
    (['train', 'lenet', '--resume'],
     "resume, checkpoint_every and checkpoint_minutes need out= (--out), the run's directory; "
     'got resume=True'),
    (['train', 'lenet', '--checkpoint-minutes', '2.5'],
     "need out= (--out), the run's directory; got checkpoint_minutes=2.5"),
])
def test_cli_bad_input_is_one_line_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(ctx=5), TypeError, 'ctx must be an mx.Context or a non-empty list of them, got 5'),
    (dict(ctx='gpu:x'), ValueError, "context 'gpu:x' not understood"),
    (dict(resize=96), ValueError, 'resize 96 does not fit lenet, which accepts 28'),
])
def test_train_model_bad_input(kwargs, error, message):
    with pytest.raises(error) as info:
        train_model('lenet', verbose=False, **kwargs)
    assert message in str(info.value) and '\n' not in str(info.value)


@pytest.mark.parametrize('kwargs, message', [
    (dict(checkpoint_every=3), r'checkpoint_every, checkpoint_minutes and resume need '
                               r'checkpoint_dir \(--out\); got checkpoint_every=3$'),
    (dict(resume=True), r'checkpoint_every, checkpoint_minutes and resume need checkpoint_dir '
                        r'\(--out\); got resume=True$'),
])
def test_train_ch5_bad_checkpoint_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _train_ch5(**kwargs)
