"""Schedules joined at boundaries: the one mechanism behind warm-up, cool-down and one-cycle."""
from __future__ import annotations

import bisect
import numbers
from typing import Sequence

import copy

from mxnet.lr_scheduler import LRScheduler

from .base import Anneal, Schedule, check_non_negative, check_positive

WARMUP_MODES = ("linear", "constant")


class External(Schedule):
    """Any ``mx.lr_scheduler.LRScheduler`` (MXNet's, gluoncv's, your own) as a gluon_lr Schedule.

    ``External(s).value(t)`` is ``s(t)`` evaluated on a private copy of ``s`` as it was when
    wrapped, so that stateful schedulers (MXNet's ``FactorScheduler`` and
    ``MultiFactorScheduler`` change their ``base_lr`` as they are called) give the same answer
    however often and in whatever order they are asked. An optimizer's overwrite of
    ``base_lr`` reaches the wrapper, not the wrapped scheduler. :class:`Sequential`,
    :class:`WarmUp`, :class:`CoolDown` and :class:`Offset` wrap foreign schedulers themselves.

    Examples
    --------
    >>> import mxnet as mx
    >>> from gluon_lr.schedules import WarmUp
    >>> poly = mx.lr_scheduler.PolyScheduler(max_update=10, base_lr=0.1, pwr=1)
    >>> [round(v, 3) for v in WarmUp(poly, 2).values(4)]
    [0.0, 0.045, 0.09, 0.08]
    """

    def __init__(self, scheduler: LRScheduler, horizon: int = 1000):
        super().__init__()
        if isinstance(scheduler, Schedule) or not isinstance(scheduler, LRScheduler):
            raise TypeError("scheduler must be an mx.lr_scheduler.LRScheduler that is not "
                            "already a gluon_lr Schedule, got {!r}".format(scheduler))
        self.scheduler = copy.deepcopy(scheduler)
        self.horizon = check_positive("horizon", horizon, integer=True)

    def value(self, t: int) -> float:
        return float(copy.copy(self.scheduler)(t))

    def _horizon(self) -> int:
        return self.horizon

    def _repr_args(self) -> dict:
        return {"scheduler": self.scheduler}

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.scheduler.__dict__ == other.scheduler.__dict__ \
            and type(self.scheduler) is type(other.scheduler)


def as_schedule(schedule, name: str = "schedule") -> Schedule:
    """``schedule`` itself if it is a gluon_lr Schedule, wrapped in :class:`External` if it is
    another ``mx.lr_scheduler.LRScheduler``; a ``TypeError`` naming ``name`` otherwise."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, LRScheduler):
        return External(schedule)
    raise TypeError("{} must be a gluon_lr Schedule or an mx.lr_scheduler.LRScheduler, got "
                    "{!r}".format(name, schedule))


class Sequential(Schedule):
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]``, and so on.

    Each child counts from its own start: the step after boundary ``b`` is the child's step 1.

    Parameters
    ----------
    schedules : sequence of Schedule or mx.lr_scheduler.LRScheduler
        Foreign schedulers (MXNet's, gluoncv's) are wrapped in :class:`External`.
    boundaries : sequence of int
        Strictly increasing positive step numbers, one fewer than ``schedules``.

    Examples
    --------
    >>> from gluon_lr.schedules import Constant, Sequential
    >>> s = Sequential([Constant(0.1), Constant(0.01)], boundaries=[2])
    >>> s.values(4)
    [0.1, 0.1, 0.01, 0.01]
    """

    def __init__(self, schedules: Sequence[Schedule], boundaries: Sequence[int]):
        super().__init__()
        schedules, boundaries = list(schedules), list(boundaries)
        if not schedules:
            raise ValueError("schedules must not be empty")
        schedules = [as_schedule(s, "schedules") for s in schedules]
        if len(boundaries) != len(schedules) - 1:
            raise ValueError("boundaries must have len(schedules) - 1 = {} entries, got {}".format(
                len(schedules) - 1, len(boundaries)))
        boundaries = [check_positive("boundaries", b, integer=True) for b in boundaries]
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError("boundaries must be strictly increasing, got {}".format(boundaries))
        self.schedules = schedules
        self.boundaries = boundaries

    def value(self, t: int) -> float:
        i = bisect.bisect_left(self.boundaries, t)
        start = self.boundaries[i - 1] if i > 0 else 0
        return self.schedules[i].value(t - start)

    def max_value(self) -> float:
        return max(s.max_value() for s in self.schedules)

    def _repr_args(self) -> dict:
        return {"schedules": self.schedules, "boundaries": self.boundaries}


class WarmUp(Sequential):
    """``length`` warm-up steps from ``start_lr``, then ``schedule`` from its own step 1.

    ``mode="linear"`` rises by equal steps towards ``schedule(1)`` (reached on the first step
    after warm-up); ``mode="constant"`` stays at ``start_lr``.
    """

    def __init__(self, schedule: Schedule, length: int, start_lr: float = 0.0,
                 mode: str = "linear"):
        schedule = as_schedule(schedule)
        length = check_positive("length", length, integer=True)
        start_lr = check_non_negative("start_lr", start_lr)
        if mode not in WARMUP_MODES:
            raise ValueError("mode must be one of {}, got {!r}".format(WARMUP_MODES, mode))
        if mode == "linear":
            ramp = Anneal(start_lr, schedule.value(1), span=length, kind="linear")
        else:
            ramp = Anneal(start_lr, start_lr, span=1)
        super().__init__([ramp, schedule], [length])
        self.schedule, self.length, self.start_lr, self.mode = schedule, length, start_lr, mode

    def _repr_args(self) -> dict:
        return {"schedule": self.schedule, "length": self.length, "start_lr": self.start_lr,
                "mode": self.mode}


class CoolDown(Sequential):
    """``schedule`` up to step ``start``, then a linear decay to ``final_lr`` over ``length``
    steps (from the value ``schedule`` would have had next), then ``final_lr``."""

    def __init__(self, schedule: Schedule, start: int, length: int, final_lr: float = 0.0):
        schedule = as_schedule(schedule)
        start = check_positive("start", start, integer=True)
        length = check_positive("length", length, integer=True)
        final_lr = check_non_negative("final_lr", final_lr)
        decay = Anneal(schedule.value(start + 1), final_lr, span=length, kind="linear")
        super().__init__([schedule, decay], [start])
        self.schedule, self.start, self.length, self.final_lr = schedule, start, length, final_lr

    def _repr_args(self) -> dict:
        return {"schedule": self.schedule, "start": self.start, "length": self.length,
                "final_lr": self.final_lr}


class Offset(Schedule):
    """``schedule`` started ``steps`` updates late: step ``steps + 1`` is its step 1.

    For attaching a schedule to a trainer that has already trained (its optimizer's
    ``num_update`` does not restart at 1); before the start it holds the schedule's first value.
    """

    def __init__(self, schedule: Schedule, steps: int):
        super().__init__()
        schedule = as_schedule(schedule)
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
            raise ValueError("steps must be an int >= 0, got {!r}".format(steps))
        self.schedule, self.steps = schedule, int(steps)

    def value(self, t: int) -> float:
        return self.schedule.value(max(1, t - self.steps))

    def max_value(self) -> float:
        return self.schedule.max_value()

    def _repr_args(self) -> dict:
        return {"schedule": self.schedule, "steps": self.steps}
