"""The committed chapter-3 notebooks are executed, teach the notes' sections in the notes' order and
carry their figures: this reads the committed files (no kernel is started)."""
import re
from pathlib import Path

import nbformat
import pytest

from gluon_notes.notebook import error_outputs

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / 'notebooks'

# The headings of each section of the notes, in the notes' order (the notes are not in the repo).
# A notebook may add headings of its own (e.g. 从零开始实现) between them.
NOTES_HEADINGS = {
    '3_1_linear_regression': ['线性回归', '建模', '模型训练', '训练数据', '损失函数', '优化算法',
                              '模型预测', '线性回归的表示方法', '神经网络图', '矢量计算表达式', '总结'],
    '3_2_softmax_regression': ['softmax 回归', '分类问题', 'softmax回归模型', 'softmax运算',
                               '单样本分类的矢量计算表达式', '小批量样本分类的矢量计算表达式',
                               '交叉熵损失函数', '总结'],
    '3_3_mlp': ['多层感知机', '隐藏层', '激活函数', 'ReLU函数', 'sigmoid函数', 'tanh函数', '总结'],
    '3_4_model_selection': ['模型选择、欠拟合和过拟合', '训练误差和泛化误差', '模型选择', '验证数据集',
                            '$K$ 折交叉验证', '欠拟合和过拟合', '模型复杂度', '训练数据集大小', '总结'],
    '3_5_weight_decay': ['权重衰减', '方法', '总结'],
    '3_6_dropout': ['丢弃法', '方法', '总结'],
    '3_7_backprop': ['正向传播、反向传播和计算图', '正向传播', '正向传播的计算图', '反向传播',
                     '训练深度学习模型', '小结'],
}

# The fewest PNG figures each notebook must show (issue 13's list: data scatter, image grids,
# predictions, activations, semilogy curves, dropout curves, the computational graph, training curves).
MIN_FIGURES = {'3_1_linear_regression': 3, '3_2_softmax_regression': 4, '3_3_mlp': 4,
               '3_4_model_selection': 6, '3_5_weight_decay': 6, '3_6_dropout': 4,
               '3_7_backprop': 3}

MIN_PROSE = 1500  # characters of explanation per notebook, formulas and code excluded
MAX_BYTES = 1_500_000


def _load(stem):
    return nbformat.read(str(NOTEBOOK_DIR / (stem + '.ipynb')), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == 'code']


def prose_chars(markdown):
    """Non-blank characters of markdown once code blocks, inline code and LaTeX are removed."""
    text = re.sub(r'```.*?```', '', markdown, flags=re.S)
    text = re.sub(r'\$\$.*?\$\$', '', text, flags=re.S)
    text = re.sub(r'\$[^$]*\$', '', text)
    text = re.sub(r'`[^`]*`', '', text)
    return len(re.sub(r'\s', '', text))


def headings(nb):
    found = []
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            found += [m.group(1) for m in re.finditer(r'^#+\s+(.+?)\s*$', cell.source, flags=re.M)]
    return found


def in_order(expected, found):
    """Whether ``expected`` occurs in ``found`` in the same order (other items may sit between)."""
    norm = [re.sub(r'\s', '', h) for h in found]
    pos = 0
    for h in expected:
        h = re.sub(r'\s', '', h)
        while pos < len(norm) and norm[pos] != h:
            pos += 1
        if pos == len(norm):
            return False
        pos += 1
    return True


STEMS = sorted(NOTES_HEADINGS)


def test_every_chapter3_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob('3_*.ipynb')) == STEMS


@pytest.mark.parametrize('stem', STEMS)
def test_committed_executed_in_order_without_errors(stem):
    nb = _load(stem)
    counts = [c.get('execution_count') for c in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), counts
    assert not error_outputs(nb)
    assert not [o for c in _code_cells(nb) for o in c.outputs if o.output_type == 'error']
    # Committed from a full-settings run, not the test suite's quick mode.
    first = ''.join(o.get('text', '') for o in _code_cells(nb)[0].outputs)
    assert 'mode: full' in first
    assert (NOTEBOOK_DIR / (stem + '.ipynb')).stat().st_size < MAX_BYTES


@pytest.mark.parametrize('stem', STEMS)
def test_follows_the_notes_headings_with_enough_prose(stem):
    nb = _load(stem)
    assert in_order(NOTES_HEADINGS[stem], headings(nb)), headings(nb)
    prose = sum(prose_chars(c.source) for c in nb.cells if c.cell_type == 'markdown')
    assert prose >= MIN_PROSE, prose
    # The notes' formulas are there, in LaTeX.
    assert sum(c.source.count('$$') for c in nb.cells if c.cell_type == 'markdown') >= 4


@pytest.mark.parametrize('stem', STEMS)
def test_figures_and_training_curves(stem):
    nb = _load(stem)
    pngs = [o for c in _code_cells(nb) for o in c.outputs if 'image/png' in o.get('data', {})]
    assert len(pngs) >= MIN_FIGURES[stem]
    for cell in _code_cells(nb):
        if 'train_ch3(' in cell.source:  # every training cell draws its curves with the book's line
            assert 'plot_curves(' in cell.source and 'book_test_acc=' in cell.source, cell.source
            assert any('image/png' in o.get('data', {}) for o in cell.outputs)


def test_helpers_reject_what_they_should():
    assert in_order(['a', 'c'], ['a', 'b', 'c']) and not in_order(['c', 'a'], ['a', 'b', 'c'])
    assert not in_order(['a', 'a'], ['a'])
    assert prose_chars('讲解 $x^2$ `code` $$\\sum_i$$\n```python\nx = 1\n```') == 2
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell('# 方法\ntext\n## $K$ 折交叉验证')]
    assert headings(nb) == ['方法', '$K$ 折交叉验证']
