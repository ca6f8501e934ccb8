"""From a range test to a schedule: which shape, at what peak, for a given budget.

Every shape is parameterised by its *peak* (:func:`build`). The shapes that decay to zero over
the budget (one-cycle, linear, cosine, warm-up + cosine) peak at sqrt(2) x the range test's
suggestion (the ``auto`` rule), the others (constant, WSD, triangular) at the suggestion
itself; every peak is capped at twice the rate where the loss bottomed out (:func:`peak`).
Since round 9, with Adam, Nadam or RMSProp on a classification loss (:func:`at_edge`), every
shape but constant peaks at that rate (``edge_lr``), linear at sqrt(2) x it, and
``schedule("auto")`` is linear (round 10; WSD at ``edge_lr`` in round 9).
Round 3 kept 1 x for every shape (a refit on 16 tasks: 2 x falls off a cliff on some); with 20
tasks seen, sqrt(2) x did best for the decaying shapes, and it was adopted after a blind test
on six new tasks (FRESH4) under a criterion written down before they were trained, then
replicated on six more (FRESH5). README.md reports every task group.
:func:`recommend` is ``result.schedule("auto", T)``: one shape and its peak, chosen with no
training beyond the range test, with the reason attached.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from .schedules import SCHEDULES, Schedule, get_schedule
from .schedules.base import check_positive

# The shapes a recommendation chooses among (and the benchmark's ground-truth grid covers).
SHAPES = ("constant", "one_cycle", "linear", "cosine", "wsd", "triangular")
AUTO = "auto"

# peak = the range test's "auto" suggestion (times DECAY_MULTIPLE for DECAYING shapes), at most
# EDGE_CAP * edge_lr. Round-3 evidence for 1 x (README.md, "Choosing the schedule for a
# budget"): on the 16 tasks of benchmarks/suggestion_quality.py "auto" is within half a point
# of the best constant rate on mean; on the DESIGN half of benchmarks/schedule_quality.py,
# averaged over the shapes, the classification tasks scored within 0.05 points at 0.71 and at
# 1 x "auto" (their best), the diabetes regression task wanted 0.35, and the digits-value
# regression task (design half of the suggestion benchmark) wanted 1.4-2 under linear decay,
# 0.35 costing it 52 % in MSE. The previous rules (each shape at 4-8 x fast.ai's "valley";
# then every shape but constant at 0.71 x "auto") were fitted to the design half of the
# schedule benchmark alone. Refit on the 16 tasks seen by round 3 (one shared multiple for the
# decaying shapes, interpolated on the grid): 1 x scored 1.27 points of regret, 1.41 x 1.32,
# 2 x 2.20; tested blind on FRESH3.
PEAK_BASE = "auto"
EDGE_CAP = 2.0
# Shapes that decay to zero over the budget peak at DECAY_MULTIPLE x the suggestion (round 4):
# on the cached grids of the 20 schedule-benchmark tasks seen by then, one_cycle, linear and
# cosine did best at sqrt(2) x (cosine 1.15 points of regret against 1.31 at 1 x,
# interpolated; benchmarks/schedule_refit.py --groups design,held-out,fresh,fresh2,fresh3)
# while constant and wsd lost and triangular stayed. Blind test on six more tasks (FRESH4),
# criterion fixed first: schedule("auto") mean regret 1.40 against 2.03 for 1 x, worst 4.15
# against 5.80; adopted. It cost HELD-OUT (0.72 -> 0.90 mean): the diabetes regression task
# over-trains at higher peaks. Replicated on six more tasks defined after adoption (FRESH5):
# 1.33 against 1.98, worst 2.86 against 3.85.
DECAYING = ("one_cycle", "linear", "cosine", "warmup_cosine")
DECAY_MULTIPLE = 2.0 ** 0.5
# The shape result.schedule("auto", T) returns: at the peak above, the decaying shape with the
# lowest mean regret against each task's best (shape, peak) over the 16 tasks of
# benchmarks/schedule_quality.py seen by round 3 (cosine 1.50, linear 1.57, one_cycle 1.62
# points, interpolated on the grid: a near tie), tested blind on four more (FRESH3).
AUTO_SHAPE = "cosine"
# Adaptive optimizers on classification (round 9): with a range test that recorded one of
# EDGE_OPTIMIZERS and a loss with a chance level (meta["chance_loss"]: softmax cross-entropy or
# sigmoid BCE), every shape but constant peaks at edge_lr, the rate where the smoothed loss is
# lowest, and schedule("auto") is EDGE_AUTO_SHAPE. Designed on the cached grids of the 22
# adaptive classification tasks among the 56 seen by round 9: schedule("auto") 0.76 points of
# mean regret (median 0.76, worst 1.48) against 1.52 (1.18, 3.32) for cosine at sqrt(2) x the
# suggestion, and 1.14 for the best constant rate of the grid. Tested blind on six new tasks
# (FRESH10, criterion committed first): mean 1.24 against 1.64, worst 2.67 against 2.58, median
# 0.90 against 1.63; adopted. It cost digits with Adam at batch 16 (0.74 -> 2.50: a cliff just
# above the best peak, as on FRESH8's digits Adam b32). Tested again on FRESH11: mean 0.83
# against 1.28, median 0.33 against 1.36, but worst 3.39 against 2.06 (a 10-class problem with
# Nadam). Regression losses are left out: diabetes over-trains at such peaks (see
# compare.RAISE_TO_EDGE for what compare_schedules does there). README.md, "Choosing the
# schedule for a budget", items 13-15 and 17.
EDGE_PEAK = True
EDGE_OPTIMIZERS = frozenset({"adam", "nadam", "rmsprop"})
# Round 10: under the edge rule schedule("auto") is linear (warm-up, then a linear decay to
# zero) at sqrt(2) x edge_lr, no longer WSD at edge_lr. On the cached grids of the 34 edge tasks
# seen (benchmarks/schedule_refit.py --per-shape): 0.73 mean, 1.68 worst against 0.88, 2.87;
# WSD holds its peak for most of the run and fell off cliffs just above the best peak (FRESH10,
# FRESH11), where a decay that starts at once loses less. Tested blind on FRESH13 (criterion
# committed first): 1.36 mean, 4.03 worst against 2.44, 9.65 (median 0.92 against 0.76), above
# the best constant rate of the grid (89.61 against 89.34); adopted.
EDGE_AUTO_SHAPE = "linear"
# Under the edge rule, the multiple of edge_lr that a shape peaks at (1 for a shape not listed).
EDGE_MULTIPLES = {"linear": 2 ** 0.5}
# What schedule("auto")'s reason says of each shape the edge rule may pick.
_EDGE_AUTO_WHY = {
    "wsd": "warm-up, stable, then a cool-down over the last fifth at this peak",
    "linear": "a linear decay to zero over the budget from this peak",
}
# Smith: half a triangular cycle lasts 2-10 epochs; the bounds are a factor 4 apart.
HALF_CYCLE_EPOCHS = 4
TRIANGULAR_RATIO = 4.0


def build(name: str, peak: float, total_steps: int, steps_per_epoch: Optional[int] = None,
          **overrides) -> Schedule:
    """The preset ``name`` for ``total_steps`` steps, parameterised by its ``peak`` rate.

    ``constant``: ``lr = peak``. ``one_cycle``: ``OneCycle(peak, T)``. ``linear``: 5 % warm-up,
    linear decay to 0 at ``T``. ``cosine``: one cosine from ``peak`` to 0 over ``T``.
    ``warmup_cosine``: 5 % warm-up then cosine to 0. ``wsd``: 5 % warm-up, stable, (1 - sqrt)
    cool-down over the last 20 %. Triangular family: between ``peak / 4`` and ``peak``, half a
    cycle lasting 4 epochs (shortened so that one cycle fits in ``T``); ``exp_range``'s
    amplitude falls to a tenth by ``T``. ``overrides`` replace any of these arguments.
    """
    if name not in SCHEDULES:
        raise ValueError("unknown schedule {!r}; choose one of {}".format(
            name, sorted(list(SCHEDULES) + [AUTO])))
    peak = check_positive("peak", peak)
    total = check_positive("total_steps", total_steps, integer=True)
    if steps_per_epoch is not None:
        steps_per_epoch = check_positive("steps_per_epoch", steps_per_epoch, integer=True)
    if name == "constant":
        kwargs = dict(lr=peak)
    elif name == "cosine":
        kwargs = dict(max_lr=peak, min_lr=0.0, cycle_length=total)
    elif name in ("triangular", "triangular2", "exp_range"):
        cycle = total if steps_per_epoch is None else min(
            2 * HALF_CYCLE_EPOCHS * steps_per_epoch, total)
        kwargs = dict(min_lr=peak / TRIANGULAR_RATIO, max_lr=peak, cycle_length=max(2, cycle))
        if name == "exp_range":
            kwargs["gamma"] = 0.1 ** (1.0 / total)
    else:  # one_cycle, linear, wsd, warmup_cosine
        kwargs = dict(max_lr=peak, total_steps=total)
    kwargs.update(overrides)
    return get_schedule(name, **kwargs)


def peak(result, name: str) -> float:
    """The peak learning rate for shape ``name`` from a range test ``result``.

    ``result.suggestion("auto")`` (the run's own suggestion when ``auto`` has none), times
    :data:`DECAY_MULTIPLE` for the shapes that decay to zero over the budget
    (:data:`DECAYING`), at most ``EDGE_CAP * result.edge_lr``. When :func:`at_edge` (Adam,
    Nadam or RMSProp on a classification loss), every shape but constant peaks at
    ``result.edge_lr`` times its :data:`EDGE_MULTIPLES` entry (sqrt(2) for linear, 1 for the
    others), never above the highest rate the sweep recorded a finite loss at, nor above
    ``EDGE_CAP * result.edge_lr``.

    Raises
    ------
    ValueError
        When neither ``auto`` nor the run's rule gives a suggestion.
    """
    if name not in SCHEDULES:
        raise ValueError("unknown schedule {!r}; choose one of {}".format(
            name, sorted(list(SCHEDULES) + [AUTO])))
    if name != "constant" and at_edge(result):
        edge = result.edge_lr
        value = edge * EDGE_MULTIPLES.get(name, 1.0)
        if value > edge:  # never past the sweep's last finite loss
            lrs, losses = np.asarray(result.lrs, float), np.asarray(result.losses, float)
            reached = lrs[np.isfinite(losses)]
            value = min(value, max(edge, float(reached[-1]) if reached.size else edge))
        return _capped(result, value)
    return _capped(result, _base(result)[0] * multiple(name))


def multiple(name: str) -> float:
    """The multiple of the suggestion that shape ``name`` peaks at (before the cap), unless
    :func:`at_edge`."""
    return DECAY_MULTIPLE if name in DECAYING else 1.0


def at_edge(result) -> bool:
    """Whether the shapes but constant peak at ``result.edge_lr`` (linear at sqrt(2) x it,
    :data:`EDGE_MULTIPLES`; ``schedule("auto")`` is :data:`EDGE_AUTO_SHAPE`) (:data:`EDGE_PEAK`).

    The range test recorded an optimizer named in :data:`EDGE_OPTIMIZERS` (by name: a subclass
    of Adam keeps the other rule) and a loss with a chance level (classification), found a
    suggestion, and its loss bottomed out inside the sweep: not a curve still falling at its
    last rate (diagnosis ``open_ended``), whose "edge" is only where the sweep stopped.
    """
    return EDGE_PEAK and _edge_run(result, classification=True)


def _edge_run(result, classification: bool) -> bool:
    """An optimizer in :data:`EDGE_OPTIMIZERS`, a loss with (``classification``) or without a
    chance level, a suggestion, and a loss that bottomed out inside the sweep."""
    meta = getattr(result, "meta", None) or {}
    optimizer, chance = meta.get("optimizer"), meta.get("chance_loss")
    has_chance = (isinstance(chance, (int, float)) and not isinstance(chance, bool)
                  and math.isfinite(chance) and chance > 0)
    if not (isinstance(optimizer, str) and optimizer.lower() in EDGE_OPTIMIZERS
            and has_chance == classification and result.lr is not None):
        return False
    edge = result.edge_lr
    return bool(edge is not None and edge < float(result.lrs[-1])
                and result.diagnosis_code != "open_ended")


def edge_regression(result) -> bool:
    """Adam, Nadam or RMSProp on a regression loss (no chance level) whose loss bottomed out
    inside the sweep: where ``compare_schedules``' loss probe may raise to WSD at ``edge_lr``
    (``compare.RAISE_TO_EDGE``)."""
    return _edge_run(result, classification=False)


def _base(result) -> Tuple[float, str]:
    """The suggestion every peak is a multiple of, and the rule that gave it."""
    base = result.suggestion(PEAK_BASE)
    if result.lr is None and "chance level" in (result.diagnosis or ""):
        base = None  # a dead network: no rate will do, whatever the curve says
    if base is not None:
        return base, PEAK_BASE
    if result.lr is None:
        raise ValueError("the range test gave no suggestion to build a schedule from: "
                         "{}".format(result.diagnosis))
    return result.lr, result.rule


def _capped(result, value: float) -> float:
    """``value``, at most ``EDGE_CAP * result.edge_lr``."""
    edge = result.edge_lr
    return value if edge is None else min(value, EDGE_CAP * edge)


def configure(result, name: str, total_steps: int, steps_per_epoch: Optional[int] = None,
              **overrides) -> Schedule:
    """``result.schedule(name, total_steps)``: the preset built at its own peak.

    ``name="auto"`` is :func:`recommend`. The returned schedule carries ``name`` (the preset)
    and ``reason`` (one sentence: why this shape and peak).
    """
    if name == AUTO:
        return recommend(result, total_steps, steps_per_epoch, **overrides)
    if name not in SCHEDULES:
        raise ValueError("unknown schedule {!r}; choose one of {}".format(
            name, sorted(list(SCHEDULES) + [AUTO])))
    total_steps = check_positive("total_steps", total_steps, integer=True)
    spe = steps_per_epoch or result.meta.get("steps_per_epoch")
    p = peak(result, name)
    sched = build(name, p, total_steps, spe, **overrides)
    sched.name = name
    (base, rule), m = _base(result), multiple(name)
    if name != "constant" and at_edge(result):
        k = p / result.edge_lr
        sched.reason = "{} at peak {:.3g}: {}edge_lr{}, where the loss bottomed out ({} on a " \
                       "classification loss; the {} suggestion is {:.3g})".format(
                           name, p, "{:.2g} x ".format(k) if abs(k - 1) > 1e-9 else "",
                           " ({:.3g})".format(result.edge_lr) if abs(k - 1) > 1e-9 else "",
                           _optimizer_name(result), rule, base)
    else:
        sched.reason = "{} at peak {:.3g}: {}the {} suggestion{}".format(
            name, p, "{:.2g} x ".format(m) if m != 1 else "", rule,
            ", {:.3g}, capped at {:g} x edge_lr".format(base, EDGE_CAP)
            if p < m * base * 0.999 else " ({:.3g})".format(base) if m != 1 else "")
    if result.lr is None:
        sched.reason += " (the run's {!r} rule gave none: {})".format(result.rule,
                                                                      result.diagnosis)
    return sched


def recommend(result, total_steps: int, steps_per_epoch: Optional[int] = None,
              **overrides) -> Schedule:
    """``result.schedule("auto", total_steps)``: the shape and peak to train with.

    No training beyond the range test. The shape is :data:`AUTO_SHAPE`, or
    :data:`EDGE_AUTO_SHAPE` when :func:`at_edge`; see ``benchmarks/schedule_quality.py`` for how
    it compares with every shape at its best peak.
    """
    edge = at_edge(result)
    shape = EDGE_AUTO_SHAPE if edge else AUTO_SHAPE
    rule = " (the rule for adaptive optimizers on classification)" if edge else ""
    try:
        sched = configure(result, shape, total_steps, steps_per_epoch, **overrides)
    except TypeError as err:
        if not overrides:
            raise
        # get_schedule names the shape; say that schedule("auto") chose it
        raise TypeError("schedule('auto') chose {!r} for this range test{}: {}".format(
            shape, rule, err)) from None
    why = ("for adaptive optimizers on classification, {} had the lowest regret on the "
           "benchmark's tasks".format(_EDGE_AUTO_WHY.get(shape, shape)) if edge else
           "a cosine decay to zero over the budget had the lowest regret on the benchmark's "
           "tasks (linear and one-cycle within 0.1 point)")
    sched.reason = "auto: {}; {}".format(sched.reason, why)
    return sched


def _optimizer_name(result) -> str:
    """The optimizer name the range test recorded, as given (``"?"`` when none was)."""
    return str((getattr(result, "meta", None) or {}).get("optimizer", "?"))
