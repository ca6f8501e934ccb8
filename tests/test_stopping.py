import math

import pytest

from gluon_lr import LRFinderStoppingCriteria


def test_stops_on_divergence_of_the_smoothed_loss():
    stop = LRFinderStoppingCriteria(diverge=2.0, smoothing=0.0, min_iter=1)
    flags = [stop(i, v) for i, v in enumerate([1.0, 0.5, 0.9, 1.01])]
    assert flags == [False, False, False, True]
    assert stop.reason == "diverged" and stop.best == 0.5


def test_smoothing_is_bias_corrected():
    stop = LRFinderStoppingCriteria(smoothing=0.9, min_iter=100)
    stop(0, 3.0)
    assert stop.smoothed == pytest.approx(3.0)
    stop(1, 1.0)
    assert stop.smoothed == pytest.approx((0.09 * 3 + 0.1 * 1) / (1 - 0.81))


def test_min_iter_delays_divergence_but_not_nan():
    stop = LRFinderStoppingCriteria(diverge=2.0, smoothing=0.0, min_iter=5)
    assert not any(stop(i, v) for i, v in enumerate([1.0, 5.0, 9.0]))
    assert stop(3, float("nan")) and stop.reason == "non_finite"
    stop.reset()
    assert stop.reason is None and stop.best == math.inf
    assert stop(0, float("inf"))


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"diverge": 1.0}, ValueError, "diverge must be a finite number > 1, got 1.0"),
    ({"diverge": "4"}, TypeError, "diverge must be a number"),
    ({"smoothing": 1.0}, ValueError, r"smoothing must be in \[0, 1\), got 1.0"),
    ({"min_iter": -1}, ValueError, "min_iter must be >= 0, got -1"),
    ({"min_iter": 2.0}, TypeError, "min_iter must be an int"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        LRFinderStoppingCriteria(**kwargs)
