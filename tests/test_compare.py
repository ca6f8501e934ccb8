import json
import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import assert_same, capture, make_data, make_net, train_steps
from gluon_lr import Learner, ScheduleComparison
from gluon_lr.schedules import Constant, Offset, Schedule


@pytest.fixture
def setup():
    X, y = make_data(n=128)
    Xv, yv = make_data(n=48, seed=1)
    net = make_net(batchnorm=True)
    learner = Learner(net, (X, y), optimizer="sgd", optimizer_params={"momentum": 0.9},
                      batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, progress=False)
    assert result.lr is not None
    return learner, result, (Xv, yv)


def test_race_of_peaks_restores_and_respects_the_budget(setup):
    learner, result, val = setup
    X, y = make_data(n=128)
    train_steps(learner.net, learner.trainer, X, y, 2)  # mid-training: num_update = 2
    before = capture(learner.net, learner.trainer)
    with pytest.warns(UserWarning, match="trainer is already at num_update=2"):
        cmp = learner.compare_schedules(result, total_steps=60, val_data=val, seed=0,
                                        probe=False)
    assert isinstance(cmp, ScheduleComparison) and cmp.probe is None
    assert_same(before, capture(learner.net, learner.trainer))
    auto = result.schedule("auto", 60, steps_per_epoch=learner.steps_per_epoch)
    assert cmp.auto == auto
    # the auto shape at 1/3, 1 and 3 x its peak, each compressed to 30 / 3 = 10 steps
    runs = {name: r[-1] for name, r in cmp.history.items()}
    assert sorted(r["factor"] for r in runs.values()) == pytest.approx([1 / 3, 1.0, 3.0])
    assert all(r["steps"] == 10 and r["shape"] == auto.name for r in runs.values())
    assert cmp.steps == 30 and cmp.steps <= 0.5 * cmp.total_steps
    table = cmp.table()
    assert table[0]["name"] == cmp.best_name
    assert all(0 <= row["val_accuracy"] <= 100 for row in table)
    best_acc = max(r["val_accuracy"] for r in runs.values())
    auto_row = next(r for r in runs.values() if r["factor"] == 1.0)
    if cmp.kept_auto:  # no challenger gained more than the default margin, 1 point
        assert cmp.best == auto and auto_row["val_accuracy"] >= best_acc - 1.0
        assert cmp.reason.startswith("kept schedule('auto')")
    else:
        assert runs[cmp.best_name]["val_accuracy"] > auto_row["val_accuracy"] + 1.0
        assert cmp.best.max_value() == pytest.approx(runs[cmp.best_name]["peak"])
    assert isinstance(cmp.best, Schedule) and cmp.best.reason.startswith("compare_schedules: ")


def test_a_challenger_must_beat_auto_by_the_margin(setup):
    learner, result, val = setup
    cmp = learner.compare_schedules(result, total_steps=60, val_data=val, seed=0, margin=101.0,
                                    probe=False)
    assert cmp.kept_auto and cmp.best == cmp.auto  # no accuracy gain exceeds 101 points


def test_candidates_see_the_same_batches_and_are_reproducible(setup):
    learner, result, val = setup
    a = learner.compare_schedules(result, total_steps=24, candidates=["constant"],
                                  val_data=val, seed=1)
    b = learner.compare_schedules(result, total_steps=24, candidates=["constant"],
                                  val_data=val, seed=1)
    assert a.history == b.history
    assert len(a.history) == 2  # the auto choice is always raced too
    assert any(name.startswith("constant@") for name in a.history)


