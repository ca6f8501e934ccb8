"""Packaging for gluon_lr.

MXNet itself is an *extra* (``pip install gluon_lr[cpu]``) so that a user who already has a
GPU build such as ``mxnet-cu112`` can install gluon_lr without pip pulling the CPU wheel over it.
"""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.abspath(os.path.dirname(__file__))


def read_version() -> str:
    with open(os.path.join(HERE, "gluon_lr", "__init__.py"), encoding="utf-8") as f:
        match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', f.read(), re.M)
    if not match:
        raise RuntimeError("cannot find __version__ in gluon_lr/__init__.py")
    return match.group(1)


with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    LONG_DESCRIPTION = f.read()

setup(
    name="gluon_lr",
    version=read_version(),
    description="Learning-rate range test and schedule presets for Apache MXNet Gluon",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    packages=find_packages(include=["gluon_lr", "gluon_lr.*"]),
    python_requires=">=3.8",
    # mxnet 1.9.1 (any build) fails to import with numpy >= 1.24.
    install_requires=["numpy<1.24", "matplotlib", "tqdm"],
    extras_require={
        "cpu": ["mxnet==1.9.1"],
        "data": ["mlxtend", "scikit-learn"],
        "gluoncv": ["gluoncv==0.10.5.post0"],
        "pandas": ["pandas"],
        "dev": ["pytest", "pandas", "scikit-learn", "mlxtend", "gluoncv==0.10.5.post0",
                "sphinx", "sphinx-gallery", "numpydoc", "jupytext", "nbconvert", "ipykernel",
                "ipywidgets", "hypothesis"],
        # Jupyter: the tqdm.auto progress widget, and running the generated notebooks.
        "notebook": ["ipywidgets", "ipykernel", "nbconvert", "jupytext"],
    },
    entry_points={"console_scripts": ["gluon-lr=gluon_lr.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
