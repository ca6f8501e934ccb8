"""A range test inside ``gluon.contrib.estimator.Estimator.fit``."""
from __future__ import annotations

import logging
import sys
import warnings
from typing import Callable, Optional

from ._mx import mx
from .finder import Sweep, _positive_int, check_before_sweep, check_optimizer_state
from .health import chance_of, check_due, nonfinite_guard
from .learner import mean_loss
from .state import RandomState, TrainingState, reset_optimizer_state, resume_meta
from .stopping import NUM_ITER

_est = mx.gluon.contrib.estimator
logger = logging.getLogger(__name__)

#: ``stop_reason`` when ``fit`` ended (another handler stopped it) before ``num_iter`` steps.
FIT_ENDED = "fit_ended"


class LRFinderHandler(_est.TrainBegin, _est.BatchBegin, _est.BatchEnd, _est.EpochEnd,
                      _est.TrainEnd):
    """Run a learning-rate range test inside the estimator's own training loop.

    ``batch_begin`` sets the learning rate of the step, ``batch_end`` records its loss (one
    step late, as :class:`~gluon_lr.LRFinder` does) and asks the stopping rule, and both
    ``batch_end`` and ``epoch_end`` return True to stop the fit (returning True from
    ``batch_end`` alone only ends the epoch). At ``train_end`` the net and trainer are
    restored and :attr:`result` holds the :class:`~gluon_lr.LRFinderResult`.

    Like ignite's finder, the sweep runs its ``num_iter`` steps across as many epochs as it
    needs: the ``epochs``/``batches`` given to ``fit`` are suspended during the sweep (and put
    back afterwards). If something else ends ``fit`` first, the result's ``stop_reason`` is
    ``"fit_ended"`` and a warning says how far the sweep got. Validation is skipped during the
    sweep, as fastai's finder does: the ``ValidationHandler`` of the fit is paused and then
    restored.

    ``Estimator.fit`` has no ``finally``: if it raises, ``train_end`` never runs. Use the handler
    as a context manager to restore on that path too.

    Parameters
    ----------
    start_lr, end_lr, num_iter, step_mode, smoothing, stopping, suggest, progress
        As in :meth:`gluon_lr.LRFinder.run`. The handler runs one sweep (inside ``fit``
        there is no second start), where ``find_lr`` runs three by default.
    apply : str, optional
        What to do with the answer once the net and trainer are restored. None (default)
        leaves the trainer as it was. ``"lr"`` sets the trainer's learning rate to the
        suggestion (as Lightning's ``update_attr``). The name of a schedule preset
        (``"one_cycle"``, ``"cosine"``, ...; ``"auto"`` where :meth:`LRFinderResult.schedule`
        offers it) attaches ``result.schedule(apply, total_steps)`` to the trainer's optimizer,
        offset to start at its current ``num_update``; a one-cycle schedule also makes every
        later ``trainer.step`` cycle momentum (:func:`gluon_lr.schedules.cycle_momentum`).
        Without a suggestion nothing is applied and a warning gives the diagnosis.
    total_steps : int, optional
        The training length the schedule of ``apply`` is for (required with a preset name).
    optimizer_state : {"fresh", "keep"}, default "fresh"
        As in :meth:`gluon_lr.LRFinder.run`: a trainer that has already stepped (in an earlier
        ``fit``) sweeps from a new trainer's optimizer state, or keeps the one it carries.

    Attributes
    ----------
    result : LRFinderResult or None
        The range test, once ``fit`` has ended.
    applied : object or None
        What was applied to the trainer: the learning rate or the schedule.

    Examples
    --------
    >>> import mxnet as mx
    >>> import numpy as np
    >>> from mxnet import gluon
    >>> from mxnet.gluon.contrib.estimator import Estimator
    >>> X = np.random.RandomState(0).randn(64, 4).astype("float32")
    >>> y = (X.sum(axis=1) > 0).astype("float32")
    >>> loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=8)
    >>> mx.random.seed(0)
    >>> net = gluon.nn.Dense(2)
    >>> net.initialize()
    >>> est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(),
    ...                 trainer=gluon.Trainer(net.collect_params(), "sgd"))
    >>> finder = LRFinderHandler(num_iter=30, progress=False)  # one sweep (find_lr runs 3)
    >>> with finder:
    ...     est.fit(loader, epochs=1, event_handlers=[finder])  # doctest: +ELLIPSIS
    Training begin: ...
    >>> len(finder.result.lrs) <= 30  # 30 steps over 4 epochs of 8 batches
    True
    >>> finder.result.lr is not None
    True
    """

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
                 step_mode: str = "exp", smoothing: float = 0.98,
                 stopping: Optional[Callable[[int, float], bool]] = None, suggest: str = "auto",
                 progress: Optional[bool] = None, apply: Optional[str] = None,
                 total_steps: Optional[int] = None, optimizer_state: str = "fresh"):
        self.optimizer_state = check_optimizer_state(optimizer_state)
        self._sweep = Sweep(start_lr, end_lr, num_iter, step_mode, smoothing, stopping, suggest,
                            progress)
        self.apply, self.total_steps = _check_apply(apply, total_steps)
        self.result = None
        self.applied = None
        self._active = False
        self._paused = []

    # ---- estimator events ----------------------------------------------------------------
    def train_begin(self, estimator, *args, **kwargs):
        check_before_sweep(estimator.trainer, estimator.net.collect_params().values())
        self._sweep.reset()
        self.result = None
        self.applied = None
        self._estimator = estimator
        self._i = 0
        self._state = None
        self._chance = None
        self._resume = {"resumed": False, "trainer_num_update": 0}
        self._reset = False
        self._rng = RandomState()
        self._active = True
        # Run past the epochs/batches given to fit (StoppingHandler reads these after us: it
        # is added after the user's handlers, with the same priority).
        self._limits = (estimator.max_epoch, estimator.max_batch)
        estimator.max_epoch = estimator.max_batch = None
        self._pause_validation(sys._getframe(1))

    def batch_begin(self, estimator, *args, **kwargs):
        if self._state is None:
            data = kwargs["batch"][0]
            ctx = estimator.context[0]
            if any(p._deferred_init for p in estimator.net.collect_params().values()):
                estimator.net(data[:1].as_in_context(ctx))
            self._state = TrainingState(estimator.net.collect_params().values(),
                                        estimator.trainer)
            self._batch_size = int(data.shape[0])
            self._chance = chance_of(getattr(estimator, "loss", None), estimator.net, data[:8],
                                     ctx)
            estimator.trainer.optimizer.lr_scheduler = None  # the sweep owns the rate
            self._resume = resume_meta(estimator.trainer)
            self._reset = bool(self.optimizer_state == "fresh" and self._resume["resumed"]
                               and reset_optimizer_state(estimator.trainer))
            self._sweep.start()
        estimator.trainer.set_learning_rate(self._sweep.lr(self._i))

    def batch_end(self, estimator, *args, **kwargs):
        loss = mean_loss(kwargs["loss"], estimator.context[0])
        if check_due(self._i, self._sweep.num_iter):  # NaN weights behind a finite loss
            loss = nonfinite_guard(loss, estimator.net.collect_params().values())
        self._sweep.record(self._i, loss)
        self._i += 1  # record() flushes the last iteration itself
        return self._sweep.done

    def epoch_end(self, estimator, *args, **kwargs):
        return self._sweep.done

    def train_end(self, estimator, *args, **kwargs):
        self._finish()

    # ---- validation is skipped during the sweep ------------------------------------------
    def _pause_validation(self, frame) -> None:
        """Pause the fit's ValidationHandlers (found among ``fit``'s handlers)."""
        handlers = frame.f_locals.get("event_handlers") if frame is not None else None
        self._paused = []
        if not isinstance(handlers, list):
            if getattr(self._estimator, "val_data", None) is not None:  # pragma: no cover
                logger.warning("LRFinderHandler could not find the fit's handlers; validation "
                               "may run during the range test")
            return
        for handler in handlers:
            if isinstance(handler, _est.ValidationHandler):
                self._paused.append((handler, handler.epoch_period, handler.batch_period))
                handler.epoch_period = handler.batch_period = None

    def _resume_validation(self) -> None:
        for handler, epoch_period, batch_period in self._paused:
            handler.epoch_period, handler.batch_period = epoch_period, batch_period
        self._paused = []

    # ---- restore on every path -------------------------------------------------------------
    def _finish(self, raised: bool = False) -> None:
        if not self._active:
            return
        self._active = False
        estimator = self._estimator
        try:
            ran = self._sweep.done
            self._sweep.flush()
            if not ran and self._sweep.reason == NUM_ITER \
                    and len(self._sweep.losses) < self._sweep.num_iter:
                self._sweep.reason = FIT_ENDED
        finally:
            self._sweep.close()
            if self._state is not None:
                self._state.restore()
                self._state.discard()
                self._state = None
            self._rng.restore()
            estimator.max_epoch, estimator.max_batch = self._limits
            self._resume_validation()
        if self._sweep.reason == FIT_ENDED and not raised:
            warnings.warn("fit ended after {} of the range test's {} steps (at lr={:.3g}, not "
                          "end_lr): another handler stopped it. The result covers only that "
                          "part; its stop_reason is 'fit_ended'.".format(
                              len(self._sweep.losses), self._sweep.num_iter,
                              self._sweep.recorded_lrs[-1] if self._sweep.recorded_lrs
                              else self._sweep.lr(0)), RuntimeWarning, stacklevel=3)
        from .runinfo import describe
        self.result = self._sweep.result(
            chance_loss=getattr(self, "_chance", None), state_reset=self._reset, **self._resume,
            **describe(estimator.net, estimator.trainer, getattr(self, "_batch_size", None)))
        if self.apply is not None and not raised:
            self._apply(estimator.trainer)

    def _apply(self, trainer) -> None:
        result = self.result
        if result.lr is None:
            warnings.warn("apply={!r}: the range test gave no suggestion, the trainer is left "
                          "as it was: {}".format(self.apply, result.diagnosis), RuntimeWarning,
                          stacklevel=4)
            return
        optimizer = trainer.optimizer
        if self.apply == "lr":
            if optimizer.lr_scheduler is not None:
                warnings.warn("apply='lr': the trainer has an lr_scheduler, which sets the rate "
                              "itself; the suggestion {:.3g} was not applied".format(result.lr),
                              RuntimeWarning, stacklevel=4)
                return
            trainer.set_learning_rate(result.lr)
            self.applied = result.lr
            logger.info("learning rate set to the suggestion %.3g", result.lr)
            return
        try:  # a trainer that has trained: start the schedule at its next step
            schedule = result.schedule(self.apply, total_steps=self.total_steps,
                                       start=int(optimizer.num_update))
        except ValueError as err:
            warnings.warn("apply={!r}: {}; the trainer is left as it was".format(
                self.apply, err), RuntimeWarning, stacklevel=4)
            return
        optimizer.lr_scheduler = schedule
        self.applied = schedule
        logger.info("lr_scheduler set to %r", schedule)
        self._cycle_momentum(trainer, schedule)

    def _cycle_momentum(self, trainer, schedule) -> None:
        """A one-cycle schedule also cycles momentum in the training that follows."""
        from .schedules.momentum import MomentumCycler, momentum_at
        cycler = getattr(trainer, "_gluon_lr_cycler", None)
        if momentum_at(schedule, 1) is None or (cycler is not None and cycler.attached):
            return  # an attached cycler follows whatever lr_scheduler the optimizer has
        try:
            trainer._gluon_lr_cycler = MomentumCycler(trainer)
        except (TypeError, ValueError) as err:
            warnings.warn("apply={!r}: momentum is not cycled: {}".format(self.apply, err),
                          RuntimeWarning, stacklevel=5)

    def __enter__(self) -> "LRFinderHandler":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._active:
            if exc_type is None:
                self._finish()
            else:
                try:
                    self._finish(raised=True)
                except Exception:  # the original error matters more
                    pass
        return False