def test_named_and_explicit_candidates(setup):
    learner, result, val = setup
    cmp = learner.compare_schedules(result, total_steps=40, val_data=val, seed=0,
                                    candidates=["one_cycle", ("wsd", 0.05)], budget=0.3)
    shapes = {r[-1]["shape"]: r[-1]["peak"] for r in cmp.history.values()}
    from gluon_lr.recommend import peak
    assert shapes["one_cycle"] == pytest.approx(peak(result, "one_cycle"))
    assert shapes["wsd"] == 0.05 and len(shapes) == 3
    assert cmp.steps == 3 * (12 // 3)


def test_export_and_plot(setup, tmp_path):
    learner, result, val = setup
    cmp = learner.compare_schedules(result, total_steps=30, val_data=val, seed=0, probe=False)
    doc = json.loads(cmp.to_json(str(tmp_path / "c.json")))
    assert doc["best"] == cmp.best_name and len(doc["table"]) == 3
    assert doc["kept_auto"] == cmp.kept_auto and doc["reason"] == cmp.reason
    ax = cmp.plot(path=str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").stat().st_size > 0
    assert "(best)" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_regression_is_scored_on_loss():
    rs = np.random.RandomState(0)
    X = rs.rand(96, 3).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]
    learner = Learner(gluon.nn.Dense(1), (X[:64], y[:64]), loss=gluon.loss.L2Loss(),
                      batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10, num_iter=40, progress=False)
    cmp = learner.compare_schedules(result, total_steps=24, val_data=(X[64:], y[64:]),
                                    candidates=("constant", "cosine"))
    assert cmp.select == "loss" and all(r["val_accuracy"] is None for r in cmp.table())
    if not cmp.kept_auto:
        assert cmp.history[cmp.best_name][-1]["val_loss"] < min(
            r[-1]["val_loss"] for n, r in cmp.history.items() if n != cmp.best_name)
    with pytest.raises(ValueError, match="select='accuracy' needs a SoftmaxCrossEntropyLoss"):
        learner.compare_schedules(result, total_steps=24, val_data=(X[64:], y[64:]),
                                  select="accuracy")


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"candidates": []}, ValueError, "candidates is empty"),
    ({"candidates": ["constant", "sgdr"]}, ValueError, "unknown schedule 'sgdr'"),
    ({"candidates": [("wsd", 0.1), ("wsd", 0.1)]}, ValueError, "candidates lists wsd@0.1 twice"),
    ({"candidates": [3]}, TypeError, "a candidate must be a schedule name or a"),
    ({"candidates": [("wsd", -1.0)]}, ValueError, "the peak of candidate 'wsd' must be a "
                                                 "positive number, got -1.0"),
    ({"val_data": None}, ValueError, "val_data is required"),
    ({"budget": 0.01, "probe": False}, ValueError, "leaves 0 steps for each of 3 candidates"),
    ({"budget": 0.2}, ValueError, "leaves 8 steps for the over-training probe; at least 10"),
    ({"probe": "yes"}, TypeError, "probe must be True, False or None, got 'yes'"),
    ({"probe": True, "candidates": ["wsd"]}, ValueError, "probe=True spends the whole budget"),
    ({"budget": 1.5}, ValueError, r"budget must be in \(0, 1\]"),
    ({"total_steps": 0}, ValueError, "total_steps must be > 0, got 0"),
    ({"margin": -1}, ValueError, "margin must be >= 0, got -1"),
    ({"select": "f1"}, ValueError, "select must be 'auto', 'loss' or 'accuracy', got 'f1'"),
])
def test_bad_input_fails_before_training(setup, kwargs, exc, match):
    learner, result, val = setup
    kwargs = dict({"val_data": val, "total_steps": 40}, **kwargs)
    before = capture(learner.net, learner.trainer)
    with pytest.raises(exc, match=match):
        learner.compare_schedules(result, **kwargs)
    assert_same(before, capture(learner.net, learner.trainer))


def test_round4_probe_keeps_auto_while_validation_improves(monkeypatch):
    import gluon_lr.compare as compare
    monkeypatch.setattr(compare, "PROBE_RAISE", 1.0)  # round 4: the probe can only lower
    X, y = make_data(n=176)  # one distribution: train on 128, validate on 48
    learner = Learner(make_net(), (X[:128], y[:128]), optimizer="adam", batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, progress=False)
    cmp = learner.compare_schedules(result, total_steps=160, val_data=(X[128:], y[128:]), seed=0)
    probe = cmp.probe
    assert probe["peak"] == pytest.approx(cmp.auto.max_value()) and probe["factor"] == 1.0
    assert probe["base"] is None and cmp.steps == probe["steps"] == 80
    assert not probe["over_training"] and not probe["raised"]
    assert cmp.kept_auto and cmp.best == cmp.auto
    assert cmp.reason.endswith("; kept schedule('auto')")


