"""Fashion-MNIST: an IDX reader and the book's ``load_data_fashion_mnist``, made fast.

d2lzh decodes every image on every epoch through ``ToTensor`` in worker processes. Here each split is
decoded once, resized once (as uint8, the way ``transforms.Resize`` does it, so values match d2lzh's)
and cached in memory; an epoch only shuffles indices and converts each batch to float32 in [0, 1].
"""
import atexit
import gzip
import math
import os
import struct
import sys
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from . import checks

__all__ = ['IDXError', 'read_idx', 'load_fashion_mnist_arrays', 'load_data_fashion_mnist',
           'FashionMNISTIter', 'get_fashion_mnist_labels', 'show_fashion_mnist',
           'default_data_root', 'FILES']

FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
BUNDLED_ROOT = Path(__file__).resolve().parent.parent / 'data' / 'fashion-mnist'
MXNET_ROOT = Path('~/.mxnet/datasets/fashion-mnist')
DOWNLOAD_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'
# The largest accepted resize: 4.5x the book's largest input (224). Resized images are cached in
# memory, and the 60000 training images at 1024x1024 already take 63 GB.
MAX_RESIZE = 1024
TEXT_LABELS = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat',
               'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot')

# IDX type codes (the third magic byte) and the numpy dtype each stores, big-endian.
_IDX_DTYPES = {0x08: np.dtype('>u1'), 0x09: np.dtype('>i1'), 0x0B: np.dtype('>i2'),
               0x0C: np.dtype('>i4'), 0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}


class IDXError(ValueError):
    """A missing, truncated or malformed IDX file."""


def _idx_error(path, what):
    return IDXError('%s: %s; re-copy the file from the Fashion-MNIST distribution (or delete it so '
                    'that it is downloaded again)' % (path, what))


def parse_idx(raw, path='<bytes>'):
    """Parse the bytes of an (uncompressed) IDX file into a numpy array; IDXError if malformed."""
    if len(raw) < 4:
        raise _idx_error(path, 'truncated: %d bytes, shorter than the 4-byte magic number' % len(raw))
    zero, type_code, ndim = struct.unpack('>HBB', raw[:4])
    if zero != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise _idx_error(path, 'not an IDX file (magic number 0x%s)' % raw[:4].hex())
    if ndim > 32:  # numpy's limit
        raise _idx_error(path, '%d dimensions; at most 32 are supported' % ndim)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _idx_error(path, 'truncated header: %d bytes, expected %d' % (len(raw), header))
    dims = struct.unpack('>%dI' % ndim, raw[4:header])
    dtype = _IDX_DTYPES[type_code]
    expected = header + math.prod(dims) * dtype.itemsize  # Python ints: no int64 wrap-around
    if len(raw) != expected:
        raise _idx_error(path, '%s: %d bytes, expected %d for shape %s'
                         % ('truncated' if len(raw) < expected else 'trailing data',
                            len(raw), expected, dims))
    if math.prod(d for d in dims if d) * dtype.itemsize >= 2 ** 63:  # numpy refuses such shapes
        raise _idx_error(path, 'shape %s is too large for numpy' % (dims,))
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder('='))


def read_idx(path):
    """Read a (possibly gzip'd) IDX file into a numpy array; IDXError names the file if it is bad."""
    path = Path(path)
    if not path.is_file():
        raise _idx_error(path, 'no such file')
    try:
        if path.suffix == '.gz':
            with gzip.open(path, 'rb') as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise _idx_error(path, 'unreadable gzip data (%s)' % e) from None
    return parse_idx(raw, path)


def default_data_root():
    """The bundled ``data/fashion-mnist``, else ``~/.mxnet/datasets/fashion-mnist``."""
    if all((BUNDLED_ROOT / f).is_file() for pair in FILES.values() for f in pair):
        return BUNDLED_ROOT
    return MXNET_ROOT.expanduser()


