# gluon-notes launch: the watcher of a worker on its host (gluon_notes/remote.py)
# (The first line on purpose: sent as `python -c SOURCE`, it is what `ps` shows on the host.)
"""The side of ``gluon-notes launch --hosts`` that runs on a worker's host.

It imports only the standard library: ``check`` must work where gluon_notes does not import (the
launcher sends this file's source as ``python -c SOURCE check ...``), and the watcher of ``run``
(the host's copy of this file, run without importing the package) must not load mxnet.

``run GRACE -- COMMAND...`` runs the worker command in a process group of its own and ties its
life to the ssh channel. A command without a terminal gets no signal from sshd when the client
goes away, only the end of its standard input, so the watcher reads it: ``INT`` or ``TERM`` on a
line is passed on to the worker's group, and the end of the input (the launcher closed it, the
launcher or its ssh client died, or the connection dropped) stops the group: SIGTERM, then SIGKILL
after GRACE seconds. The watcher exits with the worker's status (128 + N when killed by signal N).
Without ``DMLC_NODE_HOST``, the worker listens on the address the ssh connection reached
(from ``SSH_CONNECTION``): the machine running the scheduler and servers can reach it there,
unlike ps-lite's default, the first non-loopback interface (a docker bridge, say).

``check MXNET_VERSION GLUON_NOTES_VERSION DATA_ROOT`` prints one line per thing this host lacks to
run a worker, each starting with ``PROBLEM_PREFIX``, and exits with status 3 if there is any.
``DATA_ROOT`` is ``train --data-root`` ('' for the default, '-' not to check the data).
"""
import os
import select
import signal
import subprocess
import sys
import time

PROBLEM_PREFIX = 'gluon-notes-check: '
SIGNALS = {'INT': signal.SIGINT, 'TERM': signal.SIGTERM}


def die_with_parent():
    """A preexec function: the child starts with the default SIGINT handling (a process started
    in the background inherits SIGINT ignored) and, on Linux, is killed when its parent dies,
    even by SIGKILL."""
    prctl = None
    if sys.platform.startswith('linux'):
        import ctypes
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


def ssh_server_address(ssh_connection):
    """The IPv4 address of this host that an ssh client reached, from ``SSH_CONNECTION``
    (``client-ip client-port server-ip server-port``); None if absent or not IPv4 (ps-lite
    cannot bind an IPv6 literal)."""
    fields = (ssh_connection or '').split()
    if len(fields) != 4:
        return None
    address = fields[2]
    parts = address.split('.')
    if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return address
    return None


def _signal_group(child, signum):
    try:
        os.killpg(child.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def run(grace, argv, stdin_fd=0):
    """Run ``argv`` under the watch described in the module's documentation; its exit status."""
    env = dict(os.environ)
    address = ssh_server_address(env.get('SSH_CONNECTION'))
    if address and not env.get('DMLC_NODE_HOST'):
        env['DMLC_NODE_HOST'] = address
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                             preexec_fn=die_with_parent())
    stop_since = []

    def stop(signum=signal.SIGTERM):
        if not stop_since:
            stop_since.append(time.monotonic())
        _signal_group(child, signum)

    def on_signal(signum, frame):
        # Someone signals the watcher itself (sshd on a lost terminal, a user's kill): the worker
        # goes the same way.
        stop(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    pending, reading = b'', True
    while child.poll() is None:
        if stop_since and time.monotonic() - stop_since[0] > grace:
            _signal_group(child, signal.SIGKILL)
        if not reading:
            time.sleep(0.05)
            continue
        try:
            ready = select.select([stdin_fd], [], [], 0.05)[0]
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            data = os.read(stdin_fd, 4096)
        except OSError:
            data = b''
        if not data:
            reading = False
            stop()
            continue
        pending += data
        *lines, pending = pending.split(b'\n')
        for line in lines:
            signum = SIGNALS.get(line.decode('ascii', 'replace').strip())
            if signum is not None:
                _signal_group(child, signum)
    _signal_group(child, signal.SIGKILL)  # whatever the worker left in its group
    code = child.returncode
    return 128 - code if code < 0 else code


def check(mxnet_version, gluon_notes_version, data_root):
    """Print the problems of this host, one per line; 3 if there is any, else 0."""
    problems = []
    found = {}
    for name, wanted in (('mxnet', mxnet_version), ('gluon_notes', gluon_notes_version)):
        if name == 'gluon_notes' and 'mxnet' not in found:
            import importlib.util
            if importlib.util.find_spec(name) is not None:
                continue  # present; its import would fail on mxnet alone, reported already
        try:
            module = __import__(name)
        except Exception as e:  # noqa: BLE001 -- any failure to import is what is reported
            problems.append('%s does not import %s (%s: %s)'
                            % (sys.executable, name, type(e).__name__, e))
            continue
        found[name] = module
        version = getattr(module, '__version__', '?')
        if version != wanted:
            problems.append('%s %s at %s, but %s here' % (name, version, module.__file__, wanted))
    if data_root != '-' and 'gluon_notes' in found:
        from pathlib import Path
        from gluon_notes.data import FILES, default_data_root
        root = Path(data_root).expanduser() if data_root else default_data_root()
        files = [f for pair in FILES.values() for f in pair]
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            problems.append('Fashion-MNIST missing in %s: %s (copy the files there, or give '
                            'train --data-root)' % (root.absolute(), ', '.join(missing)))
    for p in problems:
        print(PROBLEM_PREFIX + p)
    return 3 if problems else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == 'run' and argv[2] == '--':
        return run(float(argv[1]), argv[3:])
    if len(argv) == 4 and argv[0] == 'check':
        return check(*argv[1:])
    print('usage: python remote.py run GRACE -- COMMAND... | check MXNET_VERSION '
          'GLUON_NOTES_VERSION DATA_ROOT', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