def test_accuracy_probe_races_the_auto_peak_against_twice_it(monkeypatch):
    import gluon_lr.compare as compare
    # Adam on classification peaks at edge_lr, where the probe does not raise by default
    monkeypatch.setattr(compare, "PROBE_RAISE_AT_EDGE", compare.PROBE_RAISE)
    X, y = make_data(n=176)  # one distribution: train on 128, validate on 48
    learner = Learner(make_net(), (X[:128], y[:128]), optimizer="adam", batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, progress=False)
    val = (X[128:], y[128:])
    train_steps(learner.net, learner.trainer, X[:128], y[:128], 2)  # mid-training
    before = capture(learner.net, learner.trainer)
    with pytest.warns(UserWarning, match="trainer is already at num_update=2"):
        cmp = learner.compare_schedules(result, total_steps=160, val_data=val, seed=0)
    assert_same(before, capture(learner.net, learner.trainer))
    probe = cmp.probe
    auto = result.schedule("auto", 160, steps_per_epoch=learner.steps_per_epoch)
    P = auto.max_value()
    R = max(P, min(2 * P, 2 * result.edge_lr))
    assert R > P
    # the 80 extra steps go to two constant runs of 40 steps, at P and at R, 20 scores each
    assert cmp.steps == 80 and cmp.history == {} and cmp.table() == []
    assert probe["steps"] == probe["base"]["steps"] == 40
    assert probe["peak"] == pytest.approx(R) and probe["base"]["peak"] == pytest.approx(P)
    assert probe["factor"] == pytest.approx(R / P)
    for run in (probe["curve"], probe["base"]["curve"]):
        assert [c["steps"] for c in run] == list(range(2, 41, 2))
    high = [c["val_accuracy"] for c in probe["curve"]]
    base = [c["val_accuracy"] for c in probe["base"]["curve"]]
    assert not probe["over_training"]
    assert probe["final"] == pytest.approx(np.mean(high[-9:]))
    assert probe["base_final"] == pytest.approx(np.mean(base[-9:]))
    assert probe["raised"] is (probe["final"] >= probe["base_final"])
    chosen = R if probe["raised"] else P
    assert probe["scaled_peak"] == pytest.approx(chosen)
    from gluon_lr.recommend import build
    assert cmp.best == build(auto.name, chosen, 160, learner.steps_per_epoch)
    assert cmp.kept_auto is (not probe["raised"])
    assert cmp.reason.startswith("no over-training in a 40-step constant run at")
    doc = cmp.to_dict()
    assert doc["probe"]["base"]["curve"] == probe["base"]["curve"] and doc["table"] == []
    ax = cmp.plot()
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "probe: constant" in legend and "(the auto peak)" in legend


@pytest.mark.parametrize("case", ["higher_better", "higher_worse", "tie", "higher_overtrains"])
def test_two_runs_pick_the_higher_peak_only_when_it_scores_as_well(case):
    from gluon_lr.compare import _two_runs
    from gluon_lr.schedules import Cosine
    steps = list(range(5, 105, 5))  # 20 scores per run
    base = [(s, 0.3, 80 + s / 10) for s in steps]  # rising to 90
    if case == "higher_better":
        high = [(s, 0.3, 81 + s / 10) for s in steps]
    elif case == "higher_worse":
        high = [(s, 0.3, 79 + s / 10) for s in steps]
    elif case == "tie":
        high = list(base)
    else:  # best around step 25, then 8 points worse
        high = [(s, 0.3, 90 - abs(s - 25) / 10) for s in steps]
    auto = Cosine(0.1, 0.0, 400)
    doc = _two_runs(base, high, "accuracy", 0.1, 0.2, auto, 400)
    assert doc["base"]["peak"] == 0.1 and doc["peak"] == 0.2 and doc["steps"] == 100
    if case == "higher_overtrains":
        area = sum(auto(i) for i in range(1, 401)) / 0.1
        assert doc["over_training"] and not doc["raised"]
        assert doc["scaled_peak"] == pytest.approx(0.2 * doc["best_step"] / area)
        assert doc["scaled_peak"] < 0.1 and doc["final"] is doc["base_final"] is None
    else:
        assert not doc["over_training"]
        assert doc["raised"] is (case != "higher_worse")
        assert doc["scaled_peak"] == (0.1 if case == "higher_worse" else 0.2)
        assert doc["final"] == pytest.approx(np.mean([h[2] for h in high[-9:]]))
        assert ("at least" if doc["raised"] else "below") in doc["reason"]


@pytest.mark.parametrize("case", ["falling", "flat", "overtrains", "diverged"])
def test_loss_probe_raises_the_peak_while_validation_still_falls(case):
    from gluon_lr.compare import PROBE_IMPROVING, _overtraining, _still_improving
    from gluon_lr.schedules import Cosine
    steps = list(range(3, 123, 3))  # 40 scores
    if case == "falling":  # 1.0 -> 0.61: about 20 % over the second half
        loss = [1.0 - 0.0033 * s for s in steps]
    elif case == "flat":  # 1 % over the second half
        loss = [0.5 - 0.00005 * s for s in steps]
    elif case == "overtrains":
        loss = [0.5 + abs(s - 30) / 200 for s in steps]
    else:
        loss = [float("inf")] * 40
    curve = [(s, l, None) for s, l in zip(steps, loss)]
    doc = _overtraining(curve, "loss", 0.1, Cosine(0.1, 0.0, 240), 240)
    _still_improving(doc, curve, 0.2)
    if case == "falling":
        assert doc["improvement"] > PROBE_IMPROVING and doc["raised"]
        assert doc["scaled_peak"] == 0.2 and "still falling" in doc["reason"]
    elif case == "flat":
        assert 0 < doc["improvement"] < PROBE_IMPROVING and not doc["raised"]
        assert doc["scaled_peak"] == 0.1
    elif case == "overtrains":
        assert doc["over_training"] and doc["improvement"] is None and not doc["raised"]
        assert doc["scaled_peak"] < 0.1
    else:
        assert doc["improvement"] is None and doc["scaled_peak"] is None
    # never raised above `higher`, and not when `higher` is the probe's own peak
    doc = _overtraining(curve, "loss", 0.1, Cosine(0.1, 0.0, 240), 240)
    _still_improving(doc, curve, 0.1)
    assert not doc["raised"]


