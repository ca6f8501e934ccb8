"""The losses the CLI offers by name, and what the labels say about which one fits.

``LOSSES`` maps a name to a Gluon loss; :func:`loss_for_labels` checks the labels against the
chosen loss (or, with no choice, refuses labels that are not class indices) and says how many
outputs the net needs.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import numpy as np

from ._mx import mx

gloss = mx.gluon.loss

LOSSES: Dict[str, Callable[[], gloss.Loss]] = {
    "softmax": gloss.SoftmaxCrossEntropyLoss,
    "l2": gloss.L2Loss,
    "l1": gloss.L1Loss,
    "huber": gloss.HuberLoss,
    "sigmoid_bce": gloss.SigmoidBinaryCrossEntropyLoss,
}
KINDS = {"softmax": "classification", "l2": "regression", "l1": "regression",
         "huber": "regression", "sigmoid_bce": "binary / multi-label classification"}
# Integer labels with this many distinct values, each seen this rarely on average, look like
# regression targets (load_diabetes: 214 values in 442 samples), not classes.
_MANY_VALUES, _FEW_PER_VALUE = 50, 3.0


def _describe_values(y: np.ndarray) -> str:
    values = np.unique(y)
    return "{} distinct values in {} samples, from {:g} to {:g}".format(
        len(values), len(y), float(values[0]), float(values[-1]))


def loss_for_labels(name: Optional[str], y) -> Tuple[gloss.Loss, int]:
    """The loss called ``name`` and the number of net outputs the labels ``y`` need.

    Parameters
    ----------
    name : str or None
        A key of :data:`LOSSES`; None means ``"softmax"``, but only for labels that are
        clearly class indices.
    y : array
        The labels.

    Raises
    ------
    ValueError
        For an unknown name, or labels that do not fit the loss; the message names ``--loss``.
    """
    if name is not None and name not in LOSSES:
        raise ValueError("unknown --loss {!r}; choose from {}".format(name, sorted(LOSSES)))
    y = np.asarray(y, dtype=np.float64)
    if y.size == 0:
        raise ValueError("there are no labels")
    if not np.isfinite(y).all():
        raise ValueError("the labels hold NaN or infinite values")
    integral = bool(np.all(y == np.round(y))) and bool(np.all(y >= 0))
    if name is None:
        if not integral:
            raise ValueError(
                "the labels are not class indices ({}); pass --loss l2 (or l1, huber) for "
                "regression, or --loss sigmoid_bce for 0/1 targets".format(_describe_values(y)))
        values = np.unique(y)
        if len(values) > _MANY_VALUES and y.size / len(values) < _FEW_PER_VALUE:
            raise ValueError(
                "the labels look like regression targets ({}); pass --loss l2 (or l1, huber) "
                "for regression, or --loss softmax to train a {}-class classifier "
                "anyway".format(_describe_values(y), int(values[-1]) + 1))
        name = "softmax"
    if name == "softmax":
        if not integral or y.ndim != 1:
            raise ValueError("--loss softmax needs one class index (0, 1, 2, ...) per sample; "
                             "these labels have shape {} and {}".format(
                                 y.shape, _describe_values(y.ravel())))
        return LOSSES[name](), int(y.max()) + 1
    if name == "sigmoid_bce" and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("--loss sigmoid_bce needs 0/1 labels; these have {}".format(
            _describe_values(y.ravel())))
    outputs = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
    return LOSSES[name](), outputs


__all__ = ["LOSSES", "KINDS", "loss_for_labels"]
