"""Is a range test's answer solid, rough, or not to be trusted? Checks beyond the curve's shape.

:func:`review` looks at a recorded curve together with what the finder knows besides it (why
the run stopped, the loss of guessing at chance) and returns a :class:`Review`: a diagnosis
code, one sentence naming the cause and what to change, and a confidence.

Diagnosis codes (``result.diagnosis_code``):

============== ========== ==========================================================================
code           confidence meaning
============== ========== ==========================================================================
ok             high       one clear descent into a minimum, then the loss turns up
two_descents   low        the loss fell twice with a rise between (e.g. momentum carried over from
                          earlier training); the answer uses the descent into the minimum
carried_over   low        a trainer that had already stepped: the loss rose first, then fell; the
                          answer may be too low (momentum carried over from earlier training)
open_ended     low        still falling at ``end_lr``: the answer is the steepest point
noisy          low        no measurable fall before the loss blew up: a tenth of the blow-up
unstable       low        a healthy curve, but find_lr's repeated sweeps (batch orders) disagreed
                          by more than ``result.UNSTABLE_SPREAD`` decades: the median run's answer
                          (set by the result, not by :func:`review`)
non_finite     low/none   NaN or inf (loss or parameters) before the loss had risen: data with NaN
                          or inf, or a loss that produces them
dead           none       the loss never got clearly below chance (ln(classes)): the net is not
                          learning (unscaled inputs, dead ReLUs, wrong labels)
flat           none       the loss hardly changed over the whole range
too_short      none       fewer than 8 usable points
no_descent     none       the loss never decreased, or diverged almost at once
============== ========== ==========================================================================

The finder also calls :func:`nonfinite_guard` every :data:`CHECK_EVERY` steps, so that NaN or inf
*parameters* end the run (``stop_reason="non_finite"``) even when the loss stays finite (a ReLU
turns NaN into 0).
"""
from __future__ import annotations

import math
from typing import List, NamedTuple, Optional

import numpy as np

from . import suggest as _suggest

CHECK_EVERY = 8
CONFIDENCE = ("high", "low", "none")
DEAD_FRACTION = 0.9  # a live net gets its smoothed loss below this share of the chance level


class Review(NamedTuple):
    """What :func:`review` concluded: ``code``, ``message`` (None when healthy), ``confidence``
    and whether the rule's number may be given (``usable``)."""
    code: str
    message: Optional[str]
    confidence: str
    usable: bool


def _code_of(message: str) -> str:
    if message == _suggest.FLAT:
        return "flat"
    if message.startswith("only "):
        return "too_short"
    return "no_descent"


def _non_finite_message(lrs, losses) -> str:
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    bad = np.nonzero(~np.isfinite(losses))[0]
    i = int(bad[0]) if bad.size else len(losses) - 1
    lr = float(lrs[i]) if len(lrs) else math.nan
    return ("the loss or the parameters became NaN/inf at lr={:.3g} (step {}) before the loss "
            "had risen: look for NaN or inf in the data (np.isfinite(X).all()) or a loss that "
            "produces them; if both are clean, lower start_lr".format(lr, i + 1))


