"""The range-test loop: raise the learning rate step by step and record the loss."""
from __future__ import annotations

import logging
import math
import numbers
import sys
import time
import warnings
from typing import Callable, List, Optional

import numpy as np

from ._mx import mx
from .health import check_due, non_finite_parameters, nonfinite_guard, probe_chance
from .result import LRFinderResult
from .state import WHERE, RandomState, reset_optimizer_state, resume_meta
from .step import TrainingStep
from .stopping import NUM_ITER, LRFinderStoppingCriteria
from .suggest import check_rule_name, significance, wants_higher_rates

logger = logging.getLogger(__name__)

STEP_MODES = ("exp", "linear")
# A range test takes tens to a few thousand steps; far beyond that is a typo, refused before
# the sweep's arrays are allocated.
MAX_NUM_ITER = 1_000_000
# Decades a run may go past end_lr when the loss is still falling there (LRFinder.run).
EXTEND = 3.0
# MXNet hands learning rates to its kernels as float32: outside the normal float32 range a rate
# becomes 0 or inf inside the first step.
LR_RANGE = (1.2e-38, 3.4e38)
NO_SUGGESTION = "no learning rate could be suggested"
# Sweeps per range test in one process: the median of three moves about half as much between
# batch orders as one sweep (benchmarks/suggestion_quality.py, row "auto x3").
DEFAULT_REPEATS = 3
# When the median run's curve is ``noisy`` and the loss is a regression loss (no chance level),
# answer on the mean of the sweeps' curves instead (:func:`pooled_run`). Adopted in round 6 on
# the blind FRESH4 group of benchmarks/suggestion_quality.py (False: the median run only).
POOL_NOISY = True
POOLED_LOSSES = (mx.gluon.loss.L2Loss, mx.gluon.loss.L1Loss, mx.gluon.loss.HuberLoss)
# find_lr(optimizer_state=...): a resumed trainer's sweeps start from fresh optimizer state, or
# keep the state it carries.
OPTIMIZER_STATES = ("fresh", "keep")


def check_optimizer_state(value) -> str:
    """``value`` if it is one of :data:`OPTIMIZER_STATES`, else a ValueError naming it."""
    if not isinstance(value, str) or value not in OPTIMIZER_STATES:
        raise ValueError("optimizer_state must be one of {}, got {!r}".format(
            OPTIMIZER_STATES, value))
    return value


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("{} must be finite, got {!r}".format(name, value))
    return value


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError("{} must be an int, got {!r}".format(name, value))
    if value < minimum:
        raise ValueError("{} must be >= {}, got {!r}".format(name, minimum, value))
    return int(value)


