"""Issue 10: trustworthy answers on curves users really meet, and honest ones on broken curves.

Each of the issue's "What was seen" cases is reproduced here (they failed on the old code).
"""
import math
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

from gluon_lr import Learner
from gluon_lr import suggest as S
from gluon_lr.health import CHECK_EVERY, chance_loss, nonfinite_guard, review
from gluon_lr.result import LRFinderResult
from tests.test_suggest import valley_curve


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return (d.data / 16.0).astype("float32"), d.target.astype("float32")


def _cancer(standardise):
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    X = d.data.astype("float32")
    if standardise:
        X = (X - X.mean(0)) / X.std(0)
    return X, d.target.astype("float32")


def _mlp(seed, hidden=32, classes=2, batchnorm=False):
    mx.random.seed(seed)
    np.random.seed(seed)
    net = gluon.nn.HybridSequential()
    if batchnorm:
        net.add(gluon.nn.Dense(hidden), gluon.nn.BatchNorm(), gluon.nn.Activation("relu"))
    else:
        net.add(gluon.nn.Dense(hidden, activation="relu"))
    net.add(gluon.nn.Dense(classes))
    net.initialize(mx.init.Xavier())
    return net


def _quiet_find(learner, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return learner.find_lr(progress=False, **kwargs)


# ---- case 1: re-running the finder mid-training (BatchNorm, SGD momentum) -------------------
@pytest.mark.slow
def test_midtraining_rerun_with_momentum_and_batchnorm_is_stable():
    X, y = _digits()
    lrs = []
    for order in range(4):
        net = _mlp(0, hidden=128, classes=10, batchnorm=True)
        trainer = gluon.Trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.1, "momentum": 0.9})
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        Xn, yn = nd.array(X), nd.array(y)
        for i in range(7):  # the net's own trainer has taken 7 steps
            idx = nd.arange(i * 32, i * 32 + 32).astype("int64")
            with autograd.record():
                loss = loss_fn(net(nd.take(Xn, idx)), nd.take(yn, idx))
            loss.backward()
            trainer.step(32)
        np.random.seed(order)  # only the batch order differs between runs
        result = _quiet_find(Learner(net, (X, y), trainer=trainer, batch_size=32))
        assert result.lr is not None, result.diagnosis
        lrs.append(result.lr)
    # was 3.7e-4 .. 0.25 (a 1000x swing) and sometimes None
    assert math.log10(max(lrs) / min(lrs)) < 0.6, lrs
    assert all(0.01 <= lr <= 0.5 for lr in lrs), lrs


def test_an_early_dip_does_not_capture_auto_and_is_named():
    u = np.linspace(-7, 1, 100)
    y = np.full(100, 1.0)
    y[u < -5.5] = 1.0 - 0.4 * np.exp(-((u[u < -5.5] + 6.3) / 0.35) ** 2)  # carried momentum
    fall = (u > -2.5) & (u <= -0.7)
    y[fall] = 1.0 - 0.8 * ((u[fall] + 2.5) / 1.8) ** 1.5
    y[u > -0.7] = 0.2 + 8.0 * (u[u > -0.7] + 0.7) ** 2
    lrs = 10 ** u
    y = y + 0.005 * np.random.RandomState(0).randn(100)
    lr = S.auto(lrs, y)
    assert 10 ** -2.5 < lr < 10 ** -0.7
    result = LRFinderResult(lrs, y)
    assert result.diagnosis_code == "two_descents"
    assert result.confidence == "low"
    assert "fell twice" in result.diagnosis and "momentum" in result.diagnosis


# ---- case 2: unscaled inputs and Adam: a dead network -----------------------------------------
def test_dead_network_gets_no_number_and_says_why():
    X, y = _cancer(standardise=False)
    net = _mlp(0)
    np.random.seed(0)
    result = _quiet_find(Learner(net, (X, y), optimizer="adam", batch_size=32))
    assert result.meta["chance_loss"] == pytest.approx(math.log(2))
    assert result.lr is None
    assert result.diagnosis_code == "dead" and result.confidence == "none"
    assert "chance level" in result.diagnosis and "Standardise the inputs" in result.diagnosis
    assert result.suggested_range is None and result.edge_lr is None
    with pytest.raises(ValueError, match="chance level"):
        result.schedule("one_cycle", total_steps=100)


def test_the_same_data_standardised_is_alive():
    X, y = _cancer(standardise=True)
    result = _quiet_find(Learner(_mlp(0), (X, y), optimizer="adam", batch_size=32))
    assert result.lr is not None and result.diagnosis_code != "dead"


