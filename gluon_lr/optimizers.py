"""Learning-rate-free optimizers for MXNet: Prodigy, D-Adaptation SGD and D-Adaptation Adam.

Each estimates the distance to the solution, ``d``, while it trains, and steps with ``d`` times
its ``learning_rate``, which is a *multiplier* (default 1.0; a schedule such as cosine decay to
zero multiplies it, as in the papers' experiments). The update rules follow the authors'
reference implementations line by line:

* :class:`Prodigy` -- Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free
  Learner", ICML 2024 (github.com/konstmish/prodigy, ``prodigyopt/prodigy.py``).
* :class:`DAdaptSGD`, :class:`DAdaptAdam` -- Defazio & Mishchenko, "Learning-Rate-Free
  Learning by D-Adaptation", ICML 2023 (github.com/facebookresearch/dadaptation).

Importing this module registers ``"prodigy"``, ``"dadaptsgd"`` and ``"dadaptadam"`` with
``mx.optimizer``, so ``gluon.Trainer(params, "prodigy")`` works afterwards. ``import gluon_lr``
alone does not (the package imports its parts lazily); ``gluon_lr.Prodigy`` does.

One d for all parameters
------------------------
``d`` is computed from sums over *all* parameters, so every parameter of a step must be seen
before any is moved. These optimizers ask MXNet's updater for all parameters in one call (a
huge ``aggregate_num``), which ``gluon.Trainer`` then does, once per device. With several
devices (``update_on_kvstore=False``) the devices share one optimizer object: the first device
to reach a step computes the new ``d``; the others replay the same scalars, so ``d`` advances
once per step and every device's weights match. A kvstore that updates on the store
(``update_on_kvstore=True``, the Trainer's default on several devices) hands the optimizer one
parameter at a time; that is refused with a :class:`ValueError` when the trainer first
configures its kvstore.

All global state (``d`` and its running sums, the step counter, which device computed which
step) is kept in attributes of the optimizer object holding numbers, tuples and dicts that are
rebound on every step, never changed in place. So pickling, ``Trainer.save_states``/
``load_states`` and any snapshot that copies the optimizer's ``__dict__`` (gluon_lr's does)
carry it; :meth:`LRFreeOptimizer.state_dict` returns a copy of exactly that state.

Deviations from the references, all at corner cases: a learning rate of exactly 0 (the last
step of cosine-to-zero) keeps ``d`` and decays the running numerator instead of failing (Prodigy's
reference raises ``UnboundLocalError`` there); a first D-Adaptation SGD step with all-zero
gradients is skipped instead of dividing by zero; ``lr_mult`` must be 1 (or 0, which freezes
the parameter); float16 weights and Prodigy's ``slice_p``/FSDP options are not offered.
"""
from __future__ import annotations

import math
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._mx import mx

nd = mx.nd

__all__ = ["LRFreeOptimizer", "Prodigy", "DAdaptSGD", "DAdaptAdam", "lr_free_message"]

# Large enough that mx.optimizer.Updater hands every parameter of a device to one call.
_ALL_AT_ONCE = 2 ** 31 - 1
_KVSTORE_DIR = os.path.join("mxnet", "kvstore")


def _called_by_kvstore_set_optimizer() -> bool:
    """Whether ``KVStore.set_optimizer`` is on the call stack.

    That is the one place MXNet hands an optimizer to a store that will call it key by key
    (it builds an updater locally or pickles the optimizer for the parameter servers).
    """
    frame = sys._getframe(1)
    for _ in range(12):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name == "set_optimizer" and _KVSTORE_DIR in code.co_filename:
            return True
        frame = frame.f_back
    return False


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("{} must be a finite number > 0, got {!r}".format(name, value))
    return float(value)


