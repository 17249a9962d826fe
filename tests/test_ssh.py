"""`gluon-notes launch --hosts` through a real ssh server.

A private sshd (OpenSSH) listens on 127.0.0.2 and 127.0.0.3, two "hosts" on this machine's
loopback, on a free port, with a host key, a user key, authorized_keys and known_hosts made here for
the test; the launcher gets an ssh config naming them (--ssh-config). Every ssh hop is real (a
separate login, sshd's environment, no terminal), and the remote processes are in this machine's
process table, so the tests can check that a job leaves nothing behind anywhere. Each job's
processes carry GLUON_NOTES_TEST_MARK=<uuid> in their environment (the launcher passes GLUON_NOTES_*
variables on to the hosts), and sshd's per-connection processes are its children.

Without sshd (the Debian package openssh-server; .ci/run installs it) the tests that need it are
skipped, and say so.
"""
import getpass
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mxnet import nd

import gluon_notes as gn
from gluon_notes import launch as gl
from gluon_notes import remote

HOSTS = ('127.0.0.2', '127.0.0.3')
REFUSING = '127.0.0.4'  # nothing listens there
JOB_TIMEOUT = 150


# --- the process table -------------------------------------------------------------------------

def _pids():
    return [int(e) for e in os.listdir('/proc') if e.isdigit()]


def _environ(pid):
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            items = f.read().split(b'\0')
    except OSError:
        return {}
    return dict(i.decode('utf-8', 'replace').split('=', 1) for i in items if b'=' in i)


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode('utf-8', 'replace') for a in f.read().split(b'\0')[:-1]]
    except OSError:
        return []


