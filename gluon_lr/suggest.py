"""Suggestion rules: pure functions of ``(lrs, losses)`` that pick a learning rate.

Every rule takes the raw per-iteration learning rates and losses of a range test, ignores
non-finite points, and returns a learning rate inside the tested range, or raises
:class:`NoSuggestion` with one sentence saying what to change. Rules are kept in
:data:`RULES` by name; :func:`suggest` looks one up.

``"steepest"``, ``"minimum"``, ``"valley"`` and ``"slide"`` reproduce the rules of Lightning,
torch-lr-finder and fast.ai (on the same exponentially smoothed, trimmed curve they use), so
their answers can be compared with ours. ``"auto"`` is gluon_lr's default; see :func:`auto`.
"""
from __future__ import annotations

import bisect
import math
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

MIN_POINTS = 8


class NoSuggestion(ValueError):
    """Raised by a rule when the curve cannot support a suggestion; the message says why."""


# ---- curve helpers -------------------------------------------------------------------------
def _arrays(lrs: Sequence[float], losses: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=np.float64).ravel()
    losses = np.asarray(losses, dtype=np.float64).ravel()
    if lrs.shape != losses.shape:
        raise ValueError("lrs and losses have different lengths: {} and {}".format(
            lrs.size, losses.size))
    return lrs, losses


def finite_prefix(lrs, losses) -> Tuple[np.ndarray, np.ndarray]:
    """The curve up to its first non-finite loss (what follows it is not a measurement)."""
    lrs, losses = _arrays(lrs, losses)
    bad = ~(np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0))
    end = int(np.argmax(bad)) if bad.any() else losses.size
    return lrs[:end], losses[:end]


