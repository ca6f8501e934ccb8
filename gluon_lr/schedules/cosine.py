"""Cosine annealing with warm restarts (SGDR), as timm's ``CosineLRScheduler``."""
from __future__ import annotations

import math

from .base import Schedule, anneal, check_non_negative, check_positive


class Cosine(Schedule):
    """Cosine annealing from ``max_lr`` to ``min_lr``, restarting every cycle.

    Parameters
    ----------
    max_lr : float
        Learning rate at the start of the first cycle.
    min_lr : float, default 0.0
        Learning rate at the end of each cycle (``0 <= min_lr < max_lr``).
    cycle_length : int
        Steps in the first cycle; one cycle of ``total_steps`` is plain cosine annealing.
    cycle_mul : float, default 1.0
        Each cycle is ``cycle_mul`` times as long as the previous one (SGDR's ``T_mult``).
    cycle_decay : float, default 1.0
        Each cycle's peak is ``cycle_decay`` times the previous one's.

    Step ``t`` has PyTorch's ``CosineAnnealingWarmRestarts`` value at iteration ``t - 1``.
    """

    def __init__(self, max_lr: float, min_lr: float = 0.0, cycle_length: int = 1000,
                 cycle_mul: float = 1.0, cycle_decay: float = 1.0):
        super().__init__()
        self.max_lr = check_positive("max_lr", max_lr)
        self.min_lr = check_non_negative("min_lr", min_lr)
        if self.min_lr >= self.max_lr:
            raise ValueError("max_lr must be greater than min_lr={!r}, got {!r}".format(
                self.min_lr, self.max_lr))
        self.cycle_length = check_positive("cycle_length", cycle_length, integer=True)
        self.cycle_mul = check_positive("cycle_mul", cycle_mul)
        if self.cycle_mul < 1:
            raise ValueError("cycle_mul must be >= 1, got {!r}".format(cycle_mul))
        self.cycle_decay = check_positive("cycle_decay", cycle_decay)
        if self.cycle_decay > 1:
            raise ValueError("cycle_decay must be in (0, 1], got {!r}".format(cycle_decay))

    def _cycle(self, it: int):
        T, mul = self.cycle_length, self.cycle_mul
        if mul == 1.0:
            i = it // T
            return i, it - i * T, T
        i = int(math.floor(math.log(1 - it / T * (1 - mul), mul)))
        start = T * (1 - mul ** i) / (1 - mul)
        length = T * mul ** i
        if it - start >= length:  # guard against rounding at a restart
            i, start, length = i + 1, start + length, length * mul
        return i, it - start, length

    def value(self, t: int) -> float:
        i, t_cur, length = self._cycle(t - 1)
        peak = self.max_lr * self.cycle_decay ** i
        return anneal("cos", peak, self.min_lr, t_cur / length)

    def max_value(self) -> float:
        return self.max_lr

    def _repr_args(self) -> dict:
        return {"max_lr": self.max_lr, "min_lr": self.min_lr, "cycle_length": self.cycle_length,
                "cycle_mul": self.cycle_mul, "cycle_decay": self.cycle_decay}
