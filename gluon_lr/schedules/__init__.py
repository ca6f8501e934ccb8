"""Learning-rate schedule presets for ``mx.lr_scheduler`` / ``gluon.Trainer``.

Every preset is a stateless, picklable ``mx.lr_scheduler.LRScheduler`` whose value at
``num_update`` (starting at 1) depends on nothing else, so it is right under any optimizer,
any number of devices and a ``dist_sync`` kvstore.
"""
from __future__ import annotations

from typing import Callable, Dict

from .base import Anneal, Constant, Schedule, plot_schedule
from .compat import to_gluoncv
from .composite import CoolDown, External, Offset, Sequential, WarmUp
from .cosine import Cosine
from .cyclic import Triangular
from .decay import WSD, Linear
from .momentum import MomentumCycler, cycle_momentum
from .one_cycle import OneCycle, apply_momentum


def _warmup_cosine(max_lr: float, total_steps: int, warmup_steps: int = None,
                   min_lr: float = 0.0, start_lr: float = 0.0) -> WarmUp:
    """Linear warm-up (default: 5 % of the steps, at least 1) then one cosine to ``min_lr``."""
    from .base import check_positive
    total_steps = check_positive("total_steps", total_steps, integer=True)
    if warmup_steps is None:
        warmup_steps = max(1, total_steps // 20)
    warmup_steps = check_positive("warmup_steps", warmup_steps, integer=True)
    if warmup_steps >= total_steps:
        raise ValueError("warmup_steps must be less than total_steps={}, got {}".format(
            total_steps, warmup_steps))
    return WarmUp(Cosine(max_lr, min_lr, cycle_length=total_steps - warmup_steps),
                  warmup_steps, start_lr=start_lr)


def _mode(mode: str) -> Callable[..., Triangular]:
    def make(min_lr, max_lr, cycle_length, inc_fraction=0.5, gamma=1.0):
        return Triangular(min_lr, max_lr, cycle_length, inc_fraction=inc_fraction, mode=mode,
                          gamma=gamma)
    make.__name__ = mode
    return make


SCHEDULES: Dict[str, Callable[..., Schedule]] = {
    "constant": Constant,
    "triangular": _mode("triangular"),
    "triangular2": _mode("triangular2"),
    "exp_range": _mode("exp_range"),
    "cosine": Cosine,
    "warmup_cosine": _warmup_cosine,
    "one_cycle": OneCycle,
    "linear": Linear,
    "wsd": WSD,
}


def get_schedule(name: str, **kwargs) -> Schedule:
    """Build a preset by name: one of :data:`SCHEDULES` (keyword arguments as its class).

    Examples
    --------
    >>> round(get_schedule("one_cycle", max_lr=0.1, total_steps=100)(1), 6)
    0.004
    """
    try:
        factory = SCHEDULES[name]
    except (KeyError, TypeError):
        raise ValueError("unknown schedule {!r}; choose one of {}".format(
            name, sorted(SCHEDULES))) from None
    try:
        return factory(**kwargs)
    except TypeError as err:
        raise TypeError("schedule {!r}: {}".format(name, err)) from None


__all__ = ["Anneal", "Constant", "CoolDown", "Cosine", "External", "Linear", "Offset", "OneCycle",
           "MomentumCycler", "SCHEDULES", "Schedule", "Sequential", "Triangular", "WSD", "WarmUp",
           "apply_momentum", "cycle_momentum", "get_schedule", "plot_schedule", "to_gluoncv"]
