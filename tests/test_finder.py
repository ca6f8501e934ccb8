import math
import os
import random
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import (assert_same, capture, expect_no_suggestion, make_data, make_net, quick,
                      train_steps)
from gluon_lr import (Learner, LRFinder, LRFinderResult, LRFinderStoppingCriteria, NoSuggestion,
                      lr_sweep)

OPTIMIZERS = [
    ("sgd", {"momentum": 0.9}),
    ("nag", {"momentum": 0.9}),
    ("adam", {}),
    ("rmsprop", {}),
]


def test_lr_sweep_exp_and_linear():
    np.testing.assert_allclose(lr_sweep(1e-4, 1.0, 5), [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    np.testing.assert_allclose(lr_sweep(0.1, 0.5, 5, "linear"), [0.1, 0.2, 0.3, 0.4, 0.5])


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"start_lr": 0}, ValueError, "start_lr must be > 0, got 0"),
    ({"start_lr": -1e-3}, ValueError, "start_lr must be > 0"),
    ({"end_lr": 1e-5}, ValueError, "end_lr must be greater than start_lr=0.0001, got 1e-05"),
    ({"num_iter": 1}, ValueError, "num_iter must be >= 2, got 1"),
    ({"num_iter": 10.0}, TypeError, "num_iter must be an int"),
    ({"step_mode": "log"}, ValueError, "step_mode must be one of .*'log'"),
    ({"start_lr": "1e-3"}, TypeError, "start_lr must be a number"),
    ({"start_lr": float("nan")}, ValueError, "start_lr must be finite"),
    ({"smoothing": 1.5}, ValueError, "smoothing must be a number in"),
    ({"suggest": "best"}, ValueError, "unknown suggestion rule 'best'"),
    ({"stopping": 3}, TypeError, "stopping must be callable"),
    ({"progress": "yes"}, TypeError, "progress must be True, False or None"),
])
def test_bad_arguments_fail_before_any_step(data, kwargs, exc, match):
    net = make_net()
    learner = Learner(net, data, batch_size=16)
    before = capture(net, learner.trainer)
    with pytest.raises(exc, match=match):
        quick(learner, **kwargs)
    assert_same(before, capture(net, learner.trainer))
    assert learner.trainer.optimizer.num_update == 0


def test_records_one_point_per_iteration(data):
    learner = Learner(make_net(), data, batch_size=16)
    r = quick(learner, num_iter=12, stopping=lambda i, loss: False)
    assert isinstance(r, LRFinderResult)
    assert len(r.lrs) == len(r.losses) == len(r.smoothed_losses) == 12
    np.testing.assert_allclose(r.lrs, lr_sweep(1e-4, 1.0, 12))
    assert r.stop_reason == "num_iter"
    assert all(np.isfinite(r.losses))


@pytest.mark.parametrize("name,params", OPTIMIZERS)
def test_restores_net_and_trainer_bit_for_bit(data, name, params):
    X, y = data
    net = make_net(batchnorm=True)
    trainer = gluon.Trainer(net.collect_params(), name, dict(params, learning_rate=0.01))
    train_steps(net, trainer, X, y, 3)  # the trainer has states and num_update > 0
    before = capture(net, trainer)
    opt = trainer.optimizer
    learner = Learner(net, data, trainer=trainer, batch_size=16)
    quick(learner, num_iter=20, end_lr=10.0)
    after = capture(net, trainer)
    assert_same(before, after)
    assert trainer.optimizer is opt


@pytest.mark.parametrize("name,params", OPTIMIZERS)
def test_training_continues_exactly_as_without_the_range_test(data, name, params):
    X, y = data

    def run(with_finder):
        mx.random.seed(1)
        net = make_net(batchnorm=True)
        trainer = gluon.Trainer(net.collect_params(), name, dict(params, learning_rate=0.01))
        train_steps(net, trainer, X, y, 2)
        if with_finder:
            quick(Learner(net, data, trainer=trainer, batch_size=16), num_iter=10)
        train_steps(net, trainer, X, y, 4)
        return [(k.split("_", 1)[1], p.data().asnumpy())
                for k, p in net.collect_params().items()]

    a, b = run(False), run(True)
    for (ka, va), (kb, vb) in zip(a, b):
        assert ka == kb
        np.testing.assert_array_equal(va, vb, err_msg=ka)
    assert any("running_mean" in k for k, _ in a)


def test_scheduler_is_detached_during_the_run_and_reattached(data):
    net = make_net()
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.1)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": sched})
    r = quick(Learner(net, data, trainer=trainer, batch_size=16))
    assert len(r.lrs) == 15
    assert trainer.optimizer.lr_scheduler is sched
    assert trainer.learning_rate == sched(0)


class Boom(Exception):
    pass


@pytest.mark.parametrize("exc_type", [Boom, KeyboardInterrupt])
def test_restores_when_the_loss_raises(data, exc_type):
    net = make_net(batchnorm=True)
    calls = {"n": 0}
    inner = gluon.loss.SoftmaxCrossEntropyLoss()

    def loss(out, label):
        calls["n"] += 1
        if calls["n"] == 6:
            raise exc_type()
        return inner(out, label)

    learner = Learner(net, data, loss=loss, optimizer="adam", batch_size=16)
    learner.materialize(mx.nd.array(data[0][:4]), None)
    before = capture(net, learner.trainer)
    with pytest.raises(exc_type):
        quick(learner)
    assert calls["n"] == 6
    assert_same(before, capture(net, learner.trainer))


