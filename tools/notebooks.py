"""Jupyter notebooks from the tutorial scripts (``make notebooks``).

The tutorials are sphinx-gallery scripts; jupytext turns their comment blocks into markdown
cells. What only the docs build needs (``# sphinx_gallery_...`` configuration comments) is
left out, so a notebook shows what a user would type. ``--execute`` runs each notebook in a
Jupyter kernel (nbconvert, ipykernel) and saves it with its outputs and figures.

Usage::

    python tools/notebooks.py tutorials/plot_*.py --out notebooks [--execute]
"""
import argparse
import os
import re
import sys

_CONFIG_COMMENT = re.compile(r"^# sphinx_gallery_\w+.*$\n?", re.M)


def to_notebook(path: str):
    """The notebook of one tutorial script, without sphinx-gallery configuration comments."""
    import jupytext
    nb = jupytext.read(path, fmt="py:sphinx")
    cells = []
    for cell in nb.cells:
        cell.source = _CONFIG_COMMENT.sub("", cell.source).strip("\n")
        if cell.source.strip():
            cells.append(cell)
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("jupytext", None)
    return nb


def execute(nb, cwd: str, timeout: int = 1800):
    """Run every cell in a fresh kernel; raises ``CellExecutionError`` on the first failure."""
    from nbconvert.preprocessors import ExecutePreprocessor
    ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(
        nb, {"metadata": {"path": cwd}})
    return nb


def main(argv=None) -> int:
    import nbformat
    parser = argparse.ArgumentParser(description="Notebooks from the tutorial scripts.")
    parser.add_argument("scripts", nargs="+", help="tutorial scripts (tutorials/plot_*.py)")
    parser.add_argument("--out", default="notebooks", help="folder (default: %(default)s)")
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook and save it with its outputs")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for script in args.scripts:
        nb = to_notebook(script)
        target = os.path.join(args.out, os.path.splitext(os.path.basename(script))[0] + ".ipynb")
        if args.execute:
            print("running {} ...".format(script), flush=True)
            execute(nb, cwd=args.out)
        nbformat.write(nb, target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