def ema(losses, beta: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average (what the finder and fast.ai plot).

    Examples
    --------
    >>> ema([1.0, 1.0, 1.0], 0.9).tolist()
    [1.0, 1.0, 1.0]
    """
    losses = np.asarray(losses, dtype=np.float64)
    out = np.empty_like(losses)
    avg, k = 0.0, 0
    for i, loss in enumerate(losses):
        if not math.isfinite(loss):
            out[i] = np.nan
            continue
        k += 1
        avg = beta * avg + (1.0 - beta) * loss
        out[i] = avg / (1.0 - beta ** k) if beta > 0 else avg
    return out


def centered_smooth(losses, window: Optional[int] = None) -> np.ndarray:
    """A running median followed by a running mean, both centred, so the curve has no lag.

    An exponential average trails the raw loss by about ``1 / (1 - beta)`` iterations, which
    moves its minimum to the right of the true one; a centred smoother does not.
    """
    y = np.asarray(losses, dtype=np.float64)
    n = y.size
    if window is None:
        window = max(3, int(round(n * 0.08)) | 1)
    half = window // 2
    med = np.array([np.median(y[max(0, i - half):i + half + 1]) for i in range(n)])
    return np.array([med[max(0, i - half):i + half + 1].mean() for i in range(n)])


def _peer_curve(lrs, losses, beta: float = 0.98) -> Tuple[np.ndarray, np.ndarray]:
    """fast.ai's view of a curve: EMA-smoothed, first 10 % and last 5 points dropped."""
    lrs, losses = finite_prefix(lrs, losses)
    if lrs.size < MIN_POINTS:
        raise NoSuggestion(_too_short(lrs.size))
    smooth = ema(losses, beta)
    n = lrs.size
    start, end = n // 10, n - min(5, max(0, n - n // 10 - MIN_POINTS // 2))
    x, y = lrs[start:end], smooth[start:end]
    if int(np.argmin(y)) == 0:
        raise NoSuggestion("the loss never decreased: lower start_lr")
    return x, y


def _too_short(n: int) -> str:
    return ("only {} usable points (at least {} are needed): raise num_iter, or lower "
            "start_lr if the loss diverged at once".format(n, MIN_POINTS))


def _log_gradient(lrs: np.ndarray, losses: np.ndarray) -> np.ndarray:
    return np.gradient(losses, np.log(lrs)) if np.unique(lrs).size == lrs.size \
        else np.gradient(losses)


# ---- peer rules ----------------------------------------------------------------------------
def steepest(lrs, losses) -> float:
    """The learning rate where the smoothed loss falls fastest against ``log(lr)``.

    What Lightning and torch-lr-finder report (EMA-smoothed curve, ends trimmed).
    """
    x, y = _peer_curve(lrs, losses)
    grad = _log_gradient(x, y)
    i = int(np.argmin(grad))
    if grad[i] >= 0:
        raise NoSuggestion("the loss never decreased: lower start_lr")
    return float(x[i])


def minimum(lrs, losses) -> float:
    """The learning rate of the lowest smoothed loss, divided by 10 (fast.ai's ``minimum``)."""
    x, y = _peer_curve(lrs, losses)
    i = int(np.argmin(y))
    if i == 0 and y[-1] > y[0]:
        raise NoSuggestion("the loss never decreased: lower start_lr")
    return float(max(x[i] / 10.0, finite_prefix(lrs, losses)[0][0]))


def valley(lrs, losses) -> float:
    """fast.ai's longest-valley rule: 1/3 + 1/6 of the way into the longest decreasing run."""
    x, y = _peer_curve(lrs, losses)
    n = y.size
    # fast.ai's O(n^2) loop computes, for every i, the length of the longest strictly
    # decreasing subsequence ending at i, and keeps the first i where that length is largest.
    # Patience sorting on -y gives the same lengths in O(n log n): tails[k] is the smallest
    # last value (of -y) of an increasing subsequence of length k + 1 seen so far.
    tails: list = []
    max_start, max_end, best = 0, 0, 1
    for i, v in enumerate((-y).tolist()):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
        else:
            tails[k] = v
        if k + 1 > best:
            best, max_end, max_start = k + 1, i, i - (k + 1)
    if max_end == 0:
        raise NoSuggestion("the loss never decreased: lower start_lr")
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(x[min(max(idx, 0), n - 1)])


def slide(lrs, losses, lr_diff: int = 15, thresh: float = 0.005) -> float:
    """fast.ai's slide rule: walk left from the end until the loss gradient flattens."""
    x, y = _peer_curve(lrs, losses)
    n = y.size
    if n <= lr_diff:
        raise NoSuggestion(_too_short(n))
    grad = np.gradient(y)
    r_idx, l_idx = n - 1, n - 1 - lr_diff
    local_min = x[l_idx]
    while l_idx >= 0 and abs(grad[r_idx] - grad[l_idx]) > thresh:
        local_min = x[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min)


# ---- our rule ------------------------------------------------------------------------------
FLAT = ("the loss hardly changed over the whole range: raise end_lr (or num_iter) so that the "
        "test reaches learning rates that make the loss fall")
NOISY = ("the loss did not fall measurably before it blew up, so the suggestion (a tenth of where "
         "it blew up) is rough: a larger batch_size, more num_iter or val_data give a clearer "
         "curve")


class CurveShape:
    """What a centred-smoothed curve looks like: where it falls, bottoms out and turns up.

    Raises :class:`NoSuggestion` for curves with no usable descent. A curve that is flat within
    its noise but then blows up keeps ``descent = False`` and records where it blew up.
    """

    def __init__(self, lrs, losses):
        x, y = finite_prefix(lrs, losses)
        if x.size < MIN_POINTS:
            raise NoSuggestion(_too_short(x.size))
        self.lrs = x
        self.raw = y
        self.smooth = s = centered_smooth(y)
        self.i_min = int(np.argmin(s))
        # Point-to-point noise of the raw loss, robust to the curve's own trend.
        self.noise = float(np.median(np.abs(np.diff(y)))) * 1.4826 / math.sqrt(2) + 1e-12
        self.drop = float(s[0] - s[self.i_min])
        self.descent = True
        self.i_blowup = None
        if self.i_min == 0 or self.drop <= 0:
            raise NoSuggestion("the loss never decreased: lower start_lr")
        if self.drop < 4 * self.noise:
            level = float(np.median(s[:max(3, s.size // 2)]))
            up = np.nonzero(s > level + 4 * self.noise)[0]
            if not up.size or up[0] < 3:
                raise NoSuggestion(FLAT)
            self.descent, self.i_blowup = False, int(up[0])
        elif self.i_min < 3:
            raise NoSuggestion("the loss diverged almost at once: lower start_lr")
        # Still falling at the end: the test never found where the loss turns up.
        self.open_ended = self.descent and self.i_min >= x.size - max(2, x.size // 20)

    def steepest_index(self) -> int:
        grad = _log_gradient(self.lrs[:self.i_min + 1], self.smooth[:self.i_min + 1])
        return int(np.argmin(grad))


def auto(lrs, losses) -> float:
    """gluon_lr's default rule: ``sqrt(lr_steepest * lr_minimum / 2)`` on a lag-free curve.

    The curve is smoothed without lag (centred running median, then mean), so its minimum sits
    where the loss really turns up, not where an exponential average noticed it 1/(1-beta)
    iterations later. Two classic answers are taken on that curve, the steepest descent
    before the minimum and the minimum itself, and the suggestion is their geometric mean,
    halved: the steepest point alone picks noise on flat stretches and lands too low on long
    gentle slopes; the minimum alone sits at the edge of divergence. Their mean lies in the
    fast part of the descent, close below the edge, where short constant-rate training did
    best in ``benchmarks/suggestion_quality.py`` (seven tasks, four optimizers).

    When the loss is still falling at ``end_lr`` the steepest point is used alone; when it never
    fell measurably but blew up, a tenth of where it blew up (see :func:`diagnose`).
    """
    shape = CurveShape(lrs, losses)
    x = shape.lrs
    if not shape.descent:
        return float(max(x[shape.i_blowup] / 10.0, x[0]))
    lr_steep = float(x[shape.steepest_index()])
    if shape.open_ended:
        return lr_steep
    lr_min = float(x[shape.i_min])
    return float(min(max(math.sqrt(lr_steep * lr_min / 2.0), x[0]), lr_min))


def suggested_range(lrs, losses) -> Tuple[float, float]:
    """``(low, high)``: where the loss falls steadily (Smith's bounds for cyclical schedules).

    ``high`` is the learning rate of the smoothed minimum divided by sqrt(2) (or by nothing when
    the curve is still falling at its end), so that ``"auto"`` always lies inside; ``low`` is
    where the loss has made a tenth of its whole drop, and at most ``high / 4``.
    """
    shape = CurveShape(lrs, losses)
    x, s = shape.lrs, shape.smooth
    if not shape.descent:
        high = float(x[shape.i_blowup]) / 4.0
        return max(high / 10.0, float(x[0])), max(high, float(x[0]))
    high = float(x[shape.i_min]) if shape.open_ended else float(x[shape.i_min]) / math.sqrt(2)
    target = s[0] - 0.1 * shape.drop
    below = np.nonzero(s[:shape.i_min + 1] <= target)[0]
    low = float(x[below[0]]) if below.size else float(x[0])
    low = max(min(low, high / 4.0), float(x[0]))
    return low, max(high, low)


def edge(lrs, losses) -> float:
    """The learning rate where the lag-free smoothed loss is lowest: beyond it the loss turns up.

    Smith's upper bound for one-cycle training. For a curve still falling at its end, the last
    learning rate tested; for one that never fell measurably, a quarter of where it blew up.
    """
    shape = CurveShape(lrs, losses)
    if not shape.descent:
        return max(float(shape.lrs[shape.i_blowup]) / 4.0, float(shape.lrs[0]))
    return float(shape.lrs[shape.i_min])


def diagnose(lrs, losses) -> Optional[str]:
    """One sentence on what to change for a better curve, or None when it looks healthy."""
    try:
        shape = CurveShape(lrs, losses)
    except NoSuggestion as err:
        return str(err)
    if not shape.descent:
        return NOISY
    if shape.open_ended:
        return ("the loss was still falling at the last learning rate tested: raise end_lr to "
                "see where it turns up")
    return None


RuleFn = Callable[[Sequence[float], Sequence[float]], float]
RULES: Dict[str, RuleFn] = {
    "auto": auto,
    "steepest": steepest,
    "minimum": minimum,
    "valley": valley,
    "slide": slide,
}


def check_rule_name(name: str) -> str:
    """Return ``name`` if it is a registered rule, else raise ``ValueError`` listing them."""
    if not isinstance(name, str) or name not in RULES:
        raise ValueError("unknown suggestion rule {!r}; choose one of {}".format(
            name, sorted(RULES)))
    return name


def suggest(lrs, losses, rule: str = "auto") -> float:
    """Apply the rule called ``rule``; raises :class:`NoSuggestion` when it cannot answer."""
    lr = RULES[check_rule_name(rule)](lrs, losses)
    x, _ = finite_prefix(lrs, losses)
    # Never outside the tested range, whatever a rule computed.
    return float(min(max(lr, float(x.min())), float(x.max())))
