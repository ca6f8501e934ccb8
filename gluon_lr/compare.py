"""Can a little extra training beat ``result.schedule("auto", T)``? A two-sided probe.

A range test of the *training* loss cannot see over-training: on a small data set the best
validation score can come from rates 20-50x below what the range test suggests, because a lower
rate learns less in ``T`` steps. Nor can it tell how high a decaying schedule may peak: on many
tasks the best peak of a schedule that decays to zero is 2-4x the best constant rate, on others
twice the auto peak already falls off a cliff. :func:`compare_schedules` spends at most
``budget x total_steps`` extra steps (default 0.5 x T) on constant-rate *probes* scored on
held-out data, at ``P`` (the auto peak) and, for accuracy, at ``R`` = :data:`PROBE_RAISE` x
``P`` (at most twice ``edge_lr``; ``R = P``, :data:`PROBE_RAISE_AT_EDGE`, under the edge rule,
:func:`gluon_lr.recommend.at_edge`, where ``P`` already sits at or above ``edge_lr``):

- Ranked by accuracy: two runs of half the extra steps each, at ``P`` and at ``R``, from the
  same weights on the same batches. If the ``R`` run peaked and then got clearly worse
  (over-training, or a run too fast to settle), the auto shape's peak is set so that its
  forward area (the sum of its rates) over ``T`` matches ``R x t*``, where ``t*`` is the best
  point (this is at most ``P``). Otherwise the auto shape peaks at ``R`` when the ``R`` run's
  last scores are at least as good as the ``P`` run's, else at ``P``.
- Ranked by validation loss: one run at ``P`` for all of the extra steps (``P x T / 2`` is
  the forward area of the whole cosine or linear decay from ``P``; of a WSD schedule about
  60 %). Over-training, read as
  above, lowers the peak; a validation loss still falling by more than
  :data:`PROBE_IMPROVING` from the middle of the run to its end raises it to ``R`` (with Adam,
  Nadam or RMSProp, to WSD at ``edge_lr`` instead: :data:`RAISE_TO_EDGE`); otherwise ``P``.

With ``PROBE_RAISE = 1`` it is round 4's probe: one run at ``P`` that can only lower the peak.

With ``candidates`` (or ``probe=False``) it runs an older design instead: a race of
candidates (by default the auto shape at a third of, once and three times the auto peak), each
*compressed* to its share of the budget, from the same weights on the same batches; a
challenger replaces the auto choice only when it beats it by more than ``margin``.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ._mx import mx
from .schedules import Constant
from .state import RandomState
from .step import TrainingStep

nd = mx.nd
# The default candidates: the auto shape at these multiples of its own peak (each at most
# recommend.EDGE_CAP x edge_lr, like every preset's peak; a capped duplicate is dropped).
DEFAULT_PEAK_FACTORS = (1.0 / 3.0, 1.0, 3.0)
DEFAULT_CANDIDATES = None  # None: the auto shape at DEFAULT_PEAK_FACTORS x its peak
DEFAULT_BUDGET = 0.5
DEFAULT_EPOCHS = 5  # the training total_steps=None stands for, in epochs of the learner's data
# What a challenger must gain over the auto choice: accuracy points, or validation loss.
DEFAULT_MARGIN = {"accuracy": 1.0, "loss": 0.01}
# The probe (the default): constant runs scored on val_data, PROBE_POINTS scores in all.
PROBE_POINTS = 40
PROBE_WINDOW = 9  # evaluations per moving average
# How much worse the last window must be than the best one to call it over-training:
# accuracy points, or relative validation loss.
PROBE_TOLERANCE = {"accuracy": 2.0, "loss": 0.03}
# The higher peak the probe may choose, as a multiple of the auto peak (at most
# recommend.EDGE_CAP x edge_lr, never below the auto peak). 1 turns raising off (round 4's
# probe, which could only lower the peak). Round 7: designed on the 32 tasks of
# benchmarks/schedule_quality.py seen until then (recorded probe curves, each rule read off the
# cached grids: mean regret 0.90 against 1.17 for round 4's probe) and tested blind on FRESH6
# (README.md, "Choosing the schedule for a budget").
PROBE_RAISE = 2.0
# The raise under the edge rule (recommend.at_edge: Adam, Nadam or RMSProp on classification,
# round 9), where the auto peak already sits at or above edge_lr, the rate where the range test's
# loss bottomed out: 1, the probe can only lower the peak there. Measured with round 9's auto
# peak (WSD at edge_lr; since round 10 linear at sqrt(2) x edge_lr, where the probe again
# followed schedule("auto") on FRESH13): on the 28 edge tasks seen (trained), raising to
# 2 x edge_lr scored 0.89 points of mean regret, no better than schedule("auto") alone (0.87),
# not raising 0.75.
# Tested blind on six new tasks (FRESH11, benchmarks/schedule_tasks.py, criterion committed
# first): 0.83 / 3.39 against 0.97 / 3.39; honest hold-out 0.83 against 0.92. Adopted.
PROBE_RAISE_AT_EDGE = 1.0
# For Adam, Nadam or RMSProp on a regression loss (L2, L1 or Huber: finder.POOLED_LOSSES;
# recommend.edge_regression, round 9), a loss probe still improving raises to WSD at edge_lr
# (as the edge rule peaked in round 9) instead of the auto shape at R. On the 11 adaptive regressions seen (trained): 1.18 points of mean regret against
# 1.69, honest hold-out 1.64 against 2.14. Tested blind on six new ones (FRESH12,
# benchmarks/schedule_tasks.py, criterion committed first): 1.24 / 3.24 against 1.98 / 3.58;
# honest hold-out 1.30 / 3.76 against 2.05 / 3.97. Adopted.
RAISE_TO_EDGE = True
# Ranked by validation loss: the relative fall of the smoothed validation loss from the middle
# of the probe to its end above which the validation is "still improving" and the peak is raised.
# (0.02 to 0.07 gave the same picks on the 32 design tasks; at 0.1 one seed with a 7.8 %
# fall was not raised.)
PROBE_IMPROVING = 0.05


class ScheduleComparison:
    """The outcome of :func:`compare_schedules`.

    Attributes
    ----------
    best_name : str
        The winning candidate's label (``"<shape>@<peak>"``).
    best : Schedule
        The winner built for ``total_steps`` (ready for ``optimizer_params={"lr_scheduler":
        comparison.best}``; it counts from ``num_update`` 1). It has ``name`` and ``reason``.
    auto : Schedule
        ``result.schedule("auto", total_steps)``, what the race had to beat.
    kept_auto : bool
        True when no candidate beat the auto choice by more than the margin.
    reason : str
        One sentence on the choice.
    history : dict
        Per candidate: ``steps`` (its short run), ``val_loss``, ``val_accuracy``, ``shape``,
        ``peak``, ``factor`` (its peak over the auto peak, for the default candidates).
    steps, seconds : int, float
        What the comparison cost (``steps / total_steps <= budget``).
    probe : dict or None
        The probe (None when candidates were raced). For the run the decision is read from:
        ``peak`` (its constant rate), ``factor`` (``peak`` over the auto peak), ``steps``,
        ``curve`` (``steps``, ``val_loss``, ``val_accuracy`` per evaluation), ``best_step``
        (the middle of the best smoothed window), ``drop`` (how much worse the last window
        is: accuracy points, or relative loss), ``over_training``; then ``scaled_peak`` (the
        chosen peak; None when no score was finite), ``raised`` (True when that is above the
        auto peak) and ``reason``. With two runs (ranked by accuracy), ``base`` is the run at
        the auto peak (``peak``, ``steps``, ``curve``), and ``final`` / ``base_final`` the
        means of their last scores (unless over-training settled it); with one run,
        ``base`` is None and, ranked by loss, ``improvement`` is the relative fall of the
        smoothed validation loss from the middle of the run to its end. The race's ``history`` is
        empty then.
    """

    def __init__(self, history: Dict[str, List[Dict[str, Any]]], best_name: str, best,
                 total_steps: int, steps: int, seconds: float, select: str, auto=None,
                 kept_auto: bool = False, reason: str = "",
                 probe: Optional[Dict[str, Any]] = None):
        self.history, self.best_name, self.best = history, best_name, best
        self.total_steps, self.steps, self.seconds, self.select = total_steps, steps, seconds, \
            select
        self.auto, self.kept_auto, self.reason = auto, kept_auto, reason
        self.probe = probe

    def table(self) -> List[Dict[str, Any]]:
        """One row per raced candidate, best first: name, steps trained, val loss, val accuracy
        (None for non-classification losses), rungs (always 1). Empty after a probe."""
        rows = []
        for name, rungs in self.history.items():
            last = rungs[-1]
            rows.append({"name": name, "steps": last["steps"], "val_loss": last["val_loss"],
                         "val_accuracy": last["val_accuracy"], "rungs": len(rungs)})
        return sorted(rows, key=lambda r: (r["name"] != self.best_name, _score(r, self.select)))

    def plot(self, ax=None, path: Optional[str] = None):
        """What ranked the candidates (validation accuracy or loss, as :meth:`table`) against
        the steps of each rung, legend in the table's order; returns the axes."""
        created = ax is None
        if created:
            import matplotlib.pyplot as plt
            _, ax = plt.subplots(figsize=(7, 4))
        by_accuracy = self.select == "accuracy" and all(
            r["val_accuracy"] is not None for runs in self.history.values() for r in runs)
        key = "val_accuracy" if by_accuracy else "val_loss"
        probe = self.probe
        if probe is not None:
            if by_accuracy and probe["curve"][0]["val_accuracy"] is None:
                by_accuracy = False
            key = "val_accuracy" if by_accuracy else "val_loss"
            ax.plot([c["steps"] for c in probe["curve"]], [c[key] for c in probe["curve"]],
                    marker=".", label="probe: constant {:.3g}".format(probe["peak"]))
            if probe.get("base"):
                base = probe["base"]
                ax.plot([c["steps"] for c in base["curve"]], [c[key] for c in base["curve"]],
                        marker=".", label="probe: constant {:.3g} (the auto peak)".format(
                            base["peak"]))
            ax.axvline(probe["best_step"], color="grey", ls="--", lw=1,
                       label="best window, step {}".format(probe["best_step"]))
        for rank, row in enumerate(self.table(), 1):
            name, rungs = row["name"], self.history[row["name"]]
            ax.plot([r["steps"] for r in rungs], [r[key] for r in rungs], marker="o",
                    lw=3 if name == self.best_name else 1.5,
                    label="{}. {}".format(rank, name) + (" (best)" if name == self.best_name
                                                         else ""))
        if self.history:
            ax.set_xticks(sorted({r["steps"] for runs in self.history.values() for r in runs}))
        ax.set_xlabel("steps trained (each candidate's compressed run)" if self.history
                      else "steps of the probe's constant run")
        ax.set_ylabel("validation accuracy (%)" if by_accuracy else "validation loss")
        ax.set_title("schedule comparison, ranked by {}: {} steps, {:.1f} s".format(
            "accuracy" if by_accuracy else "loss", self.steps, self.seconds))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
        if path is not None:
            ax.figure.savefig(os.fspath(path), dpi=120, bbox_inches="tight")
        return ax

    def to_dict(self) -> Dict[str, Any]:
        """Everything shown by the report (JSON-safe: non-finite numbers as None)."""
        from .result import _json_safe
        return _json_safe({"best": self.best_name, "best_schedule": repr(self.best),
                "auto_schedule": repr(self.auto), "kept_auto": self.kept_auto,
                "reason": self.reason, "total_steps": self.total_steps, "steps": self.steps,
                "seconds": self.seconds, "select": self.select, "history": self.history,
                "table": self.table(), "probe": self.probe})

    def to_json(self, path: Optional[str] = None) -> str:
        """:meth:`to_dict` as JSON text, also written to ``path`` when given."""
        return _to_json(self.to_dict(), path)

    def __repr__(self) -> str:
        return "ScheduleComparison(best={!r}, kept_auto={}, candidates={}, steps={}, " \
               "seconds={:.1f})".format(self.best_name, self.kept_auto, len(self.history),
                                        self.steps, self.seconds)


