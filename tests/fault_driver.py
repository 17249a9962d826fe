"""Makes file-system faults happen for real under ``gluon-notes``, for tests/test_faults.py.

Run as ``python tests/fault_driver.py SPEC.json REPORT.json``, often inside ``unshare -Urm`` (a
private mount namespace, root in it) so that it may mount a small tmpfs and remount it read-only
without touching the machine's mounts; everything it mounts disappears with it.

Scenarios (``spec['scenario']``):

- ``every-write``: counts the writes of a clean ``gluon-notes train`` run (every file write of
  the project goes through ``checkpoint._write_bytes``), then for each write n runs it again
  with the fault ``spec['fault']`` made real just before write n, records what the command said
  and left behind, undoes the fault and resumes (or restarts, when no checkpoint was written).
- ``reproduce``: the same with ``gluon-notes reproduce`` and a full disk, for the writes of the
  files named in ``spec['select']`` (those written atomically, not a checkpoint's).
- ``cli-full-disk``: the issue's case, no hook at all: ``gluon-notes train`` in a subprocess
  with ``--out`` on a 300 KB tmpfs; then the tmpfs is enlarged and the run resumed.

Faults: ``enospc`` (the tmpfs filled up), ``enospc-hook`` (no tmpfs: the write itself writes
half its data, then raises ENOSPC), ``read-only`` (the tmpfs remounted read-only),
``no-permission`` (the run directory made read-only with chmod; needs a process without
CAP_DAC_OVERRIDE), ``vanished`` (the run directory renamed away, put back to resume), ``removed``
(the run directory deleted) and ``file-in-place`` (the directory renamed away and a file put in
its place).
"""
import contextlib
import errno
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from gluon_notes import checkpoint as ckpt
from gluon_notes.cli import main


def _mount(base, size):
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'none', str(base)],
                   check=True)


def _remount(base, options):
    subprocess.run(['mount', '-o', 'remount,%s' % options, str(base)], check=True)


def _fill(path):
    """Write zeros to ``path`` until its file system is full."""
    with open(path, 'wb', buffering=0) as f:
        for chunk in (1 << 20, 1 << 12, 1):
            block = bytes(chunk)
            with contextlib.suppress(OSError):
                while True:
                    f.write(block)


def _position(directory):
    """The verified checkpoint's position in ``directory``, or None."""
    try:
        state = ckpt.load_checkpoint(directory)
    except ckpt.CheckpointError:
        return None
    return [state['epoch'], state['batch']]


def _temporaries(directory):
    """Paths (relative) of the hidden temporary files and directories under ``directory``."""
    if not os.path.isdir(directory):
        return []
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob('*')
                  if '.tmp' in p.name)


class Fault:
    def __init__(self, kind, base, run_dir):
        self.kind, self.base, self.run_dir = kind, Path(base), Path(run_dir)
        self.aside = Path(str(run_dir) + '.aside')

    def apply(self):
        if self.kind == 'enospc':
            _fill(self.base / 'filler')
        elif self.kind == 'read-only':
            _remount(self.base, 'ro')
        elif self.kind == 'no-permission':
            os.chmod(self.run_dir, 0o555)
        elif self.kind in ('vanished', 'file-in-place'):
            os.rename(self.run_dir, self.aside)
            if self.kind == 'file-in-place':
                self.run_dir.write_text('not a directory\n')
        elif self.kind == 'removed':
            shutil.rmtree(self.run_dir)

    def where(self):
        """Where the run directory's contents are while the fault lasts."""
        return self.aside if self.kind in ('vanished', 'file-in-place') else self.run_dir

    def undo(self):
        if self.kind == 'enospc':
            (self.base / 'filler').unlink()
        elif self.kind == 'read-only':
            _remount(self.base, 'rw')
        elif self.kind == 'no-permission':
            os.chmod(self.run_dir, 0o755)
        elif self.kind in ('vanished', 'file-in-place'):
            if self.kind == 'file-in-place':
                self.run_dir.unlink()
            os.rename(self.aside, self.run_dir)


