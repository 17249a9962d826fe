"""``gluon-notes launch``: run ``gluon-notes train`` as a data-parallel job of several processes on
MXNet's parameter server (the pip wheel has the distributed KVStore but not its launcher).

A job has three roles, each a process configured by environment variables:

- the scheduler, which introduces the other processes to each other; it listens on
  ``DMLC_PS_ROOT_URI:DMLC_PS_ROOT_PORT``;
- ``DMLC_NUM_SERVER`` servers, which hold the kvstore's values and add what the workers push;
- ``DMLC_NUM_WORKER`` workers, each running ``gluon-notes train ... --kvstore dist_sync`` on its
  shard of the data (``gluon_notes.distributed``).

Every process gets ``DMLC_ROLE`` (``scheduler``, ``server`` or ``worker``), ``DMLC_PS_ROOT_URI``,
``DMLC_PS_ROOT_PORT``, ``DMLC_NUM_SERVER`` and ``DMLC_NUM_WORKER``; ``DMLC_NODE_HOST`` optionally
names the address a process binds to (ps-lite otherwise picks the first non-loopback interface;
``DMLC_INTERFACE=eth1`` picks one by name). A scheduler or server is just ``python -c 'import
mxnet'``: with those roles, importing mxnet runs ``mxnet.kvstore.kvstore_server`` and returns only
when the job ends. Ranks are handed out by the scheduler in order of connection.

``launch`` starts everything on this machine on the loopback address (or, with ``hosts``, the
workers over ssh), prefixes each line of output with its process (``[worker 0] ...``, numbered in
order of start; the kvstore rank is the order of connection, and only rank 0 prints progress),
stops every process as soon as a worker fails, on Ctrl-C or SIGTERM, and returns the workers' exit
status.

By hand on several machines (scheduler and servers on machine A at 10.0.0.1, a free port 9091,
two workers on machines B and C, the project installed at the same path everywhere)::

    A$ export DMLC_PS_ROOT_URI=10.0.0.1 DMLC_PS_ROOT_PORT=9091 DMLC_NUM_SERVER=1 DMLC_NUM_WORKER=2
    A$ DMLC_ROLE=scheduler python -c 'import mxnet' &
    A$ DMLC_ROLE=server DMLC_NODE_HOST=10.0.0.1 python -c 'import mxnet' &
    B$ DMLC_ROLE=worker DMLC_PS_ROOT_URI=10.0.0.1 DMLC_PS_ROOT_PORT=9091 DMLC_NUM_SERVER=1 \\
         DMLC_NUM_WORKER=2 gluon-notes train resnet18 --kvstore dist_sync --out runs/r18
    C$ (the same command as B)

The worker that becomes rank 0 writes ``--out``. If a worker fails, stop the others by hand: the
survivors wait for it forever.
"""
import argparse
import ctypes
import functools
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback

__all__ = ['launch', 'add_parser', 'check_train_command', 'free_port', 'read_hosts', 'role_env',
           'worker_exits']

DIST_KVSTORES = ('dist_sync', 'dist_device_sync', 'dist_async')
# Environment a remote worker inherits from the launcher, besides its DMLC_* variables.
_FORWARDED_PREFIXES = ('GLUON_NOTES_', 'MXNET_', 'OMP_')


def free_port(host='127.0.0.1'):
    """A TCP port nobody listens on at ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def role_env(role, root_uri, root_port, num_workers, num_servers, node_host=None):
    """The ``DMLC_*`` variables of one process of a job."""
    env = dict(DMLC_ROLE=role, DMLC_PS_ROOT_URI=root_uri, DMLC_PS_ROOT_PORT=str(root_port),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers))
    if node_host:
        env['DMLC_NODE_HOST'] = node_host
    return env


def read_hosts(path):
    """Host names of a hosts file: one per line (as ``ssh`` accepts it, e.g. ``user@node1``),
    blank lines and ``#`` comments ignored."""
    try:
        with open(path) as f:
            hosts = [line.split('#', 1)[0].strip() for line in f]
    except OSError as e:
        raise ValueError('hosts file %s: %s' % (path, e.strerror)) from None
    hosts = [h for h in hosts if h]
    if not hosts:
        raise ValueError('hosts file %s names no host (one per line)' % path)
    return hosts


def _address_towards(host):
    """This machine's address on the route to ``host`` (a UDP connect sends nothing)."""
    name = host.rsplit('@', 1)[-1]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((name, 9))
            return s.getsockname()[0]
    except OSError as e:
        raise ValueError('cannot find this machine\'s address towards %s (%s); pass --root-uri'
                         % (name, e)) from None


