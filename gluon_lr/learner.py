"""The :class:`Learner`: a net, its contexts, a loss, a trainer and endless data."""
from __future__ import annotations

import contextlib
import logging
from typing import List, Optional, Sequence, Union

from ._mx import mx
from .compare import check_rate, compare_schedules
from .data import BatchStream, array_samples, make_batches
from .dist import check_timeout, coordinator
from .dist import is_dist as _is_dist
from .finder import EXTEND, LRFinder
from .state import TrainingState, check_restorable
from .validate import (check_class_labels, check_kvstore, check_loader_split, check_optimizer,
                       check_optimizer_can_train, check_optimizer_params)
from .step import TrainingStep, first_line, mean_loss  # noqa: F401  (mean_loss re-exported)

gluon = mx.gluon
nd = mx.nd
autograd = mx.autograd
logger = logging.getLogger(__name__)

ContextLike = Union[mx.Context, Sequence[mx.Context], None]

_MISSING = object()
# Names gluon_lr.optimizers registers; a Learner given one imports that module itself.
_LR_FREE_NAMES = ("prodigy", "dadaptsgd", "dadaptadam")


def _is_lr_free(optimizer) -> bool:
    if isinstance(optimizer, str):
        return optimizer.lower() in _LR_FREE_NAMES
    from .optimizers import LRFreeOptimizer
    return isinstance(optimizer, LRFreeOptimizer)


def _as_contexts(ctx: ContextLike) -> Optional[List[mx.Context]]:
    if ctx is None:
        return None
    ctxs = [ctx] if isinstance(ctx, mx.Context) else list(ctx) if isinstance(
        ctx, (list, tuple)) else None
    if not ctxs or not all(isinstance(c, mx.Context) for c in ctxs):
        raise TypeError("ctx must be an mx.Context or a non-empty list of them, got {!r}".format(
            ctx))
    if len(set(ctxs)) != len(ctxs):
        raise ValueError("ctx lists a context twice: {!r}".format(ctx))
    _check_available(ctxs)
    return ctxs


def _check_available(ctxs: List[mx.Context]) -> None:
    """Fail with a clear message for a GPU this MXNet build cannot see."""
    gpus = [c for c in ctxs if c.device_type == "gpu"]
    if not gpus:
        return
    try:
        available = mx.context.num_gpus()
    except mx.base.MXNetError:
        available = 0
    missing = [c for c in gpus if c.device_id >= available]
    if missing:
        raise ValueError(
            "ctx {} is not available: this MXNet build sees {} GPU(s){}. Use mx.cpu(), or "
            "install a CUDA build of MXNet (e.g. mxnet-cu112) on a machine with GPUs".format(
                missing[0], available, " (it is a CPU-only build)" if available == 0 else ""))


@contextlib.contextmanager
def _nothing():
    yield


def _one(batch: tuple):
    """``f(data, label)`` and ``f(batch)`` both mean one batch."""
    return batch[0] if len(batch) == 1 else batch


def _is_initialized(param) -> bool:
    return param._data is not None or bool(param._deferred_init)


def _on_step(name: str, doc: str) -> property:
    """An attribute kept on the learner's :class:`TrainingStep`, so both always agree."""
    return property(lambda self: getattr(self.step, name),
                    lambda self, value: setattr(self.step, name, value), doc=doc)


