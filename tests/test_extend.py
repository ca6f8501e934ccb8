"""find_lr(extend=...): a sweep that ends while the loss is still falling goes on past end_lr."""
import math
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import assert_same, capture, make_data, make_net
from gluon_lr import Learner, lr_sweep
from gluon_lr import suggest as S
from gluon_lr.finder import Sweep


def _digits_learner(seed=0):
    from gluon_lr.datasets import digits
    X, y = digits()
    mx.random.seed(seed)
    np.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net(mx.nd.array(X[:2]))  # shapes known, so the state can be compared
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9})
    return net, trainer, Learner(net, (X, y), trainer=trainer, batch_size=32)


def _run(learner, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learner.find_lr(progress=False, repeats=1, **kw)


def test_wants_higher_rates_is_a_pure_function_of_the_curve():
    lrs = np.geomspace(1e-4, 1.0, 60)
    u = np.log10(lrs)
    falling = 2.3 - 0.4 * (u + 4)                        # still falling at the end
    valley = 2.3 - 1.5 / (1 + np.exp(-3 * (u + 2))) + 3 * np.maximum(u + 0.5, 0) ** 2
    flat = 2.3 + 0.01 * np.random.RandomState(0).randn(60)
    assert S.wants_higher_rates(lrs, falling)
    assert S.wants_higher_rates(lrs, flat)
    assert not S.wants_higher_rates(lrs, valley)


def test_a_sweep_that_stops_too_low_goes_on_and_finds_the_answer_of_a_wide_sweep():
    net, trainer, learner = _digits_learner()
    before = capture(net, trainer)
    wide = _run(learner, end_lr=10.0)
    assert "extended_steps" not in wide.meta and len(wide.lrs) <= 100
    short = _run(learner, end_lr=1e-2, num_iter=100, extend=0)
    assert len(short.lrs) == 100 and short.confidence != "high"
    extended = _run(learner, end_lr=1e-2, num_iter=100)  # default extend: 3 decades
    steps = extended.meta["extended_steps"]
    assert steps == math.ceil(3 / math.log10(short.lrs[1] / short.lrs[0]) - 1e-9)
    assert extended.meta["end_lr"] == pytest.approx(1e-2)
    assert extended.meta["extended_to"] == pytest.approx(10.0, rel=0.1)
    # the first 100 rates are the requested sweep; the rest carry on at the same ratio
    np.testing.assert_allclose(extended.lrs[:100], lr_sweep(1e-7, 1e-2, 100))
    ratio = np.diff(np.log(extended.lrs))
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-6)
    assert extended.lrs[-1] > 1e-2
    # it found the turn: a confident answer within 0.3 decades of the wide sweep's
    assert extended.confidence == "high" and extended.diagnosis_code == "ok"
    assert abs(math.log10(extended.lr / wide.lr)) < 0.3
    assert_same(before, capture(net, trainer))  # restored after the extended run


def test_extend_zero_linear_sweeps_and_diverged_runs_never_extend(data):
    net = make_net()
    learner = Learner(net, data, batch_size=16)
    r = _run(learner, start_lr=1e-6, end_lr=1e-4, num_iter=20, extend=0)
    assert len(r.lrs) == 20 and "extended_steps" not in r.meta
    r = _run(learner, start_lr=1e-6, end_lr=1e-4, num_iter=20, step_mode="linear")
    assert len(r.lrs) == 20 and "extended_steps" not in r.meta
    r = _run(learner, start_lr=1e-4, end_lr=1e4, num_iter=40)
    assert r.stop_reason == "diverged" and "extended_steps" not in r.meta


def test_a_flat_curve_is_extended_too(data):
    learner = Learner(make_net(), data, batch_size=16)
    r = _run(learner, start_lr=1e-9, end_lr=1e-7, num_iter=20)   # nothing moves at 1e-7
    assert r.meta["extended_steps"] == 20                          # capped at num_iter
    assert len(r.lrs) == 40 and r.lrs[-1] == pytest.approx(1e-7 * 100 ** (20 / 19), rel=1e-6)


