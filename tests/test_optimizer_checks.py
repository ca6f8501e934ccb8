"""Optimizers MXNet 1.9 cannot step, or whose rate means something else: refused or named at
the door (a red-team pass over every registered optimizer, round 8)."""
import math
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, nd

from gluon_lr import Learner
from gluon_lr.result import LRFinderResult


def _data(n=256, classes=4, features=8, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, features).astype("float32")
    y = (X[:, :classes].argmax(1)).astype("float32")
    return X, y


def _net(seed=0, bias=True, classes=4):
    mx.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu", use_bias=bias),
            gluon.nn.Dense(classes, use_bias=bias))
    net.initialize(mx.init.Xavier())
    net(nd.zeros((2, 8)))
    return net


def _weights(net):
    return {k: v.data().asnumpy().copy() for k, v in net.collect_params().items()}


def _same(net, before):
    for k, v in net.collect_params().items():
        np.testing.assert_array_equal(v.data().asnumpy(), before[k])


def _find(learner, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return learner.find_lr(progress=False, num_iter=20, repeats=1, **kwargs)


def test_groupadagrad_with_1d_parameters_or_weight_decay_is_refused_by_name():
    X, y = _data()
    with pytest.raises(ValueError, match=r"GroupAdaGrad updates only 2-D weights, but this "
                                         r"trainer also updates \w+bias0? ?\(shape \(16,\)\) "
                                         r"and 1 more"):
        Learner(_net(), (X, y), optimizer="groupadagrad", batch_size=32)
    net = _net(bias=False)
    trainer = gluon.Trainer(net.collect_params(), "groupadagrad", {"wd": 1e-4})
    with pytest.raises(ValueError, match="GroupAdaGrad takes no weight decay, got wd=0.0001"):
        Learner(net, (X, y), trainer=trainer, batch_size=32)
    net = _net(bias=False)  # only 2-D weights: it trains
    result = _find(Learner(net, (X, y), optimizer="groupadagrad", batch_size=32))
    assert len(result.lrs) >= 10


def test_dcasgd_with_momentum_is_refused_and_without_it_runs():
    X, y = _data()
    with pytest.raises(ValueError, match=r"DCASGD fails at its first step with momentum > 0.*"
                                         r"got momentum=0.9"):
        Learner(_net(), (X, y), optimizer="dcasgd", optimizer_params={"momentum": 0.9},
                batch_size=32)
    result = _find(Learner(_net(), (X, y), optimizer="dcasgd", batch_size=32))
    assert len(result.lrs) >= 10


def test_adadelta_ignores_the_rate_so_the_range_test_says_so_and_touches_nothing():
    X, y = _data()
    net = _net()
    before = _weights(net)
    learner = Learner(net, (X, y), optimizer="adadelta", batch_size=32)
    with pytest.raises(ValueError, match="AdaDelta does not use the learning rate"):
        learner.find_lr(progress=False)
    _same(net, before)
    assert learner.trainer.optimizer.num_update == 0


def test_parameters_already_non_finite_are_named_before_the_sweep():
    X, y = _data()
    net = _net()
    w = net[0].weight.data()
    w[0, 0] = float("nan")
    net[1].bias.data()[:] = float("inf")
    before = _weights(net)
    learner = Learner(net, (X, y), batch_size=32)
    with pytest.raises(ValueError, match=r"parameters hold NaN or inf before the range test: "
                                         r"\w*dense\d+_weight, \w*dense\d+_bias; "):
        learner.find_lr(progress=False)
    _same(net, before)  # NaN == NaN compared as equal by assert_array_equal


def test_start_lr_none_with_a_warm_up_at_zero_says_what_happened():
    from gluon_lr.schedules import Cosine, WarmUp
    X, y = _data()
    net = _net()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"lr_scheduler": WarmUp(Cosine(0.1, 0.0, 100), 10)})
    learner = Learner(net, (X, y), trainer=trainer, batch_size=32)
    with pytest.raises(ValueError, match=r"start_lr=None takes the trainer's current learning "
                                         r"rate, which is 0.0 \(its lr_scheduler's value at "
                                         r"step 0, a warm-up\?\): give start_lr"):
        learner.find_lr(start_lr=None, progress=False)


def test_a_range_test_of_an_lr_free_optimizer_warns_as_the_cli_refuses():
    import gluon_lr.optimizers  # noqa: F401  (registers prodigy)
    X, y = _data()
    learner = Learner(_net(), (X, y), optimizer="prodigy", batch_size=32)
    with pytest.warns(RuntimeWarning, match="Prodigy is learning-rate-free"):
        learner.find_lr(progress=False, num_iter=20, repeats=1)


