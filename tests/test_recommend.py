import math
import pickle
import warnings

import numpy as np
import pytest

from gluon_lr import LRFinderResult
from gluon_lr.recommend import (AUTO_SHAPE, EDGE_CAP, PEAK_BASE, SHAPES, build, configure,
                                multiple, peak, recommend)
from gluon_lr.schedules import SCHEDULES, WSD, Cosine, Linear, OneCycle, Triangular


def valley(start=1e-4, end=1.0, n=100, noise=0.02, seed=0):
    lrs = np.geomspace(start, end, n)
    x = np.log10(lrs)
    mid = np.log10(start) + 0.7 * (np.log10(end) - np.log10(start))
    losses = 2.0 - 1.5 / (1 + np.exp(-(x - (mid - 1)) * 4)) + np.exp((x - mid) * 5)
    losses += np.random.RandomState(seed).randn(n) * noise
    return lrs, losses


def result(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LRFinderResult(*valley(**kw), steps_per_epoch=10)


def test_build_parameterises_every_shape_by_its_peak():
    T = 100
    for name in SCHEDULES:
        s = build(name, 0.3, T, steps_per_epoch=5)
        assert s.max_value() == pytest.approx(0.3)
    assert build("linear", 0.3, T) == Linear(0.3, T)
    assert build("wsd", 0.3, T) == WSD(0.3, T)
    assert build("one_cycle", 0.3, T) == OneCycle(0.3, T)
    assert build("cosine", 0.3, T) == Cosine(0.3, 0.0, T)
    assert build("triangular", 0.4, T, steps_per_epoch=5) == Triangular(0.1, 0.4, 40)
    assert build("triangular", 0.4, T).cycle_length == T
    assert build("linear", 0.3, T, warmup_steps=0).warmup_steps == 0  # overrides win


def test_every_peak_is_the_suggestion_or_sqrt2_times_it_capped_at_twice_the_edge():
    r = result()
    base = r.suggestion(PEAK_BASE)
    assert PEAK_BASE == "auto" and base is not None and base == r.lr
    for name in SCHEDULES:
        m = 2 ** 0.5 if name in ("one_cycle", "linear", "cosine", "warmup_cosine") else 1.0
        assert multiple(name) == m
        assert peak(r, name) == pytest.approx(min(m * base, EDGE_CAP * r.edge_lr))
    s = r.schedule("cosine", 100)
    if 2 ** 0.5 * base < EDGE_CAP * r.edge_lr:
        assert "1.4 x the auto suggestion ({:.3g})".format(base) in s.reason
    with pytest.raises(ValueError, match="unknown schedule 'fast'"):
        peak(r, "fast")


def test_the_cap_binds_on_a_curve_that_turns_up_early(monkeypatch):
    r = result()
    monkeypatch.setattr(LRFinderResult, "suggestion", lambda self, rule=None: 1e6 * self.edge_lr)
    s = r.schedule("linear", 100)
    assert s.max_value() == pytest.approx(EDGE_CAP * r.edge_lr) and "capped" in s.reason


def test_configure_names_its_choice_and_reason():
    r = result()
    for name in SCHEDULES:
        s = configure(r, name, 200)
        assert s.name == name and name in s.reason and "{:.3g}".format(peak(r, name)) in s.reason
        assert s == build(name, peak(r, name), 200, 10)  # steps_per_epoch from the run
        assert pickle.loads(pickle.dumps(s)) == s


def test_auto_is_a_shape_and_a_peak_with_its_reason():
    r = result()
    s = r.schedule("auto", 300)
    assert s == recommend(r, 300) and s.name == AUTO_SHAPE
    assert s.reason.startswith("auto: ") and AUTO_SHAPE in s.reason
    assert s.max_value() == pytest.approx(peak(r, AUTO_SHAPE))
    assert AUTO_SHAPE == "cosine" and s.cycle_length == 300 and s(300) < 1e-3 * s.max_value()
    assert r.schedule("auto", 300, min_lr=1e-4).min_lr == 1e-4  # overrides reach the preset


def test_narrow_sweeps_no_longer_break_the_triangular_presets():
    # end / start = 1.5: suggested_range collapses to a point, which made min_lr == max_lr
    lrs = np.geomspace(0.01, 0.015, 60)
    losses = np.linspace(1.0, 0.5, 60) + np.random.RandomState(0).randn(60) * 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = LRFinderResult(lrs, losses)
    assert r.lr is not None
    for name in ("triangular", "triangular2", "exp_range"):
        s = r.schedule(name, 100)
        assert s.min_lr < s.max_lr and all(math.isfinite(v) for v in s.values(100))


@pytest.mark.parametrize("call,exc,match", [
    (lambda r: configure(r, "sgdr", 10), ValueError, "unknown schedule 'sgdr'; choose one of"),
    (lambda r: build("linear", 0.0, 10), ValueError, "peak must be > 0, got 0.0"),
    (lambda r: build("linear", 0.1, 10.5), TypeError, "total_steps must be an int"),
    (lambda r: build("triangular", 0.1, 10, steps_per_epoch=0), ValueError,
     "steps_per_epoch must be > 0"),
    (lambda r: r.schedule("auto", -1), ValueError, "total_steps must be > 0, got -1"),
])
def test_bad_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call(result())


def test_no_suggestion_means_no_schedule():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = LRFinderResult(np.geomspace(1e-4, 1, 30), np.linspace(1, 5, 30))
    with pytest.raises(ValueError, match="no suggestion to build a schedule from"):
        r.schedule("auto", 100)


def test_the_curve_rule_alone_is_enough_and_the_reason_says_the_run_had_none(monkeypatch):
    r = result()
    base, edge = r.suggestion(PEAK_BASE), r.edge_lr
    monkeypatch.setattr(LRFinderResult, "lr", property(lambda self: None))
    s = r.schedule("auto", 100)
    expected = base * multiple(AUTO_SHAPE)
    if r.edge_lr is not None:
        expected = min(expected, EDGE_CAP * edge)
    assert s.max_value() == pytest.approx(expected)
    assert "gave none" in s.reason


def adaptive_result(optimizer="adam", chance=math.log(10), **kw):
    """A range test as find_lr records it for ``optimizer`` on a loss with ``chance`` level
    (None: a regression loss)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LRFinderResult(*valley(**kw), steps_per_epoch=10,
                              optimizer=optimizer, chance_loss=chance)


@pytest.mark.parametrize("optimizer", ["adam", "Nadam", "rmsprop"])
def test_adaptive_classifiers_peak_every_shape_but_constant_at_the_edge(optimizer):
    from gluon_lr.recommend import EDGE_AUTO_SHAPE, at_edge
    r = adaptive_result(optimizer)
    assert at_edge(r) and r.edge_lr > 2 ** 0.5 * r.lr  # the rule moves these peaks
    for name in SCHEDULES:  # linear at sqrt(2) x edge_lr since round 10
        want = (r.lr if name == "constant" else
                r.edge_lr * (2 ** 0.5 if name == "linear" else 1.0))
        assert peak(r, name) == pytest.approx(want)
        s = r.schedule(name, 200)
        assert s.max_value() == pytest.approx(want) and s.name == name
        assert pickle.loads(pickle.dumps(s)) == s
        if name != "constant":
            assert "edge_lr" in s.reason and optimizer in s.reason
    auto = r.schedule("auto", 200)
    assert EDGE_AUTO_SHAPE == "linear" and auto.name == "linear"
    assert auto == build("linear", 2 ** 0.5 * r.edge_lr, 200, 10)
    assert auto.reason.startswith("auto: linear at peak") and "1.4 x edge_lr" in auto.reason
    assert "classification" in auto.reason


@pytest.mark.parametrize("optimizer,chance", [("sgd", math.log(10)), ("nag", math.log(10)),
                                              ("adam", None), ("rmsprop", None),
                                              ("adagrad", math.log(10)), (None, math.log(10))])
def test_the_edge_rule_leaves_the_sgd_family_regression_and_untested_optimizers(optimizer,
                                                                              chance):
    from gluon_lr.recommend import at_edge
    r = adaptive_result(optimizer, chance)
    plain = result()
    assert not at_edge(r)
    for name in SCHEDULES:
        assert peak(r, name) == pytest.approx(peak(plain, name))
    assert r.schedule("auto", 200) == plain.schedule("auto", 200)
    assert r.schedule("auto", 200).name == AUTO_SHAPE


def test_under_the_edge_rule_no_peak_passes_the_last_rate_the_sweep_survived(monkeypatch):
    import gluon_lr.recommend as rec
    r = adaptive_result("adam")
    lrs, losses = np.asarray(r.lrs), np.asarray(r.losses, float)
    top = float(lrs[np.isfinite(losses)][-1])
    assert peak(r, "linear") == pytest.approx(2 ** 0.5 * r.edge_lr)  # the usual case
    assert 2 ** 0.5 * r.edge_lr < top
    monkeypatch.setattr(rec, "EDGE_MULTIPLES", {"linear": 1e3, "wsd": 3.0})
    assert peak(r, "linear") == pytest.approx(min(top, rec.EDGE_CAP * r.edge_lr))
    assert peak(r, "cosine") == pytest.approx(r.edge_lr)
    lin = r.schedule("linear", 200)
    k = lin.max_value() / r.edge_lr
    assert "{:.2g} x edge_lr ({:.3g})".format(k, r.edge_lr) in lin.reason  # the real multiple


def test_an_override_the_edge_rules_auto_shape_does_not_take_names_that_shape():
    r = adaptive_result("adam")
    assert r.schedule("auto", 200, warmup_steps=0).max_value() == pytest.approx(
        2 ** 0.5 * r.edge_lr)
    with pytest.raises(TypeError, match="schedule\\('auto'\\) chose 'linear'.*decay_fraction"):
        r.schedule("auto", 200, decay_fraction=0.1)  # a WSD setting (round 9's auto shape)
    with pytest.raises(TypeError, match="schedule\\('auto'\\) chose 'cosine'.*decay_fraction"):
        result().schedule("auto", 200, decay_fraction=0.1)  # the other rule says so too
    with pytest.raises(TypeError, match="^total_steps must be a number"):  # not an override
        r.schedule("auto", "200")


def test_the_edge_rule_of_round_9_is_two_settings_away(monkeypatch):
    import gluon_lr.recommend as rec
    r = adaptive_result("adam")
    lin = r.schedule("linear", 200)
    auto = r.schedule("auto", 200)
    assert auto == lin and "a linear decay to zero over the budget from this peak" in auto.reason
    monkeypatch.setattr(rec, "EDGE_MULTIPLES", {})
    monkeypatch.setattr(rec, "EDGE_AUTO_SHAPE", "wsd")  # round 9: WSD at edge_lr
    for name in SCHEDULES:
        assert peak(r, name) == pytest.approx(r.lr if name == "constant" else r.edge_lr)
    old = r.schedule("auto", 200)
    assert old.name == "wsd" and old == WSD(r.edge_lr, 200)
    assert "1.4 x" not in old.reason and "warm-up, stable, then a cool-down" in old.reason
    assert pickle.loads(pickle.dumps(old)) == old


def test_the_edge_rule_can_be_turned_off(monkeypatch):
    import gluon_lr.recommend as rec
    r = adaptive_result("adam")
    monkeypatch.setattr(rec, "EDGE_PEAK", False)
    assert not rec.at_edge(r)
    assert r.schedule("auto", 200) == result().schedule("auto", 200)


def test_the_edge_rule_needs_an_edge(monkeypatch):
    from gluon_lr.recommend import at_edge
    r = adaptive_result("adam")
    monkeypatch.setattr(LRFinderResult, "edge_lr", property(lambda self: None))
    assert not at_edge(r)
    assert r.schedule("auto", 200).name == AUTO_SHAPE


def test_a_real_adam_range_test_gets_linear_above_its_edge_and_sgd_keeps_cosine():
    from conftest import make_data, make_net
    from gluon_lr import Learner
    from gluon_lr.recommend import at_edge
    X, y = make_data(n=128)
    for optimizer, shape in (("adam", "linear"), ("sgd", AUTO_SHAPE)):
        learner = Learner(make_net(), (X, y), optimizer=optimizer, batch_size=16)
        r = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, repeats=1, progress=False)
        assert r.lr is not None and r.meta["optimizer"] == optimizer
        assert r.meta["chance_loss"] == pytest.approx(math.log(3))
        auto = r.schedule("auto", 100)
        assert at_edge(r) == (optimizer == "adam") and auto.name == shape
        want = 2 ** 0.5 * r.edge_lr if optimizer == "adam" else peak(r, AUTO_SHAPE)
        assert auto.max_value() == pytest.approx(want)


def test_a_sweep_still_falling_at_its_end_keeps_the_suggestion_rule():
    from gluon_lr.recommend import at_edge
    # the valley curve cut before it turns up: the lowest loss is the last rate tried
    lrs, losses = valley()
    keep = lrs < 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = LRFinderResult(lrs[keep], losses[keep], steps_per_epoch=10, optimizer="adam",
                           chance_loss=math.log(10))
    assert r.lr is not None and r.diagnosis_code == "open_ended"
    assert not at_edge(r) and r.schedule("auto", 200).name == AUTO_SHAPE
    assert "edge_lr" not in r.schedule("linear", 200).reason


@pytest.mark.parametrize("chance", [False, True, 0, -1.0, float("nan"), float("inf"), "2.3"])
def test_only_a_real_chance_level_counts_as_classification(chance):
    from gluon_lr.recommend import at_edge
    r = adaptive_result("adam")
    r.meta["chance_loss"] = chance
    assert not at_edge(r)


def test_the_edge_reason_quotes_the_auto_suggestion_whatever_the_run_rule():
    from gluon_lr.recommend import _base
    r = adaptive_result("adam")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = LRFinderResult(r.lrs, r.losses, suggest="minimum", **r.meta)
    base, rule = _base(other)
    assert rule == "auto" and base == pytest.approx(r.lr)
    assert "the auto suggestion is {:.3g}".format(base) in other.schedule("cosine", 200).reason


def test_a_sigmoid_bce_classifier_with_rmsprop_is_at_the_edge_and_l2_is_not():
    from mxnet import gluon
    from conftest import make_data
    from gluon_lr import Learner
    from gluon_lr.recommend import at_edge
    X, y = make_data(n=128, classes=2)
    for loss, edge in ((gluon.loss.SigmoidBinaryCrossEntropyLoss(), True),
                       (gluon.loss.L2Loss(), False)):
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(1))
        learner = Learner(net, (X, y.reshape(-1, 1)), loss=loss, optimizer="rmsprop",
                          batch_size=16)
        r = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, repeats=1,
                            progress=False)
        assert r.lr is not None
        assert (r.meta["chance_loss"] is not None) == edge
        assert at_edge(r) == edge
        assert r.schedule("auto", 100).name == ("linear" if edge else AUTO_SHAPE)


def test_edge_regression_is_the_edge_rule_s_mirror_for_losses_with_no_chance_level():
    from gluon_lr.recommend import at_edge, edge_regression
    assert edge_regression(adaptive_result("adam", None))
    assert not at_edge(adaptive_result("adam", None))
    assert not edge_regression(adaptive_result("adam"))          # classification
    assert not edge_regression(adaptive_result("sgd", None))     # SGD family
    assert not edge_regression(adaptive_result("adagrad", None))
    # the schedules themselves do not move for regression: only compare_schedules' probe
    assert adaptive_result("adam", None).schedule("auto", 200) == result().schedule("auto", 200)
