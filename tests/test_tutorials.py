"""Every tutorial runs (quick mode) and converts to a notebook, so none of them rots."""
import glob
import os
import runpy

import pytest

TUTORIALS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "tutorials",
                                          "plot_*.py")))


def test_there_are_three_tutorials():
    names = [os.path.basename(t) for t in TUTORIALS]
    assert names == ["plot_lr_vs_guessing.py", "plot_quickstart.py", "plot_schedules.py"]


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorial_runs(path, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLUON_LR_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(path, run_name="__main__")
    out = capsys.readouterr().out
    assert "LRFinderResult(lr=" in out
    assert os.listdir(tmp_path) == []  # tutorials write nothing into the working directory


@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorial_converts_to_a_notebook(path):
    import jupytext
    nb = jupytext.read(path, fmt="py:sphinx")
    kinds = [c.cell_type for c in nb.cells]
    assert kinds.count("code") >= 3 and kinds.count("markdown") >= 3
    assert any("find_lr" in c.source for c in nb.cells if c.cell_type == "code")
