"""The training step: how one batch becomes a loss, gradients and a parameter update.

:class:`TrainingStep` is the one place that knows how a batch is unpacked (``batch_fn``, or
the default ``(data, label)``), split over the devices, run through the net and the loss,
backpropagated (with AMP loss scaling when the trainer was prepared by ``mx.contrib.amp``) and
applied by the trainer. The range test (:mod:`gluon_lr.finder`), the schedule comparison
(:mod:`gluon_lr.compare`) and :class:`gluon_lr.Learner` all train through it, so a net with
several inputs or outputs works everywhere at once.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from ._mx import mx

gluon = mx.gluon
nd = mx.nd
autograd = mx.autograd

Inputs = Tuple[nd.NDArray, ...]


def mean_loss(losses: Sequence[nd.NDArray], ctx: mx.Context) -> nd.NDArray:
    """Mean per-sample loss of one batch from its per-device loss arrays (not synchronised)."""
    if len(losses) == 1:
        return losses[0].mean()
    total = losses[0].sum()
    for part in losses[1:]:
        total = total + part.sum().as_in_context(ctx)
    return total / sum(part.shape[0] for part in losses)


def first_line(err: BaseException) -> str:
    """The first non-empty line of an error message (MXNet's carry whole stack traces)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    if lines and lines[0].startswith("Traceback"):
        # MXNet's C++ errors: "Traceback ...", "File ...", then the message itself.
        lines = [ln for ln in lines[1:] if not ln.startswith("File ")] or lines
        if lines[0].startswith("MXNetError: "):
            lines[0] = lines[0][len("MXNetError: "):]
    return lines[0] if lines else type(err).__name__


def set_grad_req(param, req: str) -> None:
    """Set ``param.grad_req`` between ``"write"`` and ``"add"`` keeping its gradient arrays.

    Gluon's setter allocates new gradient arrays, so code that kept ``param.grad()`` (for
    clipping, say) would go on reading stale ones; re-marking the same arrays avoids that.
    Changes to or from ``"null"`` go through the setter, which must (re)create them.
    """
    if param.grad_req == req:
        return
    if req == "null" or param.grad_req == "null" or param._data is None:
        param.grad_req = req
        return
    param._grad_req = req
    autograd.mark_variables(param.list_data(), param.list_grad(), req)


def _describe(batch) -> str:
    if isinstance(batch, (list, tuple)):
        return "a {} of {}".format(type(batch).__name__, len(batch))
    return type(batch).__name__


def _as_nd(x):
    """NDArrays as they are, numpy arrays converted (float64 to float32), else None."""
    if isinstance(x, nd.NDArray):
        return x
    if isinstance(x, np.ndarray) and (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        return nd.array(x, dtype=np.float32 if x.dtype == np.float64 else x.dtype)
    return None


def _map(fn, label):
    """``fn`` on every NDArray of a label that may be a tuple/list of them (or anything)."""
    if isinstance(label, nd.NDArray):
        return fn(label)
    if isinstance(label, (list, tuple)) and label and all(
            isinstance(x, nd.NDArray) for x in label):
        return type(label)(fn(x) for x in label)
    return label


def _shape(x):
    if isinstance(x, (list, tuple)):
        shapes = [_shape(o) for o in x]
        return shapes[0] if len(shapes) == 1 else shapes
    return tuple(x.shape) if hasattr(x, "shape") else type(x).__name__


class TrainingStep:
    """How a batch trains ``net``: unpack, split over ``ctx``, forward, loss, backward, step.

    Parameters
    ----------
    net : gluon.Block
        Called as ``net(*inputs)``; whatever it returns (an NDArray, or a tuple for a net
        with several outputs) goes to ``loss`` unchanged.
    loss : callable
        ``loss(output, label)`` returning per-sample losses (an NDArray whose axis 0 is the
        batch). ``output`` and ``label`` are what the net and the batch give, so for a net
        with two outputs ``lambda out, y: ce(out[0], y) + ce(out[1], y)`` works.
    trainer : gluon.Trainer
        Applies the gradients. A trainer prepared with ``mx.contrib.amp.init_trainer`` is
        stepped with AMP's dynamic loss scaling (``amp.scale_loss``).
    ctx : list of mx.Context
        The devices; every input and the label (each NDArray in it) are split over them
        along axis 0.
    batch_fn : callable, optional
        ``batch_fn(batch) -> (inputs, label)``, where ``inputs`` is an NDArray or a tuple or
        list of NDArrays, fed as ``net(*inputs)``. Default: a batch must be a
        ``(data, label)`` pair, and ``data`` may itself be a tuple of NDArrays for a net with
        several inputs. Numpy arrays are converted to NDArrays.

    Notes
    -----
    Axis 0 of the first input is the batch: its length is the batch size handed to
    ``trainer.step``. Parameters with ``grad_req="add"`` have their gradients zeroed before
    each step, so every step applies the gradient of its own batch (or group of batches).
    """

    def __init__(self, net, loss: Callable, trainer, ctx: List[mx.Context],
                 batch_fn: Optional[Callable] = None):
        self.net = net
        self.loss = loss
        self.trainer = trainer
        self.ctx = list(ctx)
        self.batch_fn = batch_fn

    @property
    def net(self):
        return self._net

    @net.setter
    def net(self, net) -> None:
        self._net = net
        self._params = list(net.collect_params().values()) if net is not None else []

    # ---- what a batch is ---------------------------------------------------------------------
    def unpack(self, batch) -> Tuple[Inputs, Any]:
        """``(inputs, label)`` of one batch, ``inputs`` always a tuple of NDArrays.

        Raises
        ------
        TypeError
            When the batch (or what ``batch_fn`` returned) is not ``(inputs, label)`` with
            array inputs; the message names ``batch_fn``.
        """
        if self.batch_fn is None:
            if not (isinstance(batch, (list, tuple)) and len(batch) == 2):
                raise TypeError(
                    "a batch must be a (data, label) pair, got {}; pass batch_fn=lambda batch: "
                    "(inputs, label) to say how to unpack it".format(_describe(batch)))
            inputs, label = batch
        else:
            unpacked = self.batch_fn(batch)
            if not (isinstance(unpacked, (list, tuple)) and len(unpacked) == 2):
                raise TypeError("batch_fn must return (inputs, label), got {}".format(
                    _describe(unpacked)))
            inputs, label = unpacked
        many = isinstance(inputs, (list, tuple))
        arrays = tuple(_as_nd(x) for x in inputs) if many else (_as_nd(inputs),)
        if arrays and all(a is not None for a in arrays):
            label = _as_nd(label) if isinstance(label, np.ndarray) else label
            return arrays, label
        bad = inputs if not many or not inputs else next(
            x for x, a in zip(inputs, arrays) if a is None)
        raise TypeError(
            "the net's inputs must be NDArrays, got {}{}".format(
                _describe(bad) if many and not inputs else type(bad).__name__,
                "; pass batch_fn=lambda batch: (inputs, label) that turns each batch into "
                "NDArrays" if self.batch_fn is None else
                " from batch_fn (it must return (inputs, label) with NDArray inputs)"))

    @staticmethod
    def size(inputs: Inputs) -> int:
        """Samples in a batch: the length of its first input along axis 0."""
        return inputs[0].shape[0]

    def batch_size(self, batch) -> int:
        """Samples in one batch, as the data yields it."""
        return self.size(self.unpack(batch)[0])

    def split(self, inputs: Inputs, label) -> List[Tuple[Inputs, Any]]:
        """One ``(inputs, label)`` part per device: every input and the label split on axis 0."""
        ctx = self.ctx
        if len(ctx) == 1:
            c = ctx[0]
            return [(tuple(x.as_in_context(c) for x in inputs),
                     _map(lambda y: y.as_in_context(c), label))]
        n = self.size(inputs)
        if n < len(ctx):
            raise ValueError("a batch of {} samples cannot be split across {} contexts".format(
                n, len(ctx)))
        labels = _map(lambda y: gluon.utils.split_and_load(y, ctx, even_split=False), label)
        if labels is label:
            raise TypeError("splitting a batch over {} contexts needs an NDArray label (or a "
                            "tuple of them), got {}; make batch_fn return one".format(
                                len(ctx), type(label).__name__))
        parts = [gluon.utils.split_and_load(x, ctx, even_split=False) for x in inputs]
        if isinstance(labels, list) and not isinstance(label, list):
            per_device = labels  # one NDArray label: already one part per device
        else:
            per_device = [type(label)(part[k] for part in labels) for k in range(len(ctx))]
        return [(tuple(p[k] for p in parts), per_device[k]) for k in range(len(ctx))]

    def forward(self, inputs: Inputs):
        """The net's output for one device's inputs (whatever the net returns)."""
        return self.net(*inputs)

    # ---- outside training ----------------------------------------------------------------------
    def materialize(self, batch) -> None:
        """Run one forward pass (no training) so that deferred shapes get their arrays."""
        if any(p._deferred_init for p in self._params):
            inputs, _ = self.unpack(batch)
            k = max(1, self.size(inputs) // len(self.ctx))
            self.forward(tuple(x[:k].as_in_context(self.ctx[0]) for x in inputs))
            nd.waitall()

    def check(self, batch) -> None:
        """Run net and loss on part of one batch, outside training, and explain any failure.

        Materialises deferred shapes too. Raises ``ValueError`` naming the shapes instead of
        letting an MXNet error surface from deep inside the first training step.
        """
        inputs, label = self.unpack(batch)
        k = max(1, min(self.size(inputs) // len(self.ctx), 8))
        home = self.ctx[0]
        xs = tuple(x[:k].as_in_context(home) for x in inputs)
        y = _map(lambda a: a[:k].as_in_context(home), label)
        try:
            out = self.forward(xs)
            for o in (out if isinstance(out, (list, tuple)) else [out]):
                if isinstance(o, nd.NDArray):
                    o.wait_to_read()
        except (mx.base.MXNetError, ValueError, TypeError) as err:
            raise ValueError("the net cannot take a batch of data with shape {}: {}".format(
                _shape(inputs), first_line(err))) from err
        try:
            loss = self.loss(out, y)
            if not isinstance(loss, nd.NDArray):
                raise TypeError("the loss returned {}, not an NDArray".format(
                    type(loss).__name__))
            loss.wait_to_read()
        except (mx.base.MXNetError, ValueError, TypeError) as err:
            raise ValueError("the loss cannot compare the net's output of shape {} with labels "
                             "of shape {}: {}".format(_shape(out), _shape(label),
                                                      first_line(err))) from err

    def predict(self, batch) -> List[Tuple[Any, Any]]:
        """``(output, label)`` per device for one batch (forward only)."""
        return [(self.forward(xs), y) for xs, y in self.split(*self.unpack(batch))]

    def evaluate(self, batches) -> nd.NDArray:
        """Mean loss over ``batches`` (forward only, inference mode), not synchronised."""
        total, n = None, 0
        home = self.ctx[0]
        for batch in batches:
            inputs, label = self.unpack(batch)
            for xs, y in self.split(inputs, label):
                part = self.loss(self.forward(xs), y).sum().as_in_context(home)
                total = part if total is None else total + part
            n += self.size(inputs)
        return total / n

    # ---- training ----------------------------------------------------------------------------
    def start_accumulating(self) -> None:
        """Switch ``"write"`` parameters to ``"add"``, keeping their gradient arrays.

        A range test with ``accumulate > 1`` calls it after its snapshot; restoring the
        snapshot switches them back (with :func:`set_grad_req`, keeping the arrays again).
        """
        for p in self._params:
            if p.grad_req == "write":
                set_grad_req(p, "add")

    def forward_backward(self, batch) -> Tuple[nd.NDArray, int]:
        """Forward and backward on one batch: its mean loss (not synchronised) and its size."""
        inputs, label = self.unpack(batch)
        parts = self.split(inputs, label)
        scaler = getattr(self.trainer, "_amp_loss_scaler", None)
        with autograd.record():
            losses = [self.loss(self.forward(xs), y) for xs, y in parts]
            if scaler is not None:
                from mxnet.contrib import amp
                with amp.scale_loss(losses, self.trainer) as scaled:
                    autograd.backward(scaled)
        if scaler is None:
            autograd.backward(losses)
        return mean_loss(losses, self.ctx[0]), self.size(inputs)

    def _zero_added_grads(self) -> None:
        # grad_req="add" sums into the gradient arrays; without zeroing, every step would
        # apply the sum of all earlier batches' gradients.
        for p in self._params:
            if p.grad_req == "add":
                p.zero_grad()

    def train(self, batch) -> nd.NDArray:
        """One optimizer step on one batch; returns its mean loss as an unsynchronised NDArray."""
        self._zero_added_grads()
        loss, n = self.forward_backward(batch)
        self.trainer.step(n)
        return loss

    def train_group(self, group: Sequence) -> nd.NDArray:
        """One optimizer step over one batch, or over several with accumulated gradients.

        Accumulating needs ``grad_req="add"`` on the parameters (:meth:`start_accumulating`).
        """
        if len(group) == 1:
            return self.train(group[0])
        loss, n = self.forward_group(group)
        self.apply(n)
        return loss

    def forward_group(self, group: Sequence) -> Tuple[nd.NDArray, int]:
        """Forward and backward on the batches of one step, without the optimizer step (so
        nothing collective happens): their mean loss (not synchronised) and their size."""
        self._zero_added_grads()
        if len(group) == 1:
            return self.forward_backward(group[0])
        total, n = None, 0
        for batch in group:
            loss, size = self.forward_backward(batch)
            loss = loss * size
            total = loss if total is None else total + loss
            n += size
        return total / n, n

    def apply(self, n: int) -> None:
        """The optimizer step after :meth:`forward_group` (on a distributed kvstore, the
        gradients' all-reduce)."""
        self.trainer.step(n)


__all__ = ["TrainingStep", "mean_loss", "first_line", "set_grad_req"]
