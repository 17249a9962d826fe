"""``gluon-notes doctor``: what this machine can do, in the lines a bug report needs.

Each item is found on its own and reported as found, missing or failed; none ends the report with
a traceback. The exit status is 0 when a small convolution trains (forward and backward) on at least
one context and the data files that are present verify, else 1.
"""
import ctypes
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

from . import MXNET_IMPORT_ERROR
from .data import FILES, MXNET_ROOT, default_data_root, read_idx

if MXNET_IMPORT_ERROR is None:
    import mxnet as mx
    from mxnet import autograd, gluon, nd

    from .train import gpu_count, mxnet_reason, probe

__all__ = ['Item', 'doctor', 'FEATURES']

FEATURES = ('CUDA', 'CUDNN', 'NCCL', 'MKLDNN', 'DIST_KVSTORE')
HOOK_MODULE = 'gluon_notes_cuda_preload'  # tools/gpu_libs.py installs it into the GPU venv
# Fashion-MNIST's splits: examples per split, image side.
EXPECTED = {'train': 60000, 'test': 10000}
SIDE = 28

# status: 'ok', 'info' (a fact, neither good nor bad), 'warn' (works, could be better),
# 'fail' (this item stops training here)
Item = namedtuple('Item', 'name status text')


def python_item():
    return [Item('python', 'info', '%s %s (%s)' % (platform.python_implementation(),
                                                   platform.python_version(), sys.executable))]


def mxnet_item():
    features = mx.runtime.Features()
    flags = ', '.join('%s %s' % (f, 'yes' if features.is_enabled(f) else 'no') for f in FEATURES)
    return [Item('mxnet', 'info', '%s (%s); %s' % (mx.__version__,
                                                   os.path.dirname(mx.__file__), flags))]


def cuda_libs_item():
    if not mx.runtime.Features().is_enabled('CUDA'):
        return []
    hook = sys.modules.get(HOOK_MODULE)
    if hook is None:
        return [Item('cuda libs', 'info', 'loaded by the system loader (no preload hook: '
                                          'LD_LIBRARY_PATH or a system CUDA)')]
    return [Item('cuda libs', 'ok', '%d preloaded from the nvidia wheels: %s'
                 % (len(hook.PRELOADED), ' '.join(os.path.basename(p) for p in hook.PRELOADED)))]


def driver_item():
    smi = shutil.which('nvidia-smi')
    if smi is None:
        return [Item('driver', 'info', 'nvidia-smi not found: no NVIDIA driver on this machine')]
    try:
        out = subprocess.run([smi, '--query-gpu=index,name,compute_cap,driver_version,'
                                   'memory.total', '--format=csv,noheader'],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [Item('driver', 'warn', 'nvidia-smi did not answer: %s' % e)]
    text = (out.stdout if out.returncode == 0 else out.stderr).strip() or 'no output'
    return [Item('driver', 'info' if out.returncode == 0 else 'warn',
                 'nvidia-smi: %s' % line.strip()) for line in text.splitlines()]


def compute_capability(device_id):
    """``'sm_86'`` from the driver's libcuda.so.1, or None where that cannot be asked."""
    try:
        cuda = ctypes.CDLL('libcuda.so.1')
    except OSError:
        return None
    major, minor, device = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    # 75, 76: CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR in cuda.h
    if (cuda.cuInit(0) or cuda.cuDeviceGet(ctypes.byref(device), device_id)
            or cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device)
            or cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, device)):
        return None
    return 'sm_%d%d' % (major.value, minor.value)


def gpu_items(usable):
    """One item per GPU MXNet reports; appends the ones whose first operation works to
    ``usable``."""
    count, why = gpu_count()
    if why:
        return [Item('gpus', 'warn', 'MXNet cannot count the GPUs: %s' % why)]
    if count == 0:
        hint = ('' if mx.runtime.Features().is_enabled('CUDA')
                else ' (this mxnet is the CPU build; "make gpu" builds the GPU environment)')
        return [Item('gpus', 'info', 'none visible to MXNet' + hint)]
    items = []
    for i in range(count):
        ctx = mx.gpu(i)
        facts = []
        arch = compute_capability(i)
        if arch:
            facts.append(arch)
        try:
            free, total = mx.context.gpu_memory_info(i)
            facts.append('%.1f of %.1f GiB free' % (free / 2 ** 30, total / 2 ** 30))
        except mx.base.MXNetError as e:
            facts.append('memory unknown (%s)' % mxnet_reason(e))
        reason = probe(ctx)
        if reason is None:
            usable.append(ctx)
            items.append(Item(str(ctx), 'ok', ', '.join(facts + ['first operation works'])))
        else:
            items.append(Item(str(ctx), 'fail', ', '.join(facts + ['first operation failed: '
                                                                    + reason])))
    return items