class Learner:
    """A Gluon net with everything needed to take training steps on it.

    Parameters
    ----------
    net : gluon.Block
        The model. An un-initialised net is initialised with ``mx.init.Xavier()``; an
        initialised one keeps its weights. Deferred shapes and hybridized nets are fine.
    data : Dataset, DataLoader, (X, y) or mx.io.DataIter
        Training data; ``data_loader=`` is accepted as another name for it. It is drawn from
        endlessly (a new pass starts when one ends). ``((X1, X2), y)`` feeds a net with two
        inputs as ``net(x1, x2)``; any other batch layout needs ``batch_fn``.
    loss : callable, optional
        ``loss(output, label)`` returning per-sample losses; default
        ``gluon.loss.SoftmaxCrossEntropyLoss()``. ``output`` is whatever the net returns (a
        tuple for a net with several outputs) and ``label`` whatever the batch holds.
    optimizer : str or mx.optimizer.Optimizer, default "sgd"
        Used only when ``trainer`` is not given.
    optimizer_params : dict, optional
        Keyword arguments of the optimizer (``learning_rate`` is swept by the finder).
    ctx : mx.Context or list of mx.Context, optional
        Where to train; default: where the net's parameters live, else ``mx.cpu()``. Batches
        are split across a list with ``gluon.utils.split_and_load``.
    batch_size : int, optional
        Samples per batch for a Dataset or ``(X, y)`` (default 64).
    trainer : gluon.Trainer, optional
        An existing trainer to use; its optimizer, kvstore and states are respected, and
        restored after every range test.
    kvstore : str or mx.kv.KVStore, default "device"
        Used only when ``trainer`` is not given, as in ``gluon.Trainer``. With a distributed
        kvstore (``"dist_sync"``, ...) the trainer is built with ``update_on_kvstore=False``
        and every worker's loss is averaged through the kvstore, so all workers record the
        same curve, stop at the same step and get the same suggestion. If one worker fails,
        all stop at the same step, restore and raise :class:`gluon_lr.dist.WorkerFailed`.
    batch_fn : callable, optional
        ``batch_fn(batch) -> (inputs, label)`` for batches that are not ``(data, label)``:
        extra fields, several inputs, token lists to pad. ``inputs`` is an NDArray or a
        tuple/list of NDArrays (fed as ``net(*inputs)``); axis 0 is the batch. With several
        contexts every input and the label are split across them. Without it, a batch that is
        not a ``(data, label)`` pair raises a ``TypeError`` that names ``batch_fn``.
    dist_timeout : float, optional
        Distributed workers only: seconds to wait for the other workers at any step before
        giving up (:class:`gluon_lr.dist.WorkerTimeout`). Default: the environment variable
        ``GLUON_LR_DIST_TIMEOUT``, else ``max(60, 20 x the slowest step so far)``.

    Examples
    --------
    >>> import mxnet as mx, numpy as np
    >>> from mxnet import gluon
    >>> mx.random.seed(0)  # the net's initialisation
    >>> X = np.random.RandomState(0).randn(256, 4).astype("float32")
    >>> y = (X.sum(axis=1) > 0).astype("float32")
    >>> learner = Learner(gluon.nn.Dense(2), (X, y), batch_size=16)
    >>> result = learner.find_lr(start_lr=1e-3, end_lr=100, num_iter=60, progress=False)
    >>> len(result.lrs) <= 60, result.confidence
    (True, 'high')
    """

    def __init__(self, net, data=_MISSING, loss=None, optimizer="sgd",
                 optimizer_params: Optional[dict] = None, ctx: ContextLike = None,
                 batch_size: Optional[int] = None, trainer=None, kvstore="device",
                 data_loader=_MISSING, batch_fn=None, dist_timeout: Optional[float] = None):
        if data is _MISSING and data_loader is _MISSING:
            raise TypeError("Learner needs training data: pass data= (or data_loader=)")
        if data is not _MISSING and data_loader is not _MISSING:
            raise TypeError("pass either data= or data_loader=, not both")
        data = data_loader if data is _MISSING else data
        if not isinstance(net, gluon.Block):
            raise TypeError("net must be a gluon.Block, got {}".format(type(net).__name__))
        if loss is None:
            loss = gluon.loss.SoftmaxCrossEntropyLoss()
        if not callable(loss):
            raise TypeError("loss must be callable as loss(output, label), got {!r}".format(loss))
        if optimizer_params is not None and not isinstance(optimizer_params, dict):
            raise TypeError("optimizer_params must be a dict, got {!r}".format(optimizer_params))
        check_optimizer_params(optimizer_params)
        check_kvstore(kvstore)
        if trainer is not None:
            if not isinstance(trainer, gluon.Trainer):
                raise TypeError("trainer must be a gluon.Trainer, got {}".format(
                    type(trainer).__name__))
            if optimizer != "sgd" or optimizer_params:
                raise ValueError("optimizer/optimizer_params cannot be combined with trainer=: "
                                 "the trainer already has its optimizer")
        if batch_fn is not None and not callable(batch_fn):
            raise TypeError("batch_fn must be callable as batch_fn(batch) -> (inputs, label), "
                            "got {!r}".format(batch_fn))
        self.step = TrainingStep(net, loss, trainer, [], batch_fn=batch_fn)
        self.net = net
        if trainer is not None:
            self._check_trainer(trainer)
        else:
            optimizer_params = dict(optimizer_params or {})
            if isinstance(optimizer, str):
                if optimizer.lower() in _LR_FREE_NAMES:
                    from . import optimizers  # noqa: F401  (registers them with MXNet)
                try:
                    mx.optimizer.Optimizer.opt_registry[optimizer.lower()]
                except KeyError:
                    raise ValueError("unknown optimizer {!r}; known: {}".format(
                        optimizer, sorted(mx.optimizer.Optimizer.opt_registry))) from None
            elif not isinstance(optimizer, mx.optimizer.Optimizer):
                raise TypeError("optimizer must be a name or an mx.optimizer.Optimizer, got "
                                "{!r}".format(optimizer))
            else:
                check_optimizer(optimizer, "optimizer")
        self.dist_timeout = check_timeout(dist_timeout)
        self.data = data
        self.loss = loss
        # A distributed kvstore is created now, so that the workers agree on the checks below.
        if trainer is None and _is_dist(kvstore) and isinstance(kvstore, str):
            kvstore = mx.kv.create(kvstore)
        elif trainer is not None and _is_dist(
                trainer._kvstore_params.get("kvstore")) and isinstance(
                trainer._kvstore_params["kvstore"], str) and trainer._kvstore is None:
            # what the trainer's first step would do (Trainer accepts a KVStore object)
            trainer._kvstore_params["kvstore"] = mx.kv.create(trainer._kvstore_params["kvstore"])
        sync = coordinator(self._dist_kvstore(kvstore, trainer), self.dist_timeout)
        # Checks whose outcome may differ between distributed workers (data size, devices):
        # all workers learn of one worker's failure, instead of waiting for it for ever.
        with sync.agreed("in Learner()") if sync is not None else _nothing():
            # Validate the data and batch size now, before anything trains.
            make_batches(data, batch_size).close()
            self.batch_size = batch_size
            self.ctx = self._init_net(_as_contexts(ctx))
            check_loader_split(data, len(self.ctx))
        if trainer is None:
            # LR-free optimizers need every parameter of a step in one call, which a kvstore
            # that runs the optimizer (the Trainer's default on several devices) never gives.
            local_updates = _is_dist(kvstore) or _is_lr_free(optimizer)
            trainer = gluon.Trainer(net.collect_params(), optimizer, optimizer_params or None,
                                    kvstore=kvstore,
                                    update_on_kvstore=False if local_updates else None)
        check_optimizer_can_train(trainer.optimizer, trainer._params)
        self.trainer = trainer

    def _dist_kvstore(self, kvstore, trainer):
        """The distributed kvstore this learner will use, if it exists already."""
        if trainer is None:
            return kvstore if _is_dist(kvstore) and not isinstance(kvstore, str) else None
        kv = getattr(trainer, "_kvstore", None) or trainer._kvstore_params.get("kvstore")
        return kv if _is_dist(kv) and not isinstance(kv, str) else None

    def coordinator(self):
        """The :class:`gluon_lr.dist.Coordinator` of a distributed trainer, else None."""
        kv = getattr(self.trainer, "_kvstore", None)
        if kv is None:
            kv = self._dist_kvstore(None, self.trainer)
        return coordinator(kv, self.dist_timeout)

    def _init_net(self, ctxs: Optional[List[mx.Context]]) -> List[mx.Context]:
        params = list(self.net.collect_params().values())
        if not params:
            raise ValueError("net has no parameters: there is nothing to train")
        if all(p.grad_req == "null" for p in params):
            raise ValueError("net has no trainable parameters (every grad_req is 'null'): "
                             "unfreeze the layers the range test should train")
        initialized = [p for p in params if _is_initialized(p)]
        if not initialized:
            ctxs = ctxs or [mx.cpu()]
            self.net.initialize(mx.init.Xavier(), ctx=ctxs)
            return ctxs
        if len(initialized) != len(params):
            missing = [p.name for p in params if not _is_initialized(p)]
            raise ValueError("net is partly initialised; initialise these parameters too: "
                             "{}".format(missing[:5]))
        have = initialized[0].list_ctx()
        if ctxs is not None and list(ctxs) != list(have):
            raise ValueError("ctx={} differs from the contexts the net is initialised on ({}); "
                             "pass ctx={} or reset the net's context first".format(
                                 ctxs, have, have))
        return list(have)

    def _check_trainer(self, trainer) -> None:
        config = getattr(trainer, "_kvstore_params", {})
        if _is_dist(config.get("kvstore")) and config.get("update_on_kvstore") is not False:
            raise ValueError(
                "the trainer has a distributed kvstore with update_on_kvstore={!r}: its optimizer "
                "runs on the servers, where a worker can neither sweep the learning rate nor "
                "save the optimizer's states. Create it with gluon.Trainer(..., kvstore=..., "
                "update_on_kvstore=False) for the range test (and, if you like, for training)"
                .format(config.get("update_on_kvstore")))
        check_restorable(trainer)
        check_optimizer(trainer.optimizer)
        own = {p.name for p in self.net.collect_params().values() if p.grad_req != "null"}
        theirs = {p.name for p in trainer._params}
        if not theirs or not theirs <= set(self.net.collect_params().keys()):
            raise ValueError("trainer does not train this net's parameters")
        if not own <= theirs:
            logger.info("the trainer updates only part of the net's parameters")

    net = _on_step("net", "The model.")
    loss = _on_step("loss", "``loss(output, label)``, returning per-sample losses.")
    trainer = _on_step("trainer", "The ``gluon.Trainer`` that applies the gradients.")
    ctx = _on_step("ctx", "The list of contexts batches are split across.")
    batch_fn = _on_step("batch_fn", "``batch_fn(batch) -> (inputs, label)``, or None.")

    # ---- what the finder uses --------------------------------------------------------------
    @property
    def params(self) -> list:
        return list(self.net.collect_params().values())

    @property
    def steps_per_epoch(self) -> Optional[int]:
        """Batches in one pass over the data, when the data says (else None)."""
        data = self.data
        try:
            if isinstance(data, gluon.data.DataLoader):
                return len(data)
            if isinstance(data, (tuple, list)):
                n = array_samples(*data)  # also for ((X1, X2), y) and (X, (y1, y2))
            elif isinstance(data, gluon.data.Dataset):
                n = len(data)
            else:
                return None
        except TypeError:
            return None
        bs = self.batch_size or min(64, n)
        return max(1, n // bs)

    def batches(self) -> BatchStream:
        """A fresh endless stream of batches (``(data, label)`` pairs unless ``batch_fn``)."""
        return make_batches(self.data, self.batch_size)

    def materialize(self, *batch) -> None:
        """Run one forward pass (no training) so that deferred shapes get their arrays.

        Takes ``(data, label)`` or one batch as the data yields it.
        """
        self.step.materialize(_one(batch))

    def check_batch(self, *batch) -> None:
        """Run net and loss on part of one batch, outside training, and explain any failure.

        Materialises deferred shapes too. Raises ``ValueError`` naming the shapes instead of
        letting an MXNet error surface from deep inside the first training step.
        """
        self.step.check(_one(batch))

    def check_labels(self, batch) -> None:
        """With a softmax cross-entropy on class indices, every label must be a class.

        The labels of ``(X, y)`` data are all checked; those of other data on ``batch``.
        """
        loss = self.loss
        if not (isinstance(loss, gluon.loss.SoftmaxCrossEntropyLoss)
                and getattr(loss, "_sparse_label", False)):
            return
        inputs, label = self.step.unpack(batch)
        out = self.step.forward(tuple(x[:1].as_in_context(self.ctx[0]) for x in inputs))
        if not isinstance(out, nd.NDArray) or not isinstance(label, nd.NDArray):
            return
        classes = out.shape[getattr(loss, "_axis", -1)]
        data = self.data
        if isinstance(data, (tuple, list)) and len(data) == 2 and self.step.batch_fn is None:
            label = data[1]
        check_class_labels(label, classes)

    def snapshot(self, where: str = "cpu") -> TrainingState:
        """Save net and trainer (in host memory, or ``where="device"``) so that
        :meth:`TrainingState.restore` undoes any steps."""
        return TrainingState(self.params, self.trainer, where)

    # ---- what one range-test iteration does -------------------------------------------------
    def prepare_sweep(self, accumulate: int = 1) -> None:
        """Hand the learning rate to the sweep and set up gradient accumulation.

        Called after :meth:`snapshot`, which restores everything changed here.
        """
        self.trainer.optimizer.lr_scheduler = None  # the sweep owns the learning rate
        if accumulate > 1:
            self.step.start_accumulating()

    def set_learning_rate(self, lr: float) -> None:
        self.trainer.set_learning_rate(lr)

    def train_step_group(self, group) -> nd.NDArray:
        """One optimizer step over one batch, or over several with accumulated gradients."""
        return self.step.train_group(group)

    def validation_batches(self, val_data, count: int) -> list:
        """The first ``count`` batches of ``val_data`` (drawn once, reused after every step)."""
        stream = make_batches(val_data, self.batch_size if not isinstance(
            val_data, (gluon.data.DataLoader, mx.io.DataIter)) else None)
        try:
            return [next(stream) for _ in range(count)]
        finally:
            stream.close()

    def evaluate(self, batches) -> nd.NDArray:
        """Mean loss over ``batches`` (forward only, inference mode), not synchronised."""
        return self.step.evaluate(batches)

    def forward_backward(self, *batch) -> nd.NDArray:
        """Forward and backward on one batch; return its mean loss, not yet synchronised."""
        return self.step.forward_backward(_one(batch))[0]

    def train_step(self, *batch) -> nd.NDArray:
        """One optimizer step on one batch; returns its mean loss as an unsynchronised NDArray.

        Takes ``(data, label)`` or one batch as the data yields it.
        """
        return self.step.train(_one(batch))

    def find_lr(self, start_lr: Optional[float] = 1e-7, end_lr: float = 10.0,
                num_iter: Optional[int] = 100,
                step_mode: str = "exp", smoothing: float = 0.98, stopping=None,
                suggest: str = "auto", progress: Optional[bool] = None, val_data=None,
                val_batches: int = 4, accumulate: int = 1, snapshot: str = "cpu",
                repeats: Optional[int] = None, extend: float = EXTEND,
                optimizer_state: str = "fresh"):
        """Run a learning-rate range test and return its :class:`LRFinderResult`.

        The net and trainer are restored afterwards, whatever happens (the same as
        ``LRFinder(learner).run(...)``).

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
            ``LRFinderStoppingCriteria(smoothing=smoothing)``.
        suggest : str, default "auto"
            The suggestion rule behind ``result.lr`` (see :mod:`gluon_lr.suggest`).
        progress : bool, optional
            Show a progress bar; default: in a terminal or a Jupyter notebook, not in logs.
        val_data : data, optional
            Held-out data in any form ``Learner`` accepts: record the mean loss on
            ``val_batches`` of its batches after each step instead of the training loss.
        val_batches : int, default 4
            Held-out batches evaluated after each step.
        accumulate : int, default 1
            Batches whose gradients are accumulated into each optimizer step.
        snapshot : {"cpu", "device"}, default "cpu"
            Where the copies that restore the net and trainer are kept.
        repeats : int, optional
            Sweeps from the same state on different batches; the run with the median
            suggestion is returned (for a noisy regression curve: the mean of the runs'
            curves, ``meta["pooled"]``). Default 3 (1 on distributed workers); ``repeats=1`` for
            one sweep at a third of the cost (see :meth:`LRFinder.run`).
        extend : float, default 3
            When the loss is still falling at ``end_lr`` (or hardly moved), carry the sweep on
            for up to this many more decades (at most ``num_iter`` more steps) until the loss
            turns up; ``0`` never extends. Exponential sweeps only, not on distributed workers.
        optimizer_state : {"fresh", "keep"}, default "fresh"
            A trainer that has already stepped: sweep with a new trainer's optimizer state
            (momentum and moments empty) from the current weights, or keep the carried state.
            Restored afterwards either way (see :meth:`LRFinder.run`).

        Returns
        -------
        LRFinderResult
        """
        return LRFinder(self).run(start_lr=start_lr, end_lr=end_lr, num_iter=num_iter,
                                  step_mode=step_mode, smoothing=smoothing, stopping=stopping,
                                  suggest=suggest, progress=progress, val_data=val_data,
                                  val_batches=val_batches, accumulate=accumulate,
                                  snapshot=snapshot, repeats=repeats, extend=extend,
                                  optimizer_state=optimizer_state)

    def compare_schedules(self, result, total_steps: Optional[int] = None, val_data=None,
                          **kwargs):
        """Spend at most half a training's steps to improve on ``result.schedule("auto")``.

        See :func:`gluon_lr.compare.compare_schedules`; returns a ``ScheduleComparison``.
        """
        return compare_schedules(self, result, total_steps=total_steps, val_data=val_data,
                                 **kwargs)

    def check_rate(self, result, total_steps: Optional[int] = None, val_data=None, **kwargs):
        """Check the suggestion for over-training on held-out data before training at it.

        See :func:`gluon_lr.compare.check_rate`; returns a ``RateCheck`` whose ``lr`` is the
        rate to train with.
        """
        return check_rate(self, result, total_steps=total_steps, val_data=val_data, **kwargs)

    def __repr__(self) -> str:
        return "Learner(net={}, ctx={}, optimizer={})".format(
            type(self.net).__name__, self.ctx, type(self.trainer.optimizer).__name__)
