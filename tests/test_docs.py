"""The Sphinx docs build with warnings as errors (tutorials executed in quick mode)."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", GLUON_LR_QUICK="1")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), os.path.join(ROOT, "docs"), str(out)],
        capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for page in ("index.html", "concepts.html", "api.html", "cli.html",
                 "auto_tutorials/plot_quickstart.html", "generated/gluon_lr.Learner.html"):
        assert (out / page).exists(), page
    assert list((out / "_images").glob("sphx_glr_plot_quickstart_*.png"))
    assert (out / "_downloads").exists()
    notebooks = [f for _, _, files in os.walk(out / "_downloads") for f in files
                 if f.endswith(".ipynb")]
    assert len(notebooks) == 3
