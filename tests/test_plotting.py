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


def test_shape_trace_draws_one_box_per_layer_sized_by_its_output():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    net = gn.get_model('lenet')
    net.initialize(init.Xavier())
    trace = layer_trace(net, nd.random.uniform(shape=(1, 1, 28, 28)))
    ax = gn.plot_shape_trace(trace, input_shape=(1, 1, 28, 28))
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(trace) + 1
    # Heights follow the outputs' sides relative to the 28-pixel input: 24/28 after the first
    # convolution, 12/28 after its pooling.
    assert boxes[1].get_height() == pytest.approx(24 / 28)
    assert boxes[2].get_height() == pytest.approx(12 / 28)
    # More channels, wider box; the flat dense outputs are the thin boxes.
    assert boxes[1].get_width() > boxes[0].get_width()
    assert [b.get_height() for b in boxes[-3:]] == [0.04] * 3
    texts = [t.get_text() for t in ax.texts]
    assert '6\u00d724\u00d724' in texts and '120' in texts
    with pytest.raises(ValueError, match='non-empty'):
        gn.plot_shape_trace([])
    with pytest.raises(ValueError, match=r'conv0: expected an output shape.*\(1, 6, 24\)'):
        gn.plot_shape_trace([('conv0', (1, 6, 24))])
    plt.close('all')


def test_plot_recorded_run_draws_a_history_or_the_final_figures():
    import matplotlib.pyplot as plt
    row = dict(model='densenet', scope='1 epoch, subset 2000 (CPU)', epochs=1, date='2026-11-26',
               device='cpu(0)', machine='AMD EPYC, 2 cores', train_acc=0.407, test_acc=0.1015)
    assert gn.recorded_label(row) == ('recorded run, scope: 1 epoch, subset 2000 (CPU) (1 epochs); '
                                      '2026-11-26, cpu(0), AMD EPYC, 2 cores')
    ax = gn.plot_recorded_run(row, book_test_acc=0.879)
    assert [b.get_height() for b in ax.patches] == [0.407, 0.1015]
    assert '2026-11-26' in ax.get_title() and 'no per-epoch history' in ax.get_title()
    assert 'book test acc 0.879' in [t.get_text() for t in ax.get_legend().get_texts()]
    history = [dict(epoch=e, loss=1.0 / e, train_acc=0.1 * e, test_acc=0.1 * e + 0.05)
               for e in (1, 2, 3)]
    ax_loss, ax_acc = gn.plot_recorded_run(dict(row, epochs=3, scope='full', history=history))
    assert list(ax_loss.lines[0].get_ydata()) == [1.0, 0.5, 1.0 / 3]
    assert list(ax_acc.lines[1].get_ydata()) == pytest.approx([0.15, 0.25, 0.35])
    assert 'scope: full (3 epochs)' in ax_loss.figure._suptitle.get_text()
    assert list(ax_acc.get_xticks()) == [1, 2, 3]
    with pytest.raises(ValueError, match='no recorded run'):
        gn.plot_recorded_run(None)
    plt.close('all')