def test_the_probe_peak_stays_below_twice_edge_lr(setup, monkeypatch):
    import gluon_lr.compare as compare
    learner, result, val = setup
    monkeypatch.setattr(compare, "PROBE_RAISE", 1000.0)
    cmp = learner.compare_schedules(result, total_steps=40, val_data=val, seed=0)
    auto = cmp.auto.max_value()
    assert cmp.probe["peak"] == pytest.approx(max(auto, 2 * result.edge_lr))
    assert cmp.best.max_value() <= cmp.probe["peak"] * (1 + 1e-9)


def test_probe_lowers_the_peak_when_validation_gets_worse():
    # validation labels are the negated training targets: the more the net learns, the worse
    # it scores, so the smoothed validation loss is best in the first window
    learner, result, val = _regression(negate_val=True)
    before = capture(learner.net, learner.trainer)
    cmp = learner.compare_schedules(result, total_steps=200, val_data=val, seed=0)
    assert_same(before, capture(learner.net, learner.trainer))
    probe, auto = cmp.probe, cmp.auto
    assert cmp.select == "loss" and probe["over_training"] and not cmp.kept_auto
    assert probe["drop"] > 0.03 and probe["best_step"] < 0.5 * probe["steps"]
    q = probe["scaled_peak"]
    assert probe["peak"] == pytest.approx(auto.max_value())
    assert q < auto.max_value() and cmp.best.max_value() == pytest.approx(q)
    assert cmp.best.name == auto.name and cmp.best_name == "{}@{:.3g}".format(auto.name, q)
    # forward area over the budget = the probe's area up to its best step
    area = sum(cmp.best(i) for i in range(1, 201))
    assert area == pytest.approx(probe["peak"] * probe["best_step"], rel=1e-6)
    assert cmp.reason.startswith("over-training:") and "step {}".format(
        probe["best_step"]) in cmp.reason
    assert cmp.best.reason == "compare_schedules: " + cmp.reason


@pytest.mark.parametrize("shape,over", [("u", True), ("rising", False), ("noisy", False)])
def test_overtraining_reads_the_smoothed_curve(shape, over):
    from gluon_lr.compare import _overtraining
    from gluon_lr.schedules import Linear
    steps = list(range(5, 205, 5))  # 40 evaluations
    if shape == "u":  # best around step 50, then 6 points worse
        acc = [90 - abs(s - 50) / 25 for s in steps]
    elif shape == "rising":
        acc = [80 + s / 20 for s in steps]
    else:  # +-1.5 points around 90: within the 2-point tolerance
        acc = [90 + (1.5 if k % 2 else -1.5) for k in range(40)]
    curve = [(s, 0.3, a) for s, a in zip(steps, acc)]
    auto = Linear(0.4, 400)
    doc = _overtraining(curve, "accuracy", 0.4, auto, 400)
    assert doc["over_training"] is over
    if over:
        assert 40 <= doc["best_step"] <= 60 and doc["drop"] > 2.0
        area = sum(auto(i) for i in range(1, 401)) / 0.4
        assert doc["scaled_peak"] == pytest.approx(0.4 * doc["best_step"] / area)
    else:
        assert doc["scaled_peak"] == 0.4


def test_a_probe_that_blows_up_lowers_the_peak():
    from gluon_lr.compare import _overtraining
    from gluon_lr.schedules import Linear
    # validation loss falls, then the run diverges (inf from step 60 on)
    curve = [(s, 0.5 - s / 200 if s < 60 else float("inf"), None) for s in range(3, 123, 3)]
    doc = _overtraining(curve, "loss", 0.2, Linear(0.2, 240), 240)
    assert doc["over_training"] and doc["drop"] == float("inf")
    assert doc["best_step"] < 60 and 0 < doc["scaled_peak"] < 0.2
    diverged = [(s, float("inf"), None) for s in range(3, 123, 3)]  # nothing to read
    doc = _overtraining(diverged, "loss", 0.2, Linear(0.2, 240), 240)
    assert not doc["over_training"] and doc["scaled_peak"] is None
    assert "never finite" in doc["reason"]