def test_restores_when_the_data_raises(data):
    X, y = data

    class Flaky(gluon.data.Dataset):
        def __len__(self):
            return len(X)

        def __getitem__(self, i):
            if np.random.rand() < 0.05:
                raise Boom("bad sample")
            return X[i], y[i]

    net = make_net()
    learner = Learner(net, Flaky(), batch_size=16)
    learner.materialize(mx.nd.array(X[:4]), None)
    before = capture(net, learner.trainer)
    with pytest.raises(Boom):
        quick(learner, num_iter=50)
    assert_same(before, capture(net, learner.trainer))


def test_nan_loss_on_first_step_stops_with_a_warning(data):
    net = make_net()
    ce = gluon.loss.SoftmaxCrossEntropyLoss()
    learner = Learner(net, data, loss=lambda out, label: ce(out, label) * float("nan"),
                      batch_size=16)
    learner.materialize(mx.nd.array(data[0][:4]), None)
    before = capture(net, learner.trainer)
    with pytest.warns(RuntimeWarning, match="not finite on the first step"):
        r = quick(learner)
    assert r.stop_reason == "non_finite"
    assert len(r.losses) == 1 and math.isnan(r.losses[0])
    assert r.lr is None
    with pytest.raises(NoSuggestion, match="became NaN/inf at lr=0.0001 \\(step 1\\)"):
        float(r)
    assert "NaN or inf in the data" in r.diagnosis and "lower start_lr" in r.diagnosis
    assert (r.diagnosis_code, r.confidence) == ("non_finite", "none")
    assert_same(before, capture(net, learner.trainer))


def test_divergence_stops_the_run_early(data):
    learner = Learner(make_net(), data, batch_size=16)
    r = quick(learner, start_lr=1e-3, end_lr=1e6, num_iter=100,
              stopping=LRFinderStoppingCriteria(diverge=2.0, smoothing=0.5, min_iter=5))
    assert r.stop_reason in ("diverged", "non_finite")
    assert len(r.lrs) < 100


def test_stopping_counts_from_the_finders_first_step_even_mid_training(data):
    X, y = data
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
    train_steps(net, trainer, X, y, 7)
    seen = []
    quick(Learner(net, data, trainer=trainer, batch_size=16), num_iter=6,
          stopping=lambda i, loss: seen.append(i) or False)
    assert seen == list(range(6))
    assert trainer.optimizer.num_update == 7


def test_loss_is_read_one_step_late(data):
    """The engine is never drained: step i+1 is queued before the loss of step i is read."""
    learner = Learner(make_net(), data, batch_size=16)
    events = []
    real_step = learner.step.train

    def step(batch):
        events.append("step")
        return real_step(batch)

    learner.step.train = step
    quick(learner, num_iter=4, stopping=lambda i, loss: events.append("read{}".format(i)) or False)
    assert events == ["step", "step", "read0", "step", "read1", "step", "read2", "read3"]


def test_reproducible_and_leaves_global_random_state_alone(data):
    X, y = data

    def curve():
        mx.random.seed(3)
        np.random.seed(3)
        random.seed(3)
        net = make_net(dropout=True, init=False)
        learner = Learner(net, data, batch_size=16)
        r = quick(learner)
        return r.losses, np.random.rand(), random.random()

    (l1, n1, p1), (l2, n2, p2) = curve(), curve()
    np.testing.assert_array_equal(l1, l2)
    np.random.seed(3)
    random.seed(3)
    assert (n1, p1) == (np.random.rand(), random.random())


SEEN_LRS = {}


@mx.optimizer.register
class SpySGD(mx.optimizer.SGD):
    """SGD that records the learning rate it applies to each parameter index."""

    def _get_lrs(self, indices):
        lrs = super()._get_lrs(indices)
        for i, lr in zip(indices, lrs):
            SEEN_LRS.setdefault(i, []).append(lr)
        return lrs


def test_lr_mult_keeps_its_ratio(data):
    SEEN_LRS.clear()
    seen = SEEN_LRS
    net = make_net()
    params = list(net.collect_params().values())
    params[0].lr_mult = 0.1
    learner = Learner(net, data, optimizer="spysgd",
                      batch_size=16)
    r = quick(learner, num_iter=5, stopping=lambda i, loss: False)
    index = {p.name: i for i, p in learner.trainer.optimizer.param_dict.items()}
    first, other = seen[index[params[0].name]], seen[index[params[2].name]]
    np.testing.assert_allclose(np.array(first) / np.array(other), 0.1)
    np.testing.assert_allclose(other, r.lrs)


def test_no_file_is_left_behind(data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import tempfile
    tmp_before = set(os.listdir(tempfile.gettempdir()))
    quick(Learner(make_net(), data, batch_size=16))
    assert os.listdir(tmp_path) == []
    leftovers = [f for f in set(os.listdir(tempfile.gettempdir())) - tmp_before
                 if f.startswith("gluon_lr_")]
    assert leftovers == []


def test_finder_needs_a_learner():
    with pytest.raises(TypeError, match="learner must be a gluon_lr.Learner"):
        LRFinder("net")


def test_finder_run_equals_find_lr(data):
    learner = Learner(make_net(), data, batch_size=16)
    a = quick(learner)
    mx.random.seed(0)
    np.random.seed(0)
    with expect_no_suggestion(": the loss hardly changed"):  # 15 steps up to lr 1
        b = LRFinder(learner).run(num_iter=15, start_lr=1e-4, end_lr=1.0, progress=False,
                                  extend=0)
    assert len(a.lrs) == len(b.lrs)


def test_progress_bar_shows_lr_and_loss(data, capsys):
    quick(Learner(make_net(), data, batch_size=16), progress=True, num_iter=5)
    err = capsys.readouterr().err
    assert "find_lr" in err and "lr=" in err and "loss=" in err
