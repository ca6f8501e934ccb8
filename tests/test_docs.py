"""The Sphinx docs build with warnings as errors, tutorials executed (quick mode).

The build runs on a copy of docs/ and tutorials/ in a temporary directory: sphinx-gallery
skips tutorials whose outputs it finds cached next to the sources, so building in place
could pass without executing them.
"""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
GENERATED = ("_build", "generated", "auto_tutorials", "sg_execution_times.rst")


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    shutil.copytree(os.path.join(ROOT, "docs"), tmp_path / "docs",
                    ignore=shutil.ignore_patterns(*GENERATED))
    shutil.copytree(os.path.join(ROOT, "tutorials"), tmp_path / "tutorials",
                    ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    env = dict(os.environ, MPLBACKEND="Agg", GLUON_LR_QUICK="1",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(tmp_path / "docs"), str(out)],
        capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for page in ("index.html", "concepts.html", "scaling.html", "api.html", "cli.html",
                 "auto_tutorials/plot_quickstart.html", "generated/gluon_lr.Learner.html"):
        assert (out / page).exists(), page
    for tutorial in ("plot_quickstart", "plot_lr_vs_guessing", "plot_schedules",
                     "plot_any_model"):
        # executed now, not taken from a cache: every tutorial rendered its figures
        assert list((out / "_images").glob("sphx_glr_{}_001.png".format(tutorial))), tutorial
    notebooks = [f for _, _, files in os.walk(out / "_downloads") for f in files
                 if f.endswith(".ipynb")]
    assert len(notebooks) == 4
