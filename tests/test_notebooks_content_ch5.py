"""The committed chapter-5 notebooks: executed in order at full settings, without errors, with
their own Chinese explanation, the notes' headings in the notes' order and the figures the issue
asks for. Reads the committed files only; executing them is tests/test_notebooks.py's job."""
import re
from pathlib import Path

import nbformat
import pytest

from gluon_notes.notebook import error_outputs

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / 'notebooks'

# The headings of each section of the notes (their order), as the notebooks spell them: the notes'
# "LenNet模型" is a typo for LeNet模型, and "$1\times 1$卷积层" is written 1×1卷积层.
NOTES_HEADINGS = {
    '5_1_conv_layer': ['二维卷积层', '二维互相关运算', '互相关运算和卷积运算', '特征图和感受野'],
    '5_2_padding_stride': ['填充和步幅', '填充', '步幅', '总结'],
    '5_3_channels': ['多输入通道和多输出通道', '多输入通道', '多输出通道', '1×1卷积层', '总结'],
    '5_4_pooling': ['池化层', '二维最大池化层和平均池化层', '总结'],
    '5_5_lenet': ['LeNet', 'LeNet模型', '总结'],
    '5_6_alexnet': ['AlexNet', '学习特征表示', '缺失要素一：数据', '缺失要素二：硬件', 'AlexNet', '网络模型',
                    '总结'],
    '5_7_vgg': ['VGG', 'VGG块', 'VGG网络'],
    '5_8_nin': ['网络中的网络（NiN）', 'NiN块', 'NiN模型', '总结'],
    '5_9_googlenet': ['GoogLeNet', 'Inception 块', 'GoogLeNet模型', '总结'],
    '5_10_batch_norm': ['批量归一化', '批量归一化层', '对全连接层做批量归一化', '对卷积层做批量归一化',
                        '预测时的批量归一化', '总结'],
    '5_11_resnet': ['残差网络（ResNet）', '残差块', 'ResNet模型', '总结'],
    '5_12_densenet': ['稠密连接网络（DenseNet）', '稠密块', '过渡层', 'DenseNet模型', '总结'],
}
# Networks whose full training takes hours here: the notebook shows the recorded run next to a
# short live one, and the book's layer trace.
LARGE = {'5_6_alexnet', '5_7_vgg', '5_8_nin', '5_9_googlenet', '5_11_resnet', '5_12_densenet'}
# What the trained network learned (first-layer filters, feature maps, confusion matrix) needs
# several figures beyond the curves.
MIN_FIGURES = {'5_1_conv_layer': 4, '5_5_lenet': 8, '5_10_batch_norm': 3, '5_12_densenet': 8}
MIN_PROSE = 1500
CJK = re.compile(r'[\u4e00-\u9fff]')


def _load(stem):
    return nbformat.read(str(NOTEBOOK_DIR / (stem + '.ipynb')), as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == 'code']


def _markdown(nb):
    return [c.source for c in nb.cells if c.cell_type == 'markdown']


def _headings(nb):
    return [line.lstrip('#').strip() for text in _markdown(nb) for line in text.splitlines()
            if re.match(r'#{1,6} ', line)]


def _outputs_text(nb):
    parts = []
    for cell in _code(nb):
        for out in cell.outputs:
            parts.append(out.get('text', '') + out.get('data', {}).get('text/plain', ''))
    return '\n'.join(parts)


def _is_subsequence(expected, actual):
    it = iter(actual)
    return all(any(h == a for a in it) for h in expected)


def test_every_chapter5_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOK_DIR.glob('5_*.ipynb')) == sorted(NOTES_HEADINGS)


def test_subsequence_helper():
    assert _is_subsequence(['a', 'c'], ['a', 'b', 'c'])
    assert not _is_subsequence(['c', 'a'], ['a', 'b', 'c'])
    assert not _is_subsequence(['a', 'a'], ['a', 'b'])


@pytest.mark.parametrize('stem', sorted(NOTES_HEADINGS))
def test_notebook_is_committed_executed_in_order_without_errors(stem):
    nb = _load(stem)
    code = _code(nb)
    assert code, stem
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), \
        '%s: code cells not executed top to bottom in one run' % stem
    assert not error_outputs(nb)
    assert 'Traceback' not in _outputs_text(nb)
    # Executed at full settings: the set-up cell prints the mode.
    assert 'quick mode: False' in _outputs_text(nb), '%s was executed in quick mode' % stem


@pytest.mark.parametrize('stem', sorted(NOTES_HEADINGS))
def test_notebook_explains_in_chinese_under_the_notes_headings(stem):
    nb = _load(stem)
    prose = re.sub(r'\s+', '', ''.join(_markdown(nb)))
    assert len(prose) >= MIN_PROSE, '%s: %d characters of markdown' % (stem, len(prose))
    assert len(CJK.findall(prose)) >= MIN_PROSE // 2, '%s: too little Chinese prose' % stem
    headings = _headings(nb)
    assert _is_subsequence(NOTES_HEADINGS[stem], headings), \
        '%s: expected the notes\' headings %s in this order, found %s' % (
            stem, NOTES_HEADINGS[stem], headings)


@pytest.mark.parametrize('stem', sorted(NOTES_HEADINGS))
def test_notebook_has_its_figures_and_book_lines(stem):
    nb = _load(stem)
    figures = sum('image/png' in out.get('data', {}) for c in _code(nb) for out in c.outputs)
    assert figures >= MIN_FIGURES.get(stem, 1), '%s: %d figures' % (stem, figures)
    assert not any('image/svg+xml' in out.get('data', {}) for c in _code(nb) for out in c.outputs)
    # Every training run's curves, with the book's final test accuracy as the reference line.
    source = '\n'.join(c.source for c in _code(nb))
    assert len(re.findall(r'plot_curves\(\w+, book_test_acc=', source)) >= source.count('train_ch5('), \
        '%s: a training run without its curves and the book\'s line' % stem
    assert (NOTEBOOK_DIR / (stem + '.ipynb')).stat().st_size < 2_000_000


@pytest.mark.parametrize('stem', sorted(LARGE))
def test_large_network_shows_its_trace_live_run_and_recorded_run(stem):
    nb = _load(stem)
    source = '\n'.join(c.source for c in _code(nb))
    out = _outputs_text(nb)
    assert re.search(r'for blk in \w+:', source) and 'output shape:' in out
    assert 'gn.recorded_run(' in source and 'gn.plot_recorded_run(' in source
    assert 'recorded run, scope:' in out          # the row's scope, date and device are printed
    assert re.search(r'^epoch 1, loss', out, re.M)  # the live run's epoch line


def test_lenet_and_densenet_show_what_the_network_learned():
    for stem in ('5_5_lenet', '5_12_densenet'):
        source = '\n'.join(c.source for c in _code(_load(stem)))
        for helper in ('show_filters(', 'feature_maps(', 'confusion_matrix(', 'most_confused('):
            assert helper in source, (stem, helper)
    # LeNet trains at the book's full settings in the notebook: five epoch lines.
    out = _outputs_text(_load('5_5_lenet'))
    assert re.search(r'^epoch 5, loss', out, re.M)
    assert 'most confused pairs' in out
