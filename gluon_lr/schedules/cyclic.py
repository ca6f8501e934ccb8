"""Smith's cyclical learning rates (CLR), as PyTorch's ``CyclicLR``."""
from __future__ import annotations

import math

from .base import Schedule, check_positive

TRIANGULAR_MODES = ("triangular", "triangular2", "exp_range")


class Triangular(Schedule):
    """Learning rate cycling between ``min_lr`` and ``max_lr``.

    Parameters
    ----------
    min_lr, max_lr : float
        Bounds of the cycle (``0 < min_lr < max_lr``), e.g. ``LRFinderResult.suggested_range``.
    cycle_length : int
        Steps per full cycle (Smith: 2-10 epochs' worth of steps for each half).
    inc_fraction : float, default 0.5
        Fraction of a cycle spent increasing, in (0, 1).
    mode : {"triangular", "triangular2", "exp_range"}
        Constant amplitude; amplitude halved every cycle; amplitude times ``gamma ** i``.
    gamma : float, default 1.0
        Decay per step for ``"exp_range"`` (0 < gamma <= 1).

    Step ``t`` (1-based ``num_update``) has PyTorch's ``CyclicLR`` value at iteration
    ``t - 1``: the first step runs at ``min_lr``.
    """

    def __init__(self, min_lr: float, max_lr: float, cycle_length: int,
                 inc_fraction: float = 0.5, mode: str = "triangular", gamma: float = 1.0):
        super().__init__()
        self.min_lr = check_positive("min_lr", min_lr)
        self.max_lr = check_positive("max_lr", max_lr)
        if self.max_lr <= self.min_lr:
            raise ValueError("max_lr must be greater than min_lr={!r}, got {!r}".format(
                self.min_lr, self.max_lr))
        self.cycle_length = check_positive("cycle_length", cycle_length, integer=True)
        if self.cycle_length < 2:
            raise ValueError("cycle_length must be >= 2, got {!r}".format(cycle_length))
        inc_fraction = check_positive("inc_fraction", inc_fraction)
        if not inc_fraction < 1:
            raise ValueError("inc_fraction must be in (0, 1), got {!r}".format(inc_fraction))
        self.inc_fraction = inc_fraction
        if mode not in TRIANGULAR_MODES:
            raise ValueError("mode must be one of {}, got {!r}".format(TRIANGULAR_MODES, mode))
        self.mode = mode
        gamma = check_positive("gamma", gamma)
        if gamma > 1:
            raise ValueError("gamma must be in (0, 1], got {!r}".format(gamma))
        self.gamma = gamma

    def value(self, t: int) -> float:
        it = t - 1
        cycle = math.floor(1 + it / self.cycle_length)
        x = 1.0 + it / self.cycle_length - cycle
        scale = x / self.inc_fraction if x <= self.inc_fraction else \
            (x - 1) / (self.inc_fraction - 1)
        height = (self.max_lr - self.min_lr) * scale
        if self.mode == "triangular2":
            # ldexp underflows to 0.0 where 2.0 ** (cycle - 1) would overflow (cycle > 1024)
            height = math.ldexp(height, -min(cycle - 1, 2000))
        elif self.mode == "exp_range":
            height *= self.gamma ** it
        return self.min_lr + height

    def max_value(self) -> float:
        return self.max_lr

    def _repr_args(self) -> dict:
        return {"min_lr": self.min_lr, "max_lr": self.max_lr, "cycle_length": self.cycle_length,
                "inc_fraction": self.inc_fraction, "mode": self.mode, "gamma": self.gamma}