def test_offset_schedule():
    s = Offset(Constant(0.1), 5)
    assert s(1) == s(6) == 0.1
    from gluon_lr.schedules import Anneal
    a = Offset(Anneal(1.0, 0.0, 2), 3)
    assert a.values(6) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        Offset(Constant(0.1), -1)


def test_the_default_race_never_goes_past_twice_edge_lr(setup):
    from gluon_lr.compare import _candidates
    from gluon_lr.recommend import EDGE_CAP
    _, result, _ = setup
    edge = result.edge_lr
    # an auto peak at edge_lr: 3 x would be 3 x edge_lr, so it is capped at 2 x
    cands = _candidates(result, None, "cosine", edge)
    peaks = sorted(p for _, _, p, _ in cands)
    assert peaks == pytest.approx([edge / 3, edge, EDGE_CAP * edge])
    assert [f for _, _, p, f in cands if p == max(peaks)] == pytest.approx([EDGE_CAP])
    # an auto peak already at the cap: 1 x and 3 x coincide, and the duplicate is dropped
    cands = _candidates(result, None, "cosine", EDGE_CAP * edge)
    assert sorted(p for _, _, p, _ in cands) == pytest.approx([EDGE_CAP * edge / 3,
                                                              EDGE_CAP * edge])


def test_a_resumed_trainer_gets_its_choice_offset_with_start_and_a_warning_without(setup):
    learner, result, val = setup
    X, y = make_data(n=128)
    train_steps(learner.net, learner.trainer, X, y, 3)  # the trainer is at num_update = 3
    with pytest.warns(UserWarning, match="num_update=3.*start=3"):
        plain = learner.compare_schedules(result, total_steps=60, val_data=val, seed=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        shifted = learner.compare_schedules(result, total_steps=60, val_data=val, seed=0,
                                            start=3)
    assert not isinstance(plain.best, Offset)
    assert isinstance(shifted.best, Offset) and isinstance(shifted.auto, Offset)
    assert shifted.best.name == plain.best.name
    assert "after the trainer's step 3" in shifted.best.reason
    for t in (1, 20, 60):
        assert shifted.best(t + 3) == pytest.approx(plain.best(t))
        assert shifted.auto(t + 3) == pytest.approx(plain.auto(t))
    # attached to the trainer, its next step (the 4th) gets the schedule's first value
    assert shifted.best(learner.trainer.optimizer.num_update + 1) == pytest.approx(
        plain.best(1))


def test_a_new_trainer_gets_no_warning_and_a_bad_start_is_refused_by_name(setup):
    learner, result, val = setup
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        cmp = learner.compare_schedules(result, total_steps=60, val_data=val, seed=0)
    assert not isinstance(cmp.best, Offset)
    before = capture(learner.net, learner.trainer)
    for bad, error in ((-1, ValueError), (2.5, TypeError), ("3", TypeError)):
        with pytest.raises(error, match="start must be"):
            learner.compare_schedules(result, total_steps=60, val_data=val, start=bad)
    assert_same(before, capture(learner.net, learner.trainer))


def test_two_runs_do_not_raise_on_unreadable_or_diverged_validation():
    # red-team: NaN outputs give inf losses and a flat accuracy in both runs; a tie of garbage
    # must not double the peak
    from gluon_lr.compare import _two_runs
    from gluon_lr.schedules import Cosine
    steps = list(range(5, 105, 5))
    inf = float("inf")
    garbage = [(s, inf, 33.33) for s in steps]
    doc = _two_runs(garbage, list(garbage), "accuracy", 0.1, 0.2, Cosine(0.1, 0.0, 400), 400)
    assert doc["scaled_peak"] is None and not doc["raised"] and "never finite" in doc["reason"]
    # a run at the higher rate whose loss is not finite at its end: the auto peak
    base = [(s, 0.3, 80 + s / 10) for s in steps]
    high = [(s, 0.3 if s < 80 else inf, 81 + s / 10) for s in steps]
    doc = _two_runs(base, high, "accuracy", 0.1, 0.2, Cosine(0.1, 0.0, 400), 400)
    assert doc["scaled_peak"] == 0.1 and not doc["raised"] and "not finite" in doc["reason"]


def test_two_runs_over_training_never_raises_the_peak():
    # red-team: with a budget near 1 x T, R x t* / area could exceed the auto peak
    from gluon_lr.compare import _two_runs
    from gluon_lr.schedules import Cosine
    steps = list(range(2, 80, 2))  # 39 scores of a 78-step run, for T = 78 (budget 1.0 x 2)
    base = [(s, 0.3, 80 + s / 10) for s in steps]
    high = [(s, 0.3, 95 - abs(s - 50) / 2) for s in steps]  # best at 50, 14 points worse
    doc = _two_runs(base, high, "accuracy", 0.1, 0.2, Cosine(0.1, 0.0, 78), 78)
    assert doc["over_training"] and not doc["raised"]
    assert doc["scaled_peak"] == 0.1 and "at most the auto peak" in doc["reason"]


def test_comparison_json_is_strict():
    import math
    from gluon_lr.schedules import Constant
    probe = {"peak": 0.1, "drop": float("inf"), "curve": [
        {"steps": 1, "val_loss": float("inf"), "val_accuracy": None},
        {"steps": 2, "val_loss": float("nan"), "val_accuracy": None}]}
    cmp = ScheduleComparison({}, "cosine@0.1", Constant(0.1), 10, 5, 0.1, "loss",
                             auto=Constant(0.1), probe=probe)
    doc = json.loads(json.dumps(cmp.to_dict(), allow_nan=False))
    assert doc["probe"]["drop"] is None
    assert [c["val_loss"] for c in doc["probe"]["curve"]] == [None, None]
    assert math.isinf(cmp.probe["drop"])  # the object itself keeps its numbers
    json.loads(cmp.to_json())


# ---- check_rate: the constant-rate counterpart of the probe ------------------------------
def _regression(negate_val):
    rs = np.random.RandomState(0)
    X = rs.rand(96, 3).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None] + 1.0
    learner = Learner(gluon.nn.Dense(1), (X[:64], y[:64]), loss=gluon.loss.L2Loss(),
                      batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10, num_iter=40, progress=False)
    return learner, result, (X[64:], -y[64:] if negate_val else y[64:])


