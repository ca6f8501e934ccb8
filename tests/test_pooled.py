"""finder.pooled_run: one curve, the mean of several sweeps' curves, for noisy regressions
(find_lr, gluon_lr.finder.POOL_NOISY)."""
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import gluon_lr.finder as finder
from conftest import make_data, make_net
from gluon_lr import Learner
from gluon_lr.result import LRFinderResult
from gluon_lr.suggest import auto


def _run(losses, lrs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LRFinderResult(lrs[:len(losses)], losses, stop_reason="diverged",
                              optimizer="adam", chance_loss=None)


def _curves():
    lrs = np.geomspace(1e-4, 1.0, 60)
    rs = np.random.RandomState(0)
    base = 1.0 - 0.5 / (1 + np.exp(-(np.log10(lrs) + 2.5) * 3))  # falls around 3e-3
    curves = [base + 0.05 * rs.randn(60) for _ in range(3)]
    curves[1] = curves[1][:50].copy()
    curves[1][-1] = 9.0  # this run diverged at its 50th point
    return lrs, curves


def test_the_mean_curve_pads_a_run_that_stopped_with_its_last_loss():
    lrs, curves = _curves()
    runs = [_run(c, lrs) for c in curves]
    pooled = finder.pooled_run(runs, runs[0])
    assert pooled.meta["pooled"] == 3 and pooled.meta["optimizer"] == "adam"
    np.testing.assert_allclose(pooled.lrs, lrs)
    padded = np.concatenate([curves[1], np.full(10, 9.0)])
    np.testing.assert_allclose(pooled.losses, (curves[0] + padded + curves[2]) / 3, rtol=1e-6)
    assert pooled.lr == pytest.approx(auto(lrs, pooled.losses))
    assert runs[0].meta.get("pooled") is None  # the runs themselves are left alone


def test_runs_over_different_rates_are_not_pooled():
    lrs, curves = _curves()
    runs = [_run(curves[0], lrs), _run(curves[2], lrs * 2)]
    assert finder.pooled_run(runs, runs[0]) is runs[0] and runs[0].meta["pooled"] == 0


def _noise_regression(seed=0):
    rs = np.random.RandomState(seed)  # labels unrelated to the inputs: a flat, noisy curve
    X, y = rs.randn(256, 5).astype("float32"), rs.randn(256, 1).astype("float32")
    mx.random.seed(seed)
    np.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(1))
    net.initialize(mx.init.Xavier())
    learner = Learner(net, (X, y), loss=gluon.loss.L2Loss(), optimizer="sgd",
                      optimizer_params={"momentum": 0.9}, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learner.find_lr(num_iter=60, progress=False)


def test_find_lr_pools_a_noisy_regression_by_default(monkeypatch):
    assert finder.POOL_NOISY  # adopted in round 6 (FRESH4)
    monkeypatch.setattr(finder, "POOL_NOISY", False)
    plain = _noise_regression()
    assert plain.diagnosis_code == "noisy" and "pooled" not in plain.meta
    monkeypatch.setattr(finder, "POOL_NOISY", True)
    pooled = _noise_regression()
    assert pooled.meta["pooled"] == 3
    assert pooled.meta["repeat_lrs"] == plain.meta["repeat_lrs"]  # the same three sweeps
    assert len(pooled.losses) >= len(plain.losses)
    # averaging three curves reveals the descent that no single noisy sweep showed
    assert pooled.diagnosis_code == "ok" and pooled.lr < min(plain.meta["repeat_lrs"])


def test_classification_is_never_pooled(monkeypatch):
    monkeypatch.setattr(finder, "POOL_NOISY", True)
    X, y = make_data(n=128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = Learner(make_net(), (X, y), batch_size=16).find_lr(num_iter=40,
                                                                     progress=False)
    assert "pooled" not in result.meta


def test_the_plot_and_the_cli_report_say_the_curve_is_a_mean(monkeypatch, capsys):
    from gluon_lr.cli import _report
    monkeypatch.setattr(finder, "POOL_NOISY", True)
    pooled = _noise_regression()
    ax = pooled.plot()
    assert "loss, mean of 3 sweeps" in [t.get_text() for t in ax.get_legend().get_texts()]
    _report(pooled, None)
    assert "runs: 3 (the median run was noisy: answer on the mean of their curves)" in \
        capsys.readouterr().out
    again = LRFinderResult.from_dict(pooled.to_dict())  # saved and loaded: still a mean
    assert again.meta["pooled"] == 3 and again.lr == pytest.approx(pooled.lr)