def _ppid(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return int(f.read().rsplit(')', 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _marked(mark):
    """Processes with GLUON_NOTES_TEST_MARK=mark in their environment, on this machine or on the
    "hosts" (the same process table)."""
    return [p for p in _pids() if _environ(p).get('GLUON_NOTES_TEST_MARK') == mark]


def _children(pid):
    return [p for p in _pids() if _ppid(p) == pid]


def _ancestors(pid):
    seen = []
    while pid and pid not in seen:
        seen.append(pid)
        pid = _ppid(pid)
    return seen


def _listening(pids):
    """``{(address, port)}`` of the IPv4 TCP sockets the processes ``pids`` listen on."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir('/proc/%d/fd' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:['):
                inodes.add(link[8:-1])
    found = set()
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == '0A' and fields[9] in inodes:  # 0A: LISTEN
                ip, port = fields[1].split(':')
                address = socket.inet_ntoa(bytes.fromhex(ip)[::-1])  # little-endian on x86
                found.add((address, int(port, 16)))
    return found


def _wait_for(predicate, timeout, step=0.2):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


# --- the watcher, without ssh ------------------------------------------------------------------

def test_ssh_server_address():
    assert remote.ssh_server_address('10.0.0.9 51000 10.0.0.5 22') == '10.0.0.5'
    assert remote.ssh_server_address('::1 51000 ::1 22') is None
    assert remote.ssh_server_address('') is None
    assert remote.ssh_server_address(None) is None


def _printer():
    """A Python command printing its arguments, directory and environment as JSON."""
    return [sys.executable, '-c', 'import json, os, sys; print(json.dumps([sys.argv[1:], '
                                  'os.getcwd(), dict(os.environ)]))']


@pytest.mark.parametrize('ssh_connection, node_host', [
    (None, None), ('10.1.1.1 50000 10.2.2.2 22', '10.2.2.2')])
def test_remote_command_runs_the_worker_with_its_environment(ssh_connection, node_host, tmp_path,
                                                             monkeypatch):
    """The command string a host's shell receives, run here by sh: the worker gets its arguments,
    directory and DMLC_* variables intact, whatever characters they contain, the launcher's
    GLUON_NOTES_* variables, and, started over ssh, DMLC_NODE_HOST = the address ssh reached."""
    monkeypatch.setenv('GLUON_NOTES_WORKER_REPORT', '/tmp/a b')
    monkeypatch.delenv('DMLC_NODE_HOST', raising=False)
    if ssh_connection:
        monkeypatch.setenv('SSH_CONNECTION', ssh_connection)
    else:
        monkeypatch.delenv('SSH_CONNECTION', raising=False)
    directory = tmp_path / "it's a dir"
    directory.mkdir()
    env = gl.role_env('worker', '10.0.0.1', 9091, 2, 1, port=9100)
    words = ["it's", 'a "b" $HOME `x`', '*']
    command = gl._remote_command(sys.executable, str(directory), _printer() + words, env)
    proc = subprocess.Popen(['sh', '-c', command], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.stdin.close()
        if proc.poll() is None:
            proc.kill()
    argv, cwd, child_env = json.loads(out)
    assert argv == words and cwd == str(directory)
    assert {k: child_env.get(k) for k in env} == env
    assert child_env['PORT'] == '9100' and child_env['GLUON_NOTES_WORKER_REPORT'] == '/tmp/a b'
    assert child_env.get('DMLC_NODE_HOST') == node_host


def _watch(tmp_path, prelude='pass', grace=1.0):
    """``gluon_notes/remote.py run GRACE -- python -c CODE`` with a pipe as its input, where the
    child runs ``prelude``, writes its pid to a file, and sleeps; returns (watcher, child pid)
    once the pid is written."""
    pid_file = tmp_path / ('child-%s' % uuid.uuid4().hex)
    code = '%s; import os, time; open(%r, "w").write(str(os.getpid())); time.sleep(120)' % (
        prelude, str(pid_file))
    watcher = subprocess.Popen([sys.executable, remote.__file__, 'run', str(grace), '--',
                                sys.executable, '-c', code], stdin=subprocess.PIPE)
    assert _wait_for(lambda: pid_file.exists() and pid_file.read_text(), 30)
    return watcher, int(pid_file.read_text())


def _gone(pid):
    return not os.path.exists('/proc/%d' % pid) or _status_letter(pid) == 'Z'


def _status_letter(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return None


STUBBORN = 'import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)'


@pytest.mark.parametrize('stubborn, status', [(False, 128 + signal.SIGTERM),
                                               (True, 128 + signal.SIGKILL)],
                         ids=['obeys SIGTERM', 'ignores SIGTERM'])
def test_watcher_stops_the_worker_when_its_input_ends(tmp_path, stubborn, status):
    """The end of the input is all a command without a terminal learns when its ssh client dies;
    a worker that ignores SIGTERM is killed after the grace period."""
    watcher, child = _watch(tmp_path, STUBBORN, grace=0.5) if stubborn else _watch(tmp_path)
    try:
        watcher.stdin.close()
        assert watcher.wait(timeout=30) == status
        assert _wait_for(lambda: _gone(child), 5)
    finally:
        watcher.kill()
        watcher.wait()


@pytest.mark.parametrize('line, signum', [(b'INT\n', signal.SIGINT), (b'TERM\n', signal.SIGTERM)])
def test_watcher_passes_signals_on(line, signum, tmp_path):
    """A line of input is a signal for the worker; the worker's status comes back."""
    code = 'import signal, sys; signal.signal(%d, lambda s, f: sys.exit(40 + s))' % signum
    watcher, child = _watch(tmp_path, code)
    try:
        watcher.stdin.write(line)
        watcher.stdin.flush()
        assert watcher.wait(timeout=30) == 40 + signum
    finally:
        watcher.stdin.close()
        watcher.kill()
        watcher.wait()


def test_worker_dies_with_its_watcher(tmp_path):
    if not sys.platform.startswith('linux'):
        pytest.skip('the worker follows a killed watcher through Linux prctl(PR_SET_PDEATHSIG)')
    watcher, child = _watch(tmp_path)
    try:
        watcher.kill()
        watcher.wait()
        assert _wait_for(lambda: _gone(child), 10)
    finally:
        watcher.stdin.close()


def test_a_missing_ssh_config_is_refused_before_anything(tmp_path, capsys):
    from gluon_notes.cli import main
    hosts = tmp_path / 'hosts'
    hosts.write_text('node1\n')
    assert main(['launch', '-n', '2', '--hosts', str(hosts), '--ssh-config', '/nonexistent/cfg',
                 '--', 'train', 'lenet']) == 2
    assert 'ssh config /nonexistent/cfg: no such file' in capsys.readouterr().err


# --- a private sshd ----------------------------------------------------------------------------

def _free_ports(addresses, count):
    """A port P such that P .. P + count - 1 are free on every address of ``addresses``."""
    for _ in range(100):
        port = random.randrange(20000, 60000)
        try:
            for p in range(port, port + count):
                for address in addresses:
                    with socket.socket() as s:
                        s.bind((address, p))
        except OSError:
            continue
        return port
    raise RuntimeError('no %d free ports in a row on %s' % (count, addresses))


def _keygen(path):
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'gluon-notes-test',
                    '-f', str(path)], check=True, stdin=subprocess.DEVNULL)
    return path.with_suffix('.pub').read_text().split()[:2]


class SSHD:
    def __init__(self, directory, port, config, proc):
        self.directory, self.port, self.config, self.proc = directory, port, config, proc

    def hosts_file(self, hosts):
        path = self.directory / ('hosts-%s' % uuid.uuid4().hex)
        path.write_text('# the test\'s "hosts"\n' + '\n'.join(hosts) + '\n')
        return path


def _start_sshd(sshd, directory, port):
    log = directory / 'sshd.log'
    with open(log, 'w') as err:
        proc = subprocess.Popen([sshd, '-D', '-e', '-f', str(directory / 'sshd_config')],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                start_new_session=True)
    return proc, log


@pytest.fixture(scope='module')
def sshd(tmp_path_factory):
    sshd = shutil.which('sshd') or ('/usr/sbin/sshd' if os.path.exists('/usr/sbin/sshd') else None)
    if sshd is None or not shutil.which('ssh') or not shutil.which('ssh-keygen'):
        pytest.skip('needs OpenSSH: sshd, ssh and ssh-keygen (Debian: apt-get install '
                    'openssh-server openssh-client; .ci/run installs it)')
    try:
        for address in HOSTS:
            with socket.socket() as s:
                s.bind((address, 0))
    except OSError as e:
        pytest.skip('cannot listen on %s as a second "host" (%s); Linux loopback can' % (HOSTS, e))
    d = tmp_path_factory.mktemp('sshd')
    host_key = _keygen(d / 'host_key')
    user_key = _keygen(d / 'user_key')
    (d / 'authorized_keys').write_text(' '.join(user_key) + '\n')
    port = _free_ports(HOSTS + (REFUSING,), 1)  # free on REFUSING: connections are refused
    (d / 'sshd_config').write_text('\n'.join(
        ['Port %d' % port] + ['ListenAddress %s' % h for h in HOSTS] + [
            'HostKey %s' % (d / 'host_key'),
            'AuthorizedKeysFile %s' % (d / 'authorized_keys'),
            'PidFile none',
            'PubkeyAuthentication yes',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            'PermitRootLogin prohibit-password',
            'StrictModes no',  # the keys live under the temporary directory
            'UsePAM no',
            'PrintMotd no',
            'LogLevel ERROR',
            '']))
    (d / 'known_hosts').write_text(''.join('[%s]:%d %s\n' % (h, port, ' '.join(host_key))
                                           for h in HOSTS + (REFUSING,)))
    config = d / 'ssh_config'
    config.write_text('\n'.join([
        'Host *',
        '  Port %d' % port,
        '  User %s' % getpass.getuser(),
        '  IdentityFile %s' % (d / 'user_key'),
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile %s' % (d / 'known_hosts'),
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  LogLevel ERROR',
        '  ConnectTimeout 20',
        '']))
    # Started from here, sshd and the workers it starts keep the test's niceness.
    proc, log = _start_sshd(sshd, d, port)
    try:
        if proc.wait(timeout=2) is not None:
            missing = re.search(r'Missing privilege separation directory: (\S+)', log.read_text())
            if missing and os.getuid() == 0:
                # What the Debian service creates at start; sshd running as root needs it.
                os.makedirs(missing.group(1), mode=0o755, exist_ok=True)
                proc, log = _start_sshd(sshd, d, port)
    except subprocess.TimeoutExpired:
        pass  # still running: listening

    def answers():
        try:
            return all(subprocess.run(['ssh', '-F', str(config), '-o', 'BatchMode=yes', h, 'true'],
                                      stdin=subprocess.DEVNULL, capture_output=True,
                                      timeout=30).returncode == 0 for h in HOSTS)
        except subprocess.TimeoutExpired:
            return False
    try:
        if not _wait_for(lambda: proc.poll() is not None or answers(), 20, step=0.5) \
                or proc.poll() is not None:
            pytest.fail('the test sshd does not answer; its log:\n' + log.read_text())
        yield SSHD(d, port, config, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- jobs --------------------------------------------------------------------------------------

class Job:
    """``gluon-notes launch ARGS`` started as a user would, in its own session, its output in
    files; marked so that its processes can be found here and on the hosts."""

    def __init__(self, args, tmp_path, sshd):
        self.mark, self.tmp_path, self.sshd = uuid.uuid4().hex, tmp_path, sshd
        env = dict(os.environ, GLUON_NOTES_TEST_MARK=self.mark, OMP_NUM_THREADS='1',
                   GLUON_NOTES_WORKER_REPORT=str(tmp_path / 'reports'))
        self.out_path, self.err_path = tmp_path / 'out.txt', tmp_path / 'err.txt'
        with open(self.out_path, 'w') as out, open(self.err_path, 'w') as err:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', 'gluon_notes.cli', 'launch', '--ssh-config',
                 str(sshd.config), *args], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True)

    @property
    def out(self):
        return self.out_path.read_text()

    @property
    def err(self):
        return self.err_path.read_text()

    def remote_workers(self):
        """The pids of this job's workers that sshd started."""
        return [p for p in _marked(self.mark)
                if 'SSH_CONNECTION' in _environ(p) and _cmdline(p)[1:3] == ['-m', 'gluon_notes.cli']]

    def wait(self, timeout=JOB_TIMEOUT):
        return self.proc.wait(timeout=timeout)

    def leftovers(self):
        """This job's processes, and sshd's sessions, still there a few seconds after its end."""
        def remaining():
            return _marked(self.mark) + _children(self.sshd.proc.pid)
        return _wait_for(lambda: not remaining(), 15) or remaining()

    def cleanup(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in _marked(self.mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def job(sshd, tmp_path):
    jobs = []

    def start(*args):
        jobs.append(Job(args, tmp_path, sshd))
        return jobs[-1]
    yield start
    for j in jobs:
        j.cleanup()


def _assert_nothing_left(j):
    left = j.leftovers()
    assert left is True, 'processes left behind: %s' % [(p, ' '.join(_cmdline(p))[:80])
                                                         for p in left]


def _launch_lines(err):
    return [line for line in err.splitlines() if line.startswith('[launch] ')]


TRAIN = ['train', 'lenet', '--kvstore', 'dist_sync', '--ctx', 'cpu']


def test_two_workers_over_ssh_train_one_model(sshd, job, tmp_path):
    """The whole path: hosts checked, scheduler and server here, a worker on each "host" through
    sshd, gradients summed by the server; every worker ends with the parameters rank 0 saved."""
    j = job('-n', '2', '-s', '1', '--hosts', str(sshd.hosts_file(HOSTS)), '--',
            *TRAIN, '--subset', '1024', '--epochs', '1', '--out', 'run')
    assert j.wait() == 0, j.err
    _assert_nothing_left(j)
    reports = sorted((json.loads(p.read_text()) for p in (tmp_path / 'reports').glob('*.json')),
                     key=lambda r: r['rank'])
    assert [(r['rank'], r['num_workers'], r['kvstore']) for r in reports] == \
        [(0, 2, 'dist_sync'), (1, 2, 'dist_sync')]
    # Each worker was started by the test's sshd, one on each "host", and listened there.
    reached = sorted((r['ssh_connection'].split()[2], int(r['ssh_connection'].split()[3]),
                      r['node_host']) for r in reports)
    assert reached == [(h, sshd.port, h) for h in HOSTS]
    shards = [set(r['train_indices']) for r in reports]
    assert len(shards[0]) == len(shards[1]) == 512 and not shards[0] & shards[1]
    assert reports[0]['parameter_sha256'] == reports[1]['parameter_sha256']
    saved = nd.load(str(tmp_path / 'run' / 'model.params'))
    assert gn.parameter_checksum(list(saved.values())) == reports[0]['parameter_sha256']
    # Rank 0 alone printed the epoch and wrote the run, on its host.
    epoch = [line for line in j.out.splitlines() if '] epoch 1, loss' in line]
    wrote = [line for line in j.out.splitlines() if line.endswith('] wrote run')]
    assert len(epoch) == len(wrote) == 1 and epoch[0].split(']')[0] == wrote[0].split(']')[0]
    assert sorted(p.name for p in (tmp_path / 'run').iterdir()) == \
        ['config.json', 'curves.png', 'history.json', 'model.params']
    assert _launch_lines(j.err)[0] == (
        '[launch] scheduler at 127.0.0.1:%s and 1 server here; worker 0 on %s, worker 1 on %s'
        % (_launch_lines(j.err)[0].split(':')[1].split()[0], *HOSTS))


def test_a_host_refusing_the_connection_stops_the_job_before_it_starts(sshd, job):
    j = job('-n', '2', '-s', '1', '--hosts', str(sshd.hosts_file([HOSTS[0], REFUSING])), '--',
            *TRAIN, '--subset', '512', '--epochs', '1')
    assert j.wait() == 1
    assert _launch_lines(j.err) == [
        '[launch] %s: cannot run a command over ssh (ssh: connect to host %s port %d: '
        'Connection refused)' % (REFUSING, REFUSING, sshd.port),
        '[launch] not starting the job: %s not ready' % REFUSING]
    assert '[scheduler]' not in j.err + j.out and '[worker' not in j.err + j.out
    _assert_nothing_left(j)


@pytest.fixture(scope='module')
def bare_python(tmp_path_factory):
    """A Python without mxnet or gluon_notes."""
    d = tmp_path_factory.mktemp('bare')
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(d)], check=True)
    return d / 'bin' / 'python'


