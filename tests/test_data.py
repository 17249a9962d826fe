"""The Fashion-MNIST loader: shapes, ranges, labels, subsets, resize, and clear errors."""
import gzip
import os
import struct
import sys

import numpy as np
import pytest
from mxnet import nd

import gluon_notes as gn
from gluon_notes.data import IDXError, parse_idx, read_idx


def test_bundled_files_have_the_official_sizes():
    images, labels = gn.load_fashion_mnist_arrays('train')
    test_images, test_labels = gn.load_fashion_mnist_arrays('test')
    assert images.shape == (60000, 1, 28, 28) and images.dtype == np.uint8
    assert test_images.shape == (10000, 1, 28, 28)
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    assert np.bincount(labels).tolist() == [6000] * 10
    assert np.bincount(test_labels).tolist() == [1000] * 10


def test_batches_are_float32_nchw_in_unit_range():
    train_iter, test_iter = gn.load_data_fashion_mnist(64, subset=200)
    X, y = next(iter(train_iter))
    assert X.shape == (64, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= X.min().asscalar() and X.max().asscalar() <= 1.0
    sizes = [X.shape[0] for X, _ in test_iter]
    assert sizes == [64, 64, 64, 8] and len(test_iter) == 4


def test_pixels_match_d2lzh_to_tensor():
    from mxnet.gluon.data.vision import transforms
    images, _ = gn.load_fashion_mnist_arrays('test', subset=5)
    _, test_iter = gn.load_data_fashion_mnist(5, subset=5)
    X, _ = next(iter(test_iter))
    expected = transforms.ToTensor()(nd.array(images[:, 0, :, :, None], dtype='uint8'))
    np.testing.assert_array_equal(X.asnumpy(), expected.asnumpy())


def test_resize_matches_gluon_resize_transform():
    from mxnet.gluon.data.vision import transforms
    images, _ = gn.load_fashion_mnist_arrays('test', subset=3)
    _, test_iter = gn.load_data_fashion_mnist(3, resize=40, subset=3)
    X, _ = next(iter(test_iter))
    assert X.shape == (3, 1, 40, 40)
    pipeline = transforms.Compose([transforms.Resize(40), transforms.ToTensor()])
    for i in range(3):
        ref = pipeline(nd.array(images[i, 0, :, :, None], dtype='uint8'))
        np.testing.assert_array_equal(X[i].asnumpy(), ref.asnumpy())


def test_training_set_is_reshuffled_each_epoch_but_complete():
    train_iter, _ = gn.load_data_fashion_mnist(50, subset=100)
    first = np.concatenate([y.asnumpy() for _, y in train_iter])
    second = np.concatenate([y.asnumpy() for _, y in train_iter])
    _, labels = gn.load_fashion_mnist_arrays('train', subset=100)
    assert sorted(first) == sorted(second) == sorted(labels)
    assert not np.array_equal(first, second)


def test_batches_own_their_memory():
    """Writing into a batch (as an in-place MXNet op may) leaves the cached split and the next
    epoch's batches intact, for the shuffled and the sliced (test) iterator alike."""
    images, labels = gn.load_fashion_mnist_arrays('test', subset=20)
    images0, labels0 = images.copy(), labels.copy()
    for it in gn.load_data_fashion_mnist(8, subset=20):
        for X, y in it:
            X[:] = 7
            y[:] = 7
        np.testing.assert_array_equal(images, images0)
        np.testing.assert_array_equal(labels, labels0)
        X, y = next(iter(it))
        assert X.max().asscalar() <= 1.0 and (y.asnumpy() != 7).any()


def test_labels_text():
    assert gn.get_fashion_mnist_labels([0, 9, 5]) == ['t-shirt', 'ankle boot', 'sandal']


@pytest.mark.parametrize('kwargs', [dict(batch_size=0), dict(batch_size=2.5),
                                    dict(batch_size=8, subset=-1), dict(batch_size=8, resize=0),
                                    dict(batch_size=8, num_workers=-1)])
def test_bad_arguments_are_value_errors(kwargs):
    with pytest.raises(ValueError, match='must be'):
        gn.load_data_fashion_mnist(**kwargs)


def _idx_bytes(array, type_code=0x08):
    header = struct.pack('>HBB', 0, type_code, array.ndim) + struct.pack('>%dI' % array.ndim, *array.shape)
    return header + array.astype('>u1').tobytes()


def test_idx_round_trip_and_errors(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = _idx_bytes(a)
    np.testing.assert_array_equal(parse_idx(raw), a)
    path = tmp_path / 'x-idx3-ubyte.gz'
    path.write_bytes(gzip.compress(raw))
    np.testing.assert_array_equal(read_idx(path), a)
    with pytest.raises(IDXError, match='truncated'):
        parse_idx(raw[:-1])
    with pytest.raises(IDXError, match='not an IDX file'):
        parse_idx(b'\x12\x34' + raw[2:])
    bad_gzip = tmp_path / 'bad.gz'
    bad_gzip.write_bytes(gzip.compress(raw)[:30])
    with pytest.raises(IDXError, match=str(bad_gzip)):
        read_idx(bad_gzip)
    with pytest.raises(IDXError, match='no such file'):
        read_idx(tmp_path / 'missing.gz')


def test_missing_file_in_root_is_named(tmp_path):
    with pytest.raises(IDXError, match='train-images-idx3-ubyte.gz'):
        gn.load_data_fashion_mnist(8, root=tmp_path)


_EXIT_SCRIPT = '''
from mxnet import autograd, gluon, init, nd
import gluon_notes as gn
train_iter, test_iter = gn.load_data_fashion_mnist(256, subset=512)
net = gn.get_model('mlp')
net.initialize(init.Xavier())
net.hybridize(static_alloc=True)
X, y = next(iter(test_iter))
with autograd.record():
    l = gluon.loss.SoftmaxCrossEntropyLoss()(net(X), y)
l.backward()
del X, y, l
print('done')
'''


def test_a_script_holding_batches_exits_cleanly():
    # Batches wrapped with nd.from_numpy alone were released by a Python callback from an engine
    # thread; when that ran during the interpreter's shutdown the process aborted with
    # "terminate called without an active exception" (exit -6), in about half the runs.
    import subprocess
    for _ in range(6):
        proc = subprocess.run([sys.executable, '-c', _EXIT_SCRIPT], capture_output=True,
                              text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
        assert (proc.returncode, proc.stdout) == (0, 'done\n'), proc.stderr[-1000:]
