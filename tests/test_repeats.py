"""find_lr(repeats=k): the median of k sweeps; and the plain-SGD calibration of "auto"."""
import math
import warnings

import numpy as np
import pytest
from mxnet import gluon, nd

from conftest import capture, make_data, make_net
from gluon_lr import Learner
from gluon_lr import suggest as S
from gluon_lr.finder import median_run
from gluon_lr.result import LRFinderResult
from test_suggest import valley_curve


def _learner(data, optimizer="sgd", params=None):
    X, y = make_data(n=320)  # enough for every sweep to see a clean descent
    net = make_net()
    net(nd.array(X[:2]))  # materialised: the snapshot compares real arrays
    trainer = gluon.Trainer(net.collect_params(), optimizer,
                            dict({"learning_rate": 0.1}, **(params or {"momentum": 0.9})))
    return net, trainer, Learner(net, (X, y), trainer=trainer, batch_size=32)


def _result(u_min, **kw):
    lrs, losses = valley_curve(u_min=u_min)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LRFinderResult(lrs, losses, num_iter=len(lrs), **kw)


def _broken(**kw):
    lrs, losses = valley_curve()
    losses = losses[:40].copy()
    losses[-1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LRFinderResult(lrs[:40], losses, stop_reason="non_finite", num_iter=100, **kw)


def test_repeats_returns_the_median_run_and_restores(data):
    net, trainer, learner = _learner(data)
    before = capture(net, trainer)
    result = learner.find_lr(num_iter=40, repeats=3, progress=False)
    lrs = result.meta["repeat_lrs"]
    assert len(lrs) == 3 and all(v is not None for v in lrs)
    assert result.lr == sorted(lrs)[1]
    assert result.meta["repeat_spread"] == pytest.approx(math.log10(max(lrs) / min(lrs)))
    assert len(result.lrs) <= 40
    after = capture(net, trainer)
    for k, arrays in before["params"].items():
        for a, b in zip(arrays, after["params"][k]):
            np.testing.assert_array_equal(a, b)
    assert after["num_update"] == before["num_update"] and after["lr"] == before["lr"]


def test_the_sweeps_see_different_batches(data):
    _, _, learner = _learner(data)
    result = learner.find_lr(num_iter=30, repeats=2, progress=False)
    again = learner.find_lr(num_iter=30, repeats=1, progress=False)
    # the first sweep of a repeated run is the single run; the second one differs from it
    assert result.meta["repeat_lrs"][0] == pytest.approx(again.lr)
    assert result.meta["repeat_lrs"][1] != pytest.approx(again.lr)
    assert "repeat_lrs" not in again.meta


def test_three_sweeps_by_default_in_one_process(data):
    from gluon_lr.finder import DEFAULT_REPEATS
    _, _, learner = _learner(data)
    result = learner.find_lr(num_iter=30, progress=False)
    assert DEFAULT_REPEATS == 3 and len(result.meta["repeat_lrs"]) == 3


def test_repeats_one_is_the_plain_run(data):
    _, _, learner = _learner(data)
    a = learner.find_lr(num_iter=30, progress=False)
    b = learner.find_lr(num_iter=30, repeats=1, progress=False)
    # the default's first sweep is the single run (which of the three is the median run
    # depends on the rule; the other two sweeps differ)
    assert a.meta["repeat_lrs"][0] == pytest.approx(b.lr)
    if a.lr == pytest.approx(b.lr):
        np.testing.assert_array_equal(a.losses, b.losses)


@pytest.mark.parametrize("bad,exc,match", [(0, ValueError, "repeats must be >= 1, got 0"),
                                           ("3", TypeError, "repeats must be an int"),
                                           (2.0, TypeError, "repeats must be an int")])
def test_bad_repeats_are_refused_before_training(data, bad, exc, match):
    net, trainer, learner = _learner(data)
    before = capture(net, trainer)
    with pytest.raises(exc, match=match):
        learner.find_lr(num_iter=20, repeats=bad, progress=False)
    assert capture(net, trainer)["num_update"] == before["num_update"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_error_in_a_later_sweep_restores_everything(data):
    net, trainer, learner = _learner(data)
    before = capture(net, trainer)
    calls = {"n": 0}

    def stopping(i, loss):
        calls["n"] += 1
        if calls["n"] == 25:  # inside the second sweep
            raise RuntimeError("boom")
        return False

    with pytest.raises(RuntimeError, match="boom"):
        learner.find_lr(num_iter=20, repeats=3, stopping=stopping, progress=False)
    after = capture(net, trainer)
    for k, arrays in before["params"].items():
        for a, b in zip(arrays, after["params"][k]):
            np.testing.assert_array_equal(a, b)
    assert after["num_update"] == before["num_update"]


def test_median_run_rules():
    low, mid, high = _result(-1.2), _result(-0.9), _result(-0.6)
    assert low.lr < mid.lr < high.lr
    assert median_run([high, low, mid]) is mid
    assert median_run([high, low]) is low  # even count: the lower of the middle two
    broken = _broken()
    assert broken.lr is None and broken.diagnosis_code == "non_finite"
    chosen = median_run([low, broken, high])
    assert chosen is broken  # NaN in some batches is never outvoted
    assert chosen.meta["repeat_lrs"] == [low.lr, None, high.lr]
    assert chosen.meta["repeat_spread"] is None
    with pytest.raises(ValueError, match="at least one"):
        median_run([])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_median_run_needs_a_majority_of_answers():
    flat = LRFinderResult(np.logspace(-7, 1, 60), np.full(60, 2.3), num_iter=60)
    assert flat.lr is None
    a = _result(-0.9)
    assert median_run([flat, a, LRFinderResult(flat.lrs, flat.losses, num_iter=60)]) is flat
    b, c = _result(-0.9), _result(-0.6)
    assert median_run([flat, b, c]) is b


# ---- plain SGD -------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer,params,factor", [
    ("sgd", {"momentum": 0.0}, S.PLAIN_SGD_FACTOR), ("sgd", {}, 1.0),  # unknown: no change
    ("nag", {"momentum": 0.0}, S.PLAIN_SGD_FACTOR), ("sgd", {"momentum": 0.9}, 1.0),
    ("adam", {}, 1.0), ("rmsprop", {}, 1.0), (None, None, 1.0)])