def logical_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def omp_item(environ=None):
    """The OpenMP threads MXNet computes with on the CPU, by MXNet's own rule: OMP_NUM_THREADS,
    else MXNET_OMP_MAX_THREADS, else half the logical cores on x86 (it assumes hyper-threading)."""
    environ = os.environ if environ is None else environ
    cores = logical_cores()
    advice = '; on a CPU, export OMP_NUM_THREADS=%d to use every core' % cores
    for var in ('OMP_NUM_THREADS', 'MXNET_OMP_MAX_THREADS'):
        if environ.get(var):
            value = environ[var]
            ok = value.isdigit() and int(value) >= cores
            return [Item('openmp', 'ok' if ok else 'warn', '%s thread(s) (%s) of %d logical '
                         'cores%s' % (value, var, cores, '' if ok else advice))]
    threads = max(1, cores // 2) if platform.machine() in ('x86_64', 'AMD64', 'i686') else cores
    return [Item('openmp', 'warn' if threads < cores else 'ok',
                 '%d thread(s) (MXNet\'s default) of %d logical cores%s'
                 % (threads, cores, advice if threads < cores else ''))]


def data_items(root=None):
    root = default_data_root() if root is None else root
    found, problems, missing = [], [], []
    for split, names in FILES.items():
        for name in names:
            path = os.path.join(str(root), name)
            if not os.path.exists(path):
                missing.append(name)
                continue
            try:
                array = read_idx(path)
            except ValueError as e:  # IDXError names the file and what is wrong with it
                problems.append(str(e))
                continue
            images = 'images' in name
            expected = (EXPECTED[split], SIDE, SIDE) if images else (EXPECTED[split],)
            if array.shape != expected:
                problems.append('%s: shape %s, expected %s' % (path, array.shape, expected))
            elif not images and (array.min() < 0 or array.max() > 9):
                problems.append('%s: labels outside 0..9' % path)
            else:
                found.append(name)
    items = [Item('data', 'fail', p) for p in problems]
    if missing and Path(root).expanduser() == MXNET_ROOT.expanduser():
        items.append(Item('data', 'warn', '%s: %s missing; training downloads them on first use'
                          % (root, ', '.join(missing))))
    elif missing:  # only MXNet's own data folder is downloaded into
        items.append(Item('data', 'fail', '%s: %s missing; copy the four Fashion-MNIST files '
                          'there (see data/README.md) or choose another --data-root'
                          % (root, ', '.join(missing))))
    if not problems and not missing:
        items.append(Item('data', 'ok', '%s: the %d Fashion-MNIST files verify (%d train, %d '
                          'test examples)' % (root, len(found), EXPECTED['train'],
                                              EXPECTED['test'])))
    return items


def conv_item(ctx, batch=64, repeat=5):
    """Times forward and backward of a 3x3 convolution (1 to 16 channels) on ``ctx``."""
    net = gluon.nn.Conv2D(16, kernel_size=3, padding=1)
    try:
        net.initialize(ctx=ctx)
        X = nd.random.uniform(shape=(batch, 1, SIDE, SIDE), ctx=ctx)

        def step():
            with autograd.record():
                y = net(X).sum()
            y.backward()
            net.weight.grad().wait_to_read()
        step()  # the first call allocates and picks the algorithms
        start = time.perf_counter()
        for _ in range(repeat):
            step()
        per_step = (time.perf_counter() - start) / repeat
    except mx.base.MXNetError as e:
        return [Item('conv %s' % ctx, 'fail', 'forward/backward failed: %s' % mxnet_reason(e))]
    return [Item('conv %s' % ctx, 'ok', 'forward+backward of a 3x3 convolution, %dx1x%dx%d to 16 '
                 'channels: %.1f ms' % (batch, SIDE, SIDE, per_step * 1e3))]


def _safely(name, check, *args):
    # The doctor's promise is a report, never a traceback: an item that raises anything is
    # reported as such, and the next item runs.
    try:
        return check(*args)
    except Exception as e:  # noqa: BLE001 -- see above
        loaded = MXNET_IMPORT_ERROR is None
        return [Item(name, 'fail', 'could not be determined: %s: %s'
                     % (type(e).__name__, mxnet_reason(e)
                        if loaded and isinstance(e, mx.base.MXNetError) else e))]


def _without_mxnet(root, out):
    """The report when MXNet itself cannot be loaded: what can be found without it."""
    hint = (' (the NVIDIA driver is missing: this environment needs a GPU machine; on this one '
            'use the CPU environment, .venv)' if 'libcuda' in MXNET_IMPORT_ERROR else '')
    items = python_item() + [Item('mxnet', 'fail', 'cannot be loaded: %s%s'
                                  % (MXNET_IMPORT_ERROR, hint))]
    for name, check, args in (('driver', driver_item, ()), ('openmp', omp_item, ()),
                              ('data', data_items, (root,))):
        items += _safely(name, check, *args)
    _print(items, out)
    out('training cannot run here: MXNet cannot be loaded')
    return 1


def _print(items, out):
    width = max(len(i.name) for i in items)
    for item in items:
        out('%-4s  %-*s  %s' % ({'fail': 'FAIL'}.get(item.status, item.status), width,
                                item.name, item.text))


def doctor(root=None, out=print):
    """Print the report; return the exit status (0: training can run on some context)."""
    if MXNET_IMPORT_ERROR is not None:
        return _without_mxnet(root, out)
    usable = []
    items = []
    for name, check, args in (('python', python_item, ()), ('mxnet', mxnet_item, ()),
                              ('cuda libs', cuda_libs_item, ()), ('driver', driver_item, ()),
                              ('gpus', gpu_items, (usable,)), ('openmp', omp_item, ()),
                              ('data', data_items, (root,))):
        items += _safely(name, check, *args)
    trained = []
    for ctx in [mx.cpu()] + usable:
        result = _safely('conv %s' % ctx, conv_item, ctx)
        items += result
        if all(i.status != 'fail' for i in result):
            trained.append(str(ctx))
    _print(items, out)
    data_bad = any(i.name == 'data' and i.status == 'fail' for i in items)
    if trained and not data_bad:
        out('training can run on %s' % ', '.join(trained))
        return 0
    out('training cannot run here: %s' % (
        'the data files above are missing or fail to verify' if data_bad
        else 'no context computed a convolution'))
    return 1