def _download_missing(root):
    missing = [f for pair in FILES.values() for f in pair if not (root / f).is_file()]
    if not missing:
        return
    print('Fashion-MNIST not found in %s; downloading %s from %s'
          % (root, ', '.join(missing), DOWNLOAD_URL), file=sys.stderr)
    root.mkdir(parents=True, exist_ok=True)
    for name in missing:
        tmp = root / (name + '.part')
        try:
            urllib.request.urlretrieve(DOWNLOAD_URL + name, tmp)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise IDXError('%s: could not download %s (%s); copy the four Fashion-MNIST files into '
                           '%s or pass root=' % (root / name, DOWNLOAD_URL + name, e, root)) from None
        os.replace(tmp, root / name)


_CACHE = {}


def _resize_uint8(images, size):
    """Bilinear resize of (N, H, W) uint8 images to (N, size, size), as uint8 like d2lzh's Resize."""
    from mxnet import nd
    out = np.empty((len(images), size, size), dtype=np.uint8)
    step = 2048  # bounds the float scratch memory of the resize op
    for i in range(0, len(images), step):
        chunk = nd.array(images[i:i + step, :, :, None], dtype='uint8')
        out[i:i + step] = nd.image.resize(chunk, size=(size, size)).asnumpy()[..., 0]
    return out


def load_fashion_mnist_arrays(split, resize=None, root=None, subset=None):
    """``(images, labels)`` of one split as numpy: uint8 (N, 1, H, W) and int32 (N,). Cached."""
    if split not in FILES:
        raise ValueError('split must be one of %s, got %r' % (', '.join(FILES), split))
    resize = checks.integer('resize', resize, high=MAX_RESIZE)
    subset = checks.integer('subset', subset)
    root = Path(root).expanduser() if root is not None else default_data_root()
    if root == MXNET_ROOT.expanduser():
        _download_missing(root)
    key = (str(root.resolve()), split, resize, subset)
    if key not in _CACHE:
        image_file, label_file = (root / f for f in FILES[split])
        images, labels = read_idx(image_file), read_idx(label_file)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise IDXError('%s and %s: expected (N, H, W) images and N labels, got shapes %s and %s'
                           % (image_file, label_file, images.shape, labels.shape))
        if subset is not None:
            images, labels = images[:subset], labels[:subset]
        if resize is not None and resize != images.shape[1]:
            images = _resize_uint8(images, resize)
        _CACHE[key] = (np.ascontiguousarray(images[:, None]), labels.astype(np.int32))
    return _CACHE[key]


class FashionMNISTIter:
    """Mini-batches ``(X, y)`` over in-memory arrays: X float32 (batch, 1, H, W) in [0, 1], y int32.

    Shuffling permutes indices with ``self.rng`` at the start of each pass; the last batch may be
    smaller, as with d2lzh's ``DataLoader``. ``indices`` (keyword) restricts the iterator to those
    examples of the arrays; ``shard`` makes such an iterator for one worker of a distributed job.
    """

    def __init__(self, images, labels, batch_size, shuffle, rng=None, *, indices=None):
        self.images, self.labels = images, labels
        self.batch_size = checks.integer('batch_size', batch_size, optional=False)
        self.shuffle = shuffle
        self.rng = rng if rng is not None else np.random.RandomState(np.random.randint(2 ** 31))
        self.indices = None if indices is None else np.asarray(indices, dtype=np.int64)

    @property
    def num_examples(self):
        return len(self.labels) if self.indices is None else len(self.indices)

    def example_indices(self):
        """Positions in ``images``/``labels`` of the examples this iterator reads."""
        return np.arange(len(self.labels)) if self.indices is None else self.indices.copy()

    def shard(self, rank, num_workers, *, equal=True):
        """The examples worker ``rank`` of ``num_workers`` reads: every ``num_workers``-th one from
        position ``rank``, so the shards are disjoint and, together, cover the iterator's examples.

        ``equal`` first drops the last ``num_examples % num_workers`` examples, so that every shard
        has the same size and hence the same number of batches: each step of synchronous
        distributed training waits for every worker, so one extra batch anywhere would hang the
        job. The shard reuses the batch size, shuffling and RNG of this iterator.
        """
        num_workers = checks.integer('num_workers', num_workers, optional=False)
        if not checks.is_integer(rank) or not 0 <= rank < num_workers:
            raise ValueError('rank must be an integer in [0, %d), got %r' % (num_workers, rank))
        ids = self.example_indices()
        if equal:
            ids = ids[:len(ids) - len(ids) % num_workers]
        ids = ids[rank::num_workers]
        if len(ids) == 0:
            raise ValueError('%d examples cannot be split over %d workers: shard %d would be '
                             'empty; use more examples (subset) or fewer workers'
                             % (self.num_examples, num_workers, rank))
        return FashionMNISTIter(self.images, self.labels, self.batch_size, self.shuffle,
                                rng=self.rng, indices=ids)

    def __len__(self):
        return -(-self.num_examples // self.batch_size)

    def __iter__(self):
        from mxnet import nd
        _drain_engine_at_exit()
        n = self.num_examples
        order = self.rng.permutation(n) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size] if self.shuffle else slice(start, start + self.batch_size)
            if self.indices is not None:
                idx = self.indices[idx]
            X = self.images[idx].astype(np.float32)
            np.divide(X, np.float32(255), out=X)
            y = np.array(self.labels[idx], dtype=np.int32)  # a copy: never share the cache
            # nd.array would copy through SyncCopyFromCPU, which first waits until the engine has
            # run every operation already queued (the previous batch's training step), so Python
            # and the engine would take turns. nd.from_numpy does not wait, but frees the numpy
            # buffer through a Python callback from an engine thread, which aborts the process
            # ("terminate called without an active exception") if it runs while the interpreter
            # shuts down. So the wrapper is copied by a queued engine operation into MXNet's own
            # memory and released once that copy has run; the engine is drained at exit.
            yield nd.from_numpy(X).copy(), nd.from_numpy(y).copy()


