"""Plots of range-test results (matplotlib is imported only when a plot is drawn)."""
from __future__ import annotations

import math
import os
from typing import Iterable, List, Optional, Tuple, Union

import numpy as np

_MARKERS = {"auto": ("o", "tab:red"), "steepest": ("v", "tab:green"),
            "minimum": ("s", "tab:purple"), "valley": ("D", "tab:orange"),
            "slide": ("^", "tab:brown")}
LEGEND_OUTSIDE = "outside"
LOG_Y_RATIO = 30.0
# matplotlib cannot place ticks for values near the float maximum (1.8e308); beyond this the
# loss is drawn as missing, like an infinite one.
DRAWABLE = 1e300


def _finish(ax, fig_created: bool, path: Optional[str], show: bool):
    if path is not None:
        ax.figure.savefig(os.fspath(path), dpi=120, bbox_inches="tight")
    if show and fig_created:
        import matplotlib.pyplot as plt
        plt.show()
    return ax


def _new_axes(ax):
    if ax is not None:
        return ax, False
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    return ax, True


def _rules(result, suggest) -> List[str]:
    from .suggest import RULES, check_rule_name
    if suggest is True:
        rules = [result.rule]
    elif suggest is False or suggest is None:
        rules = []
    elif isinstance(suggest, str):
        rules = list(RULES) if suggest == "all" else [suggest]
    else:
        rules = list(suggest)
    for rule in rules:
        check_rule_name(rule)
    return rules


def informative_ylim(smooth: np.ndarray, raw: np.ndarray) -> Optional[Tuple[float, float, bool]]:
    """Y limits that show the descent, and whether the y axis should be logarithmic.

    The limits run from below the lowest smoothed loss up to the highest smoothed loss *before*
    that minimum, so a blow-up after it does not squash the part that matters. When that part
    spans more than ``LOG_Y_RATIO`` (a loss falling from hundreds to below one, as with unscaled
    inputs), the axis is logarithmic. None when the curve has no usable finite values.
    """
    with np.errstate(all="ignore"):
        finite = np.isfinite(smooth)
        if not finite.any():
            smooth, finite = raw, np.isfinite(raw)
        if not finite.any():
            return None
        s = smooth[finite]
        i_min = int(np.argmin(s))
        low, head = float(s[i_min]), float(np.max(s[:i_min + 1]))
        # raw losses dip below the smoothed curve (a blow-up only adds high values), and up to
        # the minimum they show the noise band (on a flat curve, all there is to see)
        finite_raw = raw[np.isfinite(raw)]
        if finite_raw.size:
            low = min(low, float(np.percentile(finite_raw, 2)))
        i_cut = int(np.flatnonzero(finite)[i_min]) + 1
        before = raw[:i_cut][np.isfinite(raw[:i_cut])]
        if before.size:
            head = max(head, float(np.percentile(before, 98)))
        if low > 0 and head / low > LOG_Y_RATIO:
            return low / 1.3, head * 1.5, True
        span = head - low
        if not math.isfinite(span) or span <= 0:
            span = abs(head) * 0.1 or 1.0
        lo, hi = low - 0.08 * span, head + 0.25 * span
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            return None
        return lo, hi, False


def _drawable(values) -> np.ndarray:
    values = np.array(values, dtype=np.float64)
    values[~(np.abs(values) <= DRAWABLE)] = np.nan
    return values


def _plain(text: str) -> str:
    """Text from a result (a file may hold anything) drawn literally, never as mathtext."""
    return str(text).replace("$", r"\$")