def _check_apply(apply, total_steps):
    if apply is None:
        if total_steps is not None:
            raise ValueError("total_steps goes with apply=<schedule name>, got total_steps={!r} "
                             "and apply=None".format(total_steps))
        return None, None
    from .schedules import SCHEDULES
    names = ["lr"] + sorted(set(SCHEDULES) | {"auto"})
    if not isinstance(apply, str) or apply not in names:
        raise ValueError("apply must be None, 'lr' or a schedule preset ({}), got {!r}".format(
            ", ".join(repr(n) for n in names[1:]), apply))
    if apply == "lr":
        if total_steps is not None:
            raise ValueError("total_steps goes with apply=<schedule name>, not apply='lr'")
        return apply, None
    if total_steps is None:
        raise ValueError("apply={!r} needs total_steps (the training length the schedule is "
                         "for)".format(apply))
    return apply, _positive_int("total_steps", total_steps)


class MomentumHandler(_est.BatchBegin):
    """Cycle momentum inside ``Estimator.fit`` when the trainer's scheduler is one-cycle.

    Before every batch it sets the optimizer's ``momentum`` (or Adam's ``beta1``) to
    ``lr_scheduler.momentum(num_update)`` for the coming step; with any other scheduler (or
    none, e.g. while an :class:`LRFinderHandler` sweeps) it does nothing, so it can always be
    passed. See :func:`gluon_lr.schedules.cycle_momentum` for plain training loops.

    Examples
    --------
    Pass it with the other handlers of a fit (``tests/test_momentum.py`` runs it)::

        est.fit(train_data, epochs=10, event_handlers=[MomentumHandler()])
    """

    def batch_begin(self, estimator, *args, **kwargs):
        from .schedules.momentum import momentum_at
        opt = estimator.trainer.optimizer
        value = momentum_at(opt.lr_scheduler, opt.num_update + 1)
        if value is None:
            return
        if getattr(opt, "momentum", None):
            opt.momentum = value
        elif hasattr(opt, "beta1"):
            opt.beta1 = value
