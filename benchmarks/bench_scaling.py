"""Data-parallel scaling on this machine: training examples/sec of one process on one context,
one process on two CPU contexts (``--ctx cpu:0,1``), and two worker processes on MXNet's
parameter server (``gluon-notes launch -n 2 -s 1``), for LeNet and ResNet-18 (96x96 inputs).
Then the gradient traffic per step of every registered network.

Each configuration is a fresh ``gluon-notes`` command, as a user runs it. The figure is the last
epoch's ``examples/sec`` (training only; the first epoch includes graph building and warm-up),
the median over a few runs; with two workers it counts both workers' examples. Launched
workers get ``OMP_NUM_THREADS`` = cores / workers (the launcher's default). MXNet's own default
on x86 is half the logical cores (it assumes hyper-threading): 1 thread on a 2-vCPU machine, so
one process is measured with the default and with ``OMP_NUM_THREADS`` = all cores; speedups are
relative to the latter.

    python benchmarks/bench_scaling.py [--repeats N] [--models lenet resnet18] [--traffic-only]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

# model: (extra train options, epochs, runs per configuration)
WORKLOADS = {
    'lenet': (['--subset', '12288'], 2, 3),
    'resnet18': (['--subset', '512', '--resize', '96'], 2, 2),
}
# (name, gluon-notes arguments before `train`, train options, OMP_NUM_THREADS or None for unset)
CONFIGS = [
    ('1 process, cpu, default threads', [], ['--ctx', 'cpu'], None),
    ('1 process, cpu, OMP_NUM_THREADS=%d' % (os.cpu_count() or 1), [], ['--ctx', 'cpu'],
     str(os.cpu_count() or 1)),
    ('1 process, cpu:0,1, default threads', [], ['--ctx', 'cpu:0,1'], None),
    ('launch -n 2 -s 1, dist_sync', ['launch', '-n', '2', '-s', '1', '--'],
     ['--ctx', 'cpu', '--kvstore', 'dist_sync'], None),
]
BASELINE = 1  # speedups are relative to one process using every core
EPOCH_LINE = re.compile(r'epoch (\d+), loss .* ([\d.]+) examples/sec')


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


def run(prefix, model, options, epochs, threads, timeout=1800):
    argv = [sys.executable, '-m', 'gluon_notes.cli', *prefix, 'train', model, '--epochs',
            str(epochs), '--seed', '0', *options]
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    if threads is not None:
        env['OMP_NUM_THREADS'] = threads
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode:
        raise RuntimeError('%s failed:\n%s' % (' '.join(argv[2:]), result.stderr[-2000:]))
    rates = [float(m.group(2)) for m in map(EPOCH_LINE.search, result.stdout.splitlines()) if m]
    if len(rates) != epochs:
        raise RuntimeError('expected %d epoch lines from %s, got:\n%s'
                           % (epochs, ' '.join(argv[2:]), result.stdout))
    return rates[-1]


def measure(models, repeats=None):
    print('examples/sec (training, last epoch, median of the runs; the configurations take turns '
          'so that other load on the machine affects all of them)')
    print('%-10s %-36s %11s %8s  %s' % ('model', 'configuration', 'examples/s', 'speedup',
                                       'runs'))
    for model in models:
        options, epochs, runs = WORKLOADS[model]
        rates = [[] for _ in CONFIGS]
        for _ in range(repeats or runs):
            for i, (_, prefix, extra, threads) in enumerate(CONFIGS):
                rates[i].append(run(prefix, model, options + extra, epochs, threads))
        base = statistics.median(rates[BASELINE])
        for (name, _, _, _), r in zip(CONFIGS, rates):
            median = statistics.median(r)
            print('%-10s %-36s %11.1f %7.2fx  %s' % (
                model, name, median, median / base, ' '.join('%.0f' % x for x in r)),
                flush=True)


def traffic():
    """Parameters of every registered network and the bytes each worker moves per step."""
    import numpy as np
    from mxnet import nd
    import gluon_notes as gn
    from gluon_notes.runner import make_initializer
    print('\ngradient traffic per step (float32): each worker pushes its gradients and pulls the '
          'sum (dist_sync), i.e. 2 x 4 bytes x parameters')
    print('%-20s %8s %12s %10s %14s %14s' % ('network', 'input', 'parameters', 'MB each way',
                                            'ms at 10 Gb/s', 'ms at 100 Gb/s'))
    for name in gn.list_models():
        spec = gn.get_spec(name)
        net = gn.get_model(name)
        net.initialize(make_initializer(spec.init))
        size = spec.input_size
        net(nd.zeros((1, 1, size, size)))  # finishes the deferred initialisation
        count = sum(int(np.prod(p.shape)) for p in net.collect_params().values()
                    if p.grad_req != 'null')
        mb = count * 4 / 1e6
        print('%-20s %8s %12d %10.2f %14.2f %14.2f' % (
            name, '%dx%d' % (size, size), count, mb, 2 * mb * 8 / 10, 2 * mb * 8 / 100))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=None,
                        help='runs per configuration (default: 3 for LeNet, 2 for ResNet-18)')
    parser.add_argument('--models', nargs='+', default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument('--traffic-only', action='store_true')
    args = parser.parse_args()
    print('machine: %d cores, %s; load average %s' % (os.cpu_count(), cpu_name(),
                                                       os.getloadavg()))
    start = time.time()
    if not args.traffic_only:
        measure(args.models, args.repeats)
    traffic()
    print('\n%.0f s; load average %s' % (time.time() - start, os.getloadavg()))


if __name__ == '__main__':
    main()