def _run(argv):
    """``main(argv)`` in this process: ``(exit status, stderr)``."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


@contextlib.contextmanager
def _hooked(on_write):
    """Every write of the project goes through ``on_write(path, data, real_write)``."""
    real = ckpt._write_bytes
    ckpt._write_bytes = lambda path, data: on_write(path, data, real)
    try:
        yield
    finally:
        ckpt._write_bytes = real


def _count_writes(argv):
    targets = []

    def count(path, data, real):
        targets.append(str(path))
        return real(path, data)
    with _hooked(count):
        code, err = _run(argv)
    assert code == 0, err
    return targets


def _faulted_run(argv, n, fault, watched):
    """Run ``argv`` with ``fault`` made real just before write ``n``; ``watched`` is the
    directory whose checkpoint is recorded just before the fault."""
    seen = dict(count=0)

    def on_write(path, data, real):
        seen['count'] += 1
        if seen['count'] == n:
            seen['target'] = str(path)
            seen['before'] = _position(watched)
            fault.apply()
            if fault.kind == 'enospc-hook':
                with open(path, 'wb') as f:
                    f.write(data[:len(data) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)
    with _hooked(on_write):
        code, err = _run(argv)
    return dict(n=n, target=seen.get('target'), before=seen.get('before'), code=code, err=err)


def _prepare(spec):
    """``(base, fault kind, argv, targets)``: the file system mounted if asked, and the files
    the command writes, in order, from a dry run without a fault."""
    base, kind = Path(spec['base']), spec['fault']
    if spec.get('mount'):
        _mount(base, spec['mount'])
    argv = spec['argv']
    dry = base / 'dry'
    targets = _count_writes(argv + ['--out', str(dry)])
    shutil.rmtree(dry)
    return base, kind, argv, targets


def every_write(spec):
    base, kind, argv, targets = _prepare(spec)
    report = []
    for n in range(1, len(targets) + 1):
        run_dir = base / ('run-%d' % n)
        fault = Fault(kind, base, run_dir)
        # The run directory exists from the start: the fault may come before the first write.
        run_dir.mkdir()
        record = _faulted_run(argv + ['--out', str(run_dir)], n, fault, run_dir)
        record.update(after=_position(fault.where()), temporaries=_temporaries(fault.where()),
                      run_dir=str(run_dir), exists=run_dir.is_dir())
        fault.undo()
        if kind != 'removed':
            again = ['--resume'] if ckpt.has_checkpoint(run_dir) else ['--overwrite']
            code, err = _run(argv + ['--out', str(run_dir)] + again)
            params = Path(spec['params']) / ('%d.params' % n)
            if code == 0:
                shutil.copyfile(run_dir / 'model.params', params)
            record.update(resumed_with=again[0], resume_code=code, resume_err=err,
                          params=str(params), temporaries_after=_temporaries(run_dir))
        shutil.rmtree(run_dir, ignore_errors=True)  # keeps the tmpfs small
        report.append(record)
    return report


def _results(out):
    """What ``out`` of a reproduction holds: the rows of results.json and RESULTS.md, the PNGs,
    the temporaries, and for each row whether its run finished with the row's figures."""
    rows = []
    if (out / 'results.json').exists():
        rows = json.loads((out / 'results.json').read_text())['rows']
    table = (out / 'RESULTS.md').read_text() if (out / 'RESULTS.md').exists() else ''
    finished = {}
    for r in rows:
        run = out / 'runs' / r['model']
        history = (json.loads((run / 'history.json').read_text())
                   if (run / 'history.json').exists() else [])
        finished[r['model']] = bool(history) and (run / 'model.params').exists() and (
            history[-1]['test_acc'] == r['test_acc'])
    return dict(json_rows=[r['model'] for r in rows],
                table_rows=[line.split('|')[1].strip() for line in table.splitlines()
                            if line.startswith('| ') and line.split('|')[1].strip() not in (
                                'model', '---')],
                pngs=sorted(p.stem for p in out.glob('*.png')),
                temporaries=[t for t in _temporaries(out) if not t.startswith('runs/')],
                finished=finished)


def reproduce(spec):
    base, kind, argv, targets = _prepare(spec)
    report = []
    for n, target in enumerate(targets, 1):
        # The files written atomically, named as spec['select'] names them.
        if Path(target).name.split('.tmp')[0][1:] not in spec['select']:
            continue
        out = base / ('results-%d' % n)
        fault = Fault(kind, base, out)
        record = _faulted_run(argv + ['--out', str(out)], n, fault, out)
        record.update(out=str(out), faulted=_results(out))
        fault.undo()
        code, err = _run(argv + ['--out', str(out)])
        record.update(again_code=code, again_err=err, again=_results(out))
        shutil.rmtree(out, ignore_errors=True)
        report.append(record)
    return report


def cli_full_disk(spec):
    base = Path(spec['base'])
    _mount(base, '300k')
    run_dir = base / 'run'
    cli = [sys.executable, '-m', 'gluon_notes.cli']
    first = subprocess.run(cli + spec['argv'] + ['--out', str(run_dir)], capture_output=True,
                           text=True, timeout=300)
    record = dict(code=first.returncode, err=first.stderr, run_dir=str(run_dir),
                  after=_position(run_dir), temporaries=_temporaries(run_dir),
                  names=sorted(p.name for p in run_dir.iterdir()))
    _remount(base, 'size=8m')
    again = subprocess.run(cli + ['train', 'lenet', '--out', str(run_dir), '--resume', '--ctx',
                                  'cpu'], capture_output=True, text=True, timeout=300)
    record.update(resume_code=again.returncode, resume_err=again.stderr,
                  temporaries_after=_temporaries(run_dir))
    if again.returncode == 0:
        shutil.copyfile(run_dir / 'model.params', Path(spec['params']) / 'final.params')
    return [record]


if __name__ == '__main__':
    spec = json.loads(Path(sys.argv[1]).read_text())
    scenario = dict(every_write=every_write, reproduce=reproduce,
                    cli_full_disk=cli_full_disk)[spec['scenario'].replace('-', '_')]
    Path(sys.argv[2]).write_text(json.dumps(scenario(spec)))