def test_each_repeat_starts_from_the_requested_sweep(data):
    learner = Learner(make_net(), data, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = learner.find_lr(start_lr=1e-9, end_lr=1e-7, num_iter=20, repeats=3, progress=False)
    assert r.meta["extended_steps"] == 20 and len(r.lrs) == 40
    np.testing.assert_allclose(r.lrs[:20], lr_sweep(1e-9, 1e-7, 20))


def test_sweep_reset_drops_an_extension():
    sweep = Sweep(1e-4, 1.0, 5, progress=False)
    assert sweep.extension_steps(2) == 2
    sweep.extend(2)
    assert sweep.num_iter == 7 and sweep.lr(6) == pytest.approx(100.0)
    sweep.reset()
    assert sweep.num_iter == 5 and sweep.lrs.size == 5 and sweep.lr(4) == pytest.approx(1.0)
    assert Sweep(0.1, 0.5, 5, "linear", progress=False).extension_steps(2) == 0


@pytest.mark.parametrize("value,exc,match", [
    ("2", TypeError, "extend must be a number of decades, got '2'"),
    (True, TypeError, "extend must be a number of decades, got True"),
    (None, TypeError, "extend must be a number of decades, got None"),
    (-1, ValueError, "extend must be a finite number of decades >= 0, got -1"),
    (float("inf"), ValueError, "extend must be a finite number of decades >= 0, got inf"),
    (float("nan"), ValueError, "extend must be a finite number of decades >= 0, got nan"),
])
def test_bad_extend_is_refused_before_any_step(data, value, exc, match):
    net = make_net()
    learner = Learner(net, data, batch_size=16)
    before = capture(net, learner.trainer)
    with pytest.raises(exc, match=match):
        learner.find_lr(extend=value, progress=False)
    assert_same(before, capture(net, learner.trainer))
    assert learner.trainer.optimizer.num_update == 0


def test_ctrl_c_during_the_extension_restores_the_net_and_trainer(data):
    net = make_net(batchnorm=True)
    net(mx.nd.array(data[0][:2]))
    learner = Learner(net, data, batch_size=16)
    before = capture(net, learner.trainer)
    seen = []

    def stop(i, loss):
        seen.append(i)
        if i >= 25:  # past the requested 20 steps: inside the extension
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        learner.find_lr(start_lr=1e-9, end_lr=1e-7, num_iter=20, stopping=stop, repeats=1,
                        progress=False)
    assert max(seen) == 25
    assert_same(before, capture(net, learner.trainer))
    assert learner.trainer.optimizer.num_update == 0


def test_extension_stops_below_float32s_largest_rate_and_survives_odd_sweeps():
    sweep = Sweep(1e30, 1e37, 20, progress=False)
    steps = sweep.extension_steps(3)
    assert steps > 0
    sweep.extend(steps)
    assert sweep.lr(sweep.num_iter - 1) <= 3.4e38            # MXNet refuses larger rates
    assert Sweep(1e30, 3.3e38, 20, progress=False).extension_steps(3) == 0
    assert Sweep(1e-9, 1e-7, 20, progress=False).extension_steps(1e308) == 20  # no overflow
    assert Sweep(1e-9, math.nextafter(1e-9, 1), 50, progress=False).extension_steps(3) == 0


def test_no_extension_on_non_finite_losses(data):
    lrs = np.geomspace(1e-4, 1.0, 60)
    falling = 2.3 - 0.4 * (np.log10(lrs) + 4)
    assert S.wants_higher_rates(lrs, falling)
    falling[-5:] = np.nan
    assert not S.wants_higher_rates(lrs, falling)
    # a user stopping rule that does not stop on NaN: the run is not carried on past end_lr
    from conftest import make_net as _make
    calls = {"n": 0}

    class NaNLater(gluon.loss.SoftmaxCrossEntropyLoss):
        def forward(self, out, label):
            if mx.autograd.is_training():
                calls["n"] += 1
            loss = super().forward(out, label)
            return loss * float("nan") if calls["n"] > 27 else loss

    learner = Learner(_make(), data, loss=NaNLater(), batch_size=16)
    r = _run(learner, start_lr=1e-5, end_lr=1e-2, num_iter=30,
             stopping=lambda i, loss: loss > 10.0)
    assert len(r.lrs) == 30 and "extended_steps" not in r.meta


def test_an_enormous_int_extend_is_a_value_error(data):
    learner = Learner(make_net(), data, batch_size=16)
    with pytest.raises(ValueError, match="extend must be a finite number of decades"):
        learner.find_lr(extend=10 ** 400, progress=False)
