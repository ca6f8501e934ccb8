import math

import numpy as np
import pytest

from gluon_lr import LRFinderResult
from gluon_lr import suggest as S
from gluon_lr.suggest import RULES, NoSuggestion, diagnose, suggest, suggested_range


def valley_curve(n=100, lo=-7, hi=1, u0=-3.0, u_min=-0.7, noise=0.0, seed=0, blowup=True):
    """Flat at 2.3 until 10**u0, falls to 0.5 at 10**u_min, then blows up."""
    u = np.linspace(lo, hi, n)
    y = np.full(n, 2.3)
    fall = (u > u0) & (u <= u_min)
    y[fall] = 2.3 - 1.8 * ((u[fall] - u0) / (u_min - u0)) ** 1.5
    after = u > u_min
    y[after] = 0.5 + (8.0 * (u[after] - u_min) ** 2 if blowup else 0)
    y = y + noise * np.random.RandomState(seed).randn(n)
    return 10 ** u, y


def test_registry_and_names():
    assert set(RULES) == {"auto", "steepest", "minimum", "valley", "slide"}
    with pytest.raises(ValueError, match="unknown suggestion rule 'fast'; choose one of"):
        suggest([1, 2], [1, 2], "fast")


@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_lands_in_the_descent_of_a_clean_valley(rule):
    lrs, losses = valley_curve()
    lr = suggest(lrs, losses, rule)
    assert 10 ** -3.0 <= lr <= 10 ** -0.7 * 1.05, (rule, lr)


@pytest.mark.parametrize("rule", list(RULES))
def test_non_finite_points_are_ignored(rule):
    lrs, losses = valley_curve(n=80)
    tail = np.concatenate([losses[:70], [np.nan, np.inf, 1.0, np.nan]])
    cut = suggest(lrs[:70], losses[:70], rule)
    assert suggest(lrs[:74], tail, rule) == cut


@pytest.mark.parametrize("rule", list(RULES))
def test_never_outside_the_tested_range(rule):
    rs = np.random.RandomState(0)
    for _ in range(60):
        n = rs.randint(8, 60)
        lrs = np.sort(10 ** rs.uniform(-6, 1, n))
        losses = np.abs(rs.randn(n)).cumsum()[::rs.choice([-1, 1])] + rs.rand(n)
        try:
            lr = suggest(lrs, losses, rule)
        except NoSuggestion:
            continue
        assert lrs.min() <= lr <= lrs.max()


@pytest.mark.parametrize("rule", list(RULES))
def test_too_few_points(rule):
    lrs, losses = valley_curve(n=7)
    with pytest.raises(NoSuggestion, match="only 7 usable points"):
        RULES[rule](lrs, losses)


def test_loss_that_never_decreased():
    lrs = np.geomspace(1e-5, 1, 50)
    losses = 1.0 + np.linspace(0, 3, 50) ** 2
    for rule in RULES:
        with pytest.raises(NoSuggestion, match="never decreased: lower start_lr"):
            RULES[rule](lrs, losses)
    assert diagnose(lrs, losses) == "the loss never decreased: lower start_lr"


def test_flat_curve_asks_for_a_higher_end_lr():
    lrs = np.geomspace(1e-7, 1e-4, 60)
    losses = 2.3 + 0.01 * np.random.RandomState(0).randn(60)
    with pytest.raises(NoSuggestion, match="hardly changed.*raise end_lr"):
        S.auto(lrs, losses)
    assert "raise end_lr" in diagnose(lrs, losses)


def test_curve_that_never_diverged_still_gets_a_suggestion_and_a_note():
    lrs, losses = valley_curve(hi=-1.0, u_min=0.0)  # still falling at the last lr
    lr = S.auto(lrs, losses)
    assert 10 ** -3 <= lr <= 10 ** -1
    assert "still falling" in diagnose(lrs, losses) and "raise end_lr" in diagnose(lrs, losses)


def test_curve_that_diverges_at_once():
    lrs = np.geomspace(1e-2, 10, 40)
    losses = np.concatenate([[2.3, 2.2], 2.2 + np.linspace(0.5, 30, 38)])
    with pytest.raises(NoSuggestion, match="lower start_lr"):
        S.auto(lrs, losses)


@pytest.mark.parametrize("noise", [0.05, 0.15])
def test_auto_is_stable_under_noise(noise):
    clean = S.auto(*valley_curve())
    answers = [S.auto(*valley_curve(noise=noise, seed=s)) for s in range(25)]
    assert all(clean / 3 <= a <= clean * 3 for a in answers)
    assert all(10 ** -3 <= a <= 10 ** -0.7 for a in answers)


def test_flat_then_blows_up_gives_a_rough_answer_and_says_so():
    lrs = np.geomspace(1e-5, 1, 80)
    losses = 0.5 + 0.2 * np.random.RandomState(0).randn(80)
    losses[70:] += np.linspace(1, 20, 10)
    lr = S.auto(lrs, losses)
    assert lrs[55] / 10 <= lr <= lrs[72] / 10
    assert "did not fall measurably" in diagnose(lrs, losses)
    low, high = suggested_range(lrs, losses)
    assert low < high < lrs[72]