@pytest.mark.parametrize('case', ['no python, no directory', 'no gluon_notes', 'no data'])
def test_hosts_missing_something_are_named_one_line_each(case, sshd, job, bare_python, tmp_path):
    options, train = [], []
    if case == 'no python, no directory':
        options = ['--remote-python', '/nonexistent/bin/python', '--remote-dir', '/nonexistent']
        expected = ['directory /nonexistent not found (set --remote-dir)',
                    'python /nonexistent/bin/python not found (set --remote-python)']
    elif case == 'no gluon_notes':
        options = ['--remote-python', str(bare_python)]
        expected = ["%s does not import %s (ModuleNotFoundError: No module named '%s')"
                    % (bare_python, m, m) for m in ('mxnet', 'gluon_notes')]
    else:
        train = ['--data-root', 'nodata']  # relative to the job's directory, tmp_path
        expected = ['Fashion-MNIST missing in %s: %s (copy the files there, or give train '
                    '--data-root)' % (tmp_path / 'nodata',
                                      ', '.join(f for pair in gn.FILES.values() for f in pair))]
    j = job('-n', '2', '-s', '1', '--hosts', str(sshd.hosts_file(HOSTS)), *options, '--',
            *TRAIN, '--subset', '512', '--epochs', '1', *train)
    assert j.wait() == 1
    assert _launch_lines(j.err) == ['[launch] %s: %s' % (h, e) for h in HOSTS for e in expected] \
        + ['[launch] not starting the job: %s not ready' % ', '.join(HOSTS)]
    _assert_nothing_left(j)


