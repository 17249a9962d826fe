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
workers over ssh, see below), prefixes each line of output with its process (``[worker 0] ...``,
numbered in order of start; the kvstore rank is the order of connection, and only rank 0 prints
progress), stops every process as soon as a worker fails, on Ctrl-C or SIGTERM, and returns the
workers' exit status.

With ``hosts``, every host is first checked over ssh (``check_hosts``: ssh works, the Python, the
directory, gluon_notes and mxnet of the same versions, the data); then each worker runs as
``ssh HOST 'cd DIR && exec env DMLC_...=... PYTHON -c WATCHER run GRACE -- PYTHON -m
gluon_notes.cli train ...'``, where the watcher (``gluon_notes.remote``) ties the worker to the ssh
channel: the launcher passes Ctrl-C and SIGTERM to it as lines on the ssh client's standard input,
and when that input ends (the launcher closes it, or dies, or the connection drops) the worker is
stopped. Killing only the local ssh client would leave the remote worker running: sshd does not
signal a command that has no terminal.

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
from pathlib import Path

from . import checks, remote
from .train_options import DIST_KVSTORES, train_parser

__all__ = ['launch', 'add_parser', 'check_hosts', 'free_port', 'read_hosts',
           'role_env', 'ssh_command', 'worker_exits']

# Environment a remote worker inherits from the launcher, besides its DMLC_* variables.
_FORWARDED_PREFIXES = ('GLUON_NOTES_', 'MXNET_', 'OMP_')
# After the launcher closes a remote worker's input, how long its watcher waits between SIGTERM
# and SIGKILL, and how long the launcher waits for the ssh client to report the end.
_REMOTE_GRACE = 3.0
_REMOTE_CONFIRM = _REMOTE_GRACE + 7.0
# Runs gluon_notes/remote.py of the host's gluon_notes without importing the package (and mxnet),
# in a command line short enough to read in ps.
_WATCHER = ('import importlib.util, os, runpy; runpy.run_path(os.path.join(importlib.util.'
            'find_spec("gluon_notes").submodule_search_locations[0], "remote.py"), '
            'run_name="__main__")')