def plot_lr_find(result, ax=None, suggest: Union[bool, str, Iterable[str]] = True,
                 skip_start: int = 0, skip_end: int = 0, path: Optional[str] = None,
                 show: bool = False, show_range: bool = True,
                 legend: Optional[str] = LEGEND_OUTSIDE):
    """Draw loss against learning rate for an :class:`~gluon_lr.LRFinderResult`.

    The y axis shows the informative part of the curve: from the lowest smoothed loss up to the
    highest one *before* it, so a blow-up after the minimum (to hundreds, say) does not squash
    the descent; it turns logarithmic when that part spans more than 30x (unscaled inputs). The
    y label says "validation loss" when the run used ``val_data``.

    Parameters
    ----------
    result : LRFinderResult
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when None.
    suggest : bool, str or iterable of str, default True
        Which suggestions to mark: the result's own rule (True), none (False), ``"all"``, one
        rule or several by name. Each marker's learning rate is written in the legend.
    skip_start, skip_end : int
        Points to leave out at each end (only from the picture).
    path : str, optional
        Save the figure as an image there.
    show : bool, default False
        Call ``plt.show()`` (only on a figure this function created).
    show_range : bool, default True
        Shade :attr:`~gluon_lr.LRFinderResult.suggested_range`, where the loss falls steadily.
    legend : str or None, default "outside"
        ``"outside"`` puts the legend right of the axes, where it cannot cover the curve; any
        other value is a matplotlib ``loc`` (``"best"``, ``"upper right"``, ...); None draws
        no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        When the result has no recorded points, ``skip_start``/``skip_end`` leave none, no
        loss is finite and drawable, or ``result.smoothing`` is outside [0, 1).
    """
    for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("{} must be an int >= 0, got {!r}".format(name, value))
    rules = _rules(result, suggest)
    n = len(result.lrs)
    if n == 0:
        raise ValueError("the result has no recorded points: there is nothing to plot")
    if skip_start + skip_end >= n:
        raise ValueError("skip_start={} and skip_end={} leave nothing of {} points".format(
            skip_start, skip_end, n))
    smoothing = result.smoothing
    if not (isinstance(smoothing, (int, float)) and 0.0 <= smoothing < 1.0):
        # a corrupt file: beta ** k overflows or 1 - beta ** k is 0 in the EMA
        raise ValueError("result.smoothing must be in [0, 1), got {!r}".format(smoothing))
    if legend is not None and not isinstance(legend, str):
        raise TypeError("legend must be a string or None, got {!r}".format(legend))
    # Losses near the float maximum (a corrupt or exploded run) overflow in the smoothers'
    # sums; they are drawn as what they are, without numpy's warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        ax, created = _draw(result, rules, ax, slice(skip_start, n - skip_end), n, show_range,
                            legend)
        return _finish(ax, created, path, show)


def _draw(result, rules, ax, sl, n, show_range, legend):
    all_lrs = np.asarray(result.lrs, dtype=np.float64)
    lrs = all_lrs[sl]
    raw = _drawable(result.losses)[sl]
    if not np.isfinite(raw).any():
        raise ValueError("no loss in the plotted range is finite and below {:g}: there is "
                         "nothing to plot".format(DRAWABLE))
    ema = _drawable(result.smoothed_losses)[sl]
    curve = _drawable(result.centered_losses)
    smooth = curve[sl]
    ax, created = _new_axes(ax)
    pooled = result.meta.get("pooled")
    ax.plot(lrs, raw, color="0.7", lw=1,
            label="loss, mean of {} sweeps".format(pooled) if pooled else "loss")
    ax.plot(lrs, ema, color="tab:blue", lw=1, ls="--", alpha=0.7,
            label="EMA (lags; stopping rule)")
    ax.plot(lrs, smooth, color="tab:blue", lw=2, label="smoothed, no lag")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("validation loss" if result.meta.get("val_batches") else "training loss")
    limits = informative_ylim(smooth, raw)
    if limits is not None:
        if limits[2]:
            ax.set_yscale("log")
        ax.set_ylim(limits[0], limits[1])
    if show_range:
        rng = result.suggested_range
        if rng is not None:
            ax.axvspan(rng[0], rng[1], color="tab:green", alpha=0.12, lw=0,
                       label="suggested range {:.2e}-{:.2e}".format(*rng))
    finite_curve = np.isfinite(curve)
    for rule in rules:
        lr = result.suggestion(rule)
        marker, color = _MARKERS.get(rule, ("o", "black"))
        if lr is None or not finite_curve.any():
            ax.plot([], [], ls="", marker=marker, color=color, label="{}: none".format(rule))
            continue
        y = np.interp(np.log(lr), np.log(all_lrs[finite_curve]), curve[finite_curve])
        ax.axvline(lr, color=color, ls=":", lw=1)
        ax.plot([lr], [y], ls="", marker=marker, ms=9, color=color,
                zorder=5 if rule == result.rule else 4, label="{}: {:.2e}".format(rule, lr))
    if result.lr is None and result.diagnosis:
        import textwrap
        ax.text(0.02, 0.03, "no suggestion: " + _plain(textwrap.fill(result.diagnosis, 70)),
                transform=ax.transAxes, fontsize="small", va="bottom",
                bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, lw=0.5))
    title = "LR range test: {} iterations, stopped by {}".format(n, _plain(result.stop_reason))
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.08)
    if legend == LEGEND_OUTSIDE:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize="small")
    elif legend is not None:
        ax.legend(loc=legend, fontsize="small", framealpha=0.9)
    return ax, created