def _to_json(doc: Dict[str, Any], path: Optional[str]) -> str:
    text = json.dumps(doc, indent=2)
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return text


def _score(row: Dict[str, Any], select: str) -> float:
    """Lower is better."""
    if select == "accuracy" and row["val_accuracy"] is not None:
        return -row["val_accuracy"] + 1e-9 * (row["val_loss"] if math.isfinite(
            row["val_loss"]) else 1e9)
    loss = row["val_loss"]
    return loss if math.isfinite(loss) else math.inf


Candidate = Union[str, Tuple[str, float]]


def _label(shape: str, peak: float) -> str:
    """A candidate's name, ``"<shape>@<peak>"``: the keys of ``history`` and ``best_name``."""
    return "{}@{:.3g}".format(shape, peak)


def _candidates(result, candidates, auto_shape: str, auto_peak: float):
    """[(label, shape, peak, factor)]; the auto choice is always among them."""
    from .recommend import peak as peak_of
    from .schedules import SCHEDULES
    out = []
    if candidates is None:
        from .recommend import EDGE_CAP
        edge = result.edge_lr
        for f in DEFAULT_PEAK_FACTORS:
            p = auto_peak * f
            if edge is not None:  # no higher than any preset's peak may go
                p = min(p, EDGE_CAP * edge)
            if not any(math.isclose(p, q) for _, q, _ in out):
                out.append((auto_shape, p, p / auto_peak))
    else:
        items = [candidates] if isinstance(candidates, str) else list(candidates)
        if not items:
            raise ValueError("candidates is empty: name at least one schedule")
        for c in items:
            if isinstance(c, str):
                shape, p = c, None
            elif isinstance(c, (tuple, list)) and len(c) == 2 and isinstance(c[0], str):
                shape, p = c
            else:
                raise TypeError("a candidate must be a schedule name or a (name, peak) pair, got "
                                "{!r}".format(c))
            if shape not in SCHEDULES:
                raise ValueError("unknown schedule {!r}; choose from {}".format(
                    shape, sorted(SCHEDULES)))
            if p is None:
                p = peak_of(result, shape)
            elif isinstance(p, bool) or not isinstance(p, (int, float)) or not (
                    p > 0 and math.isfinite(p)):
                raise ValueError("the peak of candidate {!r} must be a positive number, got "
                                 "{!r}".format(shape, p))
            out.append((shape, float(p), float(p) / auto_peak if shape == auto_shape else None))
        if not any(s == auto_shape and math.isclose(p, auto_peak) for s, p, _ in out):
            out.insert(0, (auto_shape, auto_peak, 1.0))
    labelled = []
    for shape, p, f in out:
        label = _label(shape, p)
        if any(label == x[0] for x in labelled):
            raise ValueError("candidates lists {} twice".format(label))
        labelled.append((label, shape, p, f))
    return labelled