@pytest.mark.parametrize("tail", [1, 2, 3])
def test_a_blow_up_in_the_last_points_of_a_flat_curve_is_seen(tail):
    """A nearly converged net (FRESH2 benchmark task cancer-mlp-midtrain-nag): the loss is flat
    within its noise until the last 1-3 points, where it blows up and the stopping rule ends
    the run. The running median erases so short a blow-up; it read "flat: raise end_lr"."""
    rs = np.random.RandomState(tail)
    lrs = np.geomspace(1e-7, 4.0, 95)
    losses = np.abs(0.08 + 0.06 * rs.randn(95))
    losses[-tail:] = np.geomspace(3.0, 25.0, tail) if tail > 1 else 25.0
    lr = S.auto(lrs, losses)
    assert lrs[95 - tail - 4] / 10 <= lr <= lrs[95 - tail] / 10
    assert "did not fall measurably" in diagnose(lrs, losses)
    r = LRFinderResult(lrs, losses, stop_reason="diverged")
    assert (r.diagnosis_code, r.confidence) == ("noisy", "low") and r.lr == pytest.approx(lr)


def test_one_high_last_point_without_a_divergence_stays_flat():
    # the finder's stopping rule did not fire (smoothed loss below 4x its lowest): no blow-up
    lrs = np.geomspace(1e-7, 1e-4, 60)
    losses = 2.3 + 0.01 * np.random.RandomState(0).randn(60)
    losses[-1] = 2.6
    with pytest.raises(NoSuggestion, match="hardly changed"):
        S.auto(lrs, losses)


def test_plateau_in_the_middle():
    lrs, losses = valley_curve()
    u = np.log10(lrs)
    losses = losses + np.where((u > -2.4) & (u < -1.8), 0.0, 0.0)
    plateau = (u > -2.0) & (u < -1.5)
    losses[plateau] = losses[np.argmax(plateau)]
    lr = S.auto(lrs, losses)
    assert 10 ** -3 <= lr <= 10 ** -0.7


def test_suggested_range_brackets_the_descent():
    lrs, losses = valley_curve()
    low, high = suggested_range(lrs, losses)
    assert lrs[0] <= low < high <= 10 ** -0.7
    assert low <= S.auto(lrs, losses) <= high * 1.0001
    assert high / low >= 4


def test_rules_are_pure():
    lrs, losses = valley_curve(noise=0.05)
    a, b = list(lrs), list(losses)
    for rule in RULES:
        assert suggest(a, b, rule) == suggest(a, b, rule)
    assert a == list(lrs) and b == list(losses)


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="different lengths: 3 and 2"):
        suggest([1, 2, 3], [1, 2])


def test_ema_is_bias_corrected():
    np.testing.assert_allclose(S.ema([2.0, 2.0, 2.0], 0.98), [2.0, 2.0, 2.0])
    out = S.ema([1.0, np.nan, 3.0], 0.5)
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == pytest.approx((0.25 + 1.5) / 0.75)


def test_edge_is_the_minimum_of_the_lag_free_curve():
    lrs, losses = valley_curve()
    e = S.edge(lrs, losses)
    assert 10 ** -0.9 <= e <= 10 ** -0.5
    assert S.auto(lrs, losses) < e
    assert suggested_range(lrs, losses)[1] == pytest.approx(e / math.sqrt(2))



def test_a_flat_curve_whose_lowest_point_is_its_first_is_noisy_when_it_blows_up_late():
    """A net that has already trained (FRESH3's resumed digits value task): flat within its
    noise, lowest by chance at the very start, then a blow-up near the end. It read "the loss
    never decreased: lower start_lr", which was wrong advice."""
    rs = np.random.RandomState(0)
    lrs = np.geomspace(1e-7, 3.0, 93)
    losses = 0.28 + 0.05 * rs.randn(93)
    losses[:3] = 0.05  # lowest at the start
    losses[88:] = [0.8, 2.0, 6.0, 20.0, 48.0]
    shape = S.CurveShape(lrs, losses)
    assert shape.i_min == 0 and not shape.descent
    lr = S.auto(lrs, losses)
    assert lrs[80] / 10 <= lr <= lrs[89] / 10
    assert "did not fall measurably" in diagnose(lrs, losses)


def test_a_loss_lowest_at_the_start_that_blows_up_early_still_never_decreased():
    # lowest at the start and up within the first half of the sweep: start_lr (or the
    # optimizer state carried over) is already too high
    lrs = np.geomspace(1e-4, 1.0, 60)
    losses = np.full(60, 1.0) + 0.01 * np.random.RandomState(1).randn(60)
    losses[:3] = 0.9
    losses[20:] += np.linspace(0.0, 5.0, 40) ** 2
    with pytest.raises(NoSuggestion, match="never decreased"):
        S.auto(lrs, losses)


def test_the_last_point_blow_up_replays_the_stopping_rule_exactly():
    # a negative loss (a Gaussian NLL, say): the default rule never fires (its lowest is not
    # above 0), so one high last batch is not a blow-up
    lrs = np.geomspace(1e-6, 1e-3, 80)
    y = -2.0 + 0.05 * np.random.RandomState(0).randn(80)
    y[-1] = -1.5
    with pytest.raises(NoSuggestion, match="hardly changed"):
        S.auto(lrs, y)
    # heavy-tailed batches where the rule would have fired before the last point (a custom
    # stopping rule let the run go on): not a blow-up at the last point either
    answered = 0
    for seed in range(100):
        z = 0.05 * np.random.RandomState(seed).exponential(size=100)
        z[-1] = 0.4
        try:
            S.auto(np.geomspace(1e-6, 1e-3, 100), z)
            answered += 1
        except NoSuggestion:
            pass
    assert answered <= 5


def test_a_steady_rise_from_the_first_point_never_decreased():
    # no flat first half: the loss rose from start_lr on, however noisy
    lrs = np.geomspace(1e-3, 1.0, 100)
    for seed in range(20):
        y = 1.0 + 0.8 * np.linspace(0, 1, 100) + 0.15 * np.random.RandomState(seed).randn(100)
        try:
            shape = S.CurveShape(lrs, y)
        except NoSuggestion:
            continue
        assert shape.i_min != 0  # the new branch (lowest at the start) never answers here
