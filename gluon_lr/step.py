"""The training step: how one batch becomes a loss, gradients and a parameter update.

:class:`TrainingStep` is the one place that knows how a batch is unpacked (``batch_fn``, or
the default ``(data, label)``), split over the devices, run through the net and the loss,
backpropagated and applied by the trainer. The range test (:mod:`gluon_lr.finder`), the
schedule comparison (:mod:`gluon_lr.compare`) and :class:`gluon_lr.Learner` all train through
it, so a net with several inputs or outputs works everywhere at once.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple

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
    return lines[0] if lines else type(err).__name__


def _describe(batch) -> str:
    if isinstance(batch, (list, tuple)):
        return "a {} of {}".format(type(batch).__name__, len(batch))
    return type(batch).__name__


def _shapes(inputs: Inputs):
    shapes = [tuple(x.shape) for x in inputs]
    return shapes[0] if len(shapes) == 1 else shapes


class TrainingStep:
    """How a batch trains ``net``: unpack, split over ``ctx``, forward, loss, backward, step.

    Parameters
    ----------
    net : gluon.Block
        Called as ``net(*inputs)``; whatever it returns (an NDArray, or a tuple for a net
        with several outputs) goes to ``loss`` unchanged.
    loss : callable
        ``loss(output, label)`` returning per-sample losses (an NDArray).
    trainer : gluon.Trainer
        Applies the gradients.
    ctx : list of mx.Context
        The devices; every input and the label are split over them along axis 0.
    batch_fn : callable, optional
        ``batch_fn(batch) -> (inputs, label)``, where ``inputs`` is an NDArray or a tuple or
        list of NDArrays. Default: a batch must be a ``(data, label)`` pair, and ``data`` may
        itself be a tuple of NDArrays for a net with several inputs.
    """

    def __init__(self, net, loss: Callable, trainer, ctx: List[mx.Context],
                 batch_fn: Optional[Callable] = None):
        self.net = net
        self.loss = loss
        self.trainer = trainer
        self.ctx = list(ctx)
        self.batch_fn = batch_fn

    # ---- what a batch is ---------------------------------------------------------------------
    def unpack(self, batch) -> Tuple[Inputs, Any]:
        """``(inputs, label)`` of one batch, ``inputs`` always a tuple of NDArrays.

        Raises
        ------
        TypeError
            When the batch (or what ``batch_fn`` returned) is not ``(inputs, label)`` with
            NDArray inputs; the message names ``batch_fn``.
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
        if isinstance(inputs, nd.NDArray):
            return (inputs,), label
        if isinstance(inputs, (list, tuple)) and inputs and all(
                isinstance(x, nd.NDArray) for x in inputs):
            return tuple(inputs), label
        bad = inputs if not isinstance(inputs, (list, tuple)) or not inputs else next(
            x for x in inputs if not isinstance(x, nd.NDArray))
        raise TypeError(
            "the net's inputs must be NDArrays, got {}{}".format(
                type(bad).__name__, "; pass batch_fn=lambda batch: (inputs, label) that "
                "converts the batch" if self.batch_fn is None else
                " from batch_fn (it must return (inputs, label) with NDArray inputs)"))

    @staticmethod
    def size(inputs: Inputs) -> int:
        """Samples in a batch: the length of its first input along axis 0."""
        return inputs[0].shape[0]

    def split(self, inputs: Inputs, label) -> List[Tuple[Inputs, Any]]:
        """One ``(inputs, label)`` part per device: every input and the label split on axis 0."""
        ctx = self.ctx
        if len(ctx) == 1:
            return [(tuple(x.as_in_context(ctx[0]) for x in inputs),
                     label.as_in_context(ctx[0]) if isinstance(label, nd.NDArray) else label)]
        n = self.size(inputs)
        if n < len(ctx):
            raise ValueError("a batch of {} samples cannot be split across {} contexts".format(
                n, len(ctx)))
        if not isinstance(label, nd.NDArray):
            raise TypeError("splitting a batch over {} contexts needs an NDArray label, got {}; "
                            "make batch_fn return one".format(len(ctx), type(label).__name__))
        parts = [gluon.utils.split_and_load(x, ctx, even_split=False) for x in inputs]
        labels = gluon.utils.split_and_load(label, ctx, even_split=False)
        return [(tuple(p[k] for p in parts), labels[k]) for k in range(len(ctx))]

    def forward(self, inputs: Inputs):
        """The net's output for one device's inputs (whatever the net returns)."""
        return self.net(*inputs)

    # ---- outside training ----------------------------------------------------------------------
    def materialize(self, batch) -> None:
        """Run one forward pass (no training) so that deferred shapes get their arrays."""
        if any(p._deferred_init for p in self.net.collect_params().values()):
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
        xs = tuple(x[:k].as_in_context(self.ctx[0]) for x in inputs)
        y = label[:k].as_in_context(self.ctx[0]) if isinstance(label, nd.NDArray) else label
        try:
            out = self.forward(xs)
            for o in (out if isinstance(out, (list, tuple)) else [out]):
                if isinstance(o, nd.NDArray):
                    o.wait_to_read()
        except (mx.base.MXNetError, ValueError, TypeError) as err:
            raise ValueError("the net cannot take a batch of data with shape {}: {}".format(
                _shapes(inputs), first_line(err))) from err
        try:
            loss = self.loss(out, y)
            if not isinstance(loss, nd.NDArray):
                raise TypeError("the loss returned {}, not an NDArray".format(
                    type(loss).__name__))
            loss.wait_to_read()
        except (mx.base.MXNetError, ValueError, TypeError) as err:
            raise ValueError("the loss cannot compare the net's output of shape {} with labels "
                             "of shape {}: {}".format(
                                 _out_shape(out), tuple(getattr(label, "shape", ())),
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
    def forward_backward(self, batch) -> Tuple[nd.NDArray, int]:
        """Forward and backward on one batch: its mean loss (not synchronised) and its size."""
        inputs, label = self.unpack(batch)
        parts = self.split(inputs, label)
        with autograd.record():
            losses = [self.loss(self.forward(xs), y) for xs, y in parts]
        autograd.backward(losses)
        return mean_loss(losses, self.ctx[0]), self.size(inputs)

    def train(self, batch) -> nd.NDArray:
        """One optimizer step on one batch; returns its mean loss as an unsynchronised NDArray."""
        loss, n = self.forward_backward(batch)
        self.trainer.step(n)
        return loss

    def train_group(self, group: Sequence) -> nd.NDArray:
        """One optimizer step over one batch, or over several with accumulated gradients.

        Accumulating needs ``grad_req="add"`` on the parameters (see
        :meth:`gluon_lr.Learner.prepare_sweep`); the gradients are zeroed after the step.
        """
        if len(group) == 1:
            return self.train(group[0])
        total, n = None, 0
        for batch in group:
            loss, size = self.forward_backward(batch)
            loss = loss * size
            total = loss if total is None else total + loss
            n += size
        self.trainer.step(n)
        for p in self.net.collect_params().values():
            if p.grad_req != "null":
                p.zero_grad()
        return total / n


def _out_shape(out):
    if isinstance(out, (list, tuple)):
        return [tuple(o.shape) if hasattr(o, "shape") else type(o).__name__ for o in out]
    return tuple(out.shape) if hasattr(out, "shape") else type(out).__name__


__all__ = ["TrainingStep", "mean_loss", "first_line"]
