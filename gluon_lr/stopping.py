"""When to end a range test: divergence or a non-finite loss (``num_iter`` caps every run)."""
from __future__ import annotations

import math
from typing import Optional

DIVERGED = "diverged"
NON_FINITE = "non_finite"
NUM_ITER = "num_iter"


class LRFinderStoppingCriteria:
    """Stop a range test when the smoothed loss diverges or the loss is not finite.

    Parameters
    ----------
    diverge : float, default 4.0
        Stop when the bias-corrected, exponentially smoothed loss exceeds ``diverge`` times the
        lowest smoothed loss seen so far.
    smoothing : float, default 0.98
        Weight of the running average in ``[0, 1)``; 0 disables smoothing.
    min_iter : int, default 10
        Divergence is not checked before this many iterations (a non-finite loss always stops).

    Examples
    --------
    >>> stop = LRFinderStoppingCriteria(diverge=2.0, smoothing=0.0, min_iter=1)
    >>> [stop(i, loss) for i, loss in enumerate([1.0, 0.5, 0.9, 1.1])]
    [False, False, False, True]
    >>> stop.reason
    'diverged'
    """

    def __init__(self, diverge: float = 4.0, smoothing: float = 0.98, min_iter: int = 10):
        if isinstance(diverge, bool) or not isinstance(diverge, (int, float)):
            raise TypeError("diverge must be a number, got {!r}".format(diverge))
        if not diverge > 1.0 or not math.isfinite(diverge):
            raise ValueError("diverge must be a finite number > 1, got {!r}".format(diverge))
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)):
            raise TypeError("smoothing must be a number, got {!r}".format(smoothing))
        if not 0.0 <= smoothing < 1.0:
            raise ValueError("smoothing must be in [0, 1), got {!r}".format(smoothing))
        if isinstance(min_iter, bool) or not isinstance(min_iter, int):
            raise TypeError("min_iter must be an int, got {!r}".format(min_iter))
        if min_iter < 0:
            raise ValueError("min_iter must be >= 0, got {!r}".format(min_iter))
        self.diverge = float(diverge)
        self.smoothing = float(smoothing)
        self.min_iter = min_iter
        self.reset()

    def reset(self) -> None:
        """Forget every loss seen; the next call counts as the first."""
        self._avg = 0.0
        self._count = 0
        self.best: float = math.inf
        self.smoothed: Optional[float] = None
        self.reason: Optional[str] = None

    def __call__(self, iteration: int, loss: float) -> bool:
        """Record ``loss`` of ``iteration`` (0-based, counted by the finder); True means stop."""
        loss = float(loss)
        if not math.isfinite(loss):
            self.reason = NON_FINITE
            return True
        self._count += 1
        beta = self.smoothing
        self._avg = beta * self._avg + (1.0 - beta) * loss
        self.smoothed = self._avg / (1.0 - beta ** self._count) if beta > 0 else self._avg
        if self.smoothed < self.best:
            self.best = self.smoothed
        if (iteration + 1 >= self.min_iter and self.best > 0
                and self.smoothed > self.diverge * self.best):
            self.reason = DIVERGED
            return True
        return False

    def __repr__(self) -> str:
        return "LRFinderStoppingCriteria(diverge={}, smoothing={}, min_iter={})".format(
            self.diverge, self.smoothing, self.min_iter)
