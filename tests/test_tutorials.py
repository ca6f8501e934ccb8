"""Every tutorial runs (quick mode) and converts to a notebook, so none of them rots.

Quick mode (``docs/_quick.py``) shortens the runs by patching the library functions the
tutorials call, so the tutorials themselves hold no test plumbing.
"""
import glob
import os
import runpy
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TUTORIALS = sorted(glob.glob(os.path.join(ROOT, "tutorials", "plot_*.py")))
sys.path.insert(0, os.path.join(ROOT, "docs"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import _quick  # noqa: E402
import notebooks  # noqa: E402


def test_there_are_four_tutorials():
    names = [os.path.basename(t) for t in TUTORIALS]
    assert names == ["plot_any_model.py", "plot_lr_vs_guessing.py", "plot_quickstart.py",
                     "plot_schedules.py"]


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorial_runs(path, tmp_path, monkeypatch, capsys):
    _quick.apply(monkeypatch.setattr)
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


@pytest.mark.parametrize("path", TUTORIALS, ids=os.path.basename)
def test_tutorials_hold_no_test_plumbing(path):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    assert "GLUON_LR_QUICK" not in source and "QUICK" not in source
    nb = notebooks.to_notebook(path)
    text = "\n".join(c.source for c in nb.cells)
    assert "sphinx_gallery" not in text and "QUICK" not in text
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_a_generated_notebook_executes(tmp_path):
    """The quick-start notebook runs in a Jupyter kernel (what ``make notebooks`` does)."""
    import nbformat
    nb = notebooks.to_notebook(os.path.join(ROOT, "tutorials", "plot_quickstart.py"))
    # quick mode, and this worktree's gluon_lr, for the kernel only: not in what users get
    setup = "import sys\nsys.path[:0] = [{!r}, {!r}]\nimport _quick\n_quick.apply()".format(
        ROOT, os.path.join(ROOT, "docs"))
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup))
    notebooks.execute(nb, cwd=str(tmp_path), timeout=600)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs)
    assert "LRFinderResult(lr=" in text and "validation accuracy" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # the plots
    assert not [o for o in outputs if o.get("output_type") == "error"]
