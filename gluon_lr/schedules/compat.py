"""gluon_lr presets inside gluoncv's ``LRSequential`` (the other direction, MXNet's and
gluoncv's schedulers inside gluon_lr's composites, is :class:`~gluon_lr.schedules.External`)."""
from __future__ import annotations

from .base import check_positive
from .composite import as_schedule

try:  # gluoncv is optional; its LRSequential accepts only its own LRScheduler subclasses
    from gluoncv.utils.lr_scheduler import LRScheduler as _GluonCVScheduler
except ImportError:  # pragma: no cover - gluoncv is installed with the dev extras
    _GluonCVScheduler = None


if _GluonCVScheduler is not None:
    class GluonCVSchedule(_GluonCVScheduler):
        """A gluon_lr schedule as one piece of ``gluoncv.utils.LRSequential``.

        gluoncv gives each piece ``niters`` steps and an ``offset``; the piece's first step
        (``num_update == offset + 1``) is the schedule's step 1. Build it with
        :func:`to_gluoncv`.
        """

        def __init__(self, schedule, niters: int):
            super().__init__("constant", base_lr=0.0, niters=niters)
            self.schedule = as_schedule(schedule)
            self.learning_rate = self.schedule(1)

        def update(self, num_update):
            self.learning_rate = self.schedule(max(1, int(num_update) - self.offset))
else:  # pragma: no cover
    GluonCVSchedule = None


def to_gluoncv(schedule, niters: int):
    """Wrap a gluon_lr schedule (or any ``mx.lr_scheduler.LRScheduler``) for gluoncv's
    ``LRSequential``, which accepts only gluoncv ``LRScheduler`` pieces with ``niters`` steps.

    Examples
    --------
    >>> from gluoncv.utils import LRScheduler, LRSequential
    >>> from gluon_lr.schedules import get_schedule, to_gluoncv
    >>> warm = LRScheduler("linear", base_lr=0.0, target_lr=0.1, niters=5)
    >>> s = LRSequential([warm, to_gluoncv(get_schedule("linear", max_lr=0.1, total_steps=10,
    ...                                                   warmup_steps=1), 10)])
    >>> round(s(6), 3)  # the sixth step is the linear preset's first
    0.0
    """
    if GluonCVSchedule is None:  # pragma: no cover
        raise ImportError("to_gluoncv needs gluoncv: pip install gluoncv")
    niters = check_positive("niters", niters, integer=True)
    return GluonCVSchedule(schedule, niters)
