"""The book's plotting helpers and the figures the notebooks draw of a trained network.

d2lzh's names and arguments where the book has them (``use_svg_display``, ``set_figsize``;
``show_fashion_mnist`` and ``get_fashion_mnist_labels`` live in ``gluon_notes.data``, ``semilogy``
with the section that defines it, ``gluon_notes.chapter3.model_selection``).
Everything is matplotlib; pyplot is imported when a function is called, never on import.
"""
import json
from pathlib import Path

import numpy as np

from .data import TEXT_LABELS

__all__ = ['use_svg_display', 'set_figsize', 'show_images', 'plot_curves',
           'confusion_matrix', 'plot_confusion_matrix', 'most_confused', 'feature_maps',
           'show_filters', 'show_feature_maps', 'recorded_run']

RESULTS_DIR = Path(__file__).resolve().parent.parent / 'results'


def _plt():
    import matplotlib.pyplot as plt
    return plt


def _numpy(x):
    return x.asnumpy() if hasattr(x, 'asnumpy') else np.asarray(x)


def use_svg_display():
    """Draw inline figures as SVG, as the book does (the committed notebooks keep PNG)."""
    from matplotlib_inline.backend_inline import set_matplotlib_formats
    set_matplotlib_formats('svg')


def set_figsize(figsize=(3.5, 2.5)):
    """Set matplotlib's default figure size. Unlike d2lzh's, it leaves the inline format alone, so
    that executed notebooks keep their figures as PNG."""
    _plt().rcParams['figure.figsize'] = figsize


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5, cmap='gray'):
    """A ``num_rows`` x ``num_cols`` grid of images (H x W, or C x H x W with one channel);
    returns the axes."""
    plt = _plt()
    _, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale),
                           squeeze=False)
    axes = axes.flatten()
    for i, ax in enumerate(axes):
        ax.axis('off')
        if i >= len(imgs):
            continue
        img = _numpy(imgs[i])
        ax.imshow(img.reshape(img.shape[-2:]) if img.ndim == 3 else img, cmap=cmap)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize=8)
    return axes


def plot_curves(history, book_test_acc=None, title=None, label=None, axes=None):
    """Train loss, train and test accuracy per epoch of a ``train_ch5``/``train_ch3`` history, with
    the book's final test accuracy as a dotted line; returns the two axes."""
    plt = _plt()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_loss, ax_acc = axes
    epochs = [r['epoch'] for r in history]
    suffix = ' (%s)' % label if label else ''
    ax_loss.plot(epochs, [r['loss'] for r in history], 'o-', label='train loss' + suffix)
    ax_loss.set(xlabel='epoch', ylabel='train loss')
    ax_acc.plot(epochs, [r['train_acc'] for r in history], 'o-', label='train acc' + suffix)
    ax_acc.plot(epochs, [r['test_acc'] for r in history], 's--', label='test acc' + suffix)
    if book_test_acc:
        ax_acc.axhline(book_test_acc, color='gray', linestyle=':',
                       label='book test acc %.3f' % book_test_acc)
    ax_acc.set(xlabel='epoch', ylabel='accuracy')
    ax_acc.legend(fontsize=8)
    if title:
        ax_loss.figure.suptitle(title)
    return axes


