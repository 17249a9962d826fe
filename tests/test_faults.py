"""Fault injection: real file-system faults while gluon-notes writes a run's files.

Each fault is made to happen for real (tests/fault_driver.py): a tmpfs filled to the last byte or
remounted read-only, mounted in a private mount namespace (``unshare``) so that nothing leaks to
the machine; a run directory made unwritable with chmod in a process without CAP_DAC_OVERRIDE;
the run directory renamed away, deleted, or replaced by a file. Where no tmpfs can be mounted, a
write hook raising ENOSPC half-way through the n-th write stands in for the full disk (and runs
everywhere, as a second check of the clean-up).

For every write of a small LeNet run (config.json, each checkpoint file, the manifest,
history.json, curves.png, model.params) the fault comes just before that write, and the test checks:
exit status 4 with one line naming the path, the cause and what to do; the previous checkpoint
intact (verified against the manifest's sizes and SHA-256); no temporary file left (or, when the
fault itself forbids removing it, none left once the resumed run has written a checkpoint); and,
once the fault is undone, that ``--resume`` (``--overwrite`` if no checkpoint was written yet)
ends with the parameters of the same run left uninterrupted, bit for bit.
"""
import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mxnet import nd

from gluon_notes.checkpoint import describe_position
from gluon_notes.cli import EXIT_FILE_FAULT, main
from gluon_notes.runner import train_model

DRIVER = Path(__file__).with_name('fault_driver.py')
# 4 batches, a checkpoint after batch 2 and at the end of the epoch: 12 writes in all.
RUN = dict(subset=128, batch_size=32, num_epochs=1, seed=5)
ARGV = ['train', 'lenet', '--subset', '128', '--batch-size', '32', '--epochs', '1',
        '--checkpoint-every', '2', '--seed', '5', '--ctx', 'cpu']
WRITES = 12


def _params(path):
    return {k: v.asnumpy() for k, v in nd.load(str(path)).items()}


@functools.lru_cache(maxsize=None)
def _reference(**run):
    """Final parameters of the run left uninterrupted, without any file (in-process)."""
    net, _ = train_model('lenet', ctx='cpu', verbose=False, progress=False, **run)
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}


def _assert_reference(path, **run):
    got, expected = _params(path), _reference(**run)
    assert sorted(got) == sorted(expected)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)


