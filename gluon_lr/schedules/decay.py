"""Budget-aware decays: warm-up then linear decay to zero, and warm-up, stable, cool-down (WSD)."""
from __future__ import annotations

import numbers
from typing import Optional

from .base import Anneal, Constant, check_non_negative, check_positive
from .composite import Sequential

COOLDOWN_KINDS = ("sqrt", "linear", "cos")


def _warmup_steps(warmup_steps: Optional[int], total_steps: int) -> int:
    """Default: 5 % of the steps (at least 1); 0 means no warm-up."""
    if warmup_steps is None:
        return max(1, total_steps // 20)
    if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Integral):
        raise TypeError("warmup_steps must be an int, got {!r}".format(warmup_steps))
    warmup_steps = int(warmup_steps)
    if warmup_steps < 0:
        raise ValueError("warmup_steps must be >= 0, got {!r}".format(warmup_steps))
    return warmup_steps


def _check_peak(max_lr, final_lr):
    max_lr = check_positive("max_lr", max_lr)
    final_lr = check_non_negative("final_lr", final_lr)
    if final_lr >= max_lr:
        raise ValueError("final_lr must be less than max_lr={!r}, got {!r}".format(
            max_lr, final_lr))
    return max_lr, final_lr


class Linear(Sequential):
    """Linear warm-up, then linear decay to ``final_lr`` at the end of the budget.

    ``value(t)``: ``start_lr + (max_lr - start_lr) * (t - 1) / w`` for ``t <= w`` (warm-up),
    then ``max_lr - (max_lr - final_lr) * (t - w - 1) / (total_steps - w)``; step
    ``total_steps + 1`` and later are at ``final_lr``. Budgeted training (Li et al., ICLR 2020)
    found decaying linearly to zero over the *given* budget robust. MXNet's
    ``PolyScheduler(max_update=T, pwr=1)`` is the same line one step later (its first step is
    already below the peak, its last at 0).

    Parameters
    ----------
    max_lr : float
        The peak, reached on the first step after warm-up.
    total_steps : int
        The budget in steps.
    warmup_steps : int, optional
        Default 5 % of ``total_steps`` (at least 1); 0 for none.
    final_lr, start_lr : float, default 0.0

    Examples
    --------
    >>> Linear(1.0, 5, warmup_steps=1).values(6)
    [0.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """

    def __init__(self, max_lr: float, total_steps: int, warmup_steps: Optional[int] = None,
                 final_lr: float = 0.0, start_lr: float = 0.0):
        max_lr, final_lr = _check_peak(max_lr, final_lr)
        total_steps = check_positive("total_steps", total_steps, integer=True)
        w = _warmup_steps(warmup_steps, total_steps)
        if w >= total_steps:
            raise ValueError("warmup_steps must be less than total_steps={}, got {}".format(
                total_steps, w))
        start_lr = check_non_negative("start_lr", start_lr)
        decay = Anneal(max_lr, final_lr, span=total_steps - w, kind="linear")
        if w:
            super().__init__([Anneal(start_lr, max_lr, span=w), decay], [w])
        else:
            super().__init__([decay], [])
        self.max_lr, self.total_steps, self.warmup_steps = max_lr, total_steps, w
        self.final_lr, self.start_lr = final_lr, start_lr

    def max_value(self) -> float:
        return self.max_lr

    def _repr_args(self) -> dict:
        return {"max_lr": self.max_lr, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "final_lr": self.final_lr,
                "start_lr": self.start_lr}


class WSD(Sequential):
    """Warm-up, stable at ``max_lr``, then a cool-down over the last ``decay_fraction`` of the
    budget (Hägele et al., NeurIPS 2024: a (1 - sqrt) cool-down beats a linear one).

    With ``w`` warm-up steps and ``d = max(1, round(decay_fraction * total_steps))`` cool-down
    steps: warm-up as :class:`Linear`; ``max_lr`` for steps ``w + 1 .. total_steps - d``; then,
    for ``k = t - (total_steps - d)`` in ``1 .. d``, ``final_lr + (max_lr - final_lr) *
    (1 - sqrt((k - 1) / d))`` (``decay="sqrt"``; ``"linear"`` drops the square root, ``"cos"``
    follows half a cosine); ``final_lr`` after ``total_steps``.

    Parameters
    ----------
    max_lr : float
    total_steps : int
    warmup_steps : int, optional
        Default 5 % of ``total_steps`` (at least 1); 0 for none.
    decay_fraction : float, default 0.2
        Share of the budget spent cooling down, in (0, 1].
    decay : {"sqrt", "linear", "cos"}
    final_lr, start_lr : float, default 0.0

    Examples
    --------
    >>> WSD(1.0, 6, warmup_steps=1, decay_fraction=0.5, decay="linear").values(7)
    [0.0, 1.0, 1.0, 1.0, 0.6666666666666667, 0.33333333333333337, 0.0]
    """

    def __init__(self, max_lr: float, total_steps: int, warmup_steps: Optional[int] = None,
                 decay_fraction: float = 0.2, decay: str = "sqrt", final_lr: float = 0.0,
                 start_lr: float = 0.0):
        max_lr, final_lr = _check_peak(max_lr, final_lr)
        total_steps = check_positive("total_steps", total_steps, integer=True)
        w = _warmup_steps(warmup_steps, total_steps)
        decay_fraction = check_positive("decay_fraction", decay_fraction)
        if decay_fraction > 1:
            raise ValueError("decay_fraction must be in (0, 1], got {!r}".format(decay_fraction))
        if decay not in COOLDOWN_KINDS:
            raise ValueError("decay must be one of {}, got {!r}".format(COOLDOWN_KINDS, decay))
        start_lr = check_non_negative("start_lr", start_lr)
        d = max(1, int(round(decay_fraction * total_steps)))
        if w + d > total_steps:
            raise ValueError("warmup_steps={} plus the {} cool-down steps exceed total_steps={}"
                             .format(w, d, total_steps))
        pieces, boundaries = [], []
        if w:
            pieces.append(Anneal(start_lr, max_lr, span=w))
            boundaries.append(w)
        if total_steps - d > w:
            pieces.append(Constant(max_lr))
            boundaries.append(total_steps - d)
        pieces.append(Anneal(max_lr, final_lr, span=d, kind=decay))
        super().__init__(pieces, boundaries)
        self.max_lr, self.total_steps, self.warmup_steps = max_lr, total_steps, w
        self.decay_fraction, self.decay = decay_fraction, decay
        self.final_lr, self.start_lr = final_lr, start_lr

    @property
    def decay_steps(self) -> int:
        """Steps in the cool-down."""
        return max(1, int(round(self.decay_fraction * self.total_steps)))

    def max_value(self) -> float:
        return self.max_lr

    def _repr_args(self) -> dict:
        return {"max_lr": self.max_lr, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "decay_fraction": self.decay_fraction,
                "decay": self.decay, "final_lr": self.final_lr, "start_lr": self.start_lr}
