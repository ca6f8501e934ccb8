"""The range-test loop: raise the learning rate step by step and record the loss."""
from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from typing import Callable, List, Optional

import numpy as np

from ._mx import mx
from .result import LRFinderResult
from .state import RandomState
from .stopping import NUM_ITER, LRFinderStoppingCriteria
from .suggest import check_rule_name

logger = logging.getLogger(__name__)

STEP_MODES = ("exp", "linear")


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("{} must be finite, got {!r}".format(name, value))
    return value


def lr_sweep(start_lr: float, end_lr: float, num_iter: int, step_mode: str = "exp") -> np.ndarray:
    """The learning rates of a range test, from ``start_lr`` to ``end_lr`` inclusive.

    Examples
    --------
    >>> lr_sweep(1e-3, 1e-1, 3).round(6).tolist()
    [0.001, 0.01, 0.1]
    >>> lr_sweep(0.0 + 1, 3, 3, "linear").tolist()
    [1.0, 2.0, 3.0]
    """
    start_lr = _number("start_lr", start_lr)
    end_lr = _number("end_lr", end_lr)
    if start_lr <= 0:
        raise ValueError("start_lr must be > 0, got {!r}".format(start_lr))
    if end_lr <= start_lr:
        raise ValueError("end_lr must be greater than start_lr={!r}, got {!r}".format(
            start_lr, end_lr))
    if isinstance(num_iter, bool) or not isinstance(num_iter, (int, np.integer)):
        raise TypeError("num_iter must be an int, got {!r}".format(num_iter))
    if num_iter < 2:
        raise ValueError("num_iter must be >= 2, got {!r}".format(num_iter))
    if step_mode not in STEP_MODES:
        raise ValueError("step_mode must be one of {}, got {!r}".format(STEP_MODES, step_mode))
    t = np.arange(num_iter, dtype=np.float64) / (num_iter - 1)
    if step_mode == "exp":
        return start_lr * (end_lr / start_lr) ** t
    return start_lr + (end_lr - start_lr) * t


def _want_progress(progress: Optional[bool]) -> bool:
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not isinstance(progress, bool):
        raise TypeError("progress must be True, False or None, got {!r}".format(progress))
    return progress


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
        from .learner import Learner
        if not isinstance(learner, Learner):
            raise TypeError("learner must be a gluon_lr.Learner, got {}".format(
                type(learner).__name__))
        self.learner = learner

    def run(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
            step_mode: str = "exp", smoothing: float = 0.98,
            stopping: Optional[Callable[[int, float], bool]] = None, suggest: str = "auto",
            progress: Optional[bool] = None) -> LRFinderResult:
        """Run one range test.

        Parameters
        ----------
        start_lr, end_lr : float
            First and last learning rate (``0 < start_lr < end_lr``).
        num_iter : int, default 100
            Number of steps; always a hard cap on the run.
        step_mode : {"exp", "linear"}
            Exponential (log-spaced) or linear increase of the learning rate.
        smoothing : float, default 0.98
            Weight of the exponential moving average used for the smoothed curve and, when
            ``stopping`` is None, for the stopping rule.
        stopping : callable, optional
            ``stopping(iteration, loss) -> bool``; default
            ``LRFinderStoppingCriteria(smoothing=smoothing)``. Its ``reset()`` is called first.
        suggest : str, default "auto"
            The suggestion rule behind ``result.lr`` (see :mod:`gluon_lr.suggest`).
        progress : bool, optional
            Show a tqdm bar; default: only when stderr is a terminal.

        Returns
        -------
        LRFinderResult
        """
        lrs = lr_sweep(start_lr, end_lr, num_iter, step_mode)
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) \
                or not 0.0 <= smoothing < 1.0:
            raise ValueError("smoothing must be a number in [0, 1), got {!r}".format(smoothing))
        check_rule_name(suggest)
        if stopping is None:
            stopping = LRFinderStoppingCriteria(smoothing=smoothing)
        elif not callable(stopping):
            raise TypeError("stopping must be callable as stopping(iteration, loss), got "
                            "{!r}".format(stopping))
        if hasattr(stopping, "reset"):
            stopping.reset()
        show = _want_progress(progress)

        learner = self.learner
        rng = RandomState()
        batches = learner.batches()
        state = None
        recorded_lrs: List[float] = []
        losses: List[float] = []
        reason = NUM_ITER
        started = time.perf_counter()
        bar = None
        try:
            first = next(batches)
            learner.check_batch(*first)
            state = learner.snapshot()
            optimizer = learner.trainer.optimizer
            optimizer.lr_scheduler = None  # the sweep owns the learning rate during the run
            bar = _progress_bar(num_iter, show)
            pending = None
            for i in range(num_iter):
                batch = first if i == 0 else next(batches)
                learner.trainer.set_learning_rate(float(lrs[i]))
                loss = learner.train_step(*batch)
                if pending is not None and self._record(pending, stopping, recorded_lrs, losses,
                                                        bar):
                    pending = None
                    reason = getattr(stopping, "reason", None) or "stopped"
                    break
                pending = (i, float(lrs[i]), loss)
            if pending is not None and self._record(pending, stopping, recorded_lrs, losses, bar):
                reason = getattr(stopping, "reason", None) or "stopped"
        finally:
            if bar is not None:
                bar.refresh()
                bar.close()
            batches.close()
            if state is not None:
                state.restore()
                state.discard()
            rng.restore()
        elapsed = time.perf_counter() - started
        if losses and not math.isfinite(losses[0]):
            warnings.warn("the loss was not finite on the first step of the range test (at "
                          "lr={:.3g}); check the data, the loss and start_lr. The net and trainer "
                          "were restored.".format(recorded_lrs[0]), RuntimeWarning, stacklevel=3)
        logger.info("range test: %d iterations in %.2fs, stopped by %s", len(losses), elapsed,
                    reason)
        return LRFinderResult(recorded_lrs, losses, stop_reason=reason, smoothing=smoothing,
                              suggest=suggest, step_mode=step_mode, start_lr=float(lrs[0]),
                              end_lr=float(lrs[-1]), num_iter=num_iter, seconds=elapsed,
                              steps_per_epoch=learner.steps_per_epoch)

    @staticmethod
    def _record(pending, stopping, lrs: List[float], losses: List[float], bar) -> bool:
        i, lr, loss_nd = pending
        loss = float(loss_nd.asscalar())
        lrs.append(lr)
        losses.append(loss)
        stop = bool(stopping(i, loss))
        if bar is not None:
            smoothed = getattr(stopping, "smoothed", None)
            bar.set_postfix(lr="{:.2e}".format(lr),
                            loss="{:.4f}".format(smoothed if smoothed is not None else loss),
                            refresh=False)
            bar.update(1)
        return stop


def _progress_bar(total: int, show: bool):
    if not show:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc="find_lr", unit="it", leave=True, dynamic_ncols=True)


__all__ = ["LRFinder", "lr_sweep", "STEP_MODES", "mx"]