def _check_beta(name: str, value, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("{} must be a number, got {!r}".format(name, value))
    low_ok = value >= 0 if allow_zero else value > 0
    if not (low_ok and value < 1):
        raise ValueError("{} must be in {}0, 1), got {!r}".format(
            name, "[" if allow_zero else "(", value))
    return float(value)


def _check_growth(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("growth_rate must be a number, got {!r}".format(value))
    if not value >= 1:
        raise ValueError("growth_rate must be >= 1 (inf for no limit), got {!r}".format(value))
    return float(value)


class LRFreeOptimizer(mx.optimizer.Optimizer):
    """Base class: one global step-size estimate shared by all parameters and devices.

    Subclasses implement three steps on the list of ``(index, weight, grad, state)`` of one
    device: :meth:`_begin` (global scalars of this step, leader only), :meth:`_accumulate`
    (per-parameter statistics, returns this device's sums) and :meth:`_finish` (the new global
    scalars from the sums, or ``None`` to skip the step), then :meth:`_apply` moves the
    weights. Followers (other devices in the same step) run :meth:`_accumulate` and
    :meth:`_apply` with the leader's scalars.

    Parameters
    ----------
    learning_rate : float, optional
        Multiplier of the adapted step size. Default 1.0 without a scheduler; with an
        ``lr_scheduler`` and no ``learning_rate`` the scheduler's own values are the multiplier.
    d0 : float, default 1e-6
        Initial estimate of d.
    growth_rate : float, default inf
        Upper bound on d's growth per step (1.02 gives a warm-up-like effect).
    **kwargs
        ``wd``, ``rescale_grad``, ``clip_gradient``, ``lr_scheduler``... as for any
        ``mx.optimizer.Optimizer``.
    """

    def __init__(self, learning_rate: Optional[float] = None, d0: float = 1e-6,
                 growth_rate: float = float("inf"), **kwargs):
        if learning_rate is None and kwargs.get("lr_scheduler") is None:
            learning_rate = 1.0
        if learning_rate is not None:
            learning_rate = float(learning_rate)
            if not learning_rate >= 0:
                raise ValueError("learning_rate must be >= 0 (it multiplies the adapted step "
                                 "size; 1.0 is the default), got {!r}".format(learning_rate))
        if kwargs.get("multi_precision"):
            raise ValueError("multi_precision=True is not supported by {}: train in "
                             "float32".format(type(self).__name__))
        self.d0 = _check_positive("d0", d0)
        self.growth_rate = _check_growth(growth_rate)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.aggregate_num = _ALL_AT_ONCE
        self.d = self.d0
        self.k = 0                      # steps taken (the references' group["k"])
        self._record = None             # (step, scalars before, scalars after) of the last step
        self._device_step: Dict[str, int] = {}
        self._device_seen: Dict[str, frozenset] = {}
        self._steps = 0                 # global steps for which d has been computed

    # ---- how MXNet hands over parameters ---------------------------------------------------
    @property
    def aggregate_num(self) -> int:
        if _called_by_kvstore_set_optimizer():
            self._refuse_kvstore()
        return self._aggregate_num

    @aggregate_num.setter
    def aggregate_num(self, value: int) -> None:
        self._aggregate_num = value

    def _refuse_kvstore(self):
        raise ValueError(
            "{} cannot run on a kvstore that updates parameters on the store "
            "(update_on_kvstore=True, the default of gluon.Trainer on several devices or with "
            "a dist kvstore): the store hands it one parameter at a time, while its step size "
            "d is computed from all parameters together. Create the trainer with "
            "gluon.Trainer(..., update_on_kvstore=False)".format(type(self).__name__))

    def __getstate__(self):
        if _called_by_kvstore_set_optimizer():
            self._refuse_kvstore()
        return super().__getstate__()

    def state_dict(self) -> dict:
        """A copy of the global state: d, its running sums, counters and step bookkeeping."""
        skip = {"param_dict", "lr_scheduler", "idx2name", "sym_info", "lr_mult", "wd_mult"}
        return {k: _copy(v) for k, v in self.__dict__.items() if k not in skip}

    def create_state(self, index, weight):
        if weight.dtype not in (np.float32, np.float64):
            raise TypeError("{} supports float32/float64 weights; parameter {} is {}".format(
                type(self).__name__, self.idx2name.get(index, index), np.dtype(weight.dtype)))
        return self._create_state(weight)

    def update(self, index, weight, grad, state):
        self.update_multi_precision(index, weight, grad, state)

    def update_multi_precision(self, index, weight, grad, state):
        if isinstance(index, (list, tuple)):
            items = list(zip(index, weight, grad, state))
        else:
            items = [(index, weight, grad, state)]
        if not items:
            return
        self._update_count([i for i, _, _, _ in items])
        lead = self._claim_step(str(items[0][1].context), [i for i, _, _, _ in items])
        lr = self._check_lr_mults(items)
        items = [(i, w, self._prepared_grad(i, w, g), s) for i, w, g, s in items
                 if self._lr_mult(i) != 0]
        if not items:
            return
        if lead:
            before = self._begin(items, lr)
            if before is None:          # nothing to learn from (all-zero gradients)
                self._record = (self._steps, None, None)
                return
            sums = self._accumulate(items, before)
            after = self._finish(before, sums)
            self._record = (self._steps, before, after)
            if after is not None:
                self._commit(after)
        else:
            _, before, after = self._record
            if before is None:
                return
            self._accumulate(items, before)
        if after is not None:
            self._apply(items, before, after)
            if lead:
                self.k += 1

    def _claim_step(self, device: str, indices: Sequence) -> bool:
        """Count one step for ``device``; True if it computes the step's d (the leader)."""
        seen = self._device_seen.get(device)
        new = frozenset(indices)
        last = self._device_step.get(device)
        if seen is not None and last == self._steps and not (seen & new):
            raise RuntimeError(
                "{} received parameters {} separately from {} in the same step on {}: it "
                "needs all parameters of a step in one call (gluon.Trainer with "
                "update_on_kvstore=False does that; ignore_stale_grad that skips every "
                "parameter seen in the previous step does not)".format(
                    type(self).__name__, sorted(new)[:5], sorted(seen)[:5], device))
        # Global state is rebound, never mutated in place, so that a shallow copy of the
        # optimizer's __dict__ is already a snapshot of it.
        self._device_seen = dict(self._device_seen, **{device: new})
        if last is None:
            lead = self._record is None
        elif last == self._steps:
            lead = True
        elif last == self._steps - 1:
            lead = False
        else:
            raise RuntimeError("{} on {} is at step {} while the shared step size is at step "
                               "{}: the devices have taken different steps".format(
                                   type(self).__name__, device, last, self._steps))
        if lead:
            self._steps += 1
        self._device_step = dict(self._device_step, **{device: self._steps})
        return lead

    def _lr_mult(self, index) -> float:
        if index in self.param_dict:
            return self.param_dict[index].lr_mult
        if index in self.lr_mult:
            return self.lr_mult[index]
        return self.lr_mult.get(self.idx2name.get(index), 1.0)

    def _check_lr_mults(self, items) -> float:
        for i, _, _, _ in items:
            mult = self._lr_mult(i)
            if mult not in (0, 1):
                raise ValueError(
                    "{} has one step size for all parameters: lr_mult must be 1 (or 0 to "
                    "freeze), parameter {} has lr_mult={!r}".format(
                        type(self).__name__, self.idx2name.get(i, i), mult))
        return float(self.learning_rate)

    def _prepared_grad(self, index, weight, grad):
        g = grad * self.rescale_grad
        if self.clip_gradient is not None:
            g = nd.clip(g, -self.clip_gradient, self.clip_gradient)
        return g

    def _commit(self, after: dict) -> None:
        for key, value in after.items():
            setattr(self, key, value)

    @staticmethod
    def _sum(scalars: List, columns: int = 1) -> List[float]:
        """Per-parameter float32 sums, read at once and added in float64 (as ``.item()`` does).

        ``scalars`` holds ``columns`` shape-(1,) sums per parameter, parameter by parameter.
        """
        values = nd.concat(*scalars, dim=0).asnumpy().astype(np.float64).reshape(-1, columns)
        return [sum(float(v) for v in column) for column in values.T]

    # ---- subclasses -----------------------------------------------------------------------
    def _create_state(self, weight):
        raise NotImplementedError

    def _begin(self, items, lr: float) -> Optional[dict]:
        raise NotImplementedError

    def _accumulate(self, items, before: dict) -> Tuple[float, ...]:
        raise NotImplementedError

    def _finish(self, before: dict, sums) -> Optional[dict]:
        raise NotImplementedError

    def _apply(self, items, before: dict, after: dict) -> None:
        raise NotImplementedError


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _wd(opt, index) -> float:
    return opt._get_wd(index)


class _AdamStepSize:
    """The step size of the Adam-based optimizers: d x lr, with Adam's optional bias correction."""

    def _begin(self, items, lr):
        k = self.k
        bias_correction = 1.0
        if self.use_bias_correction:
            bias_correction = (1 - self.beta2 ** (k + 1)) ** 0.5 / (1 - self.beta1 ** (k + 1))
        return {"d": self.d, "lr": lr, "dlr": self.d * lr * bias_correction}


@mx.optimizer.register
class Prodigy(_AdamStepSize, LRFreeOptimizer):
    """Adam with Prodigy step sizes (Mishchenko & Defazio, ICML 2024).

    Leave ``learning_rate`` at 1.0 unless training is unstable; a cosine decay of the
    multiplier to zero is what the paper recommends.

    Parameters
    ----------
    learning_rate : float, optional
        Multiplier of the adapted step size (default 1.0; see :class:`LRFreeOptimizer`).
    beta1, beta2 : float, default 0.9, 0.999
        Adam's moving-average coefficients.
    beta3 : float, optional
        Coefficient of the running sums behind d; default ``sqrt(beta2)``.
    epsilon : float, default 1e-8
        Added to the denominator, scaled by d.
    decouple : bool, default True
        Decoupled (AdamW) weight decay for ``wd``; False adds ``wd * weight`` to the gradient.
    use_bias_correction : bool, default False
        Adam's bias correction of the step.
    safeguard_warmup : bool, default False
        Leave the learning rate out of the denominator's running sum (for warm-up schedules).
    d0 : float, default 1e-6
        Initial estimate of d.
    d_coef : float, default 1.0
        Scales the estimate of d (the preferred knob, e.g. 0.5 or 2.0).
    growth_rate : float, default inf
        Upper bound on d's growth per step.
    **kwargs
        ``wd``, ``rescale_grad``, ``clip_gradient``, ``lr_scheduler`` as for MXNet optimizers.

    Examples
    --------
    >>> import gluon_lr.optimizers
    >>> from mxnet import gluon
    >>> net = gluon.nn.Dense(1); net.initialize()
    >>> trainer = gluon.Trainer(net.collect_params(), "prodigy")
    >>> type(trainer.optimizer).__name__, trainer.optimizer.d
    ('Prodigy', 1e-06)
    """

    def __init__(self, learning_rate: Optional[float] = None, beta1: float = 0.9,
                 beta2: float = 0.999, beta3: Optional[float] = None, epsilon: float = 1e-8,
                 decouple: bool = True, use_bias_correction: bool = False,
                 safeguard_warmup: bool = False, d0: float = 1e-6, d_coef: float = 1.0,
                 growth_rate: float = float("inf"), **kwargs):
        self.beta1 = _check_beta("beta1", beta1)
        self.beta2 = _check_beta("beta2", beta2)
        self.beta3 = (math.sqrt(self.beta2) if beta3 is None
                      else _check_beta("beta3", beta3))
        self.epsilon = _check_positive("epsilon", epsilon)
        self.d_coef = _check_positive("d_coef", d_coef)
        self.decouple = bool(decouple)
        self.use_bias_correction = bool(use_bias_correction)
        self.safeguard_warmup = bool(safeguard_warmup)
        super().__init__(learning_rate=learning_rate, d0=d0, growth_rate=growth_rate, **kwargs)
        self.d_max = self.d0
        self.d_numerator = 0.0
        self.d_hat = self.d0

    def _create_state(self, weight):
        zeros = lambda: nd.zeros(weight.shape, weight.context, dtype=weight.dtype)  # noqa: E731
        # s, p0 (the starting point), exp_avg (if beta1 > 0), exp_avg_sq
        return (zeros(), weight.copy(), zeros() if self.beta1 > 0 else None, zeros())


    def _accumulate(self, items, before):
        d, dlr = before["d"], before["dlr"]
        beta1, beta2, beta3 = self.beta1, self.beta2, self.beta3
        scale = (d / self.d0) * (d if self.safeguard_warmup else dlr)
        sums = []
        for index, weight, grad, (s, p0, exp_avg, exp_avg_sq) in items:
            wd = _wd(self, index)
            if wd != 0 and not self.decouple:
                grad = grad + wd * weight
            dot = nd.sum(grad * (p0 - weight))
            # in place: the same float32 operations as the reference, fewer passes
            if beta1 > 0:
                exp_avg *= beta1
                exp_avg += grad * (d * (1 - beta1))
            exp_avg_sq *= beta2
            exp_avg_sq += grad * grad * (d * d * (1 - beta2))
            s *= beta3
            s += grad * scale
            sums += [dot, nd.sum(nd.abs(s))]
        dots, abs_s = self._sum(sums, 2)
        # the reference multiplies each parameter's dot by (d / d0) * dlr before adding
        return (d / self.d0) * dlr * dots, abs_s

    def _finish(self, before, sums):
        delta_numerator, d_denom = sums
        if d_denom == 0:
            return None
        d = before["d"]
        d_numerator = self.d_numerator * self.beta3 + delta_numerator
        d_max, d_hat = self.d_max, d
        if before["lr"] > 0:
            d_hat = self.d_coef * d_numerator / d_denom
            if d == self.d0:
                d = max(d, d_hat)
            d_max = max(d_max, d_hat)
            d = min(d_max, d * self.growth_rate)
        return {"d": d, "d_max": d_max, "d_numerator": d_numerator, "d_hat": d_hat}

    def _apply(self, items, before, after):
        dlr, d = before["dlr"], after["d"]
        for index, weight, grad, (s, p0, exp_avg, exp_avg_sq) in items:
            wd = _wd(self, index)
            denom = nd.sqrt(exp_avg_sq) + d * self.epsilon
            if wd != 0 and self.decouple:
                weight += weight * (-wd * dlr)
            if self.beta1 > 0:
                weight += (exp_avg / denom) * (-dlr)
            else:
                if wd != 0 and not self.decouple:
                    grad = grad + wd * weight
                weight += (grad / denom) * (-dlr * d)


@mx.optimizer.register
class DAdaptSGD(LRFreeOptimizer):
    """SGD with D-Adaptation step sizes (Defazio & Mishchenko, ICML 2023).

    Parameters
    ----------
    learning_rate : float, optional
        Multiplier of the adapted step size (default 1.0; see :class:`LRFreeOptimizer`).
    momentum : float, default 0.0
        Momentum in [0, 1) (the paper's experiments use 0.9).
    d0 : float, default 1e-6
        Initial estimate of d.
    growth_rate : float, default inf
        Upper bound on d's growth per step.
    **kwargs
        ``wd`` (added to the gradient), ``rescale_grad``, ``clip_gradient``, ``lr_scheduler``.

    Notes
    -----
    As in the reference, the first step's gradient norm (which scales every step) is taken
    before weight decay is added.
    """

    def __init__(self, learning_rate: Optional[float] = None, momentum: float = 0.0,
                 d0: float = 1e-6, growth_rate: float = float("inf"), **kwargs):
        self.momentum = _check_beta("momentum", momentum)
        super().__init__(learning_rate=learning_rate, d0=d0, growth_rate=growth_rate, **kwargs)
        self.numerator_weighted = 0.0
        self.g0_norm = None

    def _create_state(self, weight):
        # s (the weighted gradient sum) and x0 (the starting point)
        return (nd.zeros(weight.shape, weight.context, dtype=weight.dtype), weight.copy())

    def _begin(self, items, lr):
        g0_norm = self.g0_norm
        if self.k == 0:
            g_sq = self._sum([nd.sum(g * g) for _, _, g, _ in items])[0]
            g0_norm = math.sqrt(g_sq)
            if g0_norm == 0:
                return None
        return {"d": self.d, "lr": lr, "g0_norm": g0_norm, "dlr": self.d * lr / g0_norm}

    def _accumulate(self, items, before):
        dlr = before["dlr"]
        sums = []
        for index, weight, grad, (s, x0) in items:
            wd = _wd(self, index)
            if wd != 0:
                grad = grad + wd * weight
            dot = nd.sum(grad * s)
            s += grad * dlr
            sums += [dot, nd.sum(s * s)]
        dots, sk_sq = self._sum(sums, 2)
        return dlr * dots, sk_sq

    def _finish(self, before, sums):
        delta_numerator, sk_sq = sums
        d = before["d"]
        numerator_weighted = self.numerator_weighted + delta_numerator
        if before["lr"] > 0:
            d_hat = 2 * numerator_weighted / math.sqrt(sk_sq) if sk_sq > 0 else d
            d = max(d, min(d_hat, d * self.growth_rate))
        if sk_sq == 0:
            return None
        return {"d": d, "numerator_weighted": numerator_weighted, "g0_norm": before["g0_norm"]}

    def _apply(self, items, before, after):
        ck = 1 - self.momentum
        for _, weight, _, (s, x0) in items:
            z = x0 - s
            weight *= 1 - ck
            weight += z * ck


@mx.optimizer.register
class DAdaptAdam(_AdamStepSize, LRFreeOptimizer):
    """Adam with D-Adaptation step sizes (Defazio & Mishchenko, ICML 2023).

    Parameters
    ----------
    learning_rate : float, optional
        Multiplier of the adapted step size (default 1.0; see :class:`LRFreeOptimizer`).
    beta1, beta2 : float, default 0.9, 0.999
        Adam's moving-average coefficients.
    epsilon : float, default 1e-8
        Added to the denominator.
    decouple : bool, default False
        Decoupled (AdamW) weight decay for ``wd``; False adds ``wd * weight`` to the gradient.
    use_bias_correction : bool, default False
        Adam's bias correction of the step.
    d0 : float, default 1e-6
        Initial estimate of d.
    growth_rate : float, default inf
        Upper bound on d's growth per step.
    **kwargs
        ``wd``, ``rescale_grad``, ``clip_gradient``, ``lr_scheduler`` as for MXNet optimizers.
    """

    def __init__(self, learning_rate: Optional[float] = None, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8, decouple: bool = False,
                 use_bias_correction: bool = False, d0: float = 1e-6,
                 growth_rate: float = float("inf"), **kwargs):
        self.beta1 = _check_beta("beta1", beta1)
        self.beta2 = _check_beta("beta2", beta2)
        self.epsilon = _check_positive("epsilon", epsilon)
        self.decouple = bool(decouple)
        self.use_bias_correction = bool(use_bias_correction)
        super().__init__(learning_rate=learning_rate, d0=d0, growth_rate=growth_rate, **kwargs)
        self.numerator_weighted = 0.0

    def _create_state(self, weight):
        zeros = lambda: nd.zeros(weight.shape, weight.context, dtype=weight.dtype)  # noqa: E731
        return (zeros(), zeros(), zeros())   # s, exp_avg, exp_avg_sq


    def _accumulate(self, items, before):
        dlr = before["dlr"]
        beta1, beta2 = self.beta1, self.beta2
        sqrt_beta2 = beta2 ** 0.5
        sums = []
        for index, weight, grad, (s, exp_avg, exp_avg_sq) in items:
            wd = _wd(self, index)
            if wd != 0 and not self.decouple:
                grad = grad + wd * weight
            denom = nd.sqrt(exp_avg_sq) + self.epsilon
            dot = nd.sum(grad * (s / denom))
            exp_avg *= beta1
            exp_avg += grad * (dlr * (1 - beta1))
            exp_avg_sq *= beta2
            exp_avg_sq += grad * grad * (1 - beta2)
            s *= sqrt_beta2
            s += grad * (dlr * (1 - sqrt_beta2))
            sums += [dot, nd.sum(nd.abs(s))]
        dots, sk_l1 = self._sum(sums, 2)
        return dlr * dots, sk_l1

    def _finish(self, before, sums):
        numerator_acum, sk_l1 = sums
        if sk_l1 == 0:
            return None
        sqrt_beta2 = self.beta2 ** 0.5
        d = before["d"]
        numerator_weighted = (sqrt_beta2 * self.numerator_weighted
                              + (1 - sqrt_beta2) * numerator_acum)
        if before["lr"] > 0:
            d_hat = numerator_weighted / ((1 - sqrt_beta2) * sk_l1)
            d = max(d, min(d_hat, d * self.growth_rate))
        return {"d": d, "numerator_weighted": numerator_weighted}

    def _apply(self, items, before, after):
        dlr = before["dlr"]
        for index, weight, _, (s, exp_avg, exp_avg_sq) in items:
            wd = _wd(self, index)
            denom = nd.sqrt(exp_avg_sq) + self.epsilon
            if wd != 0 and self.decouple:
                weight += weight * (-wd * dlr)
            weight -= exp_avg / denom


def lr_free_message(optimizer) -> Optional[str]:
    """One line explaining why a range test has nothing to find for ``optimizer``, or None.

    ``optimizer`` is a registered name or an ``mx.optimizer.Optimizer``; None for optimizers
    whose learning rate is a real step size.
    """
    if isinstance(optimizer, str):
        cls = mx.optimizer.Optimizer.opt_registry.get(optimizer.lower())
    else:
        cls = type(optimizer)
    if cls is None or not issubclass(cls, LRFreeOptimizer):
        return None
    return ("{} is learning-rate-free: it adapts its own step size, so a range test has "
            "nothing to find; its learning_rate is a multiplier: keep 1.0 and decay it to 0 "
            "with gluon_lr.schedules.Cosine(1.0, cycle_length=total_steps)".format(cls.__name__))
