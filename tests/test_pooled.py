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
    assert finder.pooled_run(runs, runs[0]) is runs[0] and "pooled" not in runs[0].meta


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
    import gluon_lr.suggest
    # the bar before round 6: at the lower one this curve is not noisy (test_significance.py)
    monkeypatch.setattr(gluon_lr.suggest, "SIGNIFICANT_FROM_SCRATCH", 5.5)
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
    import gluon_lr.suggest
    monkeypatch.setattr(finder, "POOL_NOISY", True)
    monkeypatch.setattr(gluon_lr.suggest, "SIGNIFICANT_FROM_SCRATCH", 5.5)  # as above
    pooled = _noise_regression()
    ax = pooled.plot()
    assert "loss, mean of 3 sweeps" in [t.get_text() for t in ax.get_legend().get_texts()]
    _report(pooled, None)
    assert "runs: 3 (the median run was noisy: answer on the mean of their curves)" in \
        capsys.readouterr().out
    again = LRFinderResult.from_dict(pooled.to_dict())  # saved and loaded: still a mean
    assert again.meta["pooled"] == 3 and again.lr == pytest.approx(pooled.lr)


# ---- found by a red-team pass (round 6) -----------------------------------------------------
def _two_layer(out, seed):
    mx.random.seed(seed)
    np.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(out))
    net.initialize(mx.init.Xavier())
    return net


def _find(net, X, y, loss, **kw):
    learner = Learner(net, (X, y), loss=loss, optimizer="sgd",
                      optimizer_params={"momentum": 0.9}, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learner.find_lr(num_iter=60, progress=False, **kw)


def test_classification_losses_whose_chance_level_is_not_probed_are_never_pooled():
    rs = np.random.RandomState(0)
    X = rs.randn(256, 5).astype("float32")
    labels = rs.randint(0, 4, 256)  # unrelated to the inputs: a flat, noisy curve
    onehot = np.eye(4, dtype="float32")[labels]
    for seed in (0, 1):
        r = _find(_two_layer(4, seed), X, onehot,
                  gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False))
        assert "pooled" not in r.meta, (seed, r.diagnosis_code)
        net = gluon.nn.HybridSequential()
        net.add(_two_layer(1, seed), gluon.nn.Activation("sigmoid"))
        r = _find(net, X, (labels % 2).astype("float32")[:, None],
                  gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=True))
        assert "pooled" not in r.meta, (seed, r.diagnosis_code)


def test_sweeps_that_saw_the_same_batches_are_not_called_a_mean():
    rs = np.random.RandomState(0)
    X, y = rs.randn(480, 5).astype("float32"), rs.randn(480, 1).astype("float32")
    for seed in (0, 1):  # both noisy: pooled before this was fixed
        loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=8,
                                       shuffle=False)
        learner = Learner(_two_layer(1, seed), loader, loss=gluon.loss.L1Loss(),
                          optimizer="sgd", optimizer_params={"momentum": 0.9})
        with pytest.warns(RuntimeWarning, match="same batches"):
            r = learner.find_lr(num_iter=None, start_lr=1e-5, end_lr=10, extend=0,
                                progress=False)
        assert r.diagnosis_code == "noisy" and "pooled" not in r.meta


class _Scripted(gluon.loss.L2Loss):
    """An L2 loss whose value is a scripted curve of the trainer's rate, one per sweep."""

    def __init__(self, grid, curves):
        super().__init__()
        self.grid, self.curves = grid, curves
        self.trainer, self.run, self.last = None, 0, -1

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        i = int(np.argmin(np.abs(np.log(self.grid) - np.log(self.trainer.learning_rate))))
        if i < self.last:
            self.run += 1
        self.last = i
        return F.mean(0 * pred, axis=1) + self.curves[min(self.run, 2)][i]


def test_a_mean_curve_with_no_answer_falls_back_to_the_median_run():
    grid = np.geomspace(1e-5, 10.0, 60)
    rs = np.random.RandomState(20)  # three noisy runs; the one that diverged early, padded
    curves = []                     # with its blow-up, makes the mean "never decreased"
    for _ in range(3):
        n = rs.randint(20, 61)
        y = 1 + 0.1 * rs.randn(n)
        b = rs.randint(3, 8)
        y[-b:] += np.linspace(0.2, rs.uniform(0.5, 5), b)
        curves.append(np.concatenate([y, [100.0] * (60 - n)]))
    X = np.random.RandomState(0).randn(64 * 60, 3).astype("float32")
    net = gluon.nn.Dense(1)
    net.initialize()
    loss = _Scripted(grid, curves)
    learner = Learner(net, (X, np.zeros((len(X), 1), "float32")), loss=loss, optimizer="sgd",
                      batch_size=64, optimizer_params={"learning_rate": 1e-5})
    loss.trainer = learner.trainer
    seen = []
    real = finder.pooled_run

    def spy(results, chosen):
        seen.append(real(results, chosen))
        return seen[-1]

    import unittest.mock
    with unittest.mock.patch.object(finder, "pooled_run", spy), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = learner.find_lr(start_lr=1e-5, end_lr=10.0, num_iter=60, progress=False, extend=0)
    assert seen and seen[0].lr is None  # the mean curve gave no answer ...
    assert r.lr is not None and "pooled" not in r.meta  # ... so the median run's stands
    assert r.lr == sorted(v for v in r.meta["repeat_lrs"])[1]
    assert not [w for w in caught if "no learning rate could be suggested" in str(w.message)]


def test_past_a_run_that_ended_at_num_iter_the_mean_is_over_the_runs_that_went_on():
    lrs = np.geomspace(1e-4, 1.0, 52)
    rs = np.random.RandomState(1)
    ys = [1.0 + 0.05 * rs.randn(52) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = LRFinderResult(lrs, ys[0], stop_reason="diverged", num_iter=50, extended_steps=2,
                           extended_to=float(lrs[-1]), chance_loss=None)
        b, c = (LRFinderResult(lrs[:50], y[:50], stop_reason="num_iter", num_iter=50,
                               chance_loss=None) for y in ys[1:])
    pooled = finder.pooled_run([b, a, c], b)
    np.testing.assert_allclose(pooled.losses[:50], (ys[0][:50] + ys[1][:50] + ys[2][:50]) / 3,
                               rtol=1e-6)
    np.testing.assert_allclose(pooled.losses[50:], ys[0][50:], rtol=1e-6)
    assert pooled.meta["extended_steps"] == 2 and pooled.meta["num_iter"] == 50
    assert len(pooled.lrs) == 52 and pooled.meta["extended_to"] == pytest.approx(lrs[-1])


def test_pooled_run_refuses_bad_input_and_leaves_unpoolable_runs_alone():
    lrs, curves = _curves()
    runs = [_run(c, lrs) for c in curves]
    with pytest.raises(ValueError, match="at least one"):
        finder.pooled_run([], runs[0])
    with pytest.raises(ValueError, match="chosen must be one of results"):
        finder.pooled_run(runs[:2], runs[2])
    broken = _run(np.full(60, np.nan), lrs)
    assert finder.pooled_run([runs[0], broken], runs[0]) is runs[0]
    assert "pooled" not in runs[0].meta

