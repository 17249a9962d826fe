"""Every notebook runs top to bottom in quick mode (GLUON_NOTES_QUICK=1), on a copy: the committed,
executed notebooks are never rewritten by the tests."""
from pathlib import Path

import nbformat
import pytest

from gluon_notes.notebook import error_outputs, execute_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / 'notebooks').glob('*.ipynb'))


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path):
    before = path.read_bytes()
    # Run from a scratch directory so that anything a notebook writes stays out of the tree.
    nb = execute_notebook(path, quick=True, workdir=tmp_path, timeout=300)
    assert not error_outputs(nb)
    assert path.read_bytes() == before


def test_error_outputs_finds_errors_and_tracebacks():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('1'), nbformat.v4.new_code_cell('x')]
    nb.cells[0].outputs = [nbformat.v4.new_output('stream', name='stderr',
                                                  text='Traceback (most recent call last):\n'
                                                       'ValueError: bad\n')]
    nb.cells[1].outputs = [nbformat.v4.new_output('error', ename='NameError', evalue="'x'",
                                                  traceback=[])]
    assert error_outputs(nb) == [(0, 'ValueError: bad'), (1, "NameError: 'x'")]
    nb.cells[0].outputs = [nbformat.v4.new_output('stream', name='stderr', text='a warning\n')]
    assert error_outputs(nb) == [(1, "NameError: 'x'")]
