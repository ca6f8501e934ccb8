"""The base class every preset shares: a pure function of ``num_update``."""
from __future__ import annotations

import math
import numbers
from typing import List

import numpy as np

# A submodule import, not ``mx.lr_scheduler``: it also works while ``mxnet`` is half-imported,
# as it is on a parameter server unpickling an optimizer's scheduler.
from mxnet.lr_scheduler import LRScheduler


def check_positive(name: str, value, integer: bool = False):
    """Validate a strictly positive (int or finite float) argument and return it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    if integer and (not isinstance(value, numbers.Integral)):
        raise TypeError("{} must be an int, got {!r}".format(name, value))
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("{} must be > 0, got {!r}".format(name, value))
    return int(value) if integer else float(value)


def check_non_negative(name: str, value, integer: bool = False):
    """Validate a non-negative (int or finite float) argument and return it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    if integer and (not isinstance(value, numbers.Integral)):
        raise TypeError("{} must be an int, got {!r}".format(name, value))
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError("{} must be >= 0, got {!r}".format(name, value))
    return int(value) if integer else float(value)


_LABELS = ("name", "reason")


class Schedule(LRScheduler):
    """A learning-rate schedule usable anywhere MXNet takes an ``lr_scheduler``.

    Subclasses implement :meth:`value` for steps ``t = 1, 2, ...`` (MXNet's optimizers call the
    scheduler with ``num_update`` starting at 1). The value depends on nothing but ``t`` and the
    constructor's arguments: MXNet calls a scheduler many times per step (per parameter group,
    per device, on every read of ``trainer.learning_rate``), in any order.

    ``base_lr`` is read-only in effect: MXNet optimizers overwrite a scheduler's ``base_lr``
    with their own ``learning_rate`` (Adam, RMSProp and LAMB default to 0.001), which would
    silently change a schedule that read it. Presets here never read it; assignments to it
    are ignored, so a preset gives the rates it promises under every optimizer.
    """

    def __init__(self):
        # LRScheduler's warm-up machinery is not used: warm-up is a schedule of its own here.
        self.warmup_steps = 0
        self.warmup_begin_lr = 0.0
        self.warmup_final_lr = 0.0
        self.warmup_mode = "linear"

    @property
    def base_lr(self) -> float:
        """The schedule's peak learning rate (informational; see the class docstring)."""
        return self.max_value()

    @base_lr.setter
    def base_lr(self, value) -> None:
        pass  # MXNet's optimizers assign their learning_rate here; a preset keeps its own.

    def value(self, t: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def max_value(self) -> float:
        """The largest learning rate the schedule reaches."""
        return max(self.values(min(self._horizon(), 100000)))

    def _horizon(self) -> int:
        return 1000

    def __call__(self, num_update: int) -> float:
        return float(self.value(max(int(num_update), 1)))

    def values(self, num_updates: int) -> List[float]:
        """Learning rates for steps 1 to ``num_updates``."""
        num_updates = check_positive("num_updates", num_updates, integer=True)
        return [self(t) for t in range(1, num_updates + 1)]

    def __repr__(self) -> str:
        args = ", ".join("{}={!r}".format(k, v) for k, v in self._repr_args().items())
        return "{}({})".format(type(self).__name__, args)

    def _repr_args(self) -> dict:
        return {}

    def __eq__(self, other) -> bool:
        # ``name`` and ``reason`` (set by result.schedule) describe a schedule, not its rates
        def rates(s):
            return {k: v for k, v in s.__dict__.items() if k not in _LABELS}
        return type(self) is type(other) and rates(self) == rates(other)

    __hash__ = None


class Constant(Schedule):
    """The same learning rate at every step."""

    def __init__(self, lr: float):
        super().__init__()
        self.lr = check_positive("lr", lr)

    def value(self, t: int) -> float:
        return self.lr

    def max_value(self) -> float:
        return self.lr

    def _repr_args(self) -> dict:
        return {"lr": self.lr}


ANNEAL_KINDS = ("linear", "cos")
# ``"sqrt"``: the (1 - sqrt) cool-down of WSD (Hägele et al. 2024), for pieces that decay.
PIECE_KINDS = ANNEAL_KINDS + ("sqrt",)


def anneal(kind: str, start: float, end: float, pct: float) -> float:
    """Go from ``start`` (pct=0) to ``end`` (pct=1) linearly, along half a cosine, or (``"sqrt"``)
    as ``end + (start - end) * (1 - sqrt(pct))``."""
    if kind == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)
    if kind == "sqrt":
        return start + (end - start) * math.sqrt(pct)
    return start + (end - start) * pct


class Anneal(Schedule):
    """From ``start_lr`` to ``end_lr`` over ``span`` steps, then ``end_lr``.

    ``value(t) = anneal(start_lr, end_lr, clip((t - 1 + offset) / span, 0, 1))``: step 1 is at
    ``start_lr`` (for ``offset=0``), step ``span + 1`` reaches ``end_lr``. ``offset`` shifts
    the phase, so that pieces joined by :class:`Sequential` can continue a curve whose
    boundaries fall between steps (as in PyTorch's ``OneCycleLR``).
    """

    def __init__(self, start_lr: float, end_lr: float, span: float, kind: str = "linear",
                 offset: float = 0.0):
        super().__init__()
        self.start_lr = check_non_negative("start_lr", start_lr)
        self.end_lr = check_non_negative("end_lr", end_lr)
        self.span = check_positive("span", span)
        if kind not in PIECE_KINDS:
            raise ValueError("kind must be one of {}, got {!r}".format(PIECE_KINDS, kind))
        self.kind = kind
        self.offset = check_non_negative("offset", offset)

    def value(self, t: int) -> float:
        pct = min(1.0, max(0.0, (t - 1 + self.offset) / self.span))
        return anneal(self.kind, self.start_lr, self.end_lr, pct)

    def max_value(self) -> float:
        return max(self.start_lr, self.end_lr)

    def _repr_args(self) -> dict:
        return {"start_lr": self.start_lr, "end_lr": self.end_lr, "span": self.span,
                "kind": self.kind, "offset": self.offset}


def plot_schedule(schedule: Schedule, num_updates: int, ax=None, label=None, path=None):
    """Draw ``schedule`` for steps 1 to ``num_updates``; returns the axes."""
    values = schedule.values(num_updates)
    created = ax is None
    if created:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(np.arange(1, num_updates + 1), values, label=label or repr(schedule)[:60])
    ax.set_xlabel("step (num_update)")
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    if label is not None:
        ax.legend(loc="best", fontsize="small")
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax
