"""Checks at the door: optimizer settings, kvstore names, class labels, split-able loaders.

Each check raises ``ValueError``/``TypeError`` naming the parameter and the bad value before
anything trains, instead of an MXNet error after the first step (or no error at all).
"""
from __future__ import annotations

import math
import numbers
from typing import Optional

import numpy as np

from ._mx import mx

# kvstore names MXNet 1.9.1 understands (``mx.kv.create``), plus the registered plug-ins.
KVSTORE_NAMES = ("local", "device", "nccl", "local_update_cpu", "local_allreduce_cpu",
                 "local_allreduce_device", "dist_sync", "dist_async", "dist_sync_device",
                 "dist_device_sync", "dist_async_device", "dist_device_async", "horovod",
                 "byteps")

# Optimizer settings that must be finite numbers, and the range each must lie in:
# (low, high, low_inclusive, high_inclusive).
_RANGES = {
    "learning_rate": (0.0, math.inf, False, False),
    "momentum": (0.0, 1.0, True, False),
    "beta1": (0.0, 1.0, True, False),
    "beta2": (0.0, 1.0, True, False),
    "gamma1": (0.0, 1.0, True, False),
    "gamma2": (0.0, 1.0, True, False),
    "rho": (0.0, 1.0, True, True),
    "wd": (0.0, math.inf, True, False),
    "epsilon": (0.0, math.inf, False, False),
    "rescale_grad": (0.0, math.inf, False, False),
    "clip_gradient": (0.0, math.inf, False, False),
}
# Attribute names an optimizer object keeps them under, where they differ.
_ATTRIBUTES = {"learning_rate": "lr"}
_MAYBE_NONE = ("learning_rate", "clip_gradient")


def _interval(low, high, low_in, high_in) -> str:
    return "{}{}, {}{}".format("[" if low_in else "(", low, high, "]" if high_in else ")")


def check_setting(name: str, key: str, value) -> None:
    """One optimizer setting ``key`` (shown as ``name``): a finite number in its range."""
    if value is None and key in _MAYBE_NONE:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    v = float(value)
    if not math.isfinite(v):
        raise ValueError("{} must be finite, got {!r}".format(name, value))
    low, high, low_in, high_in = _RANGES[key]
    if v < low or (v == low and not low_in) or v > high or (v == high and not high_in):
        raise ValueError("{} must be in {}, got {!r}".format(
            name, _interval(low, high, low_in, high_in), value))


def check_optimizer_params(params: Optional[dict]) -> None:
    """The numeric settings of ``optimizer_params`` (other keys are left to MXNet)."""
    for key, value in (params or {}).items():
        if key in _RANGES:
            check_setting("optimizer_params[{!r}]".format(key), key, value)


def check_optimizer(optimizer, owner: str = "trainer.optimizer") -> None:
    """The same settings read from an optimizer object (a user's trainer or optimizer)."""
    for key in _RANGES:
        attr = _ATTRIBUTES.get(key, key)
        if key == "learning_rate" and getattr(optimizer, "lr_scheduler", None) is not None:
            continue  # the scheduler's base_lr rules
        if hasattr(optimizer, attr):
            check_setting("{}.{}".format(owner, attr), key, getattr(optimizer, attr))


def check_kvstore(kvstore) -> None:
    """A kvstore name MXNet knows, a KVStore object, or None."""
    if kvstore is None or isinstance(kvstore, mx.kvstore.KVStoreBase):
        return
    if not isinstance(kvstore, str):
        raise TypeError("kvstore must be a name, an mx.kv.KVStore or None, got {!r}".format(
            kvstore))
    if kvstore not in KVSTORE_NAMES:
        raise ValueError("unknown kvstore {!r}; use one of {} (or None)".format(
            kvstore, ", ".join(KVSTORE_NAMES)))


