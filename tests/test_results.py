"""The committed results are what the committed parameters compute: each network's saved
full-setting parameters, evaluated on the test set, give its row's test accuracy."""
import json
from pathlib import Path

import mxnet as mx
import pytest

import gluon_notes as gn

RESULTS = Path(__file__).resolve().parent.parent / 'results'
PARAMS = sorted((RESULTS / 'params').glob('*.params'))


def _row(model):
    return next(r for r in json.loads((RESULTS / 'results.json').read_text())['rows']
                if r['model'] == model)


@pytest.mark.parametrize('path', PARAMS, ids=[p.stem for p in PARAMS])
def test_saved_parameters_give_the_rows_test_accuracy(path):
    spec, row = gn.get_spec(path.stem), _row(path.stem)
    assert row['full'] and row['seed'] == 0
    net = spec.builder()
    net.load_parameters(str(path), ctx=mx.cpu())
    if isinstance(net, mx.gluon.HybridBlock):
        net.hybridize()
    _, test_iter = gn.load_data_fashion_mnist(256, resize=spec.resize)
    # Counted here with numpy, not with the evaluate_accuracy that wrote the row.
    correct = total = 0
    for X, y in test_iter:
        correct += int((net(X).asnumpy().argmax(axis=1) == y.asnumpy()).sum())
        total += y.shape[0]
    assert total == 10000
    # Another thread count may round a few logits differently: at most a few of 10,000 flip.
    assert abs(correct / total - row['test_acc']) <= 5e-4


def test_every_row_agrees_with_its_history_and_seed_runs():
    for row in json.loads((RESULTS / 'results.json').read_text())['rows']:
        spec = gn.get_spec(row['model'])
        assert row['book_test_acc'] == spec.book_test_acc
        if row.get('history'):
            assert [h['epoch'] for h in row['history']] == list(range(1, row['epochs'] + 1))
            assert row['history'][-1]['test_acc'] == row['test_acc']
        if row['full'] and row['book_test_acc']:
            assert row['diff'] == pytest.approx(row['test_acc'] - row['book_test_acc'])
        assert len({r['seed'] for r in row.get('seed_runs', [])} | {row.get('seed', 0)}) == \
            len(row.get('seed_runs', [])) + 1
