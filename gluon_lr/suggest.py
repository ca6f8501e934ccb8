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
import functools
import math
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .schedules.base import check_positive
from .stopping import LRFinderStoppingCriteria

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


def usable_mask(lrs, losses) -> np.ndarray:
    """Which points of a curve are measurements a rule may use.

    A non-finite loss with finite neighbours on both sides is dropped on its own (one bad batch
    whose step was still taken, as Lightning drops such points); the curve ends at the first
    non-finite loss that is not isolated like that (two in a row, or the last point), because
    what follows a divergence is not a measurement.

    Examples
    --------
    >>> usable_mask([1, 2, 3, 4, 5], [3.0, float("nan"), 2.0, float("nan"), float("nan")]).tolist()
    [True, False, True, False, False]
    """
    lrs, losses = _arrays(lrs, losses)
    good = np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0)
    keep = good.copy()
    n = good.size
    for i in np.nonzero(~good)[0]:
        if 0 < i < n - 1 and good[i - 1] and good[i + 1]:
            continue  # isolated: drop just this point
        keep[i:] = False
        break
    return keep


def usable_points(lrs, losses) -> Tuple[np.ndarray, np.ndarray]:
    """``(lrs, losses)`` of the points :func:`usable_mask` keeps."""
    lrs, losses = _arrays(lrs, losses)
    keep = usable_mask(lrs, losses)
    return lrs[keep], losses[keep]


def is_linear_sweep(lrs) -> bool:
    """True when the learning rates rise in equal steps (``step_mode="linear"``).

    Examples
    --------
    >>> is_linear_sweep([1.0, 2.0, 3.0, 4.0]), is_linear_sweep([1.0, 10.0, 100.0, 1000.0])
    (True, False)
    """
    d = np.diff(np.asarray(lrs, dtype=np.float64))
    return bool(d.size >= 2 and np.all(d > 0)
                and np.allclose(d, d.mean(), rtol=1e-4, atol=0.0))


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
    lrs, losses = usable_points(lrs, losses)
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


def _slope(lrs: np.ndarray, losses: np.ndarray, linear: Optional[bool] = None) -> np.ndarray:
    """d(loss) against log(lr), or against lr itself for a linear sweep (as Lightning and
    torch-lr-finder do there)."""
    if np.unique(lrs).size != lrs.size:
        return np.gradient(losses)
    if linear is None:
        linear = is_linear_sweep(lrs)
    return np.gradient(losses, lrs if linear else np.log(lrs))


# ---- peer rules ----------------------------------------------------------------------------
def steepest(lrs, losses) -> float:
    """The learning rate where the smoothed loss falls fastest against ``log(lr)``.

    What Lightning and torch-lr-finder report (EMA-smoothed curve, ends trimmed); for a linear
    sweep the slope is taken against ``lr``, as they do.
    """
    x, y = _peer_curve(lrs, losses)
    grad = _slope(x, y, is_linear_sweep(usable_points(lrs, losses)[0]))
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
    return float(max(x[i] / 10.0, usable_points(lrs, losses)[0][0]))


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
OPEN_ENDED = ("the loss was still falling at the last learning rate tested: raise end_lr to "
              "see where it turns up")
NEVER_DECREASED = "the loss never decreased: lower start_lr"

# Tuned on the DESIGN half of benchmarks/suggestion_quality.py only (never on HELD_OUT).
SIGNIFICANT = 5.5   # a fall counts when the curve smoothed over 20 % of its points falls this
                    # many noise units (pure noise: 99 % of curves stay below 5.5); the pure
                    # rule's bar, and a resumed trainer's (meta["resumed"])
SIGNIFICANT_FROM_SCRATCH = 4.0  # find_lr()'s bar for a net trained from scratch, on curves
                    # that blow up (round 6, FRESH5); a flat curve keeps SIGNIFICANT
