"""Sphinx configuration for gluon_lr (built with warnings as errors by `make docs`)."""
import os
import re
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
# alabaster's default 940 px page clips code blocks and sphinx-gallery "Out:" boxes.
html_theme_options = {"page_width": "1180px", "sidebar_width": "230px",
                      "body_max_width": "none"}
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# Methods the library's own loop calls; public in Python, not part of the user's API.
INTERNAL = {
    "Learner": {"batches", "materialize", "check_batch", "snapshot", "prepare_sweep",
                "set_learning_rate", "reduce_loss", "train_step_group", "validation_batches",
                "evaluate", "forward_backward", "train_step", "params"},
    "LRFinderHandler": {"train_begin", "batch_begin", "batch_end", "epoch_end", "train_end"},
}


def _skip_internal(app, what, name, obj, skip, options):
    qualname = getattr(obj, "__qualname__", "") or ""
    owner = qualname.split(".")[0] if "." in qualname else None
    if owner in INTERNAL and name in INTERNAL[owner]:
        return True
    return None


_SENTINEL = re.compile(r"=<object object[^>]*>")


def _plain_signature(app, what, name, obj, options, signature, return_annotation):
    # Learner(net, data=_MISSING, ...): a required-one-of-two argument, not a default to show.
    if signature and "<object object" in signature:
        signature = _SENTINEL.sub("", signature)
    return signature, return_annotation


def setup(app):
    app.connect("autodoc-skip-member", _skip_internal)
    app.connect("autodoc-process-signature", _plain_signature)
suppress_warnings = ["config.cache"]
