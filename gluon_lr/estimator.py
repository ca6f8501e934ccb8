"""A range test inside ``gluon.contrib.estimator.Estimator.fit``."""
from __future__ import annotations

from typing import Callable, Optional

from ._mx import mx
from .finder import Sweep
from .learner import mean_loss
from .state import RandomState, TrainingState

_est = mx.gluon.contrib.estimator


class LRFinderHandler(_est.TrainBegin, _est.BatchBegin, _est.BatchEnd, _est.EpochEnd,
                      _est.TrainEnd):
    """Run a learning-rate range test inside the estimator's own training loop.

    ``batch_begin`` sets the learning rate of the step, ``batch_end`` records its loss (one
    step late, as :class:`~gluon_lr.LRFinder` does) and asks the stopping rule, and both
    ``batch_end`` and ``epoch_end`` return True to stop the fit (returning True from
    ``batch_end`` alone only ends the epoch). At ``train_end`` the net and trainer are
    restored and :attr:`result` holds the :class:`~gluon_lr.LRFinderResult`.

    ``Estimator.fit`` has no ``finally``: if it raises, ``train_end`` never runs. Use the handler
    as a context manager to restore on that path too.

    Parameters
    ----------
    start_lr, end_lr, num_iter, step_mode, smoothing, stopping, suggest, progress
        As in :meth:`gluon_lr.LRFinder.run`.

    Examples
    --------
    >>> import numpy as np
    >>> from mxnet import gluon
    >>> from mxnet.gluon.contrib.estimator import Estimator
    >>> X = np.random.RandomState(0).rand(64, 4).astype("float32")
    >>> y = (X.sum(axis=1) > 2).astype("float32")
    >>> loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=8)
    >>> net = gluon.nn.Dense(2)
    >>> net.initialize()
    >>> est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(),
    ...                 trainer=gluon.Trainer(net.collect_params(), "sgd"))
    >>> finder = LRFinderHandler(num_iter=20, progress=False)
    >>> with finder:
    ...     est.fit(loader, epochs=100, event_handlers=[finder])  # doctest: +ELLIPSIS
    Training begin: ...
    >>> len(finder.result.lrs) <= 20
    True
    """

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
                 step_mode: str = "exp", smoothing: float = 0.98,
                 stopping: Optional[Callable[[int, float], bool]] = None, suggest: str = "auto",
                 progress: Optional[bool] = None):
        self._sweep = Sweep(start_lr, end_lr, num_iter, step_mode, smoothing, stopping, suggest,
                            progress)
        self.result = None
        self._active = False

    # ---- estimator events ----------------------------------------------------------------
    def train_begin(self, estimator, *args, **kwargs):
        self._sweep.reset()
        self.result = None
        self._estimator = estimator
        self._i = 0
        self._state = None
        self._rng = RandomState()
        self._active = True

    def batch_begin(self, estimator, *args, **kwargs):
        if self._state is None:
            data = kwargs["batch"][0]
            ctx = estimator.context[0]
            if any(p._deferred_init for p in estimator.net.collect_params().values()):
                estimator.net(data[:1].as_in_context(ctx))
            self._state = TrainingState(estimator.net.collect_params().values(),
                                        estimator.trainer)
            estimator.trainer.optimizer.lr_scheduler = None  # the sweep owns the rate
            self._sweep.start()
        estimator.trainer.set_learning_rate(self._sweep.lr(self._i))

    def batch_end(self, estimator, *args, **kwargs):
        self._sweep.record(self._i, mean_loss(kwargs["loss"], estimator.context[0]))
        self._i += 1  # record() flushes the last iteration itself
        return self._sweep.done

    def epoch_end(self, estimator, *args, **kwargs):
        return self._sweep.done

    def train_end(self, estimator, *args, **kwargs):
        self._finish()

    # ---- restore on every path -------------------------------------------------------------
    def _finish(self) -> None:
        if not self._active:
            return
        self._active = False
        try:
            self._sweep.flush()
        finally:
            self._sweep.close()
            if self._state is not None:
                self._state.restore()
                self._state.discard()
                self._state = None
            self._rng.restore()
        self.result = self._sweep.result()

    def __enter__(self) -> "LRFinderHandler":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._active:
            if exc_type is None:
                self._finish()
            else:
                try:
                    self._finish()
                except Exception:  # the original error matters more
                    pass
        return False
