"""Plots of range-test results (matplotlib is imported only when a plot is drawn)."""
from __future__ import annotations

import os
from typing import Iterable, Optional, Union

import numpy as np

_MARKERS = {"auto": ("o", "tab:red"), "steepest": ("v", "tab:green"),
            "minimum": ("s", "tab:purple"), "valley": ("D", "tab:orange"),
            "slide": ("^", "tab:brown")}


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


def plot_lr_find(result, ax=None, suggest: Union[bool, str, Iterable[str]] = True,
                 skip_start: int = 0, skip_end: int = 0, path: Optional[str] = None,
                 show: bool = False):
    """Draw loss against learning rate for an :class:`~gluon_lr.LRFinderResult`.

    Parameters
    ----------
    result : LRFinderResult
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when None.
    suggest : bool, str or iterable of str, default True
        Mark the result's own rule (True), no rule (False), one rule or several by name. Each
        marker's learning rate is written in the legend.
    skip_start, skip_end : int
        Points to leave out at each end (only from the picture).
    path : str, optional
        Save the figure as an image there.
    show : bool, default False
        Call ``plt.show()`` (only on a figure this function created).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .suggest import check_rule_name
    for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("{} must be an int >= 0, got {!r}".format(name, value))
    if suggest is True:
        rules = [result.rule]
    elif suggest is False or suggest is None:
        rules = []
    elif isinstance(suggest, str):
        rules = [suggest]
    else:
        rules = list(suggest)
    for rule in rules:
        check_rule_name(rule)
    n = len(result.lrs)
    if skip_start + skip_end >= n:
        raise ValueError("skip_start={} and skip_end={} leave nothing of {} points".format(
            skip_start, skip_end, n))
    sl = slice(skip_start, n - skip_end)
    lrs = np.asarray(result.lrs)[sl]
    raw = np.asarray(result.losses)[sl]
    ema = np.asarray(result.smoothed_losses)[sl]
    curve = result.centered_losses
    smooth = curve[sl]
    ax, created = _new_axes(ax)
    ax.plot(lrs, raw, color="0.7", lw=1, label="loss")
    ax.plot(lrs, ema, color="tab:blue", lw=1, ls="--", alpha=0.7,
            label="EMA loss (stopping rule)")
    ax.plot(lrs, smooth, color="tab:blue", lw=2, label="smoothed loss (no lag)")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    finite = smooth[np.isfinite(smooth)]
    finite_raw = raw[np.isfinite(raw)]
    if finite.size:
        low = min(finite.min(), np.percentile(finite_raw, 2) if finite_raw.size else finite.min())
        # Keep the descent readable: the blown-up tail must not squash the valley.
        high = max(finite[: max(1, finite.size // 2)].max(), finite[0]) * 1.25
        pad = 0.05 * (high - low if high > low else abs(high) + 1e-12)
        ax.set_ylim(low - pad, high + pad)
    for rule in rules:
        lr = result.suggestion(rule)
        marker, color = _MARKERS.get(rule, ("o", "black"))
        if lr is None:
            ax.plot([], [], ls="", marker=marker, color=color, label="{}: none".format(rule))
            continue
        finite_curve = np.isfinite(curve)
        y = np.interp(np.log(lr), np.log(np.asarray(result.lrs)[finite_curve]),
                      curve[finite_curve])
        ax.axvline(lr, color=color, ls=":", lw=1)
        ax.plot([lr], [y], ls="", marker=marker, ms=9, color=color,
                label="{}: {:.2e}".format(rule, lr))
    title = "LR range test: {} iterations, stopped by {}".format(n, result.stop_reason)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return _finish(ax, created, path, show)