def check_train_command(command, num_workers):
    """``command`` (``['train', MODEL, ...]``, a leading ``--`` dropped) checked as the workers
    would parse it; ValueError for what would fail in every worker."""
    command = list(command)
    if command[:1] == ['--']:
        command = command[1:]
    if not command or command[0] != 'train':
        raise ValueError('launch runs gluon-notes train: gluon-notes launch -n WORKERS -- train '
                         'MODEL [options], got %r' % ' '.join(command))
    from .cli import build_parser
    from .distributed import local_batch_size
    from .registry import get_spec
    args = build_parser().parse_args(command)  # argparse errors exit with status 2, as train's
    if args.kvstore is not None and args.kvstore not in DIST_KVSTORES:
        raise ValueError('--kvstore %s would train each worker alone; under launch use %s '
                         '(default dist_sync)' % (args.kvstore, ', '.join(DIST_KVSTORES)))
    if (getattr(args, 'resume', False) or getattr(args, 'checkpoint_every', None)
            or getattr(args, 'checkpoint_minutes', None)):
        raise ValueError('--resume, --checkpoint-every and --checkpoint-minutes are not supported '
                         'by launch')
    local_batch_size(args.batch_size or get_spec(args.model).batch_size, num_workers)
    return command


def _child_setup():
    """A preexec function: a child starts with the default SIGINT handling (a launcher started in
    the background inherits SIGINT ignored) and, on Linux, is killed when the launcher dies, even
    by SIGKILL."""
    prctl = None
    if sys.platform.startswith('linux'):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            pass
    pr_set_pdeathsig = 1

    def setup():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if prctl is not None:
            prctl(pr_set_pdeathsig, signal.SIGKILL)
    return setup


class _Process:
    """One process of the job, its output prefixed with its name."""

    def __init__(self, name, argv, env, is_worker):
        self.name, self.is_worker = name, is_worker
        # Its own session: terminal signals reach the launcher only, which forwards them.
        self.popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      start_new_session=True, preexec_fn=_child_setup())
        self.threads = []

    def pump(self, lock):
        for stream, sink in ((self.popen.stdout, sys.stdout), (self.popen.stderr, sys.stderr)):
            t = threading.Thread(target=_pump, args=(stream, sink, '[%s] ' % self.name, lock),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def poll(self):
        return self.popen.poll()

    def signal(self, signum):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signum)
            except ProcessLookupError:
                pass


def _pump(stream, sink, prefix, lock):
    for raw in iter(stream.readline, b''):
        text = raw.decode('utf-8', 'replace').rstrip('\r\n')
        with lock:
            sink.write(prefix + text + '\n')
            sink.flush()
    stream.close()


def _status(returncode):
    """A child's exit status as the shell reports it (128 + N when killed by signal N)."""
    return 128 - returncode if returncode < 0 else returncode