def confusion_matrix(net, data_iter, ctx=None, num_classes=10):
    """``cm[true, predicted]``: counts of ``net``'s predictions on ``data_iter``."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    for X, y in data_iter:
        if ctx is not None:
            X = X.as_in_context(ctx)
        pred = _numpy(net(X).argmax(axis=1)).astype(np.int64)
        np.add.at(cm, (_numpy(y).astype(np.int64), pred), 1)
    return cm


def plot_confusion_matrix(cm, labels=TEXT_LABELS, ax=None, normalize=True):
    """Draw ``cm`` (rows: true class, columns: predicted), as fractions of each row with
    ``normalize``; returns the axes."""
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    cm = np.asarray(cm, dtype=np.float64)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    image = ax.imshow(shown, cmap='Blues')
    ax.figure.colorbar(image, ax=ax)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha='right', fontsize=8)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set(xlabel='predicted', ylabel='true')
    for i in range(shown.shape[0]):
        for j in range(shown.shape[1]):
            ax.text(j, i, ('%.2f' % shown[i, j]) if normalize else '%d' % cm[i, j],
                    ha='center', va='center', fontsize=6,
                    color='white' if shown[i, j] > shown.max() / 2 else 'black')
    return ax


def most_confused(cm, labels=TEXT_LABELS, k=5):
    """The ``k`` most frequent mistakes as ``(true label, predicted label, count)``, largest first."""
    cm = np.asarray(cm)
    pairs = [(cm[i, j], i, j) for i in range(cm.shape[0]) for j in range(cm.shape[1]) if i != j]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [(labels[i], labels[j], int(c)) for c, i, j in pairs[:k] if c > 0]


def feature_maps(net, X):
    """``(name, output)`` of each top-level child of ``net`` for input ``X``, as the book's
    ``for blk in net`` trace."""
    maps = []
    for blk in net:
        X = blk(X)
        maps.append((blk.name, X))
    return maps


def show_filters(weight, num_cols=8, scale=1.0, title=None):
    """The kernels of a convolution ``weight`` (out, in, h, w): one image per output channel
    (input channels averaged), each scaled to its own range; returns the axes."""
    w = _numpy(weight).mean(axis=1)
    num_rows = -(-len(w) // num_cols)
    axes = show_images(w, num_rows, num_cols, titles=[str(i) for i in range(len(w))],
                       scale=scale, cmap='coolwarm')
    if title:
        axes[0].figure.suptitle(title)
    return axes


def show_feature_maps(output, num_channels=8, scale=1.2, title=None):
    """The first ``num_channels`` channels of one example's feature map ``output`` (1, C, H, W)
    or (C, H, W); returns the axes."""
    maps = _numpy(output)
    maps = maps[0] if maps.ndim == 4 else maps
    n = min(num_channels, len(maps))
    axes = show_images(maps[:n], 1, n, titles=['channel %d' % i for i in range(n)], scale=scale,
                       cmap='viridis')
    if title:
        axes[0].figure.suptitle(title, y=1.05)
    return axes


def recorded_run(model, results_dir=None):
    """The row of ``model`` in ``results/results.json`` (a full reproduction run: its history,
    date, device and machine), or None when it has none."""
    path = Path(results_dir) if results_dir is not None else RESULTS_DIR
    path = path / 'results.json'
    if not path.is_file():
        return None
    rows = [r for r in json.loads(path.read_text())['rows'] if r['model'] == model]
    return rows[0] if rows else None


# Chapter-5 notebooks: the book's layer trace drawn as a block diagram, and a recorded run of
# results/results.json drawn whatever its scope (a full history, or only final figures).
__all__ += ['plot_shape_trace', 'recorded_label', 'plot_recorded_run']


def _shape_label(shape):
    return '\u00d7'.join(str(d) for d in shape[1:])


def plot_shape_trace(trace, input_shape=None, title=None, ax=None):
    """The book's layer trace ``[(name, output shape), ...]`` (``cli.layer_trace``) as a block
    diagram: one box per layer, as tall as its output's height (relative to the largest) and
    wider the more channels it has (log scale); a flat output (N, F) is a thin hatched box.
    ``input_shape`` (N, C, H, W) adds the input as a first box. Returns the axes."""
    rows = ([('input', tuple(input_shape))] if input_shape is not None else []) + [
        (name, tuple(shape)) for name, shape in trace]
    if not rows:
        raise ValueError('plot_shape_trace needs a non-empty trace of (name, shape) pairs')
    for name, shape in rows:
        if len(shape) not in (2, 4):
            raise ValueError('%s: expected an output shape (N, C, H, W) or (N, F), got %s'
                             % (name, shape))
    plt = _plt()
    from matplotlib.patches import Rectangle
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(rows)), 3.6))
    max_side = max((s[2] for _, s in rows if len(s) == 4), default=1)
    max_width = max(np.log2(max(s[1], 2)) for _, s in rows)
    for i, (name, shape) in enumerate(rows):
        width = 0.2 + 0.6 * np.log2(max(shape[1], 2)) / max_width
        flat = len(shape) == 2
        height = 0.04 if flat else max(shape[2] / max_side, 0.02)
        ax.add_patch(Rectangle((i - width / 2, 0), width, height, facecolor='white' if flat else
                               plt.cm.viridis(0.15 + 0.7 * i / max(len(rows) - 1, 1)),
                               edgecolor='black', hatch='//' if flat else None))
        ax.text(i, height + 0.03, _shape_label(shape), ha='center', va='bottom', rotation=90,
                fontsize=7)
        ax.text(i, -0.04, name, ha='right', va='top', rotation=60, fontsize=7)
    ax.set_xlim(-0.7, len(rows) - 0.3)
    ax.set_ylim(-0.05, 1.45)
    ax.axis('off')
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def recorded_label(row):
    """One line naming a results row: scope, epochs, date, device and machine."""
    if not row:
        raise ValueError('no recorded run to label (the model has no row in results.json)')
    return 'recorded run, scope: %s (%s epochs); %s, %s, %s' % (
        row.get('scope', '?'), row.get('epochs', '?'), row.get('date', '?'),
        row.get('device', '?'), row.get('machine', '?'))


def plot_recorded_run(row, book_test_acc=None, title=None):
    """A ``recorded_run`` row drawn: its per-epoch curves (``plot_curves``) when it carries a
    history, otherwise its final train and test accuracy as bars next to the book's test
    accuracy. Titled with ``recorded_label(row)``; returns the axes."""
    label = recorded_label(row)
    title = '%s\n%s' % (title, label) if title else label
    if row.get('history'):
        axes = plot_curves(row['history'], book_test_acc=book_test_acc, label='recorded')
        for ax in axes:  # whole epochs only, also for a one-epoch row
            ax.set_xticks([r['epoch'] for r in row['history']])
        axes[0].figure.suptitle(title, fontsize=9)
        axes[0].figure.tight_layout()
        return axes
    plt = _plt()
    _, ax = plt.subplots(figsize=(4.5, 3.2))
    values = [row['train_acc'], row['test_acc']]
    bars = ax.bar(['train acc', 'test acc'], values, color=['tab:blue', 'tab:orange'])
    for bar, v in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, v + 0.01, '%.3f' % v, ha='center', fontsize=8)
    if book_test_acc:
        ax.axhline(book_test_acc, color='gray', linestyle=':',
                   label='book test acc %.3f' % book_test_acc)
        ax.legend(fontsize=8, loc='upper left')
    ax.set(ylim=(0, 1), ylabel='accuracy after the last epoch')
    ax.set_title(title + '\n(final figures only: this row has no per-epoch history)', fontsize=8)
    return ax