def compare_schedules(learner, result, total_steps: Optional[int] = None, val_data=None,
                      candidates: Optional[Sequence[Candidate]] = DEFAULT_CANDIDATES,
                      budget: float = DEFAULT_BUDGET, margin: Optional[float] = None,
                      seed: Optional[int] = None, val_batches: Optional[int] = None,
                      select: str = "auto", probe: Optional[bool] = None,
                      start: Optional[int] = None) -> ScheduleComparison:
    """Spend at most ``budget x total_steps`` extra steps to improve on ``schedule("auto")``.

    By default (no ``candidates``) the ``floor(budget x total_steps)`` extra steps go to a
    probe of constant-rate runs scored on ``val_data`` (about 40 scores in all), at ``P``, the auto
    peak, and at ``R`` = :data:`PROBE_RAISE` (2) x ``P``, at most ``2 x result.edge_lr`` and
    never below ``P``. A run *over-trains* when its score, smoothed over 9 evaluations, was
    best around step ``t*`` and the last window is worse by more than 2 accuracy points (or 3 %
    in validation loss); the peak is then the one whose forward area over ``total_steps``
    equals ``rate x t*``.

    - Ranked by accuracy: two runs of half the steps each, at ``P`` and at ``R``. If the ``R``
      run over-trains, its scaled peak; otherwise ``R`` when the mean of its last 9 scores is
      at least that of the ``P`` run, else ``P``.
    - Ranked by loss (or with ``R`` = ``P``, or fewer than 20 steps): one run at ``P``. If it
      over-trains, its scaled peak; ranked by loss, ``R`` when the smoothed validation loss
      fell by more than :data:`PROBE_IMPROVING` (5 %) from the middle of the run to its end
      (9-score windows); otherwise
      ``P``.

    :attr:`ScheduleComparison.best` is the auto shape at that peak; it is
    ``result.schedule("auto", total_steps)`` itself (:attr:`ScheduleComparison.kept_auto`)
    when the peak is the auto peak or no validation score was finite. (Measured on
    ``benchmarks/schedule_quality.py``, README: the race below did worse on its design tasks.)

    With ``candidates`` or ``probe=False``, a race: each candidate (a shape and a peak) is built
    for ``n = floor(budget x total_steps / k)`` steps (``k`` candidates), trained from the same
    starting weights on the same batches, and scored on ``val_data``. The best candidate wins
    only if it beats the auto choice by more than ``margin`` (accuracy points, or loss); then
    ``best`` is that shape at that peak, built for ``total_steps``. Otherwise ``best`` is the
    auto schedule and ``kept_auto`` is True. The net and trainer are restored after every
    run and at the end.

    Parameters
    ----------
    learner : Learner
    result : LRFinderResult
        A range test of this learner.
    total_steps : int, optional
        The training the choice is for (default: 5 epochs of the learner's data).
    val_data : data
        Held-out data in any form ``Learner`` accepts (required).
    candidates : sequence, optional
        Schedule names (each at its ``result.schedule`` peak) or ``(name, peak)`` pairs; the
        auto choice is added if missing. Default: the auto shape at 1/3, 1 and 3 x its peak
        (at most twice ``edge_lr``).
    budget : float, default 0.5
        Extra steps allowed, as a fraction of ``total_steps`` (at most 1).
    margin : float, optional
        How much a challenger must beat the auto choice by: default 1.0 accuracy point, or
        0.01 in validation loss when ranking by loss. (The factors and margins were chosen on
        the design half of ``benchmarks/schedule_quality.py``: short runs are a noisy, biased
        guide to full-length training, so a challenger has to win clearly.)
    seed : int, optional
        Seeds MXNet's generator before each run (dropout), for a fair comparison.
    val_batches : int, optional
        Cap on the validation batches evaluated (default: all of one pass).
    select : {"auto", "loss", "accuracy"}
        What ranks the candidates: validation loss, or accuracy (classification losses only);
        ``"auto"`` is accuracy for ``SoftmaxCrossEntropyLoss`` and loss otherwise. The probe
        reads the same score.
    probe : bool, optional
        Run the over-training probe (default: when ``candidates`` is None) or the race
        (``False``). ``True`` with ``candidates`` is refused.
    start : int, optional
        The trainer's ``num_update`` when the chosen schedule is attached, as in
        :meth:`LRFinderResult.schedule <gluon_lr.result.LRFinderResult.schedule>`: ``best``
        and ``auto`` then begin after that step (an :class:`~gluon_lr.schedules.Offset`).
        Default: they count from step 1, with a warning when the learner's trainer has
        already stepped.

    Raises
    ------
    ValueError
        Before anything trains: bad candidates, no ``val_data``, a budget too small for 2 steps
        per candidate (or 10 for the probe), a result without a suggestion.
    """
    from .finder import POOLED_LOSSES
    from .recommend import EDGE_CAP, at_edge, build, edge_regression
    from .result import starting_at
    from .schedules.base import check_non_negative
    total_steps, budget = _budget(learner, val_data, total_steps, budget,
                                  "schedules are compared on held-out data")
    spe = learner.steps_per_epoch
    if margin is not None:
        margin = check_non_negative("margin", margin)
    select, classify = _ranking(learner, select)
    if start is not None:
        start = check_non_negative("start", start, integer=True)
    _check_seed_and_batches(seed, val_batches)
    at = int(learner.trainer.optimizer.num_update)
    auto = result.schedule("auto", total_steps, steps_per_epoch=spe, start=0)  # offset below
    auto_shape, auto_peak = auto.name, auto.max_value()
    if probe is None:
        probe = candidates is None
    elif not isinstance(probe, bool):
        raise TypeError("probe must be True, False or None, got {!r}".format(probe))
    elif probe and candidates is not None:
        raise ValueError("probe=True spends the whole budget on the over-training probe; "
                         "candidates are raced with probe=False")
    cands = _candidates(result, candidates, auto_shape, auto_peak)
    raise_peak = (PROBE_RAISE_AT_EDGE if at_edge(result) else PROBE_RAISE) * auto_peak
    if result.edge_lr is not None:
        raise_peak = min(raise_peak, EDGE_CAP * result.edge_lr)
    raise_peak = max(auto_peak, raise_peak)
    extra = int(budget * total_steps)
    short = {}
    if probe:
        probe_steps, run = extra, 0
        if probe_steps < PROBE_WINDOW + 1:
            raise ValueError("budget={} x total_steps={} leaves {} steps for the over-training "
                             "probe; at least {} are needed".format(
                                 budget, total_steps, probe_steps, PROBE_WINDOW + 1))
    else:
        probe_steps, run = 0, extra // len(cands)
        if run < 2:
            raise ValueError("budget={} x total_steps={} leaves {} steps for each of {} "
                             "candidates; at least 2 are needed".format(
                                 budget, total_steps, run, len(cands)))
        short = {label: build(shape, p, run, spe) for label, shape, p, _ in cands}
    if margin is None:
        margin = DEFAULT_MARGIN[select]
    rng, val = _held_out(learner, val_data, val_batches)

    started = time.perf_counter()
    history: Dict[str, List[Dict[str, Any]]] = {}
    spent = 0
    probe_doc: Optional[Dict[str, Any]] = None
    with _runs(learner, val, rng, seed, classify) as train:
        if probe_steps and select == "accuracy" and raise_peak > auto_peak * (
                1 + 1e-9) and probe_steps // 2 >= PROBE_WINDOW + 1:
            n = probe_steps // 2  # two runs, PROBE_POINTS scores in all
            every = max(1, n // (PROBE_POINTS // 2))
            base = train(Constant(auto_peak), n, every)
            high = train(Constant(raise_peak), n, every)
            spent += 2 * n
            probe_doc = _two_runs(base, high, select, auto_peak, raise_peak, auto, total_steps)
        elif probe_steps:
            every = max(1, probe_steps // PROBE_POINTS)
            curve = train(Constant(auto_peak), probe_steps, every)
            spent += probe_steps
            probe_doc = _overtraining(curve, select, auto_peak, auto, total_steps)
            if select == "loss":
                # a regression loss, not only "no chance level": logit-free BCE or dense-label
                # softmax have none either
                to_edge = RAISE_TO_EDGE and isinstance(learner.loss, POOLED_LOSSES) and \
                    edge_regression(result) and result.edge_lr > auto_peak * (1 + 1e-9)
                _still_improving(probe_doc, curve, result.edge_lr if to_edge else raise_peak)
                if to_edge and probe_doc["raised"]:
                    probe_doc["shape"] = "wsd"
                    probe_doc["reason"] += " (the edge rule: WSD at edge_lr)"
        if probe_doc is not None:
            probe_doc["factor"] = probe_doc["peak"] / auto_peak
        for label, shape, p, factor in (cands if run else []):
            (steps, loss, acc), = train(short[label], run)
            spent += run
            history[label] = [{"rung": 0, "steps": run, "val_loss": loss,
                               "val_accuracy": acc, "shape": shape, "peak": p,
                               "factor": factor}]
    unit = "points" if select == "accuracy" else "in loss"
    if probe_doc is not None and probe_doc["scaled_peak"] is not None and not math.isclose(
            probe_doc["scaled_peak"], auto_peak):
        q, shape = probe_doc["scaled_peak"], probe_doc.get("shape", auto_shape)
        best = build(shape, q, total_steps, spe)
        kept, best_name = False, _label(shape, q)
        reason = probe_doc["reason"]
    elif probe_doc is not None:
        best, kept = auto, True
        best_name = _label(auto_shape, auto_peak)
        reason = probe_doc["reason"] + "; kept schedule('auto')"
    else:
        auto_label = next(label for label, shape, p, _ in cands
                          if shape == auto_shape and math.isclose(p, auto_peak))
        ranked = sorted(history, key=lambda n: _score(history[n][-1], select))
        top = ranked[0]
        gain = _score(history[auto_label][-1], select) - _score(history[top][-1], select)
        if top == auto_label or not gain > margin:
            best, kept, best_name = auto, True, auto_label
            reason = "kept schedule('auto') ({}): no candidate beat it by more than {:g} {} in " \
                     "{}-step runs".format(auto_label, margin, unit, run)
        else:
            entry = history[top][-1]
            best = build(entry["shape"], entry["peak"], total_steps, spe)
            kept, best_name = False, top
            reason = "{} beat schedule('auto') ({}) by {:.3g} {} in {}-step runs".format(
                top, auto_label, gain, unit, run)
    best.name = best_name.split("@")[0]
    best.reason = "compare_schedules: " + reason
    best = starting_at(best, start, at, total_steps, stacklevel=4,
                       who="compare_schedules: the learner's trainer is")
    auto = starting_at(auto, start, 0, total_steps)
    return ScheduleComparison(history, best_name, best, total_steps, spent,
                              time.perf_counter() - started, select, auto=auto, kept_auto=kept,
                              reason=reason, probe=probe_doc)


class RateCheck:
    """The outcome of :func:`check_rate`: the constant learning rate to train with.

    Attributes
    ----------
    lr : float
        The rate to train with: ``suggested`` itself, or lower when the probe over-trained.
    suggested : float
        The rate that was checked (the range test's suggestion unless ``lr=`` was given).
    kept : bool
        True when ``lr`` is ``suggested``.
    reason : str
        One sentence on what the probe saw.
    probe : dict
        The probe's ``peak`` (its constant rate), ``steps``, ``curve`` (``steps``,
        ``val_loss``, ``val_accuracy`` per evaluation), ``best_step``, ``drop``,
        ``over_training`` and ``scaled_peak`` (as :attr:`ScheduleComparison.probe`).
    total_steps, steps, seconds, select
        The training the rate is for, what the check cost, and what ranked the scores.
    """

    def __init__(self, lr: float, suggested: float, reason: str, probe: Dict[str, Any],
                 total_steps: int, steps: int, seconds: float, select: str):
        self.lr, self.suggested, self.reason, self.probe = lr, suggested, reason, probe
        self.kept = math.isclose(lr, suggested)
        self.total_steps, self.steps, self.seconds, self.select = total_steps, steps, \
            seconds, select

    def to_dict(self) -> Dict[str, Any]:
        """Everything the check saw (JSON-safe: non-finite numbers as None)."""
        from .result import _json_safe
        return _json_safe({"lr": self.lr, "suggested": self.suggested, "kept": self.kept,
                           "reason": self.reason, "total_steps": self.total_steps,
                           "steps": self.steps, "seconds": self.seconds,
                           "select": self.select, "probe": self.probe})

    def to_json(self, path: Optional[str] = None) -> str:
        """:meth:`to_dict` as JSON text, also written to ``path`` when given."""
        return _to_json(self.to_dict(), path)

    def plot(self, ax=None, path: Optional[str] = None):
        """The probe's validation score against its steps, the best step marked; returns the
        axes."""
        created = ax is None
        if created:
            import matplotlib.pyplot as plt
            _, ax = plt.subplots(figsize=(7, 4))
        key = "val_accuracy" if self.select == "accuracy" else "val_loss"
        curve = self.probe["curve"]
        ax.plot([c["steps"] for c in curve], [c[key] for c in curve], marker=".",
                label="constant {:.3g}".format(self.suggested))
        ax.axvline(self.probe["best_step"], color="grey", ls="--", lw=1,
                   label="best window, step {}".format(self.probe["best_step"]))
        ax.set_xlabel("steps of the probe's constant run")
        ax.set_ylabel("validation accuracy (%)" if key == "val_accuracy" else "validation loss")
        ax.set_title("rate check: {:.3g} -> {:.3g}".format(self.suggested, self.lr))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
        if path is not None:
            ax.figure.savefig(os.fspath(path), dpi=120, bbox_inches="tight")
        return ax

    def __repr__(self) -> str:
        return "RateCheck(lr={:.4g}, suggested={:.4g}, kept={}, steps={})".format(
            self.lr, self.suggested, self.kept, self.steps)


def check_rate(learner, result, total_steps: Optional[int] = None, val_data=None,
               budget: float = DEFAULT_BUDGET, lr: Optional[float] = None,
               seed: Optional[int] = None, val_batches: Optional[int] = None,
               select: str = "auto") -> RateCheck:
    """Check a constant learning rate for over-training on held-out data before training.

    A range test of the training loss cannot see what a held-out score pays for a rate: on a
    small or noisy regression the best rate can be 2-20x below the suggestion. This trains a
    constant run at the suggestion ``lr`` for ``floor(budget x total_steps)`` steps from the
    learner's current state, scored on ``val_data`` about 40 times (every step of a run
    shorter than 80). A run whose validation loss turns non-finite diverged: the rate is
    scaled to its best finite score's step in the same way. When the score, smoothed
    over 9 evaluations, was best around step ``t*`` and the last window is worse by more than
    3 % in validation loss (or 2 accuracy points), the rate is scaled to ``lr x t* /
    total_steps`` (the forward area of the whole training matched to the probe's up to
    ``t*``); otherwise ``lr`` is kept. The net and trainer are restored afterwards.

    Measured with ``benchmarks/rate_probe.py`` (README): on 35 regression tasks, 14.3 % extra
    validation MSE against 18.5 % for the suggestion (interpolated on the cached grids), and on
    six regressions added blind, 8.3 against 12.4 %; about neutral on classification. It can
    only lower a rate.

    Parameters
    ----------
    learner : Learner
    result : LRFinderResult
        A range test of this learner.
    total_steps : int, optional
        The training the rate is for, in optimizer steps (default: 5 epochs of the data).
    val_data : data
        Held-out data in any form ``Learner`` accepts (required), not the data you will score
        the final training on.
    budget : float, default 0.5
        The probe's length as a fraction of ``total_steps`` (at most 1).
    lr : float, optional
        The rate to check (default: ``result.lr``).
    seed : int, optional
        Seeds MXNet's generator before the run (dropout).
    val_batches : int, optional
        Cap on the validation batches evaluated (default: all of one pass).
    select : {"auto", "loss", "accuracy"}
        What is scored: ``"auto"`` is accuracy for ``SoftmaxCrossEntropyLoss`` and the
        validation loss otherwise.

    Returns
    -------
    RateCheck

    Raises
    ------
    ValueError
        Before anything trains: no ``val_data``, no rate to check, a budget too small for 10
        steps, a bad ``select``.
    """
    from .schedules.base import check_positive
    total_steps, budget = _budget(learner, val_data, total_steps, budget,
                                  "the rate is checked on held-out data")
    if lr is None:
        lr = getattr(result, "lr", None)
        if lr is None:
            raise ValueError("the range test gave no suggestion ({}): pass lr= to check a "
                             "rate".format(getattr(result, "diagnosis_code", None)))
    lr = check_positive("lr", lr)
    select, classify = _ranking(learner, select)
    _check_seed_and_batches(seed, val_batches)
    steps = int(budget * total_steps)
    if steps < PROBE_WINDOW + 1:
        raise ValueError("budget={} x total_steps={} leaves {} steps for the probe; at least {} "
                         "are needed".format(budget, total_steps, steps, PROBE_WINDOW + 1))
    rng, val = _held_out(learner, val_data, val_batches)
    started = time.perf_counter()
    with _runs(learner, val, rng, seed, classify) as train:
        curve = train(Constant(lr), steps, max(1, steps // PROBE_POINTS))
    doc = _overtraining(curve, select, lr, Constant(lr), total_steps)
    doc["diverged_at"] = next((c[0] for c in curve if not math.isfinite(c[1])), None)
    if doc["diverged_at"] is not None:
        # a run whose validation loss turned non-finite diverged: it is over-training at its
        # worst, whatever the (meaningless) accuracy of NaN outputs says
        finite = [c for c in curve if math.isfinite(c[1])]
        if finite:
            best = max(finite, key=lambda c: (c[2], -c[1]) if select == "accuracy" else -c[1])
            t_star = best[0]
        else:
            t_star = curve[0][0]
        chosen = min(lr, lr * t_star / total_steps)
        doc.update(over_training=True, best_step=t_star, scaled_peak=chosen)
        reason = ("diverged: the validation loss of a constant run at {:.3g} was not finite from "
                  "step {} on; {}; the rate is scaled to {:.3g} so that {} steps cover the "
                  "forward area of the probe up to step {}".format(
                      lr, doc["diverged_at"],
                      "its best finite score was at step {}".format(t_star) if finite else
                      "no score was finite",
                      chosen, total_steps, t_star))
    elif doc["scaled_peak"] is None:
        chosen = lr
        reason = doc["reason"] + "; kept {:.3g}".format(lr)
    elif doc["over_training"]:
        chosen = doc["scaled_peak"]
        reason = ("over-training: a constant run at {:.3g} scored best on val_data around step "
                  "{} and was {:.3g} {} worse by step {}; the rate is scaled to {:.3g} so that "
                  "{} steps cover the forward area of the probe up to step {}".format(
                      lr, doc["best_step"], doc["drop"],
                      "accuracy points" if select == "accuracy" else "relative validation loss",
                      steps, chosen, total_steps, doc["best_step"]))
    else:
        chosen = lr
        reason = "no over-training in a {}-step constant run at {:.3g} ({:.0%} of the forward " \
                 "area of {} steps at that rate): kept {:.3g}".format(
                     steps, lr, steps / total_steps, total_steps, lr)
    doc["reason"] = reason
    return RateCheck(chosen, lr, reason, doc, total_steps, steps,
                     time.perf_counter() - started, select)


def _budget(learner, val_data, total_steps, budget, why: str):
    """(total_steps, budget) checked: a Learner, ``val_data`` given (``why`` says what for),
    ``total_steps`` a positive int (default: 5 epochs of the learner's data), ``budget`` in
    (0, 1]."""
    from .schedules.base import check_positive
    if not isinstance(getattr(learner, "step", None), TrainingStep):
        raise TypeError("learner must be a gluon_lr.Learner, got {}".format(
            type(learner).__name__))
    if val_data is None:
        raise ValueError("val_data is required: {}".format(why))
    if total_steps is None:
        total_steps = DEFAULT_EPOCHS * (learner.steps_per_epoch or 40)
    total_steps = check_positive("total_steps", total_steps, integer=True)
    budget = check_positive("budget", budget)
    if budget > 1:
        raise ValueError("budget must be in (0, 1] (a fraction of total_steps), got {!r}".format(
            budget))
    return total_steps, budget


def _ranking(learner, select: str):
    """(select, classify): ``"auto"`` resolved to accuracy for a SoftmaxCrossEntropyLoss with
    class labels and validation loss otherwise; a ValueError for anything else a learner cannot
    rank by."""
    if select not in ("auto", "loss", "accuracy"):
        raise ValueError("select must be 'auto', 'loss' or 'accuracy', got {!r}".format(select))
    softmax = isinstance(learner.loss, mx.gluon.loss.SoftmaxCrossEntropyLoss)
    # accuracy compares argmax(output) with class labels; one-hot (dense) labels are ranked by loss
    classify = softmax and bool(getattr(learner.loss, "_sparse_label", True))
    if select == "accuracy" and not classify:
        raise ValueError("select='accuracy' needs a SoftmaxCrossEntropyLoss with class labels "
                         "(sparse_label=True); this learner's loss is {}{}".format(
                             type(learner.loss).__name__,
                             " with sparse_label=False" if softmax else ""))
    if select == "auto":
        select = "accuracy" if classify else "loss"
    return select, classify


def _held_out(learner, val_data, val_batches):
    """(rng, val): the random state saved before drawing ``val_data`` (which may shuffle), and
    its batches as a list; the state is restored if drawing fails."""
    rng = RandomState()
    try:
        return rng, _validation_set(learner, val_data, val_batches)
    except BaseException:
        rng.restore()
        raise


def _check_seed_and_batches(seed, val_batches) -> None:
    """TypeError / ValueError naming ``seed`` or ``val_batches`` before anything trains."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError("seed must be an integer or None, got {!r}".format(seed))
    if val_batches is not None:
        from .schedules.base import check_positive
        check_positive("val_batches", val_batches, integer=True)


@contextlib.contextmanager
def _runs(learner, val, rng, seed: Optional[int], classify: bool):
    """Yield ``train(schedule, steps, every=None)``: a run from the learner's current state on
    the same batches each time, scored on ``val`` every ``every`` steps (or once at the end),
    returning ``[(steps, val_loss, val_accuracy)]``. The net, trainer and random state are
    restored after every run and on every way out (``rng`` too)."""
    from .schedules.composite import Offset
    batches = learner.batches()
    try:
        learner.step.check(next(batches))
        try:  # before anything trains: a val_data the net cannot score is the caller's error
            _evaluate(learner, val[:1], classify)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:
            raise ValueError("val_data could not be scored by the net ({}: {})".format(
                type(err).__name__, str(err).splitlines()[0] if str(err) else "")) from err
        from .finder import check_finite_parameters
        check_finite_parameters(learner.params, "the probes")
        state = learner.snapshot()
        try:
            def train(schedule, steps: int, every: Optional[int] = None):
                rng.restore()  # the same batches for every run
                if seed is not None:
                    mx.random.seed(seed)
                stream = learner.batches()
                curve = []
                try:
                    opt = learner.trainer.optimizer
                    opt.lr_scheduler = Offset(schedule, int(opt.num_update))
                    for t in range(1, steps + 1):
                        learner.step.train(next(stream))
                        if every is not None and (t % every == 0 or t == steps):
                            curve.append((t,) + _evaluate(learner, val, classify))
                    if every is None:
                        curve.append((steps,) + _evaluate(learner, val, classify))
                finally:
                    stream.close()
                    state.restore()
                return curve

            yield train
        finally:
            state.discard()
    finally:
        batches.close()
        rng.restore()


def _overtraining(curve, select: str, peak: float, auto,
                  total_steps: int) -> Dict[str, Any]:
    """Read a constant-rate probe's validation curve: did it peak, then get worse?

    ``curve`` is ``[(steps, val_loss, val_accuracy)]``. The scores are smoothed by a moving
    average over :data:`PROBE_WINDOW` evaluations. Over-training is called when the last
    window is worse than the best one by more than :data:`PROBE_TOLERANCE` (accuracy points,
    or relative loss) and the best window ends before the last one starts. Then the auto
    shape's peak is scaled so that its forward area (the sum of its rates over the budget)
    equals the probe's area up to the middle of its best window, ``peak x t*``: what was
    learnt by the best point, spread over the whole budget.
    """
    steps = [c[0] for c in curve]
    values = _scores(curve, select)
    w = min(PROBE_WINDOW, len(values))
    smooth = _smooth(values)
    j_best = max(range(len(smooth)), key=lambda j: (smooth[j], -j))
    best, last = smooth[j_best], smooth[-1]
    if select == "accuracy":
        drop, unit = best - last, "accuracy points"
    else:
        drop = (best - last) / max(abs(best), 1e-12) if math.isfinite(last) else math.inf
        unit = "relative validation loss"
    t_star = steps[j_best + (w - 1) // 2]
    readable = math.isfinite(best)
    over = bool(readable and drop > PROBE_TOLERANCE[select] and j_best + w - 1 < len(smooth) - 1)
    doc = {"peak": peak, "steps": steps[-1], "curve": [
        {"steps": s, "val_loss": l, "val_accuracy": a} for s, l, a in curve],
        "best_step": t_star, "drop": drop, "over_training": over, "scaled_peak": peak,
        "base": None, "raised": False}
    # the auto schedule's forward area over the budget, in steps at its peak
    area = sum(auto(i) for i in range(1, total_steps + 1)) / auto.max_value()
    if over:
        scaled = min(peak, peak * t_star / area)
        doc["scaled_peak"] = scaled
        doc["reason"] = ("over-training: a constant run at {:.3g} scored best on val_data "
                         "around step {} and was {:.3g} {} worse by step {}; the peak is "
                         "scaled to {:.3g} so that the budget's forward area matches "
                         "step {}".format(peak, t_star, drop, unit, steps[-1], scaled, t_star))
    elif not readable:
        doc["reason"] = "the validation score of a {}-step constant run at {:.3g} was never " \
                        "finite: nothing to read".format(steps[-1], peak)
        doc["scaled_peak"] = None
    else:
        doc["reason"] = "no over-training in a {}-step constant run at {:.3g}, which covers " \
                        "{:.0%} of the forward area of the whole schedule at that peak: peak " \
                        "{:.3g}".format(steps[-1], peak, min(1.0, steps[-1] / area), peak)
    return doc


def _scores(curve, select: str) -> List[float]:
    """Higher is better: accuracy, or minus the validation loss (-inf where not finite)."""
    if select == "accuracy":
        return [c[2] for c in curve]
    return [-c[1] if math.isfinite(c[1]) else -math.inf for c in curve]


def _smooth(values: List[float]) -> List[float]:
    """Moving averages over :data:`PROBE_WINDOW` scores (fewer when the run is shorter)."""
    w = min(PROBE_WINDOW, len(values))
    return [sum(values[j:j + w]) / w for j in range(len(values) - w + 1)]


def _two_runs(base, high, select: str, peak: float, higher: float, auto,
              total_steps: int) -> Dict[str, Any]:
    """Read two constant runs of the same length, at the auto peak and at a higher rate.

    Over-training is read on the ``higher`` run (:func:`_overtraining`); when it fires, its
    scaled peak stands (at most ``higher``). Otherwise the peak is ``higher`` when the mean of
    the last :data:`PROBE_WINDOW` scores of that run is at least the same mean of the ``base``
    run, else ``peak``.
    """
    doc = _overtraining(high, select, higher, auto, total_steps)
    doc["base"] = {"peak": peak, "steps": base[-1][0], "curve": [
        {"steps": s, "val_loss": l, "val_accuracy": a} for s, l, a in base]}
    doc["final"] = doc["base_final"] = doc["improvement"] = None
    w = min(PROBE_WINDOW, len(base), len(high))
    if not any(math.isfinite(c[1]) for c in base):  # accuracy of NaN outputs means nothing
        doc.update(over_training=False, scaled_peak=None, reason=(
            "the validation loss of a {}-step constant run at the auto peak {:.3g} was never "
            "finite: nothing to read".format(base[-1][0], peak)))
        return doc
    if doc["over_training"]:
        if doc["scaled_peak"] > peak:  # a budget above about 0.75 x T: never above the auto peak
            doc["scaled_peak"] = peak
            doc["reason"] += "; at most the auto peak {:.3g}".format(peak)
        return doc
    if not all(math.isfinite(c[1]) for c in high[-w:]):
        doc.update(scaled_peak=peak, reason=(
            "the validation loss of a {}-step constant run at {:.3g} was not finite at its "
            "end: peak {:.3g}, the auto peak".format(doc["steps"], higher, peak)))
        return doc
    lo, hi = (_smooth(_scores(c, select))[-1] for c in (base, high))
    doc["final"], doc["base_final"] = hi, lo
    doc["raised"] = hi >= lo
    unit = "accuracy" if select == "accuracy" else "minus validation loss"
    doc["scaled_peak"] = higher if doc["raised"] else peak
    doc["reason"] = ("no over-training in a {}-step constant run at {:.3g}, whose last {} "
                     "scores ({}) averaged {:.4g}, {} the {:.4g} of the run at {:.3g}: peak "
                     "{:.3g}".format(doc["steps"], higher, w, unit, hi,
                                     "at least" if doc["raised"] else "below", lo, peak,
                                     doc["scaled_peak"]))
    return doc


def _still_improving(doc: Dict[str, Any], curve, higher: float) -> None:
    """Raise a loss-ranked probe's peak to ``higher`` while its validation loss still falls.

    Unless the probe over-trained or never scored, ``doc["improvement"]`` is the relative fall
    of the smoothed validation loss from the window of :data:`PROBE_WINDOW` scores centred on
    the middle of the run (``len(smoothed) // 2 - 1``, as designed and tested) to the last
    window; above :data:`PROBE_IMPROVING` the peak becomes ``higher``.
    """
    doc["improvement"] = doc["final"] = doc["base_final"] = None
    if doc["over_training"] or doc["scaled_peak"] is None:
        return
    smooth = _smooth(_scores(curve, "loss"))
    mid, end = smooth[max(0, len(smooth) // 2 - 1)], smooth[-1]
    if not (math.isfinite(mid) and math.isfinite(end)) or mid == 0:
        return
    doc["improvement"] = (end - mid) / abs(mid)
    if doc["improvement"] > PROBE_IMPROVING and higher > doc["peak"] * (1 + 1e-9):
        doc["raised"], doc["scaled_peak"] = True, higher
        doc["reason"] = ("no over-training in a {}-step constant run at {:.3g}, and its "
                         "validation loss was still falling ({:.1%} from the middle of the "
                         "run to its end, more than {:.0%}): peak {:.3g}".format(
                             doc["steps"], doc["peak"], doc["improvement"], PROBE_IMPROVING,
                             higher))


def _validation_set(learner, val_data, cap: Optional[int]):
    """All batches of one pass over ``(X, y)`` arrays, else ``cap`` (16) batches; a list."""
    if isinstance(val_data, (tuple, list)) and len(val_data) == 2 and not isinstance(
            val_data[0], (tuple, list)):  # one input array (several go through the Learner)
        X, y = val_data
        X, y = nd.array(X) if not isinstance(X, nd.NDArray) else X, \
            nd.array(y) if not isinstance(y, nd.NDArray) else y
        if X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError("val_data must be non-empty (X, y) of equal lengths, got {} and "
                             "{}".format(X.shape[0], y.shape[0]))
        bs = learner.batch_size or 64
        out = [(X[i:i + bs], y[i:i + bs]) for i in range(0, X.shape[0], bs)]
        return out[:cap] if cap else out
    return learner.validation_batches(val_data, cap or 16)


def _evaluate(learner, batches, classify: bool):
    total, correct, n = 0.0, 0, 0
    step = learner.step
    for batch in batches:
        inputs, label = step.unpack(batch)
        for xs, y in step.split(inputs, label):
            out = step.forward(xs)
            total += float(step.loss(out, y).sum().asscalar())
            if classify:
                correct += int((out.argmax(axis=1) == y.astype(out.dtype)).sum().asscalar())
        n += step.size(inputs)
    loss = total / n
    from .health import non_finite_parameters
    if math.isfinite(loss) and non_finite_parameters(learner.params):
        loss = math.inf  # diverged: NaN weights behind finite outputs (a ReLU hides them)
    return (loss if math.isfinite(loss) else math.inf), (100.0 * correct / n if classify
                                                         else None)
