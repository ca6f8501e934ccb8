"""The bar for a measurable fall: lower for a net trained from scratch (round 6, FRESH5)."""
import warnings

import numpy as np
import pytest

import gluon_lr.suggest as S
from gluon_lr.result import LRFinderResult


def _dip_then_blowup(seed=13):
    """Noisy flat loss with a small dip near 2e-2, blowing up from about 2."""
    lrs = np.geomspace(1e-7, 10, 100)
    x = np.log10(lrs)
    rs = np.random.RandomState(seed)
    y = (0.45 + 0.15 * rs.randn(100) - 0.15 * np.exp(-((x + 1.7) / 0.6) ** 2)
         + np.where(x > 0.3, 0.5 * (10 ** (x - 0.3) - 1), 0))
    return lrs, y


def _result(lrs, y, **meta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LRFinderResult(lrs, y, stop_reason="diverged", chance_loss=None, **meta)


def test_the_bar_depends_on_whether_the_trainer_had_stepped():
    assert S.significance(False) == S.SIGNIFICANT_FROM_SCRATCH == 4.0
    assert S.significance(True) == S.SIGNIFICANT == 5.5  # also the pure rule's default


def test_from_scratch_a_small_fall_before_the_blow_up_is_a_descent_resumed_it_is_noise():
    lrs, y = _dip_then_blowup()
    scratch = _result(lrs, y, resumed=False)
    resumed = _result(lrs, y, resumed=True, state_reset=True)
    assert scratch.diagnosis_code == "ok" and resumed.diagnosis_code == "noisy"
    assert scratch.lr == pytest.approx(S.auto(lrs, y, 4.0)) and 3e-3 < scratch.lr < 3e-2
    assert resumed.lr == pytest.approx(S.auto(lrs, y, 5.5)) and resumed.lr > 0.1
    # a result saved before round 6 (no "resumed" in meta) counts as from scratch
    assert _result(lrs, y).lr == pytest.approx(scratch.lr)
    assert scratch.edge_lr < resumed.edge_lr
    assert scratch.suggested_range[1] < resumed.suggested_range[1]


def test_pure_noise_that_never_blows_up_is_still_flat_at_the_lower_bar():
    """Pure noise clears a bar of 4 in about 7 of 100 sweeps; a curve that never blows up
    keeps the pure rule's bar, so a flat sweep still asks for a higher end_lr."""
    lrs = np.geomspace(1e-7, 1e-4, 100)
    answered = 0
    for seed in range(200):
        y = 2.3 + 0.01 * np.random.RandomState(seed).randn(100)
        try:
            S.auto(lrs, y, 4.0)
            answered += 1
        except S.NoSuggestion as err:  # flat, or lowest by chance at its first point
            assert "hardly changed" in str(err) or "never decreased" in str(err)
    assert answered <= 4  # as at the pure rule's bar (about 1 in 100), not 7 in 100
    flat = 2.3 + 0.01 * np.random.RandomState(0).randn(100)
    assert S.wants_higher_rates(lrs, flat, 4.0)
    with pytest.raises(S.NoSuggestion, match="hardly changed"):
        S.auto(lrs, flat)


# ---- found by a red-team pass (round 6) -----------------------------------------------------
def test_plain_sgd_reads_its_cap_with_the_same_bar():
    """The plain-SGD factor is capped at edge(), which must be read at the result's bar: at
    5.5 it fell at another point (lr above edge_lr) or failed (no answer, code 'ok')."""
    for seed in (13, 20, 24, 26, 27):
        lrs, y = _dip_then_blowup(seed)
        r = _result(lrs, y, resumed=False, optimizer="sgd", optimizer_params={"momentum": 0.0})
        assert r.lr is not None and r.diagnosis_code == "ok"
        assert r.lr <= r.edge_lr * (1 + 1e-9)
        assert r.suggestion("auto") == pytest.approx(r.lr)


def test_a_high_start_on_flat_noise_is_not_a_blow_up():
    lrs = np.geomspace(1e-7, 1e-4, 30)
    for seed in range(40):
        y = 1.0 + 0.01 * np.random.RandomState(seed).randn(30)
        y[:2] += 0.06  # the first two losses high: a start, not a blow-up
        try:
            S.CurveShape(lrs, y, 5.5)
        except S.NoSuggestion as err:
            if "hardly changed" not in str(err):
                continue
            with pytest.raises(S.NoSuggestion, match="hardly changed"):
                S.CurveShape(lrs, y, 4.0)  # flat at the higher bar: flat at the lower one
            assert S.wants_higher_rates(lrs, y, 4.0)


def test_a_result_saved_under_other_rules_warns_when_its_answer_changes():
    lrs, y = _dip_then_blowup()
    saved = _result(lrs, y, resumed=False).to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LRFinderResult.from_dict(saved)  # the same rules: silent
    saved["lr"] = 0.475  # what the rules before round 6 answered on this curve
    with pytest.warns(UserWarning, match=r"saved with lr=0.475; .* gives lr=0.00"):
        again = LRFinderResult.from_dict(saved)
    assert again.lr == pytest.approx(S.auto(lrs, y, 4.0))


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1.0, ValueError),
                                        (float("nan"), ValueError), (float("inf"), ValueError),
                                        (True, TypeError), ("4", TypeError)])
def test_a_bad_bar_is_refused_by_name(bad, error):
    lrs, y = _dip_then_blowup()
    with pytest.raises(error, match="significant must be"):
        S.auto(lrs, y, bad)


def test_the_bar_is_fixed_when_the_result_is_built(monkeypatch):
    lrs, y = _dip_then_blowup()
    r = _result(lrs, y, resumed=False)
    monkeypatch.setattr(S, "SIGNIFICANT_FROM_SCRATCH", 5.5)
    assert r.suggestion("auto") == pytest.approx(r.lr)
    low, high = r.suggested_range
    assert low <= r.lr <= high and r.lr <= r.edge_lr
