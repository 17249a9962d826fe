"""What the chapter notebooks share: the quick mode the test suite runs them in, and running them.

``python -m gluon_notes.notebook [--quick] NOTEBOOK ...`` executes notebooks top to bottom and, unless
quick, writes them back with their outputs (what ``make notebooks`` does); any error output fails.
"""
import argparse
import os
import sys
from pathlib import Path

__all__ = ['QUICK_ENV', 'quick_mode', 'execute_notebook', 'error_outputs']

QUICK_ENV = 'GLUON_NOTES_QUICK'


def quick_mode():
    """True when ``GLUON_NOTES_QUICK=1``: notebooks then train a few hundred examples for one epoch."""
    return os.environ.get(QUICK_ENV) == '1'


def error_outputs(nb):
    """``(cell index, text)`` of every error output, and of every stderr stream that carries a
    traceback, in an executed notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get('outputs', []) if cell.cell_type == 'code' else []:
            if out.get('output_type') == 'error':
                found.append((i, '%s: %s' % (out.get('ename'), out.get('evalue'))))
            elif out.get('name') == 'stderr' and 'Traceback' in out.get('text', ''):
                found.append((i, out['text'].strip().splitlines()[-1]))
    return found


def execute_notebook(path, *, quick, workdir, timeout=None):
    """Run the notebook at ``path`` top to bottom from ``workdir`` (quick mode or not) and return
    it executed; the file is left unchanged."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(str(path), as_version=4)
    env_before = os.environ.get(QUICK_ENV)
    os.environ[QUICK_ENV] = '1' if quick else '0'
    # With MPLBACKEND set, IPython 9's inline backend fails to start pyplot.
    backend = os.environ.pop('MPLBACKEND', None)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name='python3', allow_errors=True,
                       resources={'metadata': {'path': str(workdir)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop(QUICK_ENV, None)
        else:
            os.environ[QUICK_ENV] = env_before
        if backend is not None:
            os.environ['MPLBACKEND'] = backend
    return nb


def main(argv=None):
    import tempfile
    import nbformat
    parser = argparse.ArgumentParser(prog='python -m gluon_notes.notebook',
                                     description='Execute notebooks top to bottom.')
    parser.add_argument('notebooks', nargs='+', type=Path)
    parser.add_argument('--quick', action='store_true',
                        help='quick mode, and leave the files unchanged')
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        if not path.is_file():
            print('%s: no such notebook' % path, file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as workdir:
            nb = execute_notebook(path, quick=args.quick, workdir=workdir)
        errors = error_outputs(nb)
        for cell, text in errors:
            print('%s: cell %d: %s' % (path, cell, text), file=sys.stderr)
        if errors:
            failed += 1
            continue  # a failed run never replaces the committed notebook
        if not args.quick:
            nbformat.write(nb, str(path))
        print('%s: ok' % path, flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