class _Stop(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def launch(command, num_workers, num_servers=None, *, hosts=None, root_uri=None, grace=10.0,
           python=None):
    """Run ``gluon-notes`` ``command`` (``['train', MODEL, ...]``) as ``num_workers`` workers with
    ``num_servers`` servers (default: as many as workers) and a scheduler; returns the exit
    status: 0 if every worker succeeded, else the first failing worker's (130/143 when interrupted
    by SIGINT/SIGTERM, 1 if a scheduler or server died first).

    Everything runs on this machine, on 127.0.0.1, unless ``hosts`` (a list of ssh destinations)
    is given: the workers then run there in turn, over ``ssh -o BatchMode=yes`` (keys, no
    password), in the current directory and with this Python (the same paths must exist on every
    host), and the scheduler and servers here on ``root_uri`` (default: this machine's address
    towards the first host). Killing the local ssh clients usually ends the remote workers; check
    the hosts after a failed job. Local workers get ``OMP_NUM_THREADS`` = cores / workers unless it
    is set. ``grace`` is how long processes get to exit before they are killed.
    """
    from .checks import integer
    num_workers = integer('num_workers', num_workers, optional=False)
    num_servers = integer('num_servers', num_servers) or num_workers
    command = check_train_command(command, num_workers)
    python = python or sys.executable
    if root_uri is None:
        root_uri = _address_towards(hosts[0]) if hosts else '127.0.0.1'
    port = free_port(root_uri)
    base = dict(os.environ, PYTHONUNBUFFERED='1')

    def env_of(role, **extra):
        return dict(base, **role_env(role, root_uri, port, num_workers, num_servers, root_uri),
                    **extra)
    # With these roles, importing mxnet runs the scheduler or a server until the job ends.
    serve = [python, '-c', 'import mxnet']
    plan = [('scheduler', serve, env_of('scheduler', OMP_NUM_THREADS='1'), False)]
    plan += [('server %d' % i, serve, env_of('server', OMP_NUM_THREADS='1'), False)
             for i in range(num_servers)]
    worker_argv = [python, '-m', 'gluon_notes.cli'] + command
    if hosts:
        remote_env = dict(role_env('worker', root_uri, port, num_workers, num_servers),
                          PYTHONUNBUFFERED='1')
        for i in range(num_workers):
            plan.append(('worker %d' % i, _ssh_argv(hosts[i % len(hosts)], worker_argv, remote_env),
                         base, True))
    else:
        threads = str(max(1, (os.cpu_count() or 1) // num_workers))
        worker_env = env_of('worker', OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', threads))
        plan += [('worker %d' % i, worker_argv, worker_env, True) for i in range(num_workers)]
    return _run(plan, grace)


def _ssh_argv(host, argv, env):
    forwarded = {k: v for k, v in os.environ.items() if k.startswith(_FORWARDED_PREFIXES)}
    assignments = ['%s=%s' % (k, v) for k, v in sorted(dict(forwarded, **env).items())]
    remote = 'cd %s && exec env %s' % (shlex.quote(os.getcwd()), shlex.join(assignments + argv))
    return ['ssh', '-o', 'BatchMode=yes', host, remote]


def _run(plan, grace):
    lock = threading.Lock()
    procs = []

    def on_signal(signum, frame):
        raise _Stop(signum)
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    status = 1
    try:
        # Every process first, then the reader threads: fork with no other thread running.
        for name, argv, env, is_worker in plan:
            procs.append(_Process(name, argv, env, is_worker))
        for p in procs:
            p.pump(lock)
        workers = [p for p in procs if p.is_worker]
        while True:
            failed = [p for p in workers if p.poll() not in (None, 0)]
            if failed:
                status = _status(failed[0].poll())
                _note(lock, '%s exited with status %d; stopping the job' % (failed[0].name, status))
                break
            # A scheduler or server ends with status 0 once rank 0 has finished.
            dead = [p for p in procs if not p.is_worker and p.poll() not in (None, 0)]
            if dead and any(p.poll() is None for p in workers):
                _note(lock, '%s exited with status %d before the workers; stopping the job'
                      % (dead[0].name, _status(dead[0].poll())))
                break
            if all(p.poll() == 0 for p in workers):
                status = 0
                _wait(procs, grace)  # rank 0 tells the servers and the scheduler to stop
                break
            time.sleep(0.05)
    except (KeyboardInterrupt, _Stop) as e:
        signum = e.signum if isinstance(e, _Stop) else signal.SIGINT
        status = 128 + signum
        _note(lock, 'interrupted by %s; stopping the job' % signal.Signals(signum).name)
        # Passed on to the workers, which may checkpoint (train --out): give them the grace period.
        for p in procs:
            if p.is_worker:
                p.signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        _wait([p for p in procs if p.is_worker], grace)
    finally:
        for p in procs:
            p.signal(signal.SIGTERM)
        _wait(procs, min(grace, 3.0))
        for p in procs:
            p.signal(signal.SIGKILL)
        for p in procs:
            p.popen.wait()
            for t in p.threads:
                t.join(timeout=5)
        for s, h in handlers.items():
            signal.signal(s, h)
    return status


def _wait(procs, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and any(p.poll() is None for p in procs):
        time.sleep(0.05)


def _note(lock, message):
    with lock:
        print('[launch] %s' % message, file=sys.stderr, flush=True)


def worker_exits(main):
    """Decorate the CLI's ``main``: in a worker of a job (``DMLC_ROLE=worker``), a failure ends the
    process at once with its status. A normal exit would run the distributed kvstore's exit
    barrier, which waits for every worker: forever, once one has failed."""
    @functools.wraps(main)
    def wrapper(argv=None):
        if os.environ.get('DMLC_ROLE') != 'worker':
            return main(argv)
        try:
            status = main(argv)
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=sys.stderr)
        except BaseException:  # noqa: B902 -- any failure must end the worker, see above
            traceback.print_exc()
            status = 1
        if status:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
        return status
    return wrapper


def add_parser(sub):
    """The ``launch`` subcommand of ``gluon-notes``."""
    p = sub.add_parser(
        'launch', help='train with several worker processes on MXNet\'s parameter server',
        description='Start a scheduler, SERVERS servers and WORKERS workers running '
                    '"gluon-notes train ..." with --kvstore dist_sync (default); --batch-size is '
                    'the global batch, split over the workers.')
    p.add_argument('-n', '--num-workers', type=int, required=True, metavar='WORKERS')
    p.add_argument('-s', '--num-servers', type=int, default=None, metavar='SERVERS',
                   help='default: as many as workers')
    p.add_argument('--hosts', default=None, metavar='FILE',
                   help='run the workers over ssh on these hosts (one per line, in turn); '
                        'the scheduler and servers stay here')
    p.add_argument('--root-uri', default=None, metavar='ADDR',
                   help='this machine\'s address for the scheduler (default 127.0.0.1; with '
                        '--hosts, the address that routes to the first host)')
    p.add_argument('command', nargs=argparse.REMAINDER, metavar='-- train MODEL ...')
    p.set_defaults(func=_cmd_launch)


def _cmd_launch(args):
    hosts = read_hosts(args.hosts) if args.hosts else None
    return launch(args.command, args.num_workers, args.num_servers, hosts=hosts,
                  root_uri=args.root_uri)