def _dead(shape, chance: float) -> bool:
    """The loss never got clearly below the chance level: not below ``0.9 * chance``, and what
    it got below chance is within the noise or a small part of its whole fall (a net that
    only falls *to* chance from a bad start, and sits there)."""
    s = shape.smooth
    low = float(s[shape.i_min])
    if low <= DEAD_FRACTION * chance:
        return False
    below = chance - low
    fall = float(s[:shape.i_min + 1].max() - low)
    if shape.open_ended:  # still falling clearly over the last quarter: learning, too slowly
        tail = float(s[(3 * s.size) // 4] - low)
        if tail > max(0.25 * fall, 2 * _suggest.NOISE_UNITS * shape.smooth_noise):
            return False
    return below < max(0.25 * fall, 2 * _suggest.NOISE_UNITS * shape.smooth_noise)


def review(lrs, losses, stop_reason: Optional[str] = None,
           chance: Optional[float] = None, planned: Optional[int] = None,
           resumed: bool = False, significant: Optional[float] = None) -> Review:
    """Judge a range test: diagnosis code, message, confidence, and whether to give a number.

    Parameters
    ----------
    lrs, losses : sequence of float
        The recorded curve.
    stop_reason : str, optional
        Why the run ended (``"non_finite"`` triggers the NaN/inf check).
    chance : float, optional
        The loss of guessing at chance (``ln(classes)`` for softmax cross-entropy); when given,
        a curve that never gets clearly below it is a dead network (see :func:`_dead`).
    resumed : bool, default False
        The trainer had already taken steps before the range test (``meta["resumed"]``) and
        the sweep kept its optimizer state (``optimizer_state="keep"``): a loss that *rises* at
        the start of such a sweep, before the descent, is that state carried over (see
        :data:`CARRIED_OVER`).
    planned : int, optional
        The run's ``num_iter``: NaN/inf in the first half of a sweep, with no rise of the loss
        before it, gives no number at all (a divergence comes late and after a rise).
    significant : float, optional
        The bar for a measurable fall (:func:`gluon_lr.suggest.significance`; default
        :data:`gluon_lr.suggest.SIGNIFICANT`, the pure rule's).
    """
    non_finite = stop_reason == "non_finite"
    try:
        shape = _suggest.CurveShape(lrs, losses, significant)
    except _suggest.NoSuggestion as err:
        if non_finite:
            return Review("non_finite", _non_finite_message(lrs, losses), "none", False)
        return Review(_code_of(str(err)), str(err), "none", False)
    s = shape.smooth
    if non_finite:
        rose = shape.descent and float(s[-1] - s[shape.i_min]) > max(
            _suggest.NOISE_UNITS * shape.smooth_noise, 0.25 * shape.drop)
        early = planned is not None and len(shape.raw) < planned / 2
        if not shape.descent or (early and not rose):
            return Review("non_finite", _non_finite_message(lrs, losses), "none", False)
        if not rose:
            return Review("non_finite", _non_finite_message(lrs, losses)
                          + "; the suggestion below that point is rough", "low", True)
    if chance is not None and math.isfinite(chance) and chance > 0 and _dead(shape, chance):
        return Review("dead", (
            "the loss never got clearly below its chance level ({:.3g}; lowest smoothed loss "
            "{:.3g}): the network is not learning at any rate tested. Standardise the inputs, check the "
            "labels and the last layer, or try another initialisation; no rate will fix it"
            .format(chance, float(s[shape.i_min]))
            + (" (but the loss was still falling at the last rate tested: if end_lr was low, "
               "raise it first)" if shape.open_ended else "")), "none", False)
    if not shape.descent:
        return Review("noisy", _suggest.NOISY, "low", True)
    if shape.open_ended:
        return Review("open_ended", _suggest.OPEN_ENDED, "low", True)
    if shape.two_descents:
        x = shape.lrs
        return Review("two_descents", (
            "the loss fell twice: first before lr={:.3g}, then from {:.3g} to {:.3g}. The "
            "suggestion uses the second, which leads into the minimum; an early fall often is "
            "optimizer state (momentum) carried over from earlier training. Lower start_lr or "
            "raise num_iter to see both clearly".format(
                float(x[shape.i_start]), float(x[shape.i_start]), float(x[shape.i_min]))),
            "low", True)
    if resumed and _rose_first(shape):
        return Review("carried_over", CARRIED_OVER, "low", True)
    return Review("ok", None, "high", True)


CARRIED_OVER = (
    "the loss rose at the start of the sweep, at rates too small to cause it, before it fell: "
    "optimizer state (momentum) carried over from the training this trainer had already done. "
    "The descent is measured from that raised loss, so the suggestion may be too low (on a "
    "benchmark net resumed mid-training it was 10x below the best rate, which sat at edge_lr); "
    "try rates up to edge_lr, or run the range test with optimizer_state=\"fresh\" (the "
    "default where the optimizer allows it: not on distributed workers, nor for LR-free "
    "optimizers and LBSGD), which starts each sweep with a new trainer's optimizer state")


def _rose_first(shape) -> bool:
    """The descent starts clearly above where the curve started: the loss went up first."""
    s = shape.smooth
    start = float(np.median(s[:max(3, shape.window)]))
    rise = float(s[shape.i_start]) - start
    return rise > max(0.25 * shape.drop, _suggest.NOISE_UNITS * shape.smooth_noise)


def chance_loss(loss_fn, output) -> Optional[float]:
    """The loss of a net that guesses uniformly: ``ln(classes)`` for a softmax cross-entropy on
    logits with sparse labels, ``ln 2`` for sigmoid binary cross-entropy; else None."""
    from ._mx import mx
    losses = mx.gluon.loss
    shape = getattr(output, "shape", ())
    if isinstance(loss_fn, losses.SoftmaxCrossEntropyLoss):
        if getattr(loss_fn, "_from_logits", False) or not getattr(loss_fn, "_sparse_label", True):
            return None
        classes = int(shape[getattr(loss_fn, "_axis", -1)]) if len(shape) >= 2 else 0
        return math.log(classes) if classes > 1 else None
    if isinstance(loss_fn, losses.SigmoidBinaryCrossEntropyLoss):
        return math.log(2.0) if not getattr(loss_fn, "_from_sigmoid", False) else None
    return None


def probe_chance(learner, batch) -> Optional[float]:
    """:func:`chance_loss` for ``learner``'s loss, from one forward pass on a few samples of
    ``batch`` (a ``(data, label)`` pair); None for other losses or batch forms."""
    from ._mx import mx
    if not isinstance(batch, (tuple, list)) or len(batch) != 2 \
            or not isinstance(batch[0], mx.nd.NDArray):
        return None
    k = max(1, min(batch[0].shape[0] // len(learner.ctx), 8))
    return chance_of(learner.loss, learner.net, batch[0][:k], learner.ctx[0])


def chance_of(loss_fn, net, data, ctx) -> Optional[float]:
    """:func:`chance_loss` of ``loss_fn`` for ``net``'s output on ``data`` (a few samples,
    moved to ``ctx``); None for other losses or when the forward pass fails."""
    from ._mx import mx
    if not isinstance(loss_fn, (mx.gluon.loss.SoftmaxCrossEntropyLoss,
                                mx.gluon.loss.SigmoidBinaryCrossEntropyLoss)):
        return None
    try:
        return chance_loss(loss_fn, net(data.as_in_context(ctx)))
    except (mx.base.MXNetError, TypeError, ValueError):
        return None


def check_due(i: int, num_iter: int) -> bool:
    """Whether iteration ``i`` of ``num_iter`` adds :func:`nonfinite_guard`: every
    :data:`CHECK_EVERY` steps and at the last one."""
    return i % CHECK_EVERY == CHECK_EVERY - 1 or i == num_iter - 1


def nonfinite_guard(loss, params):
    """``loss`` unchanged, or NaN when any parameter holds NaN or inf (not synchronised).

    One sum per parameter, added to the loss times zero: the engine is not drained, and the
    finder's one-step-late read of the loss sees the NaN.
    """
    total = None
    for part in _sums(params):
        # only the zero product is cast to the loss's dtype (a NaN stays NaN)
        part = part.as_in_context(loss.context)
        total = part if total is None else total + part
    if total is None:
        return loss
    return loss + (0 * total).astype(loss.dtype).reshape(loss.shape)


def non_finite_parameters(params) -> List[str]:
    """The names of the initialised parameters holding NaN or inf (one synchronisation; the
    check :func:`nonfinite_guard` makes without one)."""
    from ._mx import mx
    data = [p for p in params if p._data is not None]
    if not data:
        return []
    flags = mx.nd.concat(*[(0 * s).reshape((1,)) for s in _sums(data)], dim=0).asnumpy()
    return [p.name for p, f in zip(data, flags) if not np.isfinite(f)]


def _sums(params):
    """Each parameter's sum (first device), in float32 whatever its dtype: a float16 sum of
    finite BatchNorm statistics can overflow to inf."""
    return [p.list_data()[0].astype("float32").sum() for p in params]