def test_check_rate_lowers_a_rate_that_over_trains():
    # validation labels are the negated targets: the more the net learns, the worse it scores
    learner, result, val = _regression(negate_val=True)
    before = capture(learner.net, learner.trainer)
    check = learner.check_rate(result, total_steps=200, val_data=val, seed=0)
    assert_same(before, capture(learner.net, learner.trainer))
    probe = check.probe
    assert check.suggested == result.lr and probe["peak"] == result.lr
    assert check.steps == probe["steps"] == 100 and check.select == "loss"
    assert probe["over_training"] and not check.kept and check.lr < result.lr
    # the whole training's forward area matches the probe's up to its best step
    assert check.lr * 200 == pytest.approx(result.lr * probe["best_step"], rel=1e-9)
    assert check.reason.startswith("over-training:") and "{:.3g}".format(check.lr) in check.reason
    doc = json.loads(json.dumps(check.to_dict(), allow_nan=False))
    assert doc["lr"] == pytest.approx(check.lr) and doc["kept"] is False
    ax = check.plot()
    assert "best window" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_check_rate_keeps_a_rate_while_validation_improves():
    learner, result, val = _regression(negate_val=False)
    check = learner.check_rate(result, total_steps=200, val_data=val, seed=0, lr=0.01)
    assert check.kept and check.lr == check.suggested == 0.01
    assert not check.probe["over_training"] and check.reason.startswith("no over-training")
    assert [c["steps"] for c in check.probe["curve"]] == list(range(2, 101, 2))
    assert "RateCheck(lr=0.01" in repr(check)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"val_data": None}, ValueError, "val_data is required"),
    ({"budget": 1.5}, ValueError, "budget must be in"),
    ({"budget": 0.01}, ValueError, "leaves 2 steps"),
    ({"lr": -1.0}, ValueError, "lr"),
    ({"lr": "0.1"}, TypeError, "lr"),
    ({"select": "accuracy"}, ValueError, "needs a SoftmaxCrossEntropyLoss"),
    ({"select": "best"}, ValueError, "select must be"),
    ({"total_steps": 0}, ValueError, "total_steps"),
])
def test_check_rate_refuses_bad_input_before_training(kwargs, exc, match):
    learner, result, val = _regression(negate_val=False)
    before = capture(learner.net, learner.trainer)
    kwargs = dict({"val_data": val, "total_steps": 200}, **kwargs)
    with pytest.raises(exc, match=match):
        learner.check_rate(result, **kwargs)
    assert_same(before, capture(learner.net, learner.trainer))


def test_check_rate_needs_a_rate_and_a_learner():
    from gluon_lr import check_rate
    learner, result, val = _regression(negate_val=False)
    from types import SimpleNamespace
    no_answer = SimpleNamespace(lr=None, diagnosis_code="flat")
    with pytest.raises(ValueError, match=r"no suggestion \(flat\): pass lr="):
        learner.check_rate(no_answer, total_steps=200, val_data=val)
    with pytest.raises(TypeError, match="gluon_lr.Learner"):
        check_rate(object(), result, total_steps=200, val_data=val, lr=0.1)


