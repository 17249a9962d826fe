"""The plotting helpers: the numbers behind the figures against numpy, the figures drawn headless."""
import json

import matplotlib
import numpy as np
import pytest
from mxnet import init, nd

import gluon_notes as gn
from gluon_notes.cli import layer_trace

matplotlib.use('Agg')


class _Fixed:
    """A 'network' returning fixed scores, so its predictions are known."""

    def __init__(self, scores):
        self.scores = scores

    def __call__(self, X):
        return nd.array(self.scores[X.asnumpy().astype(int).ravel()])


def test_confusion_matrix_counts_true_against_predicted():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 10, size=300)
    scores = rng.rand(300, 10)
    batches = [(nd.array(np.arange(i, min(i + 64, 300))), nd.array(y[i:i + 64]))
               for i in range(0, 300, 64)]
    cm = gn.confusion_matrix(_Fixed(scores), batches)
    expected = np.zeros((10, 10), dtype=int)
    for t, p in zip(y, scores.argmax(axis=1)):
        expected[t, p] += 1
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == 300


def test_most_confused_lists_the_largest_off_diagonal_counts():
    cm = np.diag([50] * 10)
    cm[6, 0], cm[0, 6], cm[4, 2], cm[9, 7] = 30, 20, 25, 1
    assert gn.most_confused(cm, k=3) == [('shirt', 't-shirt', 30), ('coat', 'pullover', 25),
                                         ('t-shirt', 'shirt', 20)]
    assert gn.most_confused(np.eye(10), k=3) == []


def test_feature_maps_follow_the_books_trace():
    net = gn.get_model('lenet')
    net.initialize(init.Xavier())
    X = nd.random.uniform(shape=(1, 1, 28, 28))
    maps = gn.feature_maps(net, X)
    assert [m.shape for _, m in maps] == [s for _, s in layer_trace(net, X)]
    np.testing.assert_allclose(maps[-1][1].asnumpy(), net(X).asnumpy(), rtol=1e-6)


def test_figures_draw_headless(tmp_path):
    import matplotlib.pyplot as plt
    net = gn.get_model('lenet')
    net.initialize(init.Xavier())
    net(nd.random.uniform(shape=(1, 1, 28, 28)))  # deferred initialisation
    weight = net[0].weight.data()
    axes = gn.show_filters(weight, num_cols=3)
    assert sum(1 for ax in axes if ax.images) == weight.shape[0]
    axes = gn.show_feature_maps(net[0](nd.random.uniform(shape=(1, 1, 28, 28))), num_channels=4)
    assert [ax.images[0].get_array().shape for ax in axes] == [(24, 24)] * 4
    history = [dict(epoch=e, loss=1.0 / e, train_acc=0.5, test_acc=0.6) for e in (1, 2)]
    _, ax_acc = gn.plot_curves(history, book_test_acc=0.75)
    assert 'book test acc 0.750' in [t.get_text() for t in ax_acc.get_legend().get_texts()]
    ax = gn.plot_confusion_matrix(np.eye(10, dtype=int) * 5)
    assert ax.images[0].get_array()[3, 3] == 1.0
    plt.close('all')


def test_recorded_run_reads_the_results_row(tmp_path):
    (tmp_path / 'results.json').write_text(json.dumps({'rows': [{'model': 'lenet', 'x': 1}]}))
    assert gn.recorded_run('lenet', tmp_path) == {'model': 'lenet', 'x': 1}
    assert gn.recorded_run('nin', tmp_path) is None
    assert gn.recorded_run('nin', tmp_path / 'missing') is None
