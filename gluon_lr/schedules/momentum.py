"""Momentum cycling without hand work: the trainer applies one-cycle's momentum by itself."""
from __future__ import annotations

from typing import Optional

from .composite import Offset


def momentum_at(schedule, num_update: int) -> Optional[float]:
    """The momentum ``schedule`` wants at step ``num_update``, or None if it has no momentum
    schedule (only :class:`~gluon_lr.schedules.OneCycle` has one, also under an ``Offset``)."""
    shift = 0
    while isinstance(schedule, Offset):
        shift += schedule.steps
        schedule = schedule.schedule
    fn = getattr(schedule, "momentum", None)
    if not callable(fn):
        return None
    return fn(max(1, int(num_update) - shift))


class MomentumCycler:
    """Sets ``trainer.optimizer``'s momentum (or Adam's ``beta1``) before every step.

    Made by :func:`cycle_momentum`; :meth:`detach` (or leaving a ``with`` block) restores the
    trainer's own ``step``/``update`` and its momentum as it was.
    """

    def __init__(self, trainer, schedule=None):
        opt = trainer.optimizer
        self._attr = "momentum" if hasattr(opt, "momentum") else "beta1" if hasattr(
            opt, "beta1") else None
        if self._attr is None:
            raise TypeError("optimizer {} has neither momentum nor beta1 to cycle".format(
                type(opt).__name__))
        if self._attr == "momentum" and not opt.momentum:
            raise ValueError("the optimizer was created with momentum=0, so it keeps no "
                             "momentum state; create it with momentum > 0 to cycle momentum")
        target = schedule if schedule is not None else opt.lr_scheduler
        if momentum_at(target, 1) is None:
            raise TypeError("schedule {!r} has no momentum(num_update) method (one-cycle has "
                            "one)".format(target))
        self.trainer, self.schedule = trainer, schedule
        self._initial = getattr(opt, self._attr)
        self._step, self._update = trainer.step, trainer.update
        trainer.step = self._wrap(self._step)
        trainer.update = self._wrap(self._update)
        self.attached = True

    def _wrap(self, fn):
        def step(*args, **kwargs):
            self.apply()
            return fn(*args, **kwargs)
        step.__doc__ = fn.__doc__
        return step

    def apply(self) -> None:
        """Set the momentum for the coming step (``num_update + 1``)."""
        opt = self.trainer.optimizer  # read each time: load_states replaces the optimizer
        schedule = self.schedule if self.schedule is not None else opt.lr_scheduler
        value = momentum_at(schedule, opt.num_update + 1)
        if value is not None and hasattr(opt, self._attr):
            setattr(opt, self._attr, value)

    def detach(self) -> None:
        """Give the trainer back its own ``step`` and ``update`` and its first momentum."""
        if not self.attached:
            return
        for name in ("step", "update"):
            self.trainer.__dict__.pop(name, None)
        if hasattr(self.trainer.optimizer, self._attr):
            setattr(self.trainer.optimizer, self._attr, self._initial)
        self.attached = False

    def __enter__(self) -> "MomentumCycler":
        return self

    def __exit__(self, *exc) -> bool:
        self.detach()
        return False


def cycle_momentum(trainer, schedule=None) -> MomentumCycler:
    """Make ``trainer`` cycle momentum by itself, as torch's ``OneCycleLR`` and fastai do.

    After this call, every ``trainer.step(...)`` (and ``trainer.update(...)``) first sets the
    optimizer's ``momentum`` (SGD, NAG) or ``beta1`` (Adam and relatives) to
    ``schedule.momentum(num_update)`` for the step it is about to take. No call in your loop.

    Parameters
    ----------
    trainer : gluon.Trainer
        Its optimizer must have been created with momentum > 0 (SGD/NAG), or be Adam-like.
    schedule : OneCycle, optional
        Default: whatever ``trainer.optimizer.lr_scheduler`` is at each step (also after
        ``trainer.load_states``, which replaces the optimizer). An ``Offset`` of a one-cycle
        schedule is followed too.

    Returns
    -------
    MomentumCycler
        ``.detach()`` (or use it as a context manager) to stop and restore the momentum.

    Notes
    -----
    With ``update_on_kvstore=True`` (distributed training) the servers hold their own copy of
    the optimizer, which this cannot reach: create the trainer with ``update_on_kvstore=False``.

    Examples
    --------
    >>> from mxnet import gluon
    >>> from gluon_lr.schedules import OneCycle, cycle_momentum
    >>> net = gluon.nn.Dense(1); net.initialize()
    >>> sched = OneCycle(0.1, total_steps=100)
    >>> trainer = gluon.Trainer(net.collect_params(), "sgd",
    ...                         {"lr_scheduler": sched, "momentum": 0.9})
    >>> cycler = cycle_momentum(trainer)   # then train as usual: trainer.step(batch_size)
    """
    return MomentumCycler(trainer, schedule)