def test_optimizer_factor(optimizer, params, factor):
    assert S.optimizer_factor(optimizer, params) == factor


def test_plain_sgd_moves_auto_up_but_never_past_the_edge():
    lrs, losses = valley_curve()
    curve = S.suggest(lrs, losses, "auto")
    momentum = LRFinderResult(lrs, losses, optimizer="sgd",
                              optimizer_params={"momentum": 0.9})
    plain = LRFinderResult(lrs, losses, optimizer="sgd", optimizer_params={"momentum": 0.0})
    assert momentum.lr == curve
    expected = min(S.PLAIN_SGD_FACTOR * curve, S.edge(lrs, losses))
    assert plain.lr == pytest.approx(expected) and plain.lr > curve
    assert plain.suggestion("auto") == plain.lr and plain.suggestion("valley") == \
        momentum.suggestion("valley")
    # the saved result gives the same answer back
    assert LRFinderResult.from_dict(plain.to_dict()).lr == pytest.approx(plain.lr)
    # at the edge already: capped there
    assert S.for_optimizer(S.edge(lrs, losses), lrs, losses, "sgd") == pytest.approx(
        S.edge(lrs, losses))


def test_a_plain_sgd_run_records_what_moves_its_answer(data):
    _, _, learner = _learner(data, params={"momentum": 0.0})
    result = learner.find_lr(num_iter=40, progress=False)
    assert result.meta["optimizer"] == "sgd"
    if result.lr is not None:
        curve = S.suggest(result.lrs, result.losses, "auto")
        assert result.lr == pytest.approx(
            min(S.PLAIN_SGD_FACTOR * curve, S.edge(result.lrs, result.losses)))


def test_one_warning_for_a_repeated_run_without_an_answer():
    X, y = make_data(n=320)
    net = make_net()
    net(nd.array(X[:2]))
    learner = Learner(net, (X, y), batch_size=32)
    with pytest.warns(RuntimeWarning, match=r"\(3 of 3 runs gave none\)$") as caught:
        result = learner.find_lr(start_lr=1e-7, end_lr=1e-6, num_iter=20, repeats=3,
                                 progress=False)
    assert result.lr is None
    assert len([w for w in caught if "no learning rate" in str(w.message)]) == 1


def test_a_numpy_momentum_is_recorded_and_not_taken_for_plain_sgd(data):
    _, _, learner = _learner(data, params={"momentum": np.float32(0.9)})
    result = learner.find_lr(num_iter=40, repeats=1, progress=False)
    assert result.meta["optimizer_params"]["momentum"] == pytest.approx(0.9)
    if result.lr is not None:
        assert result.lr == S.suggest(result.lrs, result.losses, "auto")


def test_the_range_reaches_up_to_a_plain_sgd_suggestion():
    for u_min in (-1.5, -1.0, -0.7, -0.3):
        lrs, losses = valley_curve(u_min=u_min)
        plain = LRFinderResult(lrs, losses, optimizer="sgd", optimizer_params={"momentum": 0})
        low, high = plain.suggested_range
        assert low <= plain.lr <= high


def test_sweeps_over_the_same_unshuffled_batches_are_named():
    X, y = make_data(n=320)
    net = make_net()
    net(nd.array(X[:2]))
    # 10 batches per pass, sweeps of 40 steps: every sweep sees the same batches in order
    learner = Learner(net, gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=32,
                                                 shuffle=False))
    with pytest.warns(RuntimeWarning, match="saw the same batches in the same order") as w:
        result = learner.find_lr(start_lr=1e-3, end_lr=30.0, num_iter=40, repeats=3,
                                 progress=False, stopping=lambda i, loss: False)
    assert result.meta["repeat_spread"] is None
    assert result.lr is not None and result.meta["repeat_lrs"] == [result.lr] * 3
    assert sum("same batches" in str(x.message) for x in w) == 1


def test_the_returned_runs_own_warnings_are_shown_once():
    X, y = make_data(n=320)
    X[:, 0] = np.inf  # every first loss is inf
    net = make_net()
    learner = Learner(net, (X, y), batch_size=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = learner.find_lr(num_iter=20, repeats=3, progress=False)
    messages = [str(w.message) for w in caught]
    assert result.lr is None
    assert sum(m.startswith("the loss was not finite on the first step") for m in messages) == 1
    assert sum(m.startswith("no learning rate could be suggested") for m in messages) == 1
