"""Several devices, distributed workers, the Estimator, validation loss and accumulation."""
import json
import math
import os
import sys
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import assert_same, capture, expect_no_suggestion, make_data, make_net
from gluon_lr import Learner
from gluon_lr.estimator import LRFinderHandler
from gluon_lr.launch import launch

HERE = os.path.dirname(os.path.abspath(__file__))


def curve(ctx, seed=0, **kw):
    X, y = make_data(n=96)
    mx.random.seed(seed)
    net = make_net(init=False)
    np.random.seed(seed)
    learner = Learner(net, (X, y), ctx=ctx, optimizer="sgd",
                      optimizer_params={"momentum": 0.9}, batch_size=16)
    kw.setdefault("num_iter", 20)
    kw.setdefault("extend", 0)  # a sweep that never stops: no extension past end_lr
    return learner, learner.find_lr(start_lr=1e-3, end_lr=1.0, progress=False,
                                    stopping=lambda i, loss: False, **kw)


def test_two_contexts_record_the_single_context_curve():
    _, one = curve(mx.cpu(0))
    _, two = curve([mx.cpu(0), mx.cpu(1)])
    np.testing.assert_allclose(two.losses, one.losses, rtol=1e-4, atol=1e-6)
    assert two.lr == pytest.approx(one.lr, rel=1e-3)


def test_two_contexts_training_continues_as_without_the_test():
    X, y = make_data(n=96)

    def run(with_finder):
        mx.random.seed(5)
        net = make_net(batchnorm=True, init=False)
        net.initialize(mx.init.Xavier(), ctx=[mx.cpu(0), mx.cpu(1)])
        net(mx.nd.array(X[:2], ctx=mx.cpu(0)))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05,
                                                              "momentum": 0.9})
        from conftest import train_steps
        train_steps(net, trainer, X, y, 2)
        if with_finder:
            with warnings.catch_warnings():  # 8 steps, extended past end_lr: a rough answer
                warnings.simplefilter("ignore")
                r = Learner(net, (X, y), trainer=trainer, batch_size=16).find_lr(
                    num_iter=8, start_lr=1e-3, end_lr=1.0, progress=False)
            assert r.meta["extended_steps"] > 0  # restored after the extension too
        train_steps(net, trainer, X, y, 3)
        return [a.asnumpy() for p in net.collect_params().values() for a in p.list_data()]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)


def test_accumulation_matches_the_larger_batch():
    X, y = make_data(n=96)

    def run(batch, accumulate):
        mx.random.seed(0)
        np.random.seed(0)
        net = make_net()
        learner = Learner(net, (X, y), optimizer="sgd", batch_size=batch)
        with expect_no_suggestion(": the loss hardly changed"):  # 12 steps up to lr 1
            r = learner.find_lr(start_lr=1e-3, end_lr=1.0, num_iter=12, progress=False,
                                accumulate=accumulate, stopping=lambda i, loss: False,
                                extend=0)
        return r, net

    big, _ = run(16, 1)
    acc, net = run(8, 2)
    np.testing.assert_allclose(acc.losses, big.losses, rtol=1e-5)
    assert all(p.grad_req == "write" for p in net.collect_params().values())
    assert acc.meta["accumulate"] == 2
    with pytest.raises(ValueError, match="accumulate must be >= 1, got 0"):
        Learner(make_net(), (X, y)).find_lr(accumulate=0)


def test_validation_loss_mode():
    X, y = make_data(n=96)
    Xv, yv = make_data(n=48, seed=1)
    learner = Learner(make_net(), (X, y), batch_size=16)
    calls = []
    real = learner.step.evaluate

    def spy(batches):
        calls.append(len(batches))
        return real(batches)

    learner.step.evaluate = spy
    # 10 steps up to lr 1: the held-out loss never gets below chance (ln 3)
    with expect_no_suggestion(": the loss never got clearly below its chance level"):
        r = learner.find_lr(start_lr=1e-3, end_lr=1.0, num_iter=10, progress=False,
                            val_data=(Xv, yv), val_batches=3, stopping=lambda i, loss: False,
                            repeats=1, extend=0)
    assert calls == [3] * 10 and r.meta["val_batches"] == 3
    _, train_curve = curve(mx.cpu(), num_iter=10)
    assert not np.allclose(r.losses, train_curve.losses)
    with pytest.raises(ValueError, match="val_batches must be >= 1, got 0"):
        learner.find_lr(val_data=(Xv, yv), val_batches=0)


def _estimator(net, loss=None):
    from mxnet.gluon.contrib.estimator import Estimator
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    return Estimator(net, loss or gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer), trainer


def test_estimator_handler_runs_the_test_and_restores(tmp_path):
    X, y = make_data(n=96)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=16, shuffle=True)
    net = make_net(batchnorm=True)
    net(mx.nd.array(X[:2]))
    est, trainer = _estimator(net)
    before = capture(net, trainer)
    finder = LRFinderHandler(start_lr=1e-4, end_lr=1.0, num_iter=15, progress=False,
                             stopping=lambda i, loss: False)
    est.fit(loader, epochs=10, event_handlers=[finder])
    r = finder.result
    assert len(r.lrs) == 15 and r.stop_reason == "num_iter"  # stopped the fit mid-epoch
    np.testing.assert_allclose(r.lrs, np.geomspace(1e-4, 1.0, 15))
    assert r.lr is not None
    assert_same(before, capture(net, trainer))
    assert trainer.learning_rate == 0.01