def free_port(host='127.0.0.1'):
    """A TCP port nobody listens on at ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def role_env(role, root_uri, root_port, num_workers, num_servers, node_host=None, port=None):
    """The ``DMLC_*`` variables of one process of a job; ``port`` (ps-lite's ``PORT``) fixes the
    port a server or worker listens on, else ps-lite picks a free one."""
    env = dict(DMLC_ROLE=role, DMLC_PS_ROOT_URI=root_uri, DMLC_PS_ROOT_PORT=str(root_port),
               DMLC_NUM_SERVER=str(num_servers), DMLC_NUM_WORKER=str(num_workers))
    if node_host:
        env['DMLC_NODE_HOST'] = node_host
    if port is not None:
        env['PORT'] = str(port)
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


def ssh_command(ssh_config=None, ssh_options=()):
    """The ssh client's argv before the destination: ``BatchMode=yes`` (keys only, no prompt),
    then ``-o OPTION`` for each of ``ssh_options`` and ``-F ssh_config``."""
    argv = ['ssh', '-o', 'BatchMode=yes']
    for option in ssh_options:
        argv += ['-o', option]
    if ssh_config is not None:
        if not Path(ssh_config).is_file():
            raise ValueError('ssh config %s: no such file' % ssh_config)
        argv += ['-F', str(ssh_config)]
    return argv


def _ssh_hostname(ssh, host):
    """The address ssh would connect to for ``host`` (its config may rename it), by ``ssh -G``,
    which reads the configuration and connects nowhere."""
    try:
        out = subprocess.run(ssh + ['-G', host], stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ''
    for line in out.splitlines():
        if line.startswith('hostname '):
            return line.split(None, 1)[1].strip()
    return host.rsplit('@', 1)[-1]


def _address_towards(name):
    """This machine's address on the route to ``name`` (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((name, 9))
            return s.getsockname()[0]
    except OSError as e:
        raise ValueError('cannot find this machine\'s address towards %s (%s); pass --root-uri'
                         % (name, e)) from None


def _parse_train_command(command, num_workers):
    """``command`` (``['train', MODEL, ...]``, a leading ``--`` dropped) checked as the workers
    would parse it; ValueError for what would fail in every worker."""
    command = list(command)
    if command[:1] == ['--']:
        command = command[1:]
    if not command or command[0] != 'train':
        raise ValueError('launch runs gluon-notes train: gluon-notes launch -n WORKERS -- train '
                         'MODEL [options], got %r' % ' '.join(command))
    from .distributed import local_batch_size
    from .registry import get_spec
    args = train_parser().parse_args(command[1:])  # argparse errors exit with status 2, as train's
    if args.kvstore is not None and args.kvstore not in DIST_KVSTORES:
        raise ValueError('--kvstore %s would train each worker alone; under launch use %s '
                         '(default dist_sync)' % (args.kvstore, ', '.join(DIST_KVSTORES)))
    if args.resume or args.checkpoint_every or args.checkpoint_minutes:
        given = [option for option, value in (('--resume', args.resume),
                                              ('--checkpoint-every', args.checkpoint_every),
                                              ('--checkpoint-minutes', args.checkpoint_minutes))
                 if value]
        raise ValueError('--resume, --checkpoint-every and --checkpoint-minutes are not supported '
                         'by launch; got %s' % ' '.join(given))
    from .runner import check_settings
    # Every worker would refuse these; better one line here than one per worker after the start.
    check_settings(num_epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                   resize=args.resize, subset=args.subset, seed=args.seed,
                   progress_every=args.progress_every)
    local_batch_size(args.batch_size or get_spec(args.model).batch_size, num_workers)
    return command, args


def _remote_source():
    return Path(remote.__file__).read_text()


def check_hosts(hosts, ssh, python, directory, data_root=None, timeout=60.0):
    """What would stop a worker on each of ``hosts`` (``ssh`` is ``ssh_command()``), checked on
    all of them at once: one line per problem, each naming its host; empty when all are ready.

    A host must answer over ssh without a password, and have ``directory``, the Python at
    ``python`` importing mxnet and gluon_notes of this machine's versions, and the four
    Fashion-MNIST files in ``data_root`` (train's ``--data-root``, relative to ``directory``;
    None: where gluon_notes finds them by default)."""
    import mxnet
    from . import __version__
    prefix = remote.PROBLEM_PREFIX
    q = shlex.quote
    script = ('s=0; d=%s; cd %s 2>/dev/null || { echo %s; s=3; d=-; }; '
              'if command -v %s >/dev/null; then %s -c %s check %s %s "$d" || s=3; '
              'else echo %s; s=3; fi; '
              'exit $s' % (
                  q(data_root or ''), q(directory),
                  q(prefix + 'directory %s not found (set --remote-dir)' % directory),
                  q(python), q(python), q(_remote_source()), q(mxnet.__version__),
                  q(__version__),
                  q(prefix + 'python %s not found (set --remote-python)' % python)))
    probes = {}
    problems = []
    try:
        for host in dict.fromkeys(hosts):
            probes[host] = subprocess.Popen(
                ssh + [host, 'sh -c %s' % q(script)], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors='replace',
                start_new_session=True, preexec_fn=remote.die_with_parent())
        deadline = time.monotonic() + timeout
        for host, check in probes.items():
            try:
                out, err = check.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problems.append('%s: no answer over ssh within %g s' % (host, timeout))
                continue
            last = ([line.strip() for line in err.splitlines() if line.strip()] or ['-'])[-1]
            if check.returncode == 255:
                problems.append('%s: cannot run a command over ssh (%s)' % (host, last))
                continue
            found = [line[len(prefix):] for line in out.splitlines() if line.startswith(prefix)]
            problems += ['%s: %s' % (host, line) for line in found]
            if check.returncode and not found:
                problems.append('%s: the check failed with status %d (%s)'
                                % (host, check.returncode, last))
    finally:
        for check in probes.values():
            if check.poll() is None:
                try:
                    os.killpg(check.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            check.wait()
    return problems


class _Process:
    """One process of the job, its output prefixed with its name; with ``host``, an ssh client
    whose remote command is a worker under ``gluon_notes.remote``'s watcher."""

    def __init__(self, name, argv, env, is_worker, host=None):
        self.name, self.is_worker, self.host = name, is_worker, host
        self.label = name if host is None else '%s on %s' % (name, host)
        # Its own session: terminal signals reach the launcher only, which forwards them. A
        # remote worker lives as long as the ssh client's input, which only the launcher holds.
        self.popen = subprocess.Popen(argv, env=env,
                                      stdin=subprocess.DEVNULL if host is None else subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      start_new_session=True, preexec_fn=remote.die_with_parent())
        self.threads = []

    def pump(self, lock):
        for stream, sink in ((self.popen.stdout, sys.stdout), (self.popen.stderr, sys.stderr)):
            t = threading.Thread(target=_pump, args=(stream, sink, '[%s] ' % self.name, lock),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def poll(self):
        return self.popen.poll()

    def send(self, signum):
        """Send ``signum`` to the process; to a remote worker, through its watcher: SIGINT and
        SIGTERM as a line, SIGKILL by closing its input (the watcher stops the worker, then
        exits, and so does the ssh client)."""
        if self.popen.poll() is not None:
            return
        if self.host is None:
            self.kill_here(signum)
            return
        stdin = self.popen.stdin
        try:
            if signum == signal.SIGKILL:
                stdin.close()
            elif not stdin.closed:
                stdin.write(b'INT\n' if signum == signal.SIGINT else b'TERM\n')
                stdin.flush()
        except OSError:  # the ssh client is gone: its connection closed, which ends the watch
            pass

    def kill_here(self, signum=signal.SIGKILL):
        """``signum`` to the local process group (for a remote worker: its ssh client)."""
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


def _describe_exit(p):
    status = _status(p.poll())
    if p.host is not None and status == 255:
        return '%s: ssh failed or lost the connection (status 255)' % p.label
    return '%s exited with status %d' % (p.label, status)


class _Stop(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _check_free(address, ports):
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((address, port))
            except OSError as e:
                raise ValueError('port %d on %s cannot be used (%s); choose another --port'
                                 % (port, address, e.strerror)) from None


def launch(command, num_workers, num_servers=None, *, hosts=None, root_uri=None, port=None,
           grace=10.0, python=None, remote_python=None, remote_dir=None, ssh_config=None,
           ssh_options=()):
    """Run ``gluon-notes`` ``command`` (``['train', MODEL, ...]``) as ``num_workers`` workers with
    ``num_servers`` servers (default: as many as workers) and a scheduler; returns the exit
    status: 0 if every worker succeeded, else the first failing worker's (130/143 when interrupted
    by SIGINT/SIGTERM, 1 if a scheduler or server died first or a host is not ready).

    Everything runs on this machine, on 127.0.0.1, unless ``hosts`` (a list of ssh destinations)
    is given: the workers then run there in turn, over ``ssh_command(ssh_config, ssh_options)``,
    in ``remote_dir`` (default: the current directory) with ``remote_python`` (default: this
    Python, ``python`` or ``sys.executable``), after ``check_hosts`` found every host ready; the
    scheduler and servers run here on ``root_uri`` (default: this machine's address towards the
    first host). ``port`` fixes the ports: the scheduler's is ``port``, server i's ``port + 1 +
    i``, worker i's ``port + 1 + num_servers + i`` (default: the scheduler on a free port, the
    others where ps-lite puts them). Local workers get ``OMP_NUM_THREADS`` = cores / workers unless
    it is set. ``grace`` is how long the workers get to exit after Ctrl-C or SIGTERM.
    """
    num_workers = checks.integer('num_workers', num_workers, optional=False)
    num_servers = checks.integer('num_servers', num_servers) or num_workers
    command, args = _parse_train_command(command, num_workers)
    if not hosts:
        given = [name for name, value in (('--remote-python', remote_python),
                                          ('--remote-dir', remote_dir),
                                          ('--ssh-config', ssh_config),
                                          ('--ssh-option', ssh_options)) if value]
        if given:
            raise ValueError('%s: only with --hosts' % ', '.join(given))
    if port is not None:
        checks.integer('port', port, high=65535)
        if port + num_servers + num_workers > 65535:
            raise ValueError('port %d leaves no room for the %d ports after it (at most %d)'
                             % (port, num_servers + num_workers,
                                65535 - num_servers - num_workers))
    python = python or sys.executable
    ssh = ssh_command(ssh_config, ssh_options) if hosts else None
    if root_uri is None:
        root_uri = _address_towards(_ssh_hostname(ssh, hosts[0])) if hosts else '127.0.0.1'
    if port is None:
        root_port, ports = free_port(root_uri), [None] * (num_servers + num_workers)
    else:
        root_port, ports = port, list(range(port + 1, port + 1 + num_servers + num_workers))
        _check_free(root_uri, [port] + ports[:num_servers])
    server_ports, worker_ports = ports[:num_servers], ports[num_servers:]
    if hosts:
        remote_python = remote_python or python
        remote_dir = remote_dir or os.getcwd()
        problems = check_hosts(hosts, ssh, remote_python, remote_dir, args.data_root)
        for line in problems:
            _note(None, line)
        if problems:
            _note(None, 'not starting the job: %s not ready'
                  % ', '.join(dict.fromkeys(p.split(': ', 1)[0] for p in problems)))
            return 1
    base = dict(os.environ, PYTHONUNBUFFERED='1')
    base.pop('PORT', None)  # ps-lite would listen there, every process of the job on one port

    def env_of(role, port=None, **extra):
        return dict(base, **role_env(role, root_uri, root_port, num_workers, num_servers,
                                     root_uri, port), **extra)
    # With these roles, importing mxnet runs the scheduler or a server until the job ends.
    serve = [python, '-c', 'import mxnet']
    plan = [('scheduler', serve, env_of('scheduler', OMP_NUM_THREADS='1'), False, None)]
    plan += [('server %d' % i, serve, env_of('server', p, OMP_NUM_THREADS='1'), False, None)
             for i, p in enumerate(server_ports)]
    if hosts:
        for i, p in enumerate(worker_ports):
            host = hosts[i % len(hosts)]
            remote_env = dict(role_env('worker', root_uri, root_port, num_workers, num_servers,
                                       port=p), PYTHONUNBUFFERED='1')
            worker_argv = [remote_python, '-m', 'gluon_notes.cli'] + command
            argv = ssh + [host, _remote_command(remote_python, remote_dir, worker_argv,
                                                remote_env)]
            plan.append(('worker %d' % i, argv, base, True, host))
    else:
        threads = str(max(1, (os.cpu_count() or 1) // num_workers))
        worker_argv = [python, '-m', 'gluon_notes.cli'] + command
        plan += [('worker %d' % i, worker_argv,
                  env_of('worker', p, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', threads)),
                  True, None)
                 for i, p in enumerate(worker_ports)]
    if hosts:
        _note(None, 'scheduler at %s:%d and %d server%s here; %s'
              % (root_uri, root_port, num_servers, 's' if num_servers > 1 else '',
                 ', '.join('worker %d on %s' % (i, hosts[i % len(hosts)])
                           for i in range(num_workers))))
    return _run(plan, grace)


def _remote_command(python, directory, argv, env):
    """The shell command that runs ``argv`` in ``directory`` on a host under the watcher of
    ``gluon_notes.remote``, with ``env`` and the launcher's ``_FORWARDED_PREFIXES`` variables."""
    forwarded = {k: v for k, v in os.environ.items() if k.startswith(_FORWARDED_PREFIXES)}
    assignments = ['%s=%s' % (k, v) for k, v in sorted(dict(forwarded, **env).items())]
    watcher = [python, '-c', _WATCHER, 'run', '%g' % _REMOTE_GRACE, '--']
    return 'cd %s && exec env %s' % (shlex.quote(directory),
                                     shlex.join(assignments + watcher + argv))


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
        for name, argv, env, is_worker, host in plan:
            procs.append(_Process(name, argv, env, is_worker, host))
        for p in procs:
            p.pump(lock)
        workers = [p for p in procs if p.is_worker]
        while True:
            failed = [p for p in workers if p.poll() not in (None, 0)]
            if failed:
                status = _status(failed[0].poll())
                _note(lock, '%s; stopping the job' % _describe_exit(failed[0]))
                break
            # A scheduler or server ends with status 0 once rank 0 has finished.
            dead = [p for p in procs if not p.is_worker and p.poll() not in (None, 0)]
            if dead and any(p.poll() is None for p in workers):
                _note(lock, '%s before the workers; stopping the job' % _describe_exit(dead[0]))
                break
            if all(p.poll() == 0 for p in workers):
                status = 0
                _wait(procs, grace)  # rank 0 tells the servers and the scheduler to stop
                break
            time.sleep(0.05)
    except (KeyboardInterrupt, _Stop) as e:
        signum = e.signum if isinstance(e, _Stop) else signal.SIGINT
        status = 128 + signum
        hosts = list(dict.fromkeys(p.host for p in procs if p.host is not None))
        _note(lock, 'interrupted by %s; stopping the job%s' % (
            signal.Signals(signum).name, ' here and on ' + ', '.join(hosts) if hosts else ''))
        # Passed on to the workers first so that they can exit on their own (and print why);
        # the grace period before anything is killed.
        for p in procs:
            if p.is_worker:
                p.send(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        _wait([p for p in procs if p.is_worker], grace)
    finally:
        for p in procs:
            p.send(signal.SIGTERM)
        _wait(procs, min(grace, 3.0))
        for p in procs:
            p.send(signal.SIGKILL)
        # A remote worker's ssh client ends once the watcher has stopped the worker.
        _wait(procs, _REMOTE_CONFIRM)
        for p in procs:
            if p.poll() is None:
                _note(lock, '%s did not confirm that it stopped; check %s' % (p.label, p.host))
                p.kill_here()
        for p in procs:
            p.popen.wait()
            for t in p.threads:
                t.join(timeout=5)
            if p.popen.stdin is not None:
                try:
                    p.popen.stdin.close()
                except OSError:
                    pass
        for s, h in handlers.items():
            signal.signal(s, h)
    return status


def _wait(procs, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and any(p.poll() is None for p in procs):
        time.sleep(0.05)


def _note(lock, message):
    if lock is None:
        print('[launch] %s' % message, file=sys.stderr, flush=True)
        return
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
    p.add_argument('--port', type=int, default=None, metavar='P',
                   help='the scheduler listens on P, server i on P+1+i, worker i on '
                        'P+1+SERVERS+i (default: ports chosen at random)')
    p.add_argument('--remote-python', default=None, metavar='PATH',
                   help='with --hosts, the Python to run on the hosts (default: this one\'s path)')
    p.add_argument('--remote-dir', default=None, metavar='DIR',
                   help='with --hosts, the workers\' directory on the hosts (default: the current '
                        'directory\'s path)')
    p.add_argument('--ssh-config', default=None, metavar='FILE',
                   help='with --hosts, the ssh client configuration (ssh -F FILE)')
    p.add_argument('--ssh-option', action='append', default=None, metavar='OPTION',
                   help='with --hosts, an ssh option such as Port=2222 (ssh -o OPTION); repeatable')
    p.add_argument('command', nargs=argparse.REMAINDER, metavar='-- train MODEL ...')
    p.set_defaults(func=_cmd_launch)


def _cmd_launch(args):
    hosts = read_hosts(args.hosts) if args.hosts else None
    return launch(args.command, args.num_workers, args.num_servers, hosts=hosts,
                  root_uri=args.root_uri, port=args.port, remote_python=args.remote_python,
                  remote_dir=args.remote_dir, ssh_config=args.ssh_config,
                  ssh_options=tuple(args.ssh_option or ()))
