"""Every notebook runs top to bottom in quick mode (GLUON_NOTES_QUICK=1)."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / 'notebooks').glob('*.ipynb'))


@pytest.mark.parametrize('path', NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, monkeypatch, tmp_path):
    monkeypatch.setenv('GLUON_NOTES_QUICK', '1')
    # No MPLBACKEND here: with it set, IPython 9's inline backend fails to start pyplot.
    monkeypatch.delenv('MPLBACKEND', raising=False)
    nb = nbformat.read(path, as_version=4)
    # Run from a scratch directory so that anything a notebook writes stays out of the tree.
    NotebookClient(nb, timeout=300, kernel_name='python3',
                   resources={'metadata': {'path': str(tmp_path)}}).execute()
    errors = [o for cell in nb.cells if cell.cell_type == 'code'
              for o in cell.get('outputs', []) if o.get('output_type') == 'error']
    assert not errors