def test_chance_loss_of_common_losses():
    logits = nd.zeros((4, 10))
    assert chance_loss(gluon.loss.SoftmaxCrossEntropyLoss(), logits) == pytest.approx(
        math.log(10))
    assert chance_loss(gluon.loss.SigmoidBinaryCrossEntropyLoss(), nd.zeros((4, 1))) == \
        pytest.approx(math.log(2))
    assert chance_loss(gluon.loss.L2Loss(), nd.zeros((4, 1))) is None
    assert chance_loss(gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False), logits) is None


# ---- case 3: one NaN in X hidden by ReLU --------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nan_in_the_data_stops_the_run_and_names_it(seed):
    X, y = _cancer(standardise=True)
    X[17, 3] = np.nan
    net = _mlp(seed)
    net(nd.array(X[:2]))
    before = {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}
    np.random.seed(seed)
    result = _quiet_find(Learner(net, (X, y), batch_size=32))
    assert result.stop_reason == "non_finite"  # was "num_iter": every loss stayed finite
    assert len(result.lrs) < 100
    assert result.lr is None and result.diagnosis_code == "non_finite"
    assert "NaN or inf in the data" in result.diagnosis
    for k, v in net.collect_params().items():  # the net is restored, finite
        np.testing.assert_array_equal(v.data().asnumpy(), before[k])


def test_adamax_nan_on_a_feature_that_is_always_zero_is_named():
    # MXNet 1.9's Adamax: 0 / 0 for a weight whose gradient is 0 (digits' corner pixels)
    X, y = _digits()
    assert (X[:, 0] == 0).all()
    net = _mlp(0, classes=10)
    net(nd.array(X[:2]))
    before = {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}
    trainer = gluon.Trainer(net.collect_params(), "adamax", {"learning_rate": 1e-3})
    result = _quiet_find(Learner(net, (X, y), trainer=trainer, batch_size=64), num_iter=20)
    assert result.lr is None and result.diagnosis_code == "non_finite"
    assert "Adamax divides by the running maximum" in result.diagnosis
    assert "use Adam or Nadam" in result.diagnosis
    for k, v in net.collect_params().items():
        np.testing.assert_array_equal(v.data().asnumpy(), before[k])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        adam = LRFinderResult(result.lrs, result.losses, stop_reason="non_finite",
                              optimizer="adam")
    assert "Adamax" not in adam.diagnosis


def test_nonfinite_guard_passes_finite_losses_and_flags_nan_parameters():
    net = _mlp(0)
    net(nd.ones((2, 3)))
    params = list(net.collect_params().values())
    loss = nd.array([0.25])
    assert nonfinite_guard(loss, params).asscalar() == 0.25
    w = params[0].data()
    w[0, 0] = float("nan")
    assert math.isnan(nonfinite_guard(loss, params).asscalar())
    w[0, 0] = float("inf")
    assert math.isnan(nonfinite_guard(loss, params).asscalar())
    assert CHECK_EVERY >= 1


def test_a_divergence_late_in_the_sweep_keeps_its_number():
    lrs, losses = valley_curve()
    losses = losses[:90].copy()
    losses[-1] = np.nan
    r = review(lrs[:90], losses, stop_reason="non_finite", planned=100)
    assert r.usable and r.code == "ok"


# ---- case 5: peers' tests ---------------------------------------------------------------------
@pytest.mark.parametrize("rule", list(S.RULES))
def test_an_isolated_nan_loss_is_dropped_not_a_cut(rule):
    lrs, losses = valley_curve()
    bad = losses.copy()
    bad[30] = np.nan  # one bad batch, well before the descent
    keep = np.arange(100) != 30
    assert S.suggest(lrs, bad, rule) == S.suggest(lrs[keep], losses[keep], rule)


def test_usable_mask_cuts_at_a_run_of_non_finite_losses():
    nan = float("nan")
    mask = S.usable_mask(range(1, 9), [3, nan, 2, 1, nan, nan, 0.5, 0.4])
    assert mask.tolist() == [True, False, True, True, False, False, False, False]
    assert S.usable_mask([1, 2, 3], [1, 2, nan]).tolist() == [True, True, False]


def test_linear_sweep_takes_the_slope_against_lr():
    lrs = np.linspace(1e-3, 1.0, 200)
    # A fall at 0.25 that is steep against lr, and one at 0.75 that is steeper against log(lr).
    losses = 3.0 - 0.8 / (1 + np.exp(-(lrs - 0.25) / 0.03)) \
        - 1.0 / (1 + np.exp(-(lrs - 0.75) / 0.1))
    assert S.is_linear_sweep(lrs) and not S.is_linear_sweep(np.geomspace(1e-3, 1, 200))
    assert 0.2 < S.steepest(lrs, losses) < 0.35  # Lightning / torch-lr-finder on a linear sweep
    # what the slope against log(lr) gives (the old behaviour): the later fall
    x, y = S._peer_curve(lrs, losses)
    assert x[int(np.argmin(np.gradient(y, np.log(x))))] > 0.6


