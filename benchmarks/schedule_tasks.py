"""The tasks of ``schedule_quality.py`` and their DESIGN / HELD-OUT split.

The split was decided and committed before any schedule rule was tuned. Rules (the peak
factors and the auto shape in ``gluon_lr/recommend.py``, compare_schedules' settings) are
tuned on DESIGN only; HELD-OUT is only ever reported.
"""
import numpy as np
from mxnet import gluon

from gluon_lr.datasets import digits, mnist5k, train_val_split
from gluon_lr.models import mlp


def _standardize(Xtr, Xva):
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    return ((Xtr - mu) / sd).astype(np.float32), ((Xva - mu) / sd).astype(np.float32)


def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    return d.data.astype(np.float32), d.target.astype(np.float32)


def diabetes():
    from sklearn.datasets import load_diabetes
    d = load_diabetes()
    return d.data.astype(np.float32), d.target.astype(np.float32)


def split(task):
    """(Xtr, Xva, ytr, yva) numpy arrays, standardised where the task says so."""
    X, y = task["data"]()
    if task["regression"]:
        from sklearn.model_selection import train_test_split
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, random_state=0)
        mu, sd = ytr.mean(), ytr.std()
        ytr, yva = ((ytr - mu) / sd).astype(np.float32), ((yva - mu) / sd).astype(np.float32)
    else:
        Xtr, Xva, ytr, yva = train_val_split(X, y)
    if task.get("standardize"):
        Xtr, Xva = _standardize(Xtr, Xva)
    return Xtr, Xva, ytr, yva


def _task(data, hidden, classes, optimizer, params, batch, epochs, regression=False,
          standardize=False):
    return dict(data=data, net=lambda: mlp(hidden, classes), optimizer=optimizer,
                params=params, batch=batch, epochs=epochs, regression=regression,
                standardize=standardize,
                loss=gluon.loss.L2Loss if regression else gluon.loss.SoftmaxCrossEntropyLoss)


def mnist_flat():
    return mnist5k(flat=True)


SGDM = {"momentum": 0.9}
DESIGN = {
    "digits-mlp64-sgdm": _task(digits, 64, 10, "sgd", SGDM, 32, 5),
    "cancer-mlp32-adam": _task(breast_cancer, 32, 2, "adam", {}, 16, 8, standardize=True),
    "mnist5k-mlp64-sgd": _task(mnist_flat, 64, 10, "sgd", {}, 64, 3),
    "diabetes-mlp32-adam": _task(diabetes, 32, 1, "adam", {}, 16, 15, regression=True,
                                 standardize=True),
}
HELD_OUT = {
    "digits-mlp128-adam": _task(digits, 128, 10, "adam", {}, 32, 3),
    "cancer-mlp32-sgdm": _task(breast_cancer, 32, 2, "sgd", SGDM, 16, 8, standardize=True),
    "mnist5k-mlp128-sgdm": _task(mnist_flat, 128, 10, "sgd", SGDM, 64, 3),
    "diabetes-mlp32-sgdm": _task(diabetes, 32, 1, "sgd", SGDM, 16, 15, regression=True,
                                 standardize=True),
}
TASKS = dict(DESIGN, **HELD_OUT)
SPLIT = {name: ("design" if name in DESIGN else "held-out") for name in TASKS}
