"""The one-cycle policy, with the meaning of PyTorch's ``OneCycleLR``."""
from __future__ import annotations

import math
from typing import List, Tuple

from .base import ANNEAL_KINDS, Anneal, check_positive
from .composite import Sequential


def _phases(total_steps: int, pct_start: float, three_phase: bool,
            a: float, b: float, c: float) -> List[Tuple[float, float, float]]:
    """(end_step, start_value, end_value) per phase, with PyTorch's float phase ends."""
    if three_phase:
        return [(pct_start * total_steps - 1, a, b),
                (2 * pct_start * total_steps - 2, b, a),
                (total_steps - 1, a, c)]
    return [(pct_start * total_steps - 1, a, b), (total_steps - 1, b, c)]


def _pieces(phases, kind):
    """Anneal pieces and integer boundaries reproducing the phases step for step."""
    pieces, boundaries = [], []
    start_step, first = 0.0, 0  # first integer step (0-based) of the current phase
    for n, (end_step, v0, v1) in enumerate(phases):
        last = n == len(phases) - 1
        if not last and math.floor(end_step) < first:
            # No integer step falls in this phase (e.g. pct_start * total_steps < 1): PyTorch
            # skips it, and the next phase counts from this one's (fractional) end.
            start_step = end_step
            continue
        span = max(end_step - start_step, 1e-12)
        pieces.append(Anneal(v0, v1, span=span, kind=kind, offset=first - start_step))
        if not last:
            nxt = max(int(math.floor(end_step)) + 1, first + 1)
            boundaries.append(nxt)
            first = nxt
        start_step = end_step
    return pieces, boundaries


def _check_momentum(name: str, value) -> float:
    value = check_positive(name, value)
    if not value < 1:
        raise ValueError("{} must be in (0, 1), got {!r}".format(name, value))
    return value


class OneCycle(Sequential):
    """One cycle: warm up to ``max_lr``, then anneal far below the start.

    Parameters
    ----------
    max_lr : float
        Peak learning rate (e.g. the range test's suggestion).
    total_steps : int
        Length of training in steps.
    pct_start : float, default 0.3
        Fraction of the steps spent rising, in (0, 1).
    div_factor : float, default 25.0
        The cycle starts at ``max_lr / div_factor``.
    final_div_factor : float, default 1e4
        It ends at ``max_lr / div_factor / final_div_factor``.
    anneal : {"cos", "linear"}
    three_phase : bool, default False
        Rise, fall back to the start value, then anneal to the end value (fast.ai's variant).
    cycle_momentum : bool, default True
        Whether :meth:`momentum` cycles inversely to the learning rate.
    base_momentum, max_momentum : float
        Momentum bounds (0.85, 0.95).

    Notes
    -----
    Step ``t`` has PyTorch's ``OneCycleLR`` value at iteration ``t - 1``; after
    ``total_steps`` the final value is kept. MXNet schedulers return only a learning rate, so
    momentum is cycled by :func:`gluon_lr.schedules.cycle_momentum` (once, after creating the
    trainer: every ``trainer.step`` then sets ``trainer.optimizer.momentum``, or ``beta1`` for
    Adam-like optimizers), by :class:`gluon_lr.estimator.MomentumHandler` in an ``Estimator``,
    or by hand with :func:`gluon_lr.schedules.apply_momentum` before each step.
    """

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, anneal: str = "cos",
                 three_phase: bool = False, cycle_momentum: bool = True,
                 base_momentum: float = 0.85, max_momentum: float = 0.95):
        max_lr = check_positive("max_lr", max_lr)
        total_steps = check_positive("total_steps", total_steps, integer=True)
        if total_steps < 2:
            raise ValueError("total_steps must be >= 2, got {!r}".format(total_steps))
        pct_start = check_positive("pct_start", pct_start)
        if not pct_start < 1 or (three_phase and not pct_start < 0.5):
            raise ValueError("pct_start must be in (0, {}), got {!r}".format(
                0.5 if three_phase else 1, pct_start))
        div_factor = check_positive("div_factor", div_factor)
        final_div_factor = check_positive("final_div_factor", final_div_factor)
        if anneal not in ANNEAL_KINDS:
            raise ValueError("anneal must be one of {}, got {!r}".format(ANNEAL_KINDS, anneal))
        base_momentum = _check_momentum("base_momentum", base_momentum)
        max_momentum = _check_momentum("max_momentum", max_momentum)
        if cycle_momentum and base_momentum > max_momentum:
            raise ValueError("base_momentum={!r} must not exceed max_momentum={!r}".format(
                base_momentum, max_momentum))
        initial = max_lr / div_factor
        final = initial / final_div_factor
        pieces, boundaries = _pieces(
            _phases(total_steps, pct_start, three_phase, initial, max_lr, final), anneal)
        super().__init__(pieces, boundaries)
        m_pieces, _ = _pieces(_phases(total_steps, pct_start, three_phase, max_momentum,
                                      base_momentum, max_momentum), anneal)
        self._momentum = Sequential(m_pieces, boundaries)
        self.max_lr, self.total_steps, self.pct_start = max_lr, total_steps, pct_start
        self.div_factor, self.final_div_factor = div_factor, final_div_factor
        self.anneal, self.three_phase = anneal, three_phase
        self.cycle_momentum = bool(cycle_momentum)
        self.base_momentum, self.max_momentum = base_momentum, max_momentum

    def momentum(self, num_update: int) -> float:
        """The momentum for step ``num_update`` (``max_momentum`` if not cycling)."""
        if not self.cycle_momentum:
            return self.max_momentum
        return self._momentum(num_update)

    def max_value(self) -> float:
        return self.max_lr

    def _repr_args(self) -> dict:
        return {"max_lr": self.max_lr, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor, "anneal": self.anneal,
                "three_phase": self.three_phase, "cycle_momentum": self.cycle_momentum}


def apply_momentum(trainer, schedule) -> None:
    """Set the optimizer's momentum for the coming step from ``schedule.momentum``.

    Call it right before each ``trainer.step(...)``. Works for optimizers with ``momentum``
    (SGD, NAG; created with momentum > 0) and with ``beta1`` (Adam and relatives).
    """
    from .momentum import momentum_at
    opt = trainer.optimizer
    value = momentum_at(schedule, opt.num_update + 1)
    if value is None:
        raise TypeError("schedule {!r} has no momentum(num_update) method".format(schedule))
    if hasattr(opt, "momentum"):
        if not opt.momentum:
            raise ValueError("the optimizer was created with momentum=0, so it keeps no "
                             "momentum state; create it with momentum > 0 to cycle momentum")
        opt.momentum = value
    elif hasattr(opt, "beta1"):
        opt.beta1 = value
    else:
        raise TypeError("optimizer {} has neither momentum nor beta1".format(type(opt).__name__))