def check_class_labels(label, classes: int, where: str = "the labels") -> None:
    """Class indices for a softmax cross-entropy: whole numbers in ``[0, classes)``.

    MXNet clips labels outside the range silently, so a wrong label would train (and give a
    suggestion) on the wrong task.
    """
    y = label.asnumpy() if isinstance(label, mx.nd.NDArray) else np.asarray(label)
    if y.size == 0:
        return
    y = y.astype(np.float64, copy=False)
    bad = ~np.isfinite(y) | (y < 0) | (y >= classes) | (y != np.round(y))
    if bad.any():
        value = y[bad].ravel()[0]
        raise ValueError(
            "{} must be class indices in [0, {}) for SoftmaxCrossEntropyLoss (the net has {} "
            "outputs), got {!r}; MXNet would clip it silently. Relabel the classes 0..{}, or "
            "give the net more outputs".format(where, classes, classes, float(value),
                                               classes - 1))


def check_loader_split(loader, num_ctx: int) -> None:
    """A DataLoader whose last batch is kept must be split-able over ``num_ctx`` devices."""
    if num_ctx < 2 or not isinstance(loader, mx.gluon.data.DataLoader):
        return
    sampler = getattr(loader, "_batch_sampler", None)
    if not isinstance(sampler, mx.gluon.data.BatchSampler) or \
            getattr(sampler, "_last_batch", None) != "keep":
        return
    try:
        n = len(sampler._sampler)
    except TypeError:
        return
    rest = n % sampler._batch_size
    if 0 < rest < num_ctx:
        raise ValueError(
            "the DataLoader's last batch holds {} sample(s) ({} samples, batch_size={}, "
            "last_batch='keep'), which cannot be split over {} contexts; use "
            "last_batch='discard' or 'rollover'".format(rest, n, sampler._batch_size,
                                                       num_ctx))


def check_optimizer_can_train(optimizer, params) -> None:
    """Optimizers MXNet 1.9 cannot step with these parameters or settings, refused by name
    before anything trains (they fail inside ``trainer.step`` with a bare assertion or an
    unrelated message): GroupAdaGrad updates only 2-D weights and takes no weight decay;
    DCASGD with momentum tests an NDArray's truth value."""
    name = type(optimizer).__name__
    if name == "GroupAdaGrad":
        flat = [p.name for p in params
                if p.grad_req != "null" and p.shape is not None and len(p.shape) != 2]
        if flat:
            raise ValueError("MXNet's GroupAdaGrad updates only 2-D weights, but this trainer "
                             "also updates {} (shape {}){}: give those parameters another "
                             "trainer, or use AdaGrad".format(
                                 flat[0], _shape_of(params, flat[0]),
                                 " and {} more".format(len(flat) - 1) if len(flat) > 1 else ""))
        if getattr(optimizer, "wd", 0):
            raise ValueError("MXNet's GroupAdaGrad takes no weight decay, got wd={!r}".format(
                optimizer.wd))
    if name == "DCASGD" and getattr(optimizer, "momentum", 0):
        raise ValueError("MXNet 1.9's DCASGD fails at its first step with momentum > 0 (it "
                         "tests an NDArray's truth value), got momentum={!r}: use momentum=0, "
                         "or SGD/NAG with momentum".format(optimizer.momentum))


def _shape_of(params, name: str):
    return next(p.shape for p in params if p.name == name)


# Optimizers whose step MXNet 1.9 computes without the learning rate.
LR_IGNORED = {"AdaDelta": "its step is set by rho and epsilon alone "
                          "(weight -= delta + wd * weight)"}


def lr_ignored_message(optimizer) -> Optional[str]:
    """One line when ``optimizer`` does not use its learning rate (a range test of it would
    measure noise), else None."""
    why = LR_IGNORED.get(type(optimizer).__name__)
    if why is None:
        return None
    return ("MXNet's {} does not use the learning rate: {}; a range test of the learning rate "
            "has nothing to find (tune rho and epsilon, or use Adam or RMSProp)".format(
                type(optimizer).__name__, why))