def _namespace(probe_dir):
    """``(command prefix, None)`` giving a private mount namespace where this user may mount a
    tmpfs, or ``(None, why not)``."""
    reasons = []
    for prefix in (['unshare', '--user', '--map-root-user', '--mount'], ['unshare', '--mount']):
        if shutil.which(prefix[0]) is None:
            return None, 'unshare is not installed'
        try:
            probe = subprocess.run(prefix + ['mount', '-t', 'tmpfs', '-o', 'size=64k', 'none',
                                             probe_dir], capture_output=True, text=True,
                                   timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            reasons.append(str(e))
            continue
        if probe.returncode == 0:
            return prefix, None
        reasons.append(probe.stderr.strip() or 'status %d' % probe.returncode)
    return None, 'cannot mount a tmpfs in a private mount namespace here (%s)' % '; '.join(reasons)


def _without_dac_override():
    """A command prefix under which permission bits apply to this process, or None."""
    if os.geteuid() != 0:
        return []
    if shutil.which('setpriv') is None:
        return None
    prefix = ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--']
    probe = subprocess.run(prefix + ['true'], capture_output=True)
    return prefix if probe.returncode == 0 else None


def _drive(tmp_path, spec, prefix=()):
    base, params = tmp_path / 'fs', tmp_path / 'params'
    base.mkdir()
    params.mkdir()
    spec = dict(spec, base=str(base), params=str(params))
    spec_file, report = tmp_path / 'spec.json', tmp_path / 'report.json'
    spec_file.write_text(json.dumps(spec))
    done = subprocess.run(list(prefix) + [sys.executable, str(DRIVER), str(spec_file),
                                          str(report)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(report.read_text())


def _mount_prefix(tmp_path):
    probe = tmp_path / 'probe'
    probe.mkdir()
    prefix, reason = _namespace(str(probe))
    if prefix is None:
        pytest.skip(reason)
    return prefix


CAUSES = {
    'enospc': 'no space left on device (ENOSPC)',
    'enospc-hook': 'no space left on device (ENOSPC)',
    'read-only': 'read-only file system (EROFS)',
    'no-permission': 'permission denied (EACCES)',
    'vanished': '{run} no longer exists (removed or renamed while the run was writing)',
    'removed': '{run} no longer exists (removed or renamed while the run was writing)',
    'file-in-place': '{run} is a file, not a directory',
}
ADVICE = {
    'enospc': 'free space on the file system holding {run}, or choose another output directory',
    'read-only': 'remount that file system read-write, or choose another output directory',
    'no-permission': 'make {run} writable for this user, or choose another output directory',
    'vanished': 'put it back and continue from its checkpoint, or start again',
    'file-in-place': 'remove or rename that file, or choose another output directory',
}
ADVICE['enospc-hook'], ADVICE['removed'] = ADVICE['enospc'], ADVICE['vanished']
# Faults that also forbid removing what the failed write had created (the checkpoint's
# temporary directory): the next checkpoint of the resumed run removes it.
BLOCK_CLEAN_UP = ('read-only', 'no-permission', 'vanished', 'file-in-place')


def _check_every_write(report, fault):
    assert [r['n'] for r in report] == list(range(1, WRITES + 1))
    targets = [os.path.basename(r['target']).split('.tmp')[0].lstrip('.') for r in report]
    assert targets == ['config.json'] + ['model.params', 'state.json', 'trainer.states',
                                         'checkpoint.json'] + ['history.json'] + [
        'model.params', 'state.json', 'trainer.states', 'checkpoint.json', 'curves.png',
        'model.params']
    for r in report:
        run, where = r['run_dir'], 'write %d (%s)' % (r['n'], r['target'])
        err = r['err']
        assert r['code'] == EXIT_FILE_FAULT, (where, err)
        assert err.startswith('gluon-notes: error: cannot ') and err.count('\n') == 1, (where, err)
        assert run in err.split(':', 3)[2], (where, err)  # names the path
        assert CAUSES[fault].format(run=run) in err, (where, err)
        assert ADVICE[fault].format(run=run) in err, (where, err)
        if fault in ('vanished', 'removed', 'file-in-place'):
            assert 'intact' not in err and 'no checkpoint was written' not in err, (where, err)
        elif r['before']:
            assert err.rstrip().endswith(
                '; the last checkpoint (%s) in %s is intact: once fixed, continue with '
                'gluon-notes train lenet --out %s --resume'
                % (describe_position(*r['before']), run, run)), (where, err)
        else:
            assert err.rstrip().endswith('; no checkpoint was written yet: once fixed, run the '
                                         'same command with --overwrite'), (where, err)
        # The checkpoint before the fault is the one the manifest still names, verified.
        assert r['after'] == (None if fault == 'removed' else r['before']), where
        if fault not in BLOCK_CLEAN_UP:
            assert r['temporaries'] == [], where
        if fault == 'removed':
            assert not r['exists'], where  # not recreated
            continue
        assert r['resumed_with'] == ('--resume' if r['before'] else '--overwrite'), where
        assert r['resume_code'] == 0, (where, r['resume_err'])
        assert r['temporaries_after'] == [], where
        _assert_reference(r['params'], **RUN)
    positions = [tuple(r['before']) if r['before'] else None for r in report]
    assert positions == [None] * 5 + [(0, 2)] * 5 + [(1, 0)] * 2


@pytest.mark.parametrize('fault', ['enospc', 'read-only'])
def test_tmpfs_full_or_read_only_at_every_write(tmp_path, fault):
    prefix = _mount_prefix(tmp_path)
    report = _drive(tmp_path, dict(scenario='every-write', fault=fault, mount='8m', argv=ARGV),
                    prefix)
    _check_every_write(report, fault)


def test_permission_denied_at_every_write(tmp_path):
    prefix = _without_dac_override()
    if prefix is None:
        pytest.skip('running as root without setpriv: permission bits cannot be enforced')
    report = _drive(tmp_path, dict(scenario='every-write', fault='no-permission', argv=ARGV),
                    prefix)
    _check_every_write(report, 'no-permission')


@pytest.mark.parametrize('fault', ['enospc-hook', 'vanished', 'removed', 'file-in-place'])
def test_fault_at_every_write(tmp_path, fault):
    report = _drive(tmp_path, dict(scenario='every-write', fault=fault, argv=ARGV))
    _check_every_write(report, fault)


def test_full_disk_under_the_cli_as_in_the_issue(tmp_path):
    """``gluon-notes train`` itself (a subprocess, no hook) with --out on a 300 KB tmpfs: the
    first checkpoint (after batch 4) fits, the second (end of epoch 1) does not."""
    prefix = _mount_prefix(tmp_path)
    argv = ['train', 'lenet', '--subset', '512', '--epochs', '2', '--batch-size', '64',
            '--checkpoint-every', '4', '--ctx', 'cpu', '--seed', '3']
    [r] = _drive(tmp_path, dict(scenario='cli-full-disk', argv=argv), prefix)
    run = r['run_dir']
    assert r['code'] == EXIT_FILE_FAULT, r['err']
    assert r['err'] == (
        'gluon-notes: error: cannot write the checkpoint {run}/ckpt-000002: no space left on '
        'device (ENOSPC); free space on the file system holding {run}, or choose another output '
        'directory; the last checkpoint (epoch 1, batch 4) in {run} is intact: once fixed, '
        'continue with gluon-notes train lenet --out {run} --resume\n'.format(run=run))
    assert r['names'] == ['checkpoint.json', 'ckpt-000001', 'config.json', 'history.json']
    assert r['after'] == [0, 4] and r['temporaries'] == []
    assert r['resume_code'] == 0, r['resume_err']
    assert r['temporaries_after'] == []
    _assert_reference(tmp_path / 'params' / 'final.params', subset=512, num_epochs=2,
                      batch_size=64, seed=3)


def test_reproduce_keeps_results_consistent_on_a_full_disk(tmp_path):
    """A full disk at each write that publishes a result, and at the final parameters of each
    run: results.json, RESULTS.md and the PNGs name the same models, each with its finished run;
    the same command then completes the reproduction."""
    probe = tmp_path / 'probe'
    probe.mkdir()
    prefix, _ = _namespace(str(probe))
    spec = dict(scenario='reproduce', argv=['reproduce', 'softmax_regression', 'mlp', '--quick'],
                select=['model.params', 'softmax_regression.png', 'mlp.png', 'RESULTS.md',
                        'results.json'])
    if prefix is None:
        spec.update(fault='enospc-hook')
    else:
        spec.update(fault='enospc', mount='16m')
    report = _drive(tmp_path, spec, prefix or ())
    # Per model: its run's model.params, then its PNG, RESULTS.md and results.json published
    # together.
    targets = [os.path.basename(r['target']).split('.tmp')[0][1:] for r in report]
    assert targets == ['model.params', 'softmax_regression.png', 'RESULTS.md', 'results.json',
                       'model.params', 'mlp.png', 'RESULTS.md', 'results.json']
    both = ['softmax_regression', 'mlp']
    for r in report:
        where = 'write %d (%s)' % (r['n'], r['target'])
        assert r['code'] == EXIT_FILE_FAULT, (where, r['err'])
        assert 'no space left on device (ENOSPC)' in r['err'] and r['err'].count('\n') == 1
        assert r['err'].endswith(' once fixed, run the same gluon-notes reproduce command '
                                 'again (finished runs are kept)\n'), (where, r['err'])
        for state in (r['faulted'], r['again']):
            assert state['json_rows'] == state['table_rows'], where
            assert sorted(state['pngs']) == sorted(state['json_rows']), where
            assert all(state['finished'].values()), where
            assert state['temporaries'] == [], where
        assert r['faulted']['json_rows'] in ([], ['softmax_regression']), where
        assert r['again_code'] == 0, (where, r['again_err'])
        assert r['again']['json_rows'] == both, where
    # A row appears with its run's publication and not before.
    published = [r['faulted']['json_rows'] for r in report]
    assert published == [[]] * 4 + [['softmax_regression']] * 4


@pytest.mark.parametrize('command', [['train', 'lenet', '--ctx', 'cpu'],
                                     ['reproduce', 'lenet', '--quick']])
@pytest.mark.parametrize('below', [False, True])
def test_out_naming_a_file_is_one_line_exit_4_before_any_work(tmp_path, capsys, command, below):
    """The issue's third case: --out naming a file (or a path below one) said only
    '[Errno 17] File exists'."""
    blocker = tmp_path / 'notes.txt'
    blocker.write_text('mine\n')
    out = blocker / 'run' if below else blocker
    assert main(command + ['--out', str(out)]) == EXIT_FILE_FAULT
    captured = capsys.readouterr()
    expected = ('gluon-notes: error: cannot create the directory %s: %s is a file, not a '
                'directory (%s); remove or rename that file, or choose another output directory'
                % (out, blocker, 'ENOTDIR' if below else 'EEXIST'))
    if command[0] == 'reproduce':
        expected += ('; once fixed, run the same gluon-notes reproduce command again (finished '
                     'runs are kept)')
    assert captured.err == expected + '\n'
    assert 'training on' not in captured.out
    assert blocker.read_text() == 'mine\n' and sorted(tmp_path.iterdir()) == [blocker]