WINDOW = 0.08       # the centred smoother spans this share of the points
BOTTOM_WINDOW = 0.16  # "auto" reads the minimum on a curve smoothed over this share
NOISE_UNITS = 3.0   # bumps smaller than this many noise units of the smoothed curve are noise
BACKTRACK = 0.2     # walking left, a descent ends where the curve dips by this share of its drop
LEVEL = 0.4         # the descent's reference point: where the loss is this share of the drop
AUTO_POWER = 0.4    # above its minimum; "auto" = lr_level ** (1 - AUTO_POWER) * lr_min ** AUTO_POWER


class CurveShape:
    """What a centred-smoothed curve looks like: where it falls, bottoms out and turns up.

    The *descent* is the stretch that leads into the lowest point of the smoothed curve,
    traced leftwards from that point until the curve has clearly risen and fallen again; an
    earlier dip (carried-over momentum of a net that has already trained, say) is not part
    of it, and is reported as a second descent.

    Raises :class:`NoSuggestion` for curves with no usable descent. A curve that is flat within
    its noise but then blows up keeps ``descent = False`` and records where it blew up.

    ``significant`` (attribute :attr:`significant`) is the bar for a measurable fall, in noise
    units of the curve smoothed over a fifth of its points: default :data:`SIGNIFICANT`; see
    :func:`significance`. A fall that only a bar below :data:`SIGNIFICANT` sees, on a curve
    that never blows up, is flat.
    """

    def __init__(self, lrs, losses, significant: Optional[float] = None):
        self.significant = check_significant(significant)
        x, y = usable_points(lrs, losses)
        if x.size < MIN_POINTS:
            raise NoSuggestion(_too_short(x.size))
        self.lrs = x
        self.raw = y
        self.linear = is_linear_sweep(x)
        self.window = max(3, int(round(x.size * WINDOW)) | 1)
        self.smooth = s = centered_smooth(y, self.window)
        self.i_min = int(np.argmin(s))
        # Point-to-point noise of the raw loss (robust to the curve's own trend), and what is
        # left of it after smoothing over `window` points.
        self.noise = float(np.median(np.abs(np.diff(y)))) * 1.4826 / math.sqrt(2) + 1e-12
        self.smooth_noise = self.noise / math.sqrt(self.window)
        self.descent = True
        self.i_blowup = None
        self.i_start = self._descent_start()
        self.drop = float(s[self.i_start] - s[self.i_min])
        self.earlier_drop = self._earlier_drop()
        if self.i_min == 0 or self.drop <= 0:
            # Lowest at the very start: the loss rose from the first rate (start_lr too high),
            # unless it stayed flat within its noise for the first half of the sweep and then
            # blew up (a net that has already trained): that is a noisy curve.
            i_up = self._blowup_after_flat()
            if (i_up is None or i_up < max(MIN_POINTS, x.size // 2) or self._significant()
                    or not self._flat_first_half()):
                raise NoSuggestion(NEVER_DECREASED)
            self.descent, self.i_blowup = False, i_up
        elif not self._significant():
            i_up = self._blowup_after_flat()
            if i_up is None or i_up < 3:
                raise NoSuggestion(FLAT)
            self.descent, self.i_blowup = False, i_up
        elif (self.significant < SIGNIFICANT and not self._significant(SIGNIFICANT)
              and (self._blowup_after_flat() or 0) < 3):
            # A fall that only the lower bar sees, on a curve that never blows up, is flat as
            # at the pure rule's bar (pure noise clears the lower bar in about 7 of 100
            # sweeps): the lower bar only tells a descent from noise before a blow-up.
            raise NoSuggestion(FLAT)
        elif self.i_min < 3:
            raise NoSuggestion("the loss diverged almost at once: lower start_lr")
        # Still falling at the end: the test never found where the loss turns up.
        self.open_ended = self.descent and self.i_min >= x.size - max(2, x.size // 20)
        # The bottom of a curve smoothed twice as widely: it moves less between batch orders
        # than the minimum itself when the curve is flat around its lowest point.
        wide = centered_smooth(y, max(3, int(round(x.size * BOTTOM_WINDOW)) | 1))
        self.i_bottom = int(np.argmin(wide[:self.i_min + 1 + self.window]))

    @functools.cached_property
    def _coherent(self) -> Tuple[np.ndarray, float]:
        """The curve smoothed over 20 % of its points, where a coherent change survives and
        point-to-point noise does not, and the least change on it that is not noise."""
        window = max(3, int(round(self.raw.size * 0.2)) | 1)
        return centered_smooth(self.raw, window), self.significant * self.noise / math.sqrt(window)

    def _significant(self, bar: Optional[float] = None) -> bool:
        """Did the loss fall by more than noise (on :attr:`_coherent`'s curve)? ``bar``: in
        noise units instead of :attr:`significant`."""
        wide, least = self._coherent
        if bar is not None:
            least *= bar / self.significant
        i = int(np.argmin(wide))
        return float(wide[:i + 1].max() - wide[i]) >= least

    def _flat_first_half(self) -> bool:
        """No coherent rise or fall over the first half of the curve (as in
        :meth:`_significant`)."""
        wide, least = self._coherent
        half = wide[:self.raw.size // 2 + 1]
        return float(half.max() - half.min()) < least

    def _blowup_after_flat(self) -> Optional[int]:
        """Where a curve that is flat within its noise blows up: the first point of the
        smoothed curve more than 4 noise units above the level of its first half (or the
        start of a blow-up in the last few points, :meth:`_final_blowup`); None without one."""
        level = float(np.median(self.smooth[:max(3, self.smooth.size // 2)]))
        up = np.nonzero(self.smooth > level + 4 * self.noise)[0]
        if not up.size:
            up = self._final_blowup(level)
        return int(up[0]) if up.size else None

    def _final_blowup(self, level: float) -> np.ndarray:
        """Indices of a blow-up in the last few points of a flat curve, too short for the
        running median to keep: the finder's default stopping rule
        (:class:`~gluon_lr.stopping.LRFinderStoppingCriteria`), replayed on the curve, fires at
        the last point and not before, and the raw losses from the returned indices to the end
        are all above the flat level by more than 4 noise units. Empty when there is no such
        blow-up."""
        y = self.raw
        stop = LRFinderStoppingCriteria()
        first = next((i for i, loss in enumerate(y) if stop(i, loss)), None)
        if first != y.size - 1:
            return np.zeros(0, dtype=int)
        i = y.size
        while i > 0 and y[i - 1] > level + 4 * self.noise:
            i -= 1
        return np.arange(i, y.size)

    def _descent_start(self) -> int:
        """Walk left from the minimum while the curve keeps rising (within a tolerance)."""
        s, top = self.smooth, self.i_min
        for j in range(self.i_min - 1, -1, -1):
            if s[j] >= s[top]:
                top = j
            elif s[top] - s[j] > max(BACKTRACK * (s[top] - s[self.i_min]),
                                     NOISE_UNITS * self.smooth_noise):
                break
        return top

    def _earlier_drop(self) -> float:
        """The largest fall of the smoothed curve before the descent starts."""
        s = self.smooth[:self.i_start + 1]
        if s.size < 2:
            return 0.0
        return float(np.max(np.maximum.accumulate(s) - s))

    @property
    def two_descents(self) -> bool:
        """True when the curve fell clearly twice, with a rise between."""
        return self.descent and self.earlier_drop > max(
            0.25 * self.drop, 2 * NOISE_UNITS * self.smooth_noise)

    def level_index(self, level: Optional[float] = None) -> int:
        """The last point of the descent where the smoothed loss is still ``level`` (default
        :data:`LEVEL`) of the descent's drop above the minimum (0.5: half-way down)."""
        level = LEVEL if level is None else level
        a, b = self.i_start, self.i_min + 1
        above = np.nonzero(self.smooth[a:b] > self.smooth[self.i_min] + level * self.drop)[0]
        return a + int(above[-1]) if above.size else a

    def steepest_index(self) -> int:
        """Where the descent falls fastest (against log(lr), or lr for a linear sweep)."""
        a, b = self.i_start, self.i_min + 1
        if b - a < 2:
            return self.i_min
        return a + int(np.argmin(_slope(self.lrs[a:b], self.smooth[a:b], self.linear)))


def significance(resumed: bool) -> float:
    """The bar :class:`CurveShape` sets for a fall of the loss in a range test.

    Parameters
    ----------
    resumed : bool
        Whether the trainer had already stepped before the range test (``meta["resumed"]``).

    Returns
    -------
    float
        :data:`SIGNIFICANT_FROM_SCRATCH` noise units for a net trained from scratch, where the
        loss is expected to fall somewhere in the sweep; :data:`SIGNIFICANT` for a resumed
        trainer, where a small dip is more often noise.
    """
    return SIGNIFICANT if resumed else SIGNIFICANT_FROM_SCRATCH


def check_significant(value) -> float:
    """``value`` as a float bar (None: :data:`SIGNIFICANT`); a TypeError or ValueError naming
    it unless it is a finite number > 0."""
    return float(SIGNIFICANT) if value is None else check_positive("significant", value)


def auto(lrs, losses, significant: Optional[float] = None) -> float:
    """gluon_lr's default rule: a point of the descent that leads into the minimum.

    1. The curve is smoothed without lag (centred running median, then mean), so its minimum
       sits where the loss really turns up, not where an exponential average noticed it
       ``1 / (1 - beta)`` iterations later.
    2. The *descent* is traced leftwards from that minimum until the curve has clearly risen
       and fallen again (see :class:`CurveShape`): an early dip, such as momentum carried over
       by a net that has already trained, is not part of it.
    3. ``lr_level`` is where that descent is still 40 % of its drop above the minimum, and
       ``lr_min`` the bottom of the curve smoothed twice as widely (16 % of the points); the
       answer is ``lr_level**0.6 * lr_min**0.4``.

    A level crossing and a widely smoothed bottom move little from one batch order to the
    next, unlike the steepest point (one noisy slope) that the rule used before; the
    constants were chosen on the DESIGN half of ``benchmarks/suggestion_quality.py``. When the loss is still falling at
    ``end_lr`` the answer is ``lr_level``; when it never fell measurably but blew up, a tenth
    of where it blew up (see :func:`diagnose`). ``significant``: the bar for a measurable fall
    (default :data:`SIGNIFICANT`; see :func:`significance`).
    """
    shape = CurveShape(lrs, losses, significant)
    x = shape.lrs
    if not shape.descent:
        return float(max(x[shape.i_blowup] / 10.0, x[0]))
    lr_level = float(x[shape.level_index()])
    if shape.open_ended:
        return lr_level
    lr_min = float(x[shape.i_bottom])
    lr = lr_level ** (1.0 - AUTO_POWER) * lr_min ** AUTO_POWER
    return float(min(max(lr, x[0]), lr_min))


def suggested_range(lrs, losses, significant: Optional[float] = None) -> Tuple[float, float]:
    """``(low, high)``: where the loss falls steadily (Smith's bounds for cyclical schedules).

    ``high`` is the learning rate of the smoothed minimum divided by sqrt(2) (or by nothing when
    the curve is still falling at its end), and never below ``"auto"``; ``low`` is
    where the descent into the minimum has made a tenth of its drop, and at most ``high / 4``.
    ``significant`` as in :func:`auto`.
    """
    shape = CurveShape(lrs, losses, significant)
    x, s = shape.lrs, shape.smooth
    if not shape.descent:
        high = float(x[shape.i_blowup]) / 4.0
        return max(high / 10.0, float(x[0])), max(high, float(x[0]))
    high = float(x[shape.i_min]) if shape.open_ended else float(x[shape.i_min]) / math.sqrt(2)
    high = max(high, auto(lrs, losses, significant))
    target = s[shape.i_start] - 0.1 * shape.drop
    below = shape.i_start + np.nonzero(s[shape.i_start:shape.i_min + 1] <= target)[0]
    low = float(x[below[0]]) if below.size else float(x[shape.i_start])
    low = max(min(low, high / 4.0), float(x[0]))
    return low, max(high, low)


def edge(lrs, losses, significant: Optional[float] = None) -> float:
    """The learning rate where the lag-free smoothed loss is lowest: beyond it the loss turns up.

    Smith's upper bound for one-cycle training. For a curve still falling at its end, the last
    learning rate tested; for one that never fell measurably, a quarter of where it blew up.
    ``significant`` as in :func:`auto`.
    """
    shape = CurveShape(lrs, losses, significant)
    if not shape.descent:
        return max(float(shape.lrs[shape.i_blowup]) / 4.0, float(shape.lrs[0]))
    return float(shape.lrs[shape.i_min])


def wants_higher_rates(lrs, losses, significant: Optional[float] = None) -> bool:
    """Whether the curve asks for a wider sweep: the loss is still falling at the last rate
    tested, or it hardly changed over the whole range (both diagnoses say "raise end_lr").

    A pure function of the recorded points; :meth:`gluon_lr.LRFinder.run` (``extend``) uses it
    to decide whether to carry on past ``end_lr``. Never when a recorded loss is not finite
    (NaN or inf in the loss or the weights: going on would train on them). ``significant`` as
    in :func:`auto`.
    """
    if not np.all(np.isfinite(np.asarray(losses, dtype=float))):
        return False
    try:
        return bool(CurveShape(lrs, losses, significant).open_ended)
    except NoSuggestion as e:
        return str(e) == FLAT


def diagnose(lrs, losses) -> Optional[str]:
    """One sentence on what to change for a better curve, or None when it looks healthy.

    See :mod:`gluon_lr.health` for the checks that need more than the curve (chance level,
    non-finite parameters) and the diagnosis codes.
    """
    from .health import review
    return review(lrs, losses).message


# Plain SGD (no momentum): "auto" times this, at most edge(). Chosen on the DESIGN half of
# benchmarks/suggestion_quality.py (its two plain-SGD tasks: auto was 3x below the best
# constant rate on both; 2x was the largest factor with a safe margin below divergence).
PLAIN_SGD_FACTOR = 2.0


def optimizer_factor(optimizer: Optional[str], params: Optional[Dict] = None) -> float:
    """How far ``"auto"`` is moved for the optimizer the range test ran with: 1.0, or
    :data:`PLAIN_SGD_FACTOR` for SGD/NAG whose recorded momentum is 0 (a run that did not
    record its momentum is left alone).

    With momentum (SGD, NAG, Adam's first moment) the loss answers a rising rate about
    ``1 / (1 - momentum)`` steps late, so the curve's features sit at higher rates than the
    rates that caused them, and ``"auto"``'s constants were set on such curves. Plain SGD has no
    lag, and its best constant rate sits close to where training diverges.
    """
    if optimizer not in ("sgd", "nag") or "momentum" not in (params or {}):
        return 1.0  # not plain SGD, or its momentum is unknown: no change
    return PLAIN_SGD_FACTOR if not params["momentum"] else 1.0


def for_optimizer(lr: float, lrs, losses, optimizer: Optional[str],
                  params: Optional[Dict] = None, significant: Optional[float] = None) -> float:
    """``lr`` (an ``"auto"`` answer on this curve) times :func:`optimizer_factor`, at most
    :func:`edge` (read with the same bar, ``significant``): what ``result.lr`` is for a run
    that recorded its optimizer."""
    factor = optimizer_factor(optimizer, params)
    if factor == 1.0:
        return lr
    return float(max(min(lr * factor, edge(lrs, losses, significant)), lr))


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


def suggest(lrs, losses, rule: str = "auto", significant: Optional[float] = None) -> float:
    """Apply the rule called ``rule``; raises :class:`NoSuggestion` when it cannot answer.
    ``significant`` goes to ``"auto"`` (see :func:`auto`); the peers' rules do not use it."""
    fn = RULES[check_rule_name(rule)]
    lr = fn(lrs, losses, significant) if fn is auto else fn(lrs, losses)
    x, _ = usable_points(lrs, losses)
    # Never outside the tested range, whatever a rule computed.
    return float(min(max(lr, float(x.min())), float(x.max())))