_drain_registered = False


def _drain_engine_at_exit():
    """Have the interpreter wait for MXNet's engine before it shuts down (registered once)."""
    global _drain_registered
    if not _drain_registered:
        from mxnet import nd
        atexit.register(nd.waitall)
        _drain_registered = True


def load_data_fashion_mnist(batch_size, resize=None, root=None, num_workers=None, subset=None, *,
                            shard=None):
    """``(train_iter, test_iter)`` over Fashion-MNIST, the training set shuffled every epoch.

    ``root=None`` reads the bundled copy; ``subset=N`` keeps the first N examples of each split.
    ``num_workers`` is accepted for d2lzh compatibility and unused: batches are sliced from memory.
    ``shard=(rank, num_workers)`` gives worker ``rank`` of a distributed job its part of each split
    (``FashionMNISTIter.shard``): equal training shards, test shards that cover the test set.
    """
    batch_size = checks.integer('batch_size', batch_size, optional=False)
    resize = checks.integer('resize', resize, high=MAX_RESIZE)
    subset = checks.integer('subset', subset)
    checks.integer('num_workers', num_workers, low=0)
    train = load_fashion_mnist_arrays('train', resize, root, subset)
    test = load_fashion_mnist_arrays('test', resize, root, subset)
    train_iter = FashionMNISTIter(*train, batch_size, shuffle=True)
    test_iter = FashionMNISTIter(*test, batch_size, shuffle=False)
    if shard is not None:
        if not isinstance(shard, (tuple, list)) or len(shard) != 2:
            raise ValueError('shard must be a pair (rank, num_workers), got %r' % (shard,))
        train_iter = train_iter.shard(*shard)
        test_iter = test_iter.shard(*shard, equal=False)
    return train_iter, test_iter


def get_fashion_mnist_labels(labels):
    """Text labels of numeric Fashion-MNIST labels."""
    return [TEXT_LABELS[int(i)] for i in labels]


def show_fashion_mnist(images, labels):
    """Plot images (each 28x28 or 1x28x28) in one row, titled with ``labels``."""
    import matplotlib.pyplot as plt
    _, figs = plt.subplots(1, len(images), figsize=(12, 12))
    for f, img, lbl in zip(np.atleast_1d(figs), images, labels):
        img = img.asnumpy() if hasattr(img, 'asnumpy') else np.asarray(img)
        f.imshow(img.reshape(img.shape[-2:]))
        f.set_title(lbl)
        f.axes.get_xaxis().set_visible(False)
        f.axes.get_yaxis().set_visible(False)
    return figs