def test_linear_and_exponential_sweeps_agree_for_auto():
    u = np.linspace(-4, 0.5, 400)
    def f(lr):
        return 2.3 - 1.8 / (1 + (0.05 / lr) ** 2) + 5 * np.maximum(lr - 0.5, 0) ** 2
    exp_lrs = 10 ** u
    lin_lrs = np.linspace(1e-4, 10 ** 0.5, 400)
    assert S.auto(lin_lrs, f(lin_lrs)) == pytest.approx(S.auto(exp_lrs, f(exp_lrs)), rel=0.35)


# ---- confidence -------------------------------------------------------------------------------
def test_confidence_and_codes():
    lrs, losses = valley_curve()
    healthy = LRFinderResult(lrs, losses)
    assert (healthy.confidence, healthy.diagnosis_code, healthy.diagnosis) == ("high", "ok", None)
    lrs2, falling = valley_curve(u_min=1.0, blowup=False)
    open_ended = LRFinderResult(lrs2, falling)
    assert open_ended.confidence == "low" and open_ended.diagnosis_code == "open_ended"
    with pytest.warns(RuntimeWarning):
        flat = LRFinderResult(np.geomspace(1e-7, 1e-4, 60),
                              2.3 + 0.01 * np.random.RandomState(0).randn(60))
    assert (flat.lr, flat.confidence, flat.diagnosis_code) == (None, "none", "flat")


def test_repeated_sweeps_that_disagree_make_the_answer_rough():
    from gluon_lr.finder import median_run
    from gluon_lr.result import UNSTABLE_SPREAD
    lrs, losses = valley_curve()
    steady = LRFinderResult(lrs, losses, repeat_lrs=[0.1, 0.12, 0.15], repeat_spread=0.18)
    assert (steady.confidence, steady.diagnosis_code, steady.diagnosis) == ("high", "ok", None)
    rough = LRFinderResult(lrs, losses, repeat_lrs=[0.01, 0.1, 0.3], repeat_spread=1.48)
    assert rough.lr == steady.lr  # the number stays: the median run's answer
    assert (rough.confidence, rough.diagnosis_code) == ("low", "unstable")
    assert "3 sweeps' answers spread over 1.48 decades (0.01 .. 0.3)" in rough.diagnosis
    again = LRFinderResult.from_dict(rough.to_dict())  # a saved run reads the same
    assert (again.confidence, again.diagnosis_code, again.diagnosis) == (
        "low", "unstable", rough.diagnosis)
    rough._note_spread()
    assert rough.diagnosis.count("decades") == 1  # idempotent
    # a low-confidence code keeps its name and gets the note added
    lrs2, falling = valley_curve(u_min=1.0, blowup=False)
    open_ended = LRFinderResult(lrs2, falling, repeat_lrs=[1.0, 5.0, 9.0], repeat_spread=0.95)
    assert open_ended.diagnosis_code == "open_ended" and open_ended.confidence == "low"
    assert open_ended.diagnosis.count("; the 3 sweeps' answers spread over 0.95") == 1
    # median_run marks the run it reports, from the runs' own answers
    runs = [LRFinderResult(*valley_curve(u_min=u)) for u in (-2.5, -1.2, -0.3)]
    spread = math.log10(max(r.lr for r in runs) / min(r.lr for r in runs))
    assert spread > UNSTABLE_SPREAD
    chosen = median_run(runs)
    assert chosen.meta["repeat_spread"] == pytest.approx(spread)
    assert (chosen.confidence, chosen.diagnosis_code) == ("low", "unstable")
    close = [LRFinderResult(*valley_curve(u_min=u)) for u in (-0.75, -0.7, -0.65)]
    assert median_run(close).confidence == "high"


# ---- the same checks inside Estimator.fit (LRFinderHandler) ------------------------------------
def _fit_with_finder(X, y, optimizer, seed=0):
    from mxnet.gluon.contrib.estimator import Estimator
    from gluon_lr.estimator import LRFinderHandler
    net = _mlp(seed)
    net(nd.array(X[:2]))
    before = {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}
    trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": 0.01})
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=32, shuffle=True)
    finder = LRFinderHandler(progress=False)
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(loader, epochs=1, event_handlers=[finder])
    for k, v in net.collect_params().items():  # restored
        np.testing.assert_array_equal(v.data().asnumpy(), before[k])
    return finder.result