def test_check_rate_restores_the_net_on_ctrl_c(monkeypatch):
    learner, result, val = _regression(negate_val=False)
    before = capture(learner.net, learner.trainer)
    calls = {"n": 0}
    original = learner.step.train

    def interrupted(batch):
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return original(batch)

    monkeypatch.setattr(learner.step, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        learner.check_rate(result, total_steps=200, val_data=val, lr=0.05)
    monkeypatch.undo()
    assert_same(before, capture(learner.net, learner.trainer))


@pytest.mark.parametrize("lr", [100.0, 1e6, 1e12])
def test_check_rate_never_keeps_a_rate_that_diverges(lr):
    # red-team: a loss that blew up within the first window read as "never finite: kept"
    learner, result, val = _regression(negate_val=False)
    before = capture(learner.net, learner.trainer)
    check = learner.check_rate(result, total_steps=100, val_data=val, lr=lr)
    assert_same(before, capture(learner.net, learner.trainer))
    probe = check.probe
    assert probe["diverged_at"] is not None and probe["over_training"]
    assert not check.kept and check.lr < lr
    assert check.lr * 100 == pytest.approx(lr * probe["best_step"], rel=1e-9)
    assert check.reason.startswith("diverged:")
    json.dumps(check.to_dict(), allow_nan=False)


def test_check_rate_reads_nan_outputs_as_divergence_when_ranked_by_accuracy():
    X, y = make_data(n=96)
    learner = Learner(make_net(), (X[:64], y[:64]), optimizer="sgd", batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=30, progress=False)
    check = learner.check_rate(result, total_steps=60, val_data=(X[64:], y[64:]), lr=1e12)
    assert check.select == "accuracy" and check.probe["diverged_at"] is not None
    assert not check.kept and check.lr < 1e12


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"seed": "x"}, TypeError, "seed must be an integer"),
    ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ({"val_batches": -1}, ValueError, "val_batches"),
    ({"val_batches": 1.5}, TypeError, "val_batches must be an int"),
])
def test_seed_and_val_batches_are_checked_first(kwargs, exc, match):
    learner, result, val = _regression(negate_val=False)
    before = capture(learner.net, learner.trainer)
    with pytest.raises(exc, match=match):
        learner.check_rate(result, total_steps=100, val_data=val, lr=0.05, **kwargs)
    with pytest.raises(exc, match=match):
        learner.compare_schedules(result, total_steps=100, val_data=val, **kwargs)
    assert_same(before, capture(learner.net, learner.trainer))


def test_val_data_the_net_cannot_score_is_refused_before_training():
    learner, result, val = _regression(negate_val=False)
    before = capture(learner.net, learner.trainer)
    wrong = (np.zeros((16, 5), dtype="float32"), np.zeros((16, 1), dtype="float32"))
    with pytest.raises(ValueError, match="val_data could not be scored by the net"):
        learner.check_rate(result, total_steps=100, val_data=wrong, lr=0.05)
    with pytest.raises(ValueError, match="val_data could not be scored by the net"):
        learner.compare_schedules(result, total_steps=100, val_data=wrong)
    assert_same(before, capture(learner.net, learner.trainer))


@pytest.mark.parametrize("shape,share", [("cosine", "100%"), ("wsd", "59%")])
def test_the_loss_probe_says_how_much_of_the_schedule_it_covered(shape, share):
    from gluon_lr.compare import _overtraining
    from gluon_lr.recommend import build
    T = 200
    curve = [(s, 1.0 / s, None) for s in range(5, 101, 5)]  # 0.5 x T steps, still improving
    doc = _overtraining(curve, "loss", 0.1, build(shape, 0.1, T), T)
    assert not doc["over_training"]
    assert "which covers {} of the forward area of the whole schedule".format(share) \
        in doc["reason"]


def test_at_the_edge_the_probe_only_lowers_the_peak():
    from gluon_lr.recommend import at_edge
    X, y = make_data(n=176)
    learner = Learner(make_net(), (X[:128], y[:128]), optimizer="adam", batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, progress=False)
    assert at_edge(result)
    before = capture(learner.net, learner.trainer)
    cmp = learner.compare_schedules(result, total_steps=160, val_data=(X[128:], y[128:]),
                                    seed=0)
    assert_same(before, capture(learner.net, learner.trainer))
    probe, P = cmp.probe, cmp.auto.max_value()
    assert cmp.auto.name == "linear" and P == pytest.approx(2 ** 0.5 * result.edge_lr)
    # one constant run at P for all 80 extra steps, as round 4's probe: no run at 2 x P
    assert probe["base"] is None and probe["peak"] == pytest.approx(P)
    assert probe["steps"] == cmp.steps == 80 and not probe["raised"]
    assert probe["scaled_peak"] <= P * (1 + 1e-9)
    assert cmp.best.max_value() == pytest.approx(probe["scaled_peak"])