def test_estimator_handler_restores_when_fit_raises():
    X, y = make_data(n=96)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=16)
    net = make_net()
    net(mx.nd.array(X[:2]))

    class FlakyLoss(gluon.loss.SoftmaxCrossEntropyLoss):
        calls = 0

        def forward(self, *args):
            FlakyLoss.calls += 1
            if FlakyLoss.calls == 5:
                raise KeyError("boom")
            return super().forward(*args)

    est, trainer = _estimator(net, FlakyLoss())
    before = capture(net, trainer)
    finder = LRFinderHandler(start_lr=1e-4, end_lr=1.0, num_iter=15, progress=False)
    with pytest.raises(KeyError), expect_no_suggestion(": only 4 usable points"):
        with finder:
            est.fit(loader, epochs=10, event_handlers=[finder])
    assert_same(before, capture(net, trainer))
    assert len(finder.result.lrs) == 4  # steps 0-3 completed before step 4 raised


def test_dist_trainer_that_updates_on_servers_is_refused():
    net = make_net()
    net(mx.nd.array(make_data()[0][:2]))
    trainer = gluon.Trainer(net.collect_params(), "sgd", kvstore="dist_sync")
    with pytest.raises(ValueError, match="update_on_kvstore=None: its optimizer runs on the "
                                         "servers"):
        Learner(net, make_data(), trainer=trainer)


def test_launch_rejects_bad_arguments():
    with pytest.raises(ValueError, match="command is empty"):
        launch([])
    with pytest.raises(ValueError, match="num_workers must be an int >= 1, got 0"):
        launch(["true"], num_workers=0)


@pytest.mark.distributed
@pytest.mark.slow
def test_distributed_workers_record_the_same_curve(tmp_path):
    """With the user's own trainer (4 workers on a Learner: tests/test_dist_failures.py)."""
    mode = "trainer"
    env = {"PYTHONPATH": os.pathsep.join([os.path.join(HERE, ".."),
                                          os.environ.get("PYTHONPATH", "")])}
    code = launch([sys.executable, os.path.join(HERE, "dist_worker.py"), str(tmp_path), mode],
                  num_workers=2, num_servers=1, timeout=150, env=env)
    assert code == 0
    a, b = (json.loads((tmp_path / "worker{}.json".format(r)).read_text()) for r in (0, 1))
    assert a["workers"] == b["workers"] == 2
    assert a["losses"] == b["losses"]
    assert a["stop_reason"] == b["stop_reason"] == "diverged"
    assert 5 < len(a["losses"]) < 40
    assert a["lr"] == b["lr"] and a["lr"] is not None
    assert a["weights"] == b["weights"]  # restored consistently on every worker
    assert a["num_update"] == b["num_update"] == 0


@pytest.mark.distributed
@pytest.mark.slow
def test_distributed_workers_stop_on_nan_weights_and_know_the_chance_level(tmp_path):
    env = {"PYTHONPATH": os.pathsep.join([os.path.join(HERE, ".."),
                                          os.environ.get("PYTHONPATH", "")])}
    code = launch([sys.executable, os.path.join(HERE, "dist_worker.py"), str(tmp_path), "nan"],
                  num_workers=2, num_servers=1, timeout=150, env=env)
    assert code == 0
    a, b = (json.loads((tmp_path / "worker{}.json".format(r)).read_text()) for r in (0, 1))
    for w in (a, b):
        assert w["stop_reason"] == "non_finite" and w["steps"] < 40
        assert w["lr"] is None and w["code"] == "non_finite"
        assert w["chance"] == pytest.approx(math.log(10))
        assert w["finite_weights"]  # restored
    assert a["steps"] == b["steps"]


@pytest.mark.distributed
@pytest.mark.slow
def test_schedule_preset_runs_on_the_parameter_server(tmp_path):
    env = {"PYTHONPATH": os.pathsep.join([os.path.join(HERE, ".."),
                                          os.environ.get("PYTHONPATH", "")])}
    code = launch([sys.executable, os.path.join(HERE, "dist_worker.py"), str(tmp_path),
                   "schedule"], num_workers=2, num_servers=1, timeout=150, env=env)
    assert code == 0
    a, b = (json.loads((tmp_path / "worker{}.json".format(r)).read_text()) for r in (0, 1))
    for w in (a, b):
        assert w["on_server"]
        assert w["moved"] > 1e-2  # the schedule's rates really trained the net
        assert w["max_diff"] < 1e-5, w  # ... and the server applied them


def test_cli_launch_needs_a_command(capsys):
    from gluon_lr.cli import main
    assert main(["launch", "-n", "2"]) == 2
    assert "give the command to run after --" in capsys.readouterr().err