def _at_chance(n=60):
    lrs = np.geomspace(1e-5, 1.0, n)
    losses = math.log(10) + 0.01 * np.random.RandomState(0).randn(n)
    losses[-8:] += np.linspace(0.5, 8, 8)
    return lrs, losses


@pytest.mark.parametrize("optimizer,replaced,text", [
    ("ftrl", True, "MXNet's FTRL sets every weight from its accumulated gradients"),
    ("sgld", False, "SGLD adds Gaussian noise of standard deviation sqrt(lr)"),
    ("sgd", False, None)])
def test_a_dead_verdict_names_the_optimizers_that_cause_one(optimizer, replaced, text):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = LRFinderResult(*_at_chance(), chance_loss=math.log(10), optimizer=optimizer)
    assert r.diagnosis_code == "dead" and r.lr is None
    if text is None:
        assert "FTRL" not in r.diagnosis and "SGLD" not in r.diagnosis
    else:
        assert text in r.diagnosis
        assert ("Standardise" in r.diagnosis) is not replaced


def test_nadam_momentum_schedule_state_is_not_recorded_as_a_setting():
    X, y = _data()
    result = _find(Learner(_net(), (X, y), optimizer="nadam", batch_size=32))
    assert "m_schedule" not in result.meta["optimizer_params"]
    assert "beta1" in result.meta["optimizer_params"]


@pytest.mark.parametrize("optimizer,params,match", [
    ("adadelta", {}, "AdaDelta does not use the learning rate"),
    ("dcasgd", {"momentum": 0.9}, "DCASGD fails at its first step with momentum > 0"),
    ("sgd", {"nan": True}, "parameters hold NaN or inf before the range test")])
def test_the_estimator_handler_makes_the_same_checks(optimizer, params, match):
    from mxnet.gluon.contrib.estimator import Estimator
    from gluon_lr.estimator import LRFinderHandler
    X, y = _data()
    net = _net()
    if params.pop("nan", False):
        net[0].weight.data()[0, 0] = float("nan")
    before = _weights(net)
    trainer = gluon.Trainer(net.collect_params(), optimizer, dict(params, learning_rate=0.01))
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            est.fit(loader, epochs=1, event_handlers=[LRFinderHandler(progress=False)])
    _same(net, before)


def test_a_repeat_that_gave_no_answer_does_not_hide_the_others_disagreeing():
    from gluon_lr.finder import median_run
    from tests.test_suggest import valley_curve
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        runs = [LRFinderResult(*valley_curve(u_min=-2.5)), LRFinderResult(*valley_curve(u_min=-0.3)),
                LRFinderResult(np.geomspace(1e-4, 1, 40), np.full(40, 2.3))]
    assert runs[2].lr is None
    chosen = median_run(runs)
    assert chosen.meta["repeat_spread"] is None  # documented: not every run answered
    assert (chosen.confidence, chosen.diagnosis_code) == ("low", "unstable")
    assert "the 3 sweeps' answers spread over" in chosen.diagnosis
    assert "; 1 gave none" in chosen.diagnosis


def test_ftrl_that_never_descends_is_named_too():
    lrs = np.geomspace(1e-5, 1.0, 40)
    losses = 2.3 + np.linspace(0, 3, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = LRFinderResult(lrs, losses, optimizer="ftrl")
    assert r.diagnosis_code == "no_descent" and r.diagnosis.startswith(
        "the loss never decreased, but MXNet's FTRL")


def test_check_rate_reads_nan_weights_behind_finite_outputs_as_divergence():
    # Adamax on digits: NaN weights after one step; a ReLU turns them into finite outputs
    from sklearn.datasets import load_digits
    d = load_digits()
    X, y = (d.data / 16.0).astype("float32"), d.target.astype("float32")
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net(nd.array(X[:2]))
    before = _weights(net)
    learner = Learner(net, (X[:1400], y[:1400]), optimizer="adamax", batch_size=64)
    result = LRFinderResult(np.geomspace(1e-4, 1, 40), np.linspace(2.3, 1.0, 40))
    check = learner.check_rate(result, total_steps=40, lr=0.002, val_data=(X[1400:], y[1400:]),
                               seed=0)
    assert not check.kept and "diverged" in check.reason
    assert check.probe["diverged_at"] == 1
    _same(net, before)
