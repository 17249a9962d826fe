"""tools/dead_units.py: its dead-channel and zero-output shares against the same layers computed
with MXNet's own operators."""
import importlib.util
from pathlib import Path

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon import nn

import gluon_notes as gn

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location('dead_units', ROOT / 'tools' / 'dead_units.py')
dead_units = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dead_units)


def test_shares_match_the_operators():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3, activation='relu'), nn.MaxPool2D(2),
            nn.Dense(3, activation='relu'), nn.Dense(2))
    net.initialize(mx.init.Normal(0.1))
    X = nd.random.uniform(shape=(8, 1, 10, 10))
    net(X)
    conv, dense = net[0], net[2]
    # Channel 0 of the conv and every unit of the first dense layer can never fire.
    conv.bias.set_data(nd.array([-100, 0, 0.05, 100]))
    dense.bias.set_data(nd.full((3,), -100))

    rows, outputs = dead_units.dead_units(net, X)

    a = nd.relu(nd.Convolution(X, conv.weight.data(), conv.bias.data(), kernel=(3, 3),
                               num_filter=4)).asnumpy()
    h = nd.relu(nd.FullyConnected(nd.Pooling(nd.array(a), kernel=(2, 2), stride=(2, 2)),
                                  dense.weight.data(), dense.bias.data(), num_hidden=3)).asnumpy()
    assert [r[0] for r in rows] == ['0', '2']  # the last Dense has no ReLU
    assert rows[0][1:] == (4, pytest.approx((a.max(axis=(0, 2, 3)) <= 0).mean()),
                           pytest.approx((a <= 0).mean()))
    assert rows[0][2] == 0.25 and rows[1][1:] == (3, 1.0, 1.0)
    np.testing.assert_allclose(outputs, net(X).asnumpy(), rtol=1e-6)
    assert (h == 0).all()


def test_a_network_without_relus_is_refused():
    with pytest.raises(ValueError, match='no Conv2D or Dense layer with a ReLU'):
        dead_units.dead_units(gn.get_model('lenet'), nd.zeros((1, 1, 28, 28)))  # sigmoid LeNet


def test_command_line_on_saved_parameters(tmp_path, capsys):
    net = gn.get_model('mlp')
    net.initialize(mx.init.Xavier())
    net(nd.zeros((1, 1, 28, 28)))
    net.save_parameters(str(tmp_path / 'mlp.params'))
    assert dead_units.main(['mlp', str(tmp_path / 'mlp.params'), '--images', '64']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:2] == ['0', '256'] and len(lines) == 15
    assert lines[2].startswith('64 test images: ')
    assert lines[4].split() == ['class', 'images', 'predicted', 'recall', 'score', '<=', '0']
    assert lines[5].startswith('0 t-shirt ') and lines[14].startswith('9 ankle boot ')
    assert sum(int(line[16:].split()[0]) for line in lines[5:]) == 64
    for argv, message in ((['mlp', '--images', '0'], 'images must be an integer in [1, 10000], got 0'),
                          (['vgg12'], "unknown model 'vgg12'")):
        with pytest.raises(SystemExit) as exit_:
            dead_units.main(argv[:1] + [str(tmp_path / 'mlp.params')] + argv[1:])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err.splitlines()[-1]


def test_per_class():
    outputs = np.array([[2, 0, 0], [0, 1, 0], [3, 0, 0], [0, 0, -1]], np.float32)
    y = np.array([0, 0, 1, 0])
    assert dead_units.per_class(outputs, y) == [(3, 3, pytest.approx(2 / 3), 0.5),
                                                (1, 1, 0.0, 0.75), (0, 0, None, 1.0)]


def test_equal_scores():
    outputs = np.array([[0, 0, 0], [1, 1, 1], [0, 2, 0], [0.5, 0.5, 0.5000001]], np.float32)
    assert dead_units.equal_scores(outputs) == 0.5


def test_step_sizes_against_numpy():
    rng = np.random.RandomState(0)
    previous = {'a.weight': rng.randn(3, 4).astype(np.float32),
                'b.bias': rng.randn(5).astype(np.float32)}
    current = {'a.weight': previous['a.weight'] + 0.01, 'b.bias': previous['b.bias'] * 1.5}
    total, name, largest = dead_units.step_sizes(previous, current)
    flat = lambda d: np.concatenate([d[k].ravel() for k in sorted(d)]).astype(np.float64)
    assert total == pytest.approx(np.linalg.norm(flat(current) - flat(previous))
                                  / np.linalg.norm(flat(previous)))
    assert (name, largest) == ('b.bias', pytest.approx(0.5))
    with pytest.raises(ValueError, match='hold different parameters: c'):
        dead_units.step_sizes(previous, dict(current, c=np.zeros(1)))
    with pytest.raises(ValueError, match=r'b.bias has shape \(5,\) in one file and \(4,\)'):
        dead_units.step_sizes(previous, dict(current, **{'b.bias': np.zeros(4)}))


def test_command_line_traces_several_files(tmp_path, capsys):
    net = gn.get_model('mlp')
    net.initialize(mx.init.Xavier())
    net(nd.zeros((1, 1, 28, 28)))
    paths = [str(tmp_path / ('%d.params' % i)) for i in range(2)]
    net.save_parameters(paths[0])
    # Kill the hidden layer: every ReLU unit gets a bias far below any pre-activation.
    hidden = net[0]
    hidden.bias.set_data(nd.full(hidden.bias.shape, -1e3))
    net.save_parameters(paths[1])
    assert dead_units.main(['mlp'] + paths + ['--images', '64']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith('dead channels (%) of: ')
    assert lines[2].startswith(paths[1] + ': dead 100; 1 classes, acc ')
    assert ', equal scores 100%; step ' in lines[2] and ', equal scores 0%;' in lines[1]
    total, name, largest = dead_units.step_sizes(dead_units._load_numpy(paths[0]),
                                                 dead_units._load_numpy(paths[1]))
    assert lines[2].endswith('step %.4f (largest %.4f, %s)' % (total, largest, name))
    assert 'step' not in lines[1]


def test_command_line_refuses_files_of_different_networks(tmp_path, capsys):
    paths = []
    for name in ('mlp', 'softmax_regression'):
        net = gn.get_model(name)
        net.initialize(mx.init.Xavier())
        net(nd.zeros((1, 1, 28, 28)))
        paths.append(str(tmp_path / (name + '.params')))
        net.save_parameters(paths[-1])
    for argv in (paths, paths[1:]):
        with pytest.raises(SystemExit) as exit_:
            dead_units.main(['mlp'] + argv + ['--images', '8'])
        assert exit_.value.code == 2
        err = capsys.readouterr().err.splitlines()
        assert ("error: %s: not the saved parameters of mlp (Parameter '1.weight' is missing"
                % paths[1]) in err[-1] and len(err) == 2  # usage line, error line