def _decades(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a number of decades, got {!r}".format(name, value))
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite or value < 0:
        raise ValueError("{} must be a finite number of decades >= 0, got {!r}".format(
            name, value))
    return float(value)


def lr_sweep(start_lr: float, end_lr: float, num_iter: int, step_mode: str = "exp") -> np.ndarray:
    """The learning rates of a range test, from ``start_lr`` to ``end_lr`` inclusive.

    Examples
    --------
    >>> lr_sweep(1e-3, 1e-1, 3).round(6).tolist()
    [0.001, 0.01, 0.1]
    >>> lr_sweep(1.0, 3.0, 3, "linear").tolist()
    [1.0, 2.0, 3.0]
    """
    start_lr = _number("start_lr", start_lr)
    end_lr = _number("end_lr", end_lr)
    if start_lr <= 0:
        raise ValueError("start_lr must be > 0, got {!r}".format(start_lr))
    if end_lr <= start_lr:
        raise ValueError("end_lr must be greater than start_lr={!r}, got {!r}".format(
            start_lr, end_lr))
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if not LR_RANGE[0] <= value <= LR_RANGE[1]:
            raise ValueError("{} must be in [{:.2g}, {:.2g}] (MXNet computes in float32), got "
                             "{!r}".format(name, LR_RANGE[0], LR_RANGE[1], value))
    num_iter = _positive_int("num_iter", num_iter, minimum=2)
    if num_iter > MAX_NUM_ITER:
        raise ValueError("num_iter must be <= {}, got {!r}".format(MAX_NUM_ITER, num_iter))
    if step_mode not in STEP_MODES:
        raise ValueError("step_mode must be one of {}, got {!r}".format(STEP_MODES, step_mode))
    t = np.arange(num_iter, dtype=np.float64) / (num_iter - 1)
    if step_mode == "exp":  # finite: the ratio of two float32-range rates fits a float64
        return start_lr * (end_lr / start_lr) ** t
    return start_lr + (end_lr - start_lr) * t


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``tqdm.auto`` draws a widget)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _want_progress(progress: Optional[bool]) -> bool:
    """None: a bar in a terminal or a Jupyter notebook, none in logs, pipes and CI."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)()) or in_notebook()
    if not isinstance(progress, bool):
        raise TypeError("progress must be True, False or None, got {!r}".format(progress))
    return progress


class Sweep:
    """The bookkeeping of one range test, whoever drives the training steps.

    It validates the settings, gives the learning rate of each iteration, records losses one
    step late (so the engine is never drained), asks the stopping rule, and builds the result.
    :class:`LRFinder` and :class:`gluon_lr.estimator.LRFinderHandler` both drive one.
    """

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
                 step_mode: str = "exp", smoothing: float = 0.98,
                 stopping: Optional[Callable[[int, float], bool]] = None,
                 suggest: str = "auto", progress: Optional[bool] = None):
        self.lrs = lr_sweep(start_lr, end_lr, num_iter, step_mode)
        if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real) \
                or not 0.0 <= smoothing < 1.0:
            raise ValueError("smoothing must be a number in [0, 1), got {!r}".format(smoothing))
        smoothing = float(smoothing)  # numpy scalars too
        check_rule_name(suggest)
        if stopping is None:
            stopping = LRFinderStoppingCriteria(smoothing=smoothing)
        elif not callable(stopping):
            raise TypeError("stopping must be callable as stopping(iteration, loss), got "
                            "{!r}".format(stopping))
        self.stopping = stopping
        self.show_progress = _want_progress(progress)
        self.settings = dict(start_lr=float(self.lrs[0]), end_lr=float(self.lrs[-1]),
                             num_iter=int(num_iter), step_mode=step_mode)
        self.smoothing, self.suggest = float(smoothing), suggest
        self.num_iter = int(num_iter)
        self.reset()

    def reset(self) -> None:
        if hasattr(self.stopping, "reset"):
            self.stopping.reset()
        self.recorded_lrs: List[float] = []
        self.losses: List[float] = []
        if getattr(self, "extended", 0):  # a repeat starts from the requested sweep
            self.lrs = self.lrs[:self.lrs.size - self.extended]
            self.num_iter -= self.extended
        self.extended = 0
        self.reason = NUM_ITER
        self.done = False
        self._pending = None
        self._bar = None
        self._desc = "find_lr"
        self._started = time.perf_counter()

    def start(self, desc: str = "find_lr") -> None:
        self._started = time.perf_counter()
        self._desc = desc
        if self.show_progress:
            from tqdm.auto import tqdm
            self._bar = tqdm(total=self.num_iter, desc=desc, unit="it", leave=True,
                             dynamic_ncols=True)

    def lr(self, i: int) -> float:
        return float(self.lrs[i])

    def extension_steps(self, decades: float) -> int:
        """Steps that carry an exponential sweep ``decades`` further at its own pace (at most
        ``num_iter`` more); 0 for a linear sweep, which is never extended."""
        if decades <= 0 or self.settings["step_mode"] != "exp" or self.lrs.size < 2:
            return 0
        per_step = math.log10(self.lrs[-1] / self.lrs[-2])
        if not per_step > 0:  # rates too close to tell apart in float64
            return 0
        room = math.log10(LR_RANGE[1] / self.lrs[-1])  # decades left below float32's largest
        if decades >= room:
            steps = math.floor(room / per_step - 1e-9)
        else:
            steps = math.ceil(decades / per_step - 1e-9)
        return int(max(0, min(self.num_iter, steps)))

    def extend(self, steps: int) -> None:
        """Carry the sweep on for ``steps`` more rates at the same ratio per step, after a run
        that spent its budget (:meth:`LRFinder.run`'s ``extend``)."""
        ratio = self.lrs[-1] / self.lrs[-2]
        more = self.lrs[-1] * ratio ** np.arange(1, steps + 1)
        self.lrs = np.concatenate([self.lrs, more])
        self.num_iter += steps
        self.extended += steps
        self.done = False
        if self._bar is not None:
            self._bar.total = self.num_iter
            self._bar.refresh()

    def record(self, i: int, loss) -> bool:
        """Queue the (unsynchronised) loss of iteration ``i``; read the previous one.

        Returns True when the run must stop; the last iteration also flushes itself.
        """
        if self.done:
            return True
        pending, self._pending = self._pending, (i, loss)
        if pending is not None and self._read(*pending):
            self._pending = None
            self.done = True
            return True
        if i == self.num_iter - 1:
            self.flush()
        return self.done

    def flush(self) -> None:
        """Read the loss still waiting, if any (at the end of the run)."""
        if self._pending is not None and not self.done:
            pending, self._pending = self._pending, None
            self._read(*pending)
        self.done = True

    def observe(self, i: int, value: float) -> bool:
        """Record the (already synchronised) loss of iteration ``i`` now; True to stop."""
        return self._read(i, value)

    def _read(self, i: int, loss) -> bool:
        value = float(loss.asscalar()) if hasattr(loss, "asscalar") else float(loss)
        lr = self.lr(i)
        self.recorded_lrs.append(lr)
        self.losses.append(value)
        stop = bool(self.stopping(i, value))
        if stop:
            self.reason = getattr(self.stopping, "reason", None) or "stopped"
        if self._bar is not None:
            smoothed = getattr(self.stopping, "smoothed", None)
            self._bar.set_postfix(lr="{:.2e}".format(lr), loss="{:.4f}".format(
                smoothed if smoothed is not None else value), refresh=False)
            self._bar.update(1)
        return stop

    def close(self) -> None:
        """End the bar where the run ended, saying why when it stopped early."""
        if self._bar is not None:
            if self.reason != NUM_ITER or len(self.losses) < self.num_iter:
                self._bar.set_description("{} stopped: {}".format(self._desc, self.reason),
                                          refresh=False)
            self._bar.refresh()
            self._bar.close()
            self._bar = None

    def result(self, **meta) -> LRFinderResult:
        elapsed = time.perf_counter() - self._started
        if self.losses and not math.isfinite(self.losses[0]):
            warnings.warn("the loss was not finite on the first step of the range test (at "
                          "lr={:.3g}); check the data, the loss and start_lr. The net and "
                          "trainer were restored.".format(self.recorded_lrs[0]), RuntimeWarning,
                          stacklevel=3)
        logger.info("range test: %d iterations in %.2fs, stopped by %s", len(self.losses),
                    elapsed, self.reason)
        meta = dict(self.settings, seconds=elapsed, **meta)
        if self.extended:
            meta.update(extended_steps=self.extended, extended_to=float(self.lrs[-1]))
        return LRFinderResult(self.recorded_lrs, self.losses, stop_reason=self.reason,
                              smoothing=self.smoothing, suggest=self.suggest, **meta)


def median_run(results: List[LRFinderResult]) -> LRFinderResult:
    """The run of several range tests (same start, different batch orders) to report.

    A run that saw non-finite parameters or losses wins outright; otherwise the run whose
    suggestion is the median (the lower one of the middle two for an even count), unless more
    than half gave none (then the first of those). The returned run carries every run's
    suggestion in ``meta["repeat_lrs"]`` (None where a run gave none), their spread in decades
    in ``meta["repeat_spread"]`` and the time of all runs in ``meta["seconds"]``.
    """
    if not results:
        raise ValueError("median_run needs at least one result")
    lrs = [r.lr for r in results]
    broken = [r for r in results if r.lr is None and r.diagnosis_code == "non_finite"]
    answered = sorted((r for r in results if r.lr is not None), key=lambda r: r.lr)
    if broken:
        chosen = broken[0]
    elif 2 * len(answered) < len(results):
        chosen = next(r for r in results if r.lr is None)
    else:
        chosen = answered[(len(answered) - 1) // 2]
    values = [v for v in lrs if v is not None]
    chosen.meta.update(
        repeat_lrs=lrs, seconds=sum(r.meta.get("seconds", 0.0) for r in results),
        repeat_spread=math.log10(max(values) / min(values)) if len(values) == len(lrs)
        else None)
    chosen._note_spread()  # confidence "low" when the runs disagree (result.UNSTABLE_SPREAD)
    return chosen


def _pool(results: List[LRFinderResult], chosen: LRFinderResult) -> bool:
    """Whether a regression loss's answer is read on the mean of the runs' curves: when the
    median run is ``noisy``. Answering on it whatever the median run's code was tested blind
    in round 10 and rejected (benchmarks/suggestion_quality.py, FRESH8)."""
    return chosen.diagnosis_code == "noisy"


def pooled_run(results: List[LRFinderResult], chosen: LRFinderResult) -> LRFinderResult:
    """One result whose curve is the mean of the runs' curves, point by point.

    The runs swept the same rates (same start, end and steps) from the same state on different
    batches; averaging ``k`` of them divides the batch-to-batch noise by about ``sqrt(k)``.

    Parameters
    ----------
    results : list of LRFinderResult
        The runs, as :meth:`LRFinder.run` made them with ``repeats > 1``.
    chosen : LRFinderResult
        The run :func:`median_run` picked, one of ``results``; the pooled result keeps its
        ``meta``.

    Returns
    -------
    LRFinderResult
        The mean curve, over the rates of the longest run, with ``meta["pooled"]`` = the number
        of runs. A run that stopped early because its loss diverged counts at its last finite
        loss for the rates it did not reach (so the mean curve's blow-up starts with the first
        run's); past a run that ended at ``num_iter`` (another run went on, see ``extend``) the
        mean is over the runs that got there, and ``meta["extended_steps"]`` /
        ``meta["extended_to"]`` are the longest run's. ``chosen`` itself, unchanged, when a run
        has no finite loss or the runs' rates disagree.

    Raises
    ------
    ValueError
        For an empty ``results`` or a ``chosen`` that is not one of them.
    """
    if not results:
        raise ValueError("pooled_run needs at least one result")
    if not any(r is chosen for r in results):
        raise ValueError("chosen must be one of results")
    longest = max(results, key=lambda r: len(r.lrs))
    n = len(longest.lrs)
    rows = []
    for r in results:
        m = len(r.lrs)
        y = np.asarray(r.losses, dtype=np.float64)
        finite = np.isfinite(y)
        if not finite.any() or not np.allclose(r.lrs, longest.lrs[:m], rtol=1e-9, atol=0.0):
            return chosen
        tail = y[finite][-1] if r.stop_reason != NUM_ITER else np.nan
        rows.append(np.concatenate([np.where(finite, y, np.nan), np.full(n - m, tail)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a point no run reached finitely
        mean = np.nanmean(np.array(rows), axis=0)
    meta = {k: v for k, v in chosen.meta.items() if k not in ("extended_steps", "extended_to")}
    meta.update({k: longest.meta[k] for k in ("extended_steps", "extended_to")
                 if k in longest.meta}, pooled=len(results))
    with warnings.catch_warnings():  # its caller says what the user needs to hear
        warnings.simplefilter("ignore")
        return LRFinderResult(longest.lrs, mean, stop_reason=longest.stop_reason,
                              smoothing=chosen.smoothing, suggest=chosen.rule, **meta)


def _check_optimizer(optimizer) -> None:
    """A ValueError for an optimizer that ignores its learning rate; a warning for an LR-free
    one (its rate is a multiplier a range test can sweep, but there is nothing to find)."""
    from .validate import lr_ignored_message
    if lr_ignored_message(optimizer):
        raise ValueError(lr_ignored_message(optimizer))
    if type(optimizer).__module__ == __package__ + ".optimizers":  # imported already
        from .optimizers import lr_free_message
        if lr_free_message(optimizer):
            warnings.warn(lr_free_message(optimizer), RuntimeWarning, stacklevel=4)


def check_before_sweep(trainer, params) -> None:
    """What ``find_lr`` and ``LRFinderHandler`` check before a sweep touches anything: an
    optimizer MXNet cannot step (:func:`~gluon_lr.validate.check_optimizer_can_train`), one
    that ignores its rate or sets its own (:func:`_check_optimizer`), parameters that are
    already NaN or inf (:func:`check_finite_parameters`)."""
    from .validate import check_optimizer_can_train
    check_optimizer_can_train(trainer.optimizer, trainer._params)
    _check_optimizer(trainer.optimizer)
    check_finite_parameters(params)


def check_finite_parameters(params, before: str = "the range test") -> None:
    """A ValueError naming the parameters that hold NaN or inf ``before`` anything trains (one
    synchronisation): a run would only report them as turning non-finite at its start."""
    bad = non_finite_parameters(params)
    if bad:
        raise ValueError("the net's parameters hold NaN or inf before {}: {}{}; "
                         "they came from earlier training or loading (for example a rate "
                         "that diverged): load a good checkpoint or re-initialise".format(
                             before, ", ".join(bad[:3]), " and {} more".format(len(bad) - 3)
                             if len(bad) > 3 else ""))


def _from_learner(learner, start_lr, num_iter, accumulate: int):
    """``start_lr=None``: the optimizer's current rate; ``num_iter=None``: one pass."""
    if start_lr is None:
        start_lr = learner.trainer.learning_rate
        if not (isinstance(start_lr, numbers.Real) and start_lr > 0):
            raise ValueError("start_lr=None takes the trainer's current learning rate, which "
                             "is {!r}{}: give start_lr".format(
                                 start_lr, " (its lr_scheduler's value at step {}, a warm-up?)"
                                 .format(learner.trainer.optimizer.num_update)
                                 if learner.trainer.optimizer.lr_scheduler is not None else ""))
    if num_iter is None:
        spe = learner.steps_per_epoch
        if spe is None:
            raise ValueError("num_iter=None means one pass over the data, but this data does "
                             "not tell its length; give num_iter")
        num_iter = spe // accumulate
        if num_iter < 2:
            raise ValueError("num_iter=None: one pass over the data is only {} step(s) of {} "
                             "batch(es); give num_iter >= 2".format(num_iter, accumulate))
    return start_lr, num_iter


class LRFinder:
    """Runs learning-rate range tests on a :class:`~gluon_lr.Learner`.

    Each :meth:`run` snapshots the net and trainer, trains ``num_iter`` steps at rising learning
    rates while recording the loss, and restores both in a ``finally`` block, so the learner is
    left exactly as it was whether the run ends normally, diverges, raises or is interrupted.
    The loss of a step is read only after the next step has been queued, so MXNet's
    asynchronous engine is never drained on the hot path.

    Parameters
    ----------
    learner : Learner
    """

    def __init__(self, learner):
        if not isinstance(getattr(learner, "step", None), TrainingStep):
            raise TypeError("learner must be a gluon_lr.Learner, got {}".format(
                type(learner).__name__))
        self.learner = learner

    def run(self, start_lr: Optional[float] = 1e-7, end_lr: float = 10.0,
            num_iter: Optional[int] = 100,
            step_mode: str = "exp", smoothing: float = 0.98,
            stopping: Optional[Callable[[int, float], bool]] = None, suggest: str = "auto",
            progress: Optional[bool] = None, val_data=None, val_batches: int = 4,
            accumulate: int = 1, snapshot: str = "cpu",
            repeats: Optional[int] = None, extend: float = EXTEND,
            optimizer_state: str = "fresh") -> LRFinderResult:
        """Run one range test.

        Parameters
        ----------
        start_lr, end_lr : float
            First and last learning rate (``0 < start_lr < end_lr``). ``start_lr=None``
            starts from the optimizer's current rate (``trainer.learning_rate``).
        num_iter : int or None, default 100
            Number of steps (``extend`` may add up to as many again). ``None``: one pass over
            the data (``steps_per_epoch // accumulate`` steps; the data's length must be known).
        step_mode : {"exp", "linear"}
            Exponential (log-spaced) or linear increase of the learning rate.
        smoothing : float, default 0.98
            Weight of the exponential moving average used for the smoothed curve and, when
            ``stopping`` is None, for the stopping rule.
        stopping : callable, optional
            ``stopping(iteration, loss) -> bool``; default
            ``LRFinderStoppingCriteria(smoothing=smoothing)``. Its ``reset()``, if it has one,
            is called before each sweep (a callable without one carries its state over).
        suggest : str, default "auto"
            The suggestion rule behind ``result.lr`` (see :mod:`gluon_lr.suggest`).
        progress : bool, optional
            Show a ``tqdm.auto`` bar (a widget in Jupyter); default: when stderr is a terminal
            or in a Jupyter notebook, never in logs and pipes. When the run stops early the bar
            ends where it stopped and says why.
        val_data : data, optional
            Held-out data in any form ``Learner`` accepts. When given, the loss recorded for
            each step is the mean loss on ``val_batches`` of its batches (forward only), not
            the training batch's loss: slower, smoother (Smith's original proposal).
        val_batches : int, default 4
            How many held-out batches to evaluate after each step.
        accumulate : int, default 1
            Batches whose gradients are accumulated (``grad_req="add"``) into each optimizer
            step, to test the effective batch size of a training that accumulates.
        snapshot : {"cpu", "device"}, default "cpu"
            Where the copies that restore the net and trainer are kept: host memory, or each
            parameter's own device (faster on a GPU with memory to spare). They take about
            ``2 + k`` times the parameters' size per device (weights, gradients and ``k``
            optimizer states per weight: 1 for momentum SGD, 2 for Adam); nothing is written
            to disk.
        repeats : int, optional
            Run the sweep this many times, each from the same restored state on the next
            batches of the data (a different batch order), and return the run whose suggestion
            is the median (the lower one for an even count). Default: 3 in one process (the
            answer moves about half as much between batch orders as with 1, for three times
            the steps; see README, "How the suggestion is made"), 1 on distributed workers
            (where every step already averages all workers' batches; more is refused there).
            Every run's suggestion is in ``result.meta["repeat_lrs"]``. A run whose
            parameters or loss turned non-finite wins outright (NaN in some batches must not
            be outvoted); when more than half the runs give no suggestion, the first of those
            is returned. When the median run's curve is ``noisy`` (no measurable fall before
            it blew up) and the loss is a regression loss (:data:`POOLED_LOSSES`: L2, L1,
            Huber), the result is instead the mean of the runs' curves (:func:`pooled_run`,
            ``meta["pooled"]``), whose noise is about ``1/sqrt(repeats)`` of one sweep's,
            unless that mean gives no answer or the runs saw the same batches.
        extend : float, default 3
            When the budget is spent and the loss is still falling at ``end_lr`` (or hardly
            moved over the whole range), carry the sweep on from where it is, at the same pace,
            for up to this many more decades of learning rate (at most ``num_iter`` more steps),
            until the stopping rule ends it; ``0`` never extends. Exponential sweeps only, and
            not on distributed workers. An extended run records ``meta["extended_steps"]`` and
            ``meta["extended_to"]``.
        optimizer_state : {"fresh", "keep"}, default "fresh"
            For a trainer that has already taken steps (a run resumed mid-training): start
            each sweep with the optimizer state of a new trainer (momentum and Adam's moments
            empty, step counts restarted) from the current weights, or keep the state it
            carries (what fast.ai and torch-lr-finder do). Carried momentum keeps moving the
            weights at the old rate while the sweep's rates are still tiny, which bends the
            start of the curve (see README, "Re-running the finder mid-training"). Either way
            the trainer's own state is restored afterwards. Not on distributed workers, nor
            for gluon_lr's LR-free optimizers and LBSGD (whose state is kept);
            ``meta["state_reset"]`` says whether it happened.

        Returns
        -------
        LRFinderResult
        """
        accumulate = _positive_int("accumulate", accumulate)
        extend = _decades("extend", extend)
        check_optimizer_state(optimizer_state)
        if repeats is not None:
            repeats = _positive_int("repeats", repeats)
        learner = self.learner
        check_before_sweep(learner.trainer, learner.params)
        start_lr, num_iter = _from_learner(learner, start_lr, num_iter, accumulate)
        sweep = Sweep(start_lr, end_lr, num_iter, step_mode, smoothing, stopping, suggest,
                      progress)
        if val_data is not None:
            val_batches = _positive_int("val_batches", val_batches)
        if snapshot not in WHERE:
            raise ValueError("snapshot must be one of {}, got {!r}".format(WHERE, snapshot))
        rng = RandomState()
        batches = state = val = None
        try:
            if val_data is not None:  # drawing it may shuffle: inside the try, for the RNG
                val = learner.validation_batches(val_data, val_batches)
            batches = learner.batches()
            sync = learner.coordinator()
        except BaseException:
            if batches is not None:
                batches.close()
            rng.restore()
            raise
        if sync is not None:  # distributed workers: in step, and failing together
            if repeats is not None and repeats > 1:
                batches.close()
                rng.restore()
                raise ValueError("repeats={} is not available on distributed workers; run "
                                 "with repeats=1".format(repeats))
            return self._run_dist(sync, sweep, batches, accumulate, val, val_batches, rng)
        from .runinfo import describe
        repeats = DEFAULT_REPEATS if repeats is None else repeats
        results: List[LRFinderResult] = []
        said: List[list] = []
        try:
            first = next(batches)
            learner.step.check(first)
            learner.check_labels(first)
            chance = probe_chance(learner, first)
            resume = resume_meta(learner.trainer)
            state = learner.snapshot(snapshot)
            for r in range(repeats):
                if r:
                    state.restore()
                    sweep.reset()
                learner.prepare_sweep(accumulate)
                reset = (optimizer_state == "fresh" and resume["resumed"]
                         and reset_optimizer_state(learner.trainer))
                try:
                    sweep.start("find_lr {}/{}".format(r + 1, repeats) if repeats > 1
                                else "find_lr")
                    self._sweep(sweep, batches, first if r == 0 else next(batches), accumulate,
                                val)
                    self._extend(sweep, batches, accumulate, val, extend,
                                 significance(bool(resume["resumed"])))
                finally:
                    sweep.close()
                # with several runs, only the returned run's warnings are shown (below)
                with warnings.catch_warnings(record=repeats > 1) as caught:
                    if repeats > 1:
                        warnings.simplefilter("always")
                    results.append(sweep.result(
                        steps_per_epoch=learner.steps_per_epoch, accumulate=accumulate,
                        chance_loss=chance, state_reset=bool(reset), **resume,
                        val_batches=val_batches if val is not None else None,
                        **describe(learner.net, learner.trainer,
                                   learner.step.batch_size(first))))
                said.append(caught or [])
        finally:
            if batches is not None:
                batches.close()
            if state is not None:
                state.restore()
                state.discard()
            rng.restore()
        if repeats == 1:
            return results[0]
        chosen = median_run(results)
        told = said[next(k for k, r in enumerate(results) if r is chosen)]
        same = any(np.array_equal(a.losses, b.losses) for k, a in enumerate(results)
                   for b in results[k + 1:])
        if (POOL_NOISY and not same and isinstance(learner.loss, POOLED_LOSSES)
                and _pool(results, chosen)):
            pooled = pooled_run(results, chosen)
            if pooled.lr is not None:  # never worse off than the median run's answer
                chosen = pooled
        for w in told:
            if str(w.message).startswith(NO_SUGGESTION):  # said once below, with the count
                continue
            warnings.warn(w.message, w.category, stacklevel=3)
        if chosen.lr is None:
            warnings.warn("{}: {} ({} of {} runs gave none)".format(
                NO_SUGGESTION, chosen.diagnosis, sum(r.lr is None for r in results), repeats),
                RuntimeWarning, stacklevel=3)
        if same:
            chosen.meta["repeat_spread"] = None
            warnings.warn("find_lr's {} sweeps saw the same batches in the same order (data that "
                          "is not shuffled, and sweeps of whole passes over it): the repeats "
                          "added nothing. Shuffle the data, or pass repeats=1".format(repeats),
                          RuntimeWarning, stacklevel=3)
        return chosen

    def _sweep(self, sweep, batches, first, accumulate: int, val, start: int = 0) -> None:
        """Iterations ``start..num_iter-1`` of rising rates, the first one on the batch
        ``first`` (None: the next batch)."""
        learner = self.learner
        num_iter = sweep.num_iter
        for i in range(start, num_iter):
            group = [first if (i == start and k == 0 and first is not None) else next(batches)
                     for k in range(accumulate)]
            learner.set_learning_rate(sweep.lr(i))
            loss = learner.step.train_group(group)
            if val is not None:
                loss = learner.step.evaluate(val)
            if check_due(i, num_iter):
                loss = nonfinite_guard(loss, learner.params)  # NaN weights, finite loss
            if sweep.record(i, loss):
                break
        sweep.flush()

    def _extend(self, sweep, batches, accumulate: int, val, decades: float,
                significant: float) -> None:
        """Carry a run that spent its budget on past ``end_lr`` when the curve asks for it."""
        steps = sweep.extension_steps(decades)
        if not steps or sweep.reason != NUM_ITER or not wants_higher_rates(
                sweep.recorded_lrs, sweep.losses, significant):
            return
        start, end_lr = sweep.num_iter, sweep.lr(sweep.num_iter - 1)
        sweep.extend(steps)
        logger.info("the loss was still falling (or flat) at end_lr=%.3g: the sweep goes on "
                    "for up to %d more steps, to %.3g", end_lr, steps,
                    sweep.lr(sweep.num_iter - 1))
        self._sweep(sweep, batches, None, accumulate, val, start=start)

    def _run_dist(self, sync, sweep, batches, accumulate, val, val_batches, rng):
        from .dist import run_sweep
        from .runinfo import describe
        learner = self.learner
        try:
            first = run_sweep(learner, sync, sweep, batches, accumulate, val)
        finally:
            sweep.close()
            batches.close()
            rng.restore()
        # a forward pass of the restored net on a few local samples: no collective call, and
        # the same number of outputs (so the same chance level) on every worker
        chance = probe_chance(learner, first)
        # (restored by run_sweep: resume_meta reads the state from before the sweep)
        return sweep.result(steps_per_epoch=sync.agreed_steps, accumulate=accumulate,
                            chance_loss=chance, state_reset=False, **resume_meta(learner.trainer),
                            val_batches=val_batches if val is not None else None,
                            num_workers=sync.size,
                            **describe(learner.net, learner.trainer,
                                     learner.step.batch_size(first)))


__all__ = ["LRFinder", "Sweep", "lr_sweep", "median_run", "pooled_run", "STEP_MODES",
           "DEFAULT_REPEATS", "mx"]
