"""Which schedule trains best? Successive halving over presets built from a range test."""
from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._mx import mx
from .state import RandomState
from .step import TrainingStep

nd = mx.nd
DEFAULT_CANDIDATES = ("constant", "one_cycle", "triangular", "warmup_cosine")


class ScheduleComparison:
    """The outcome of :func:`compare_schedules`.

    Attributes
    ----------
    best_name : str
        The winning preset.
    best : Schedule
        The winner built for ``total_steps`` (ready for ``optimizer_params={"lr_scheduler":
        comparison.best}``; it counts from ``num_update`` 1).
    history : dict
        Per candidate, the rungs it ran: ``steps``, ``val_loss``, ``val_accuracy``.
    steps, seconds : int, float
        What the whole comparison cost.
    """

    def __init__(self, history: Dict[str, List[Dict[str, Any]]], best_name: str, best,
                 total_steps: int, steps: int, seconds: float, select: str):
        self.history, self.best_name, self.best = history, best_name, best
        self.total_steps, self.steps, self.seconds, self.select = total_steps, steps, seconds, \
            select

    def table(self) -> List[Dict[str, Any]]:
        """One row per candidate (its last rung), best first: name, steps trained, val loss,
        val accuracy (None for non-classification losses), rungs reached."""
        rows = []
        for name, rungs in self.history.items():
            last = rungs[-1]
            rows.append({"name": name, "steps": last["steps"], "val_loss": last["val_loss"],
                         "val_accuracy": last["val_accuracy"], "rungs": len(rungs)})
        return sorted(rows, key=lambda r: (-r["rungs"], _score(r, self.select)))

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
        for rank, row in enumerate(self.table(), 1):
            name, rungs = row["name"], self.history[row["name"]]
            ax.plot([r["steps"] for r in rungs], [r[key] for r in rungs], marker="o",
                    lw=3 if name == self.best_name else 1.5,
                    label="{}. {}".format(rank, name) + (" (best)" if name == self.best_name
                                                         else ""))
        ax.set_xticks(sorted({r["steps"] for runs in self.history.values() for r in runs}))
        ax.set_xlabel("steps trained in the rung")
        ax.set_ylabel("validation accuracy (%)" if by_accuracy else "validation loss")
        ax.set_title("schedule comparison, ranked by {}: {} steps, {:.1f} s".format(
            "accuracy" if by_accuracy else "loss", self.steps, self.seconds))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best")
        if path is not None:
            ax.figure.savefig(os.fspath(path), dpi=120, bbox_inches="tight")
        return ax

    def to_dict(self) -> Dict[str, Any]:
        return {"best": self.best_name, "best_schedule": repr(self.best),
                "total_steps": self.total_steps, "steps": self.steps, "seconds": self.seconds,
                "select": self.select, "history": self.history, "table": self.table()}

    def to_json(self, path: Optional[str] = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            with open(os.fspath(path), "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    def __repr__(self) -> str:
        return "ScheduleComparison(best={!r}, candidates={}, steps={}, seconds={:.1f})".format(
            self.best_name, len(self.history), self.steps, self.seconds)


def _score(row: Dict[str, Any], select: str) -> float:
    """Lower is better."""
    if select == "accuracy" and row["val_accuracy"] is not None:
        return -row["val_accuracy"] + 1e-9 * (row["val_loss"] if math.isfinite(
            row["val_loss"]) else 1e9)
    loss = row["val_loss"]
    return loss if math.isfinite(loss) else math.inf


def compare_schedules(learner, result, candidates: Sequence[str] = DEFAULT_CANDIDATES,
                      budget_steps: Optional[int] = None, val_data=None, rungs: int = 3,
                      seed: Optional[int] = None, total_steps: Optional[int] = None,
                      val_batches: Optional[int] = None,
                      select: str = "auto") -> ScheduleComparison:
    """Pick the preset that trains best, by successive halving.

    Every candidate is built from the range test (``result.schedule(name, b)``) for a budget of
    ``b = budget_steps`` steps, trained from the same starting weights on the same batches, and
    scored on ``val_data``; the better half goes on to the next rung with twice the budget,
    until one is left or ``rungs`` rungs have run. Between candidates and at the end, the net
    and trainer are restored exactly.

    Parameters
    ----------
    learner : Learner
    result : LRFinderResult
        A range test of this learner.
    candidates : sequence of str
        Preset names (see :data:`gluon_lr.schedules.SCHEDULES`).
    budget_steps : int, optional
        Steps of the first rung (default: half an epoch, at least 20).
    val_data : data
        Held-out data in any form ``Learner`` accepts (required).
    rungs : int, default 3
        The most rungs to run.
    seed : int, optional
        Seeds MXNet's generator before each training run (dropout), for a fair comparison.
    total_steps : int, optional
        The training length :attr:`ScheduleComparison.best` is built for (default: the
        longest rung's budget).
    val_batches : int, optional
        Cap on the validation batches evaluated (default: all of one pass).
    select : {"auto", "loss", "accuracy"}
        What ranks the candidates: validation loss, or accuracy (classification losses only);
        ``"auto"`` is accuracy for ``SoftmaxCrossEntropyLoss`` and loss otherwise.

    Raises
    ------
    ValueError
        Before anything trains: empty or unknown candidates, no ``val_data``, a budget too
        small, a result without a suggestion.
    """
    from .schedules import SCHEDULES
    from .schedules.composite import Offset
    if not isinstance(getattr(learner, "step", None), TrainingStep):
        raise TypeError("learner must be a gluon_lr.Learner, got {}".format(
            type(learner).__name__))
    candidates = list(candidates) if not isinstance(candidates, str) else [candidates]
    if not candidates:
        raise ValueError("candidates is empty: name at least one schedule")
    unknown = [c for c in candidates if c not in SCHEDULES]
    if unknown:
        raise ValueError("unknown schedule {!r}; choose from {}".format(unknown[0],
                                                                        sorted(SCHEDULES)))
    if len(set(candidates)) != len(candidates):
        raise ValueError("candidates lists a schedule twice: {}".format(candidates))
    if val_data is None:
        raise ValueError("val_data is required: schedules are compared on held-out data")
    if isinstance(rungs, bool) or not isinstance(rungs, int) or rungs < 1:
        raise ValueError("rungs must be an int >= 1, got {!r}".format(rungs))
    if result.lr is None:
        raise ValueError("the range test gave no suggestion to build schedules from: "
                         "{}".format(result.diagnosis))
    spe = learner.steps_per_epoch
    if budget_steps is None:
        budget_steps = max(20, (spe or 40) // 2)
    if isinstance(budget_steps, bool) or not isinstance(budget_steps, int):
        raise TypeError("budget_steps must be an int, got {!r}".format(budget_steps))
    if budget_steps < 2:
        raise ValueError("budget_steps={} is too small: every candidate needs at least 2 steps "
                         "in the first rung".format(budget_steps))
    for name in candidates:  # build each once now, so a bad override fails before training
        result.schedule(name, total_steps=budget_steps, steps_per_epoch=spe)
    rng = RandomState()  # before drawing val_data, which may shuffle
    try:
        val = _validation_set(learner, val_data, val_batches)
    except BaseException:
        rng.restore()
        raise
    classify = isinstance(learner.loss, mx.gluon.loss.SoftmaxCrossEntropyLoss)
    if select not in ("auto", "loss", "accuracy"):
        raise ValueError("select must be 'auto', 'loss' or 'accuracy', got {!r}".format(select))
    if select == "accuracy" and not classify:
        raise ValueError("select='accuracy' needs a SoftmaxCrossEntropyLoss; this learner's "
                         "loss is {}".format(type(learner.loss).__name__))
    if select == "auto":
        select = "accuracy" if classify else "loss"

    started = time.perf_counter()
    history: Dict[str, List[Dict[str, Any]]] = {name: [] for name in candidates}
    spent = 0
    batches = learner.batches()
    try:
        first = next(batches)
        learner.step.check(first)
        state = learner.snapshot()
        try:
            alive, budget = list(candidates), budget_steps
            for rung in range(rungs):
                for name in alive:
                    rng.restore()  # the same batches for every candidate and rung
                    if seed is not None:
                        mx.random.seed(seed)
                    stream = learner.batches()
                    try:
                        sched = result.schedule(name, total_steps=budget, steps_per_epoch=spe)
                        opt = learner.trainer.optimizer
                        opt.lr_scheduler = Offset(sched, int(opt.num_update))
                        for _ in range(budget):
                            learner.step.train(next(stream))
                        loss, acc = _evaluate(learner, val, classify)
                    finally:
                        stream.close()
                        state.restore()
                    spent += budget
                    history[name].append({"rung": rung, "steps": budget, "val_loss": loss,
                                          "val_accuracy": acc})
                if len(alive) == 1:
                    break
                ranked = sorted(alive, key=lambda n: _score(history[n][-1], select))
                if rung < rungs - 1:
                    alive = ranked[:max(1, math.ceil(len(alive) / 2))]
                    if len(alive) == 1:
                        break
                    budget *= 2
                else:
                    alive = ranked
        finally:
            state.discard()
    finally:
        batches.close()
        rng.restore()
    best_name = sorted(alive, key=lambda n: _score(history[n][-1], select))[0]
    total = total_steps or max(r["steps"] for runs in history.values() for r in runs)
    best = result.schedule(best_name, total_steps=total, steps_per_epoch=spe)
    return ScheduleComparison(history, best_name, best, total, spent,
                              time.perf_counter() - started, select)


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
    return (loss if math.isfinite(loss) else math.inf), (100.0 * correct / n if classify
                                                         else None)
