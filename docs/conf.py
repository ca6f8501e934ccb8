"""Sphinx configuration for gluon_lr (built with warnings as errors by `make docs`)."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath(os.path.dirname(__file__)))
os.environ.setdefault("MPLBACKEND", "Agg")

import gluon_lr  # noqa: E402

# Tutorials run in full for the rendered docs (about a minute on two cores); the test suite
# builds them with GLUON_LR_QUICK=1, which shortens them by patching the library functions
# they call (docs/_quick.py), so the tutorials' source shows no test plumbing.
if os.environ.get("GLUON_LR_QUICK") == "1":
    import _quick  # noqa: E402

    _quick.apply()

project = "gluon_lr"
author = "gluon_lr developers"
release = version = gluon_lr.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False}
sphinx_gallery_conf = {
    "examples_dirs": "../tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["config.cache"]