@pytest.mark.parametrize("optimizer,to_edge", [("adam", True), ("rmsprop", True),
                                               ("sgd", False)])
def test_an_improving_loss_probe_raises_adaptive_regressions_to_wsd_at_the_edge(
        monkeypatch, optimizer, to_edge):
    import gluon_lr.compare as compare
    from gluon_lr.recommend import build, edge_regression
    monkeypatch.setattr(compare, "PROBE_IMPROVING", -1.0)  # always "still improving"
    monkeypatch.setattr(compare, "PROBE_TOLERANCE", {"accuracy": 1e9, "loss": 1e9})
    rs = np.random.RandomState(0)
    X = rs.rand(160, 3).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]
    learner = Learner(gluon.nn.Dense(1), (X[:128], y[:128]), loss=gluon.loss.L2Loss(),
                      optimizer=optimizer, batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10, num_iter=60, progress=False)
    assert edge_regression(result) is to_edge
    val = (X[128:], y[128:])
    cmp = learner.compare_schedules(result, total_steps=200, val_data=val, seed=0)
    P = cmp.auto.max_value()
    assert cmp.select == "loss" and cmp.probe["raised"] and cmp.auto.name == "cosine"
    if to_edge:
        assert result.edge_lr > P
        assert cmp.best == build("wsd", result.edge_lr, 200, learner.steps_per_epoch)
        assert cmp.best.name == "wsd" and cmp.best_name == "wsd@{:.3g}".format(result.edge_lr)
        assert cmp.reason.endswith("(the edge rule: WSD at edge_lr)")
        monkeypatch.setattr(compare, "RAISE_TO_EDGE", False)  # the probe before FRESH12
        cmp = learner.compare_schedules(result, total_steps=200, val_data=val, seed=0)
    R = max(P, min(2 * P, 2 * result.edge_lr))
    assert cmp.best == build("cosine", R, 200, learner.steps_per_epoch)


def test_a_classifier_whose_loss_has_no_chance_level_is_not_raised_as_a_regression(monkeypatch):
    import gluon_lr.compare as compare
    from gluon_lr.recommend import build, edge_regression
    monkeypatch.setattr(compare, "PROBE_IMPROVING", -math.inf)  # always "still improving"
    monkeypatch.setattr(compare, "PROBE_TOLERANCE", {"accuracy": 1e9, "loss": 1e9})
    X, y = make_data(n=176, classes=2)
    net = make_net(classes=1)
    net.add(gluon.nn.Activation("sigmoid"))
    learner = Learner(net, (X[:128], y[:128].reshape(-1, 1)), optimizer="adam", batch_size=16,
                      loss=gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=True))
    result = learner.find_lr(start_lr=1e-4, end_lr=10, num_iter=60, progress=False)
    assert result.meta["chance_loss"] is None and edge_regression(result)
    cmp = learner.compare_schedules(result, total_steps=200,
                                    val_data=(X[128:], y[128:].reshape(-1, 1)), seed=0)
    assert cmp.select == "loss" and cmp.probe["raised"] and "shape" not in cmp.probe
    P = cmp.auto.max_value()
    R = max(P, min(2 * P, 2 * result.edge_lr))
    assert cmp.best == build("cosine", R, 200, learner.steps_per_epoch)


def test_a_dense_label_softmax_is_ranked_by_loss():
    X, y = make_data(n=176)
    onehot = np.eye(3, dtype="float32")[y.astype(int)]
    loss = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)
    learner = Learner(make_net(), (X[:128], onehot[:128]), loss=loss, optimizer="sgd",
                      batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10, num_iter=40, progress=False)
    before = capture(learner.net, learner.trainer)
    cmp = learner.compare_schedules(result, total_steps=160, val_data=(X[128:], onehot[128:]),
                                    seed=0)
    assert_same(before, capture(learner.net, learner.trainer))
    assert cmp.select == "loss" and cmp.best is not None
    assert all(c["val_accuracy"] is None for c in cmp.probe["curve"])
    with pytest.raises(ValueError, match="class labels .sparse_label=True.*sparse_label=False"):
        learner.compare_schedules(result, total_steps=160, val_data=(X[128:], onehot[128:]),
                                  select="accuracy")