def test_estimator_handler_names_a_dead_network():
    X, y = _cancer(standardise=False)
    result = _fit_with_finder(X, y, "adam")
    assert result.meta["chance_loss"] == pytest.approx(math.log(2))
    assert result.lr is None and result.diagnosis_code == "dead"


def test_estimator_handler_stops_on_nan_weights_behind_a_finite_loss():
    X, y = _cancer(standardise=True)
    X[17, 3] = np.nan
    result = _fit_with_finder(X, y, "sgd")
    assert result.stop_reason == "non_finite" and len(result.lrs) < 100
    assert result.lr is None and result.diagnosis_code == "non_finite"


def test_a_curve_still_falling_above_chance_is_open_ended_not_dead():
    # a sweep that ends too low: flat at first, then falling steadily, not yet below ln(10)
    lrs = np.geomspace(1e-6, 1e-2, 100)
    rs = np.random.RandomState(0)
    losses = np.concatenate([np.full(50, 2.45), np.linspace(2.45, 2.33, 50)])
    losses = losses + 0.002 * rs.randn(100)
    r = LRFinderResult(lrs, losses, chance_loss=math.log(10))
    assert r.diagnosis_code == "open_ended" and r.lr is not None
    # the same curve flat to the end sits at chance: dead, as before
    with pytest.warns(RuntimeWarning):
        dead = LRFinderResult(lrs, np.concatenate([np.linspace(2.6, 2.31, 50), np.full(50, 2.31)])
                              + 0.002 * rs.randn(100), chance_loss=math.log(10))
    assert dead.diagnosis_code == "dead" and dead.lr is None


def _rise_then_fall(n=100):
    lrs = np.geomspace(1e-7, 10.0, n)
    u = np.log10(lrs)
    rs = np.random.RandomState(3)
    rise = 0.6 / (1 + np.exp(-4 * (u + 5.5)))          # up from 0.9 to 1.5 at tiny rates
    fall = 1.0 / (1 + np.exp(-3 * (u + 2.0)))          # the real descent, 1e-3 .. 0.1
    blow = 4 * np.maximum(u + 0.7, 0) ** 2             # diverges past 0.2
    return lrs, 0.9 + rise - fall + blow + 0.003 * rs.randn(n)


def test_a_resumed_trainer_whose_loss_rises_first_gets_a_low_confidence_diagnosis():
    lrs, losses = _rise_then_fall()
    fresh = review(lrs, losses)
    assert (fresh.code, fresh.confidence) == ("ok", "high")
    resumed = review(lrs, losses, resumed=True)
    assert (resumed.code, resumed.confidence, resumed.usable) == ("carried_over", "low", True)
    assert "carried over" in resumed.message and "edge_lr" in resumed.message
    r = LRFinderResult(lrs, losses, resumed=True)
    assert r.diagnosis_code == "carried_over" and r.lr is not None and r.confidence == "low"
    again = LRFinderResult.from_dict(r.to_dict())
    assert again.meta["resumed"] is True and again.diagnosis_code == "carried_over"
    # a resumed trainer whose curve starts at its top (no rise) is not flagged
    lrs2, falling = valley_curve()
    assert review(lrs2, falling, resumed=True).code == "ok"


def test_the_run_records_whether_the_trainer_had_already_stepped():
    from conftest import make_data, make_net, train_steps
    X, y = make_data()
    fresh = Learner(make_net(), (X, y), batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fresh.find_lr(num_iter=20, repeats=1, progress=False, extend=0)
    assert r.meta["resumed"] is False
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05,
                                                          "momentum": 0.9})
    train_steps(net, trainer, X, y, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = Learner(net, (X, y), trainer=trainer, batch_size=16).find_lr(
            num_iter=20, repeats=1, progress=False, extend=0)
    assert r.meta["resumed"] is True
    assert trainer.optimizer.num_update == 3  # restored: the range test's steps are gone


def test_the_nan_check_of_a_float16_loss_does_not_overflow_on_finite_weights():
    import mxnet as mx
    from gluon_lr.health import nonfinite_guard
    bn = gluon.nn.BatchNorm(in_channels=2048)
    bn.initialize()
    bn.running_var.set_data(mx.nd.full((2048,), 40.0))  # finite, but sums past float16's max
    loss = mx.nd.array([1.25], dtype="float16")
    assert nonfinite_guard(loss, bn.collect_params().values()).asscalar() == 1.25
    bn.gamma.set_data(mx.nd.full((2048,), float("nan")))
    assert np.isnan(nonfinite_guard(loss, bn.collect_params().values()).asscalar())