def _start_long_job(job, sshd, *options):
    """A job that would train for minutes, once its two workers run on the hosts and rank 0 has
    started training."""
    j = job('-n', '2', '-s', '1', '--hosts', str(sshd.hosts_file(HOSTS)), *options, '--',
            *TRAIN, '--subset', '2048', '--epochs', '200')
    started = _wait_for(lambda: j.proc.poll() is not None or (
        len(j.remote_workers()) == 2 and 'rank 0 of 2 workers' in j.out), 120)
    assert started and j.proc.poll() is None, 'the job did not start:\n%s\n%s\n%s' % (
        j.err, j.out, [(p, ' '.join(_cmdline(p))[:80]) for p in _marked(j.mark)])
    return j


def test_a_worker_dying_on_a_host_stops_the_job(sshd, job):
    j = _start_long_job(job, sshd)
    victim = [p for p in j.remote_workers()
              if _environ(p)['SSH_CONNECTION'].split()[2] == HOSTS[1]]
    assert len(victim) == 1
    os.kill(victim[0], signal.SIGKILL)
    assert j.wait() == 128 + signal.SIGKILL
    assert '[launch] worker 1 on %s exited with status 137; stopping the job' % HOSTS[1] \
        in _launch_lines(j.err)
    _assert_nothing_left(j)


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_signals_to_the_launcher_stop_the_workers_on_the_hosts(signum, sshd, job):
    """The bug this file was written for: the launcher stopped, the remote workers did not."""
    port = _free_ports(('127.0.0.1',) + HOSTS, 4)
    j = _start_long_job(job, sshd, '--port', str(port))
    workers = j.remote_workers()
    for pid in workers:  # started by the test's sshd
        assert sshd.proc.pid in _ancestors(pid)
    # What --port promises: the scheduler and the server here, each worker on its host.
    assert _listening(_marked(j.mark)) == {('127.0.0.1', port), ('127.0.0.1', port + 1),
                                           (HOSTS[0], port + 2), (HOSTS[1], port + 3)}
    os.kill(j.proc.pid, signum)
    assert j.wait(timeout=60) == 128 + signum
    assert '[launch] interrupted by %s; stopping the job here and on %s' % (
        signal.Signals(signum).name, ', '.join(HOSTS)) in _launch_lines(j.err)
    assert 'did not confirm' not in j.err
    _assert_nothing_left(j)


def test_a_killed_launcher_leaves_nothing_on_the_hosts(sshd, job):
    """SIGKILL gives the launcher no chance to clean up: its ssh clients die with it (Linux
    PR_SET_PDEATHSIG), sshd closes the workers' input, and their watchers stop them."""
    if not sys.platform.startswith('linux'):
        pytest.skip('the ssh clients follow a killed launcher through Linux prctl')
    j = _start_long_job(job, sshd)
    os.kill(j.proc.pid, signal.SIGKILL)
    assert j.wait(timeout=30) == -signal.SIGKILL
    _assert_nothing_left(j)
