"""LRFinderHandler inside Estimator.fit: runs past the epoch, skips validation, applies."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon
from mxnet.gluon.contrib.estimator import BatchEnd, EpochEnd, Estimator, ValidationHandler

from conftest import assert_same, capture, make_data, make_net, train_steps
from gluon_lr.estimator import FIT_ENDED, LRFinderHandler
from gluon_lr.schedules import OneCycle, Offset

FAST = dict(start_lr=1e-4, end_lr=10.0, progress=False)


def setup(n=96, batch=16, lr=0.01):
    X, y = make_data(n=n)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=batch)
    net = make_net()
    net(mx.nd.array(X[:2]))  # shapes known, so the state can be compared before and after
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr,
                                                          "momentum": 0.9})
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    return est, loader, (X, y)


def test_the_sweep_runs_past_the_epoch_to_end_lr():
    est, loader, _ = setup()  # 6 batches per epoch
    finder = LRFinderHandler(num_iter=30, stopping=lambda i, loss: False, **FAST)
    est.fit(loader, epochs=1, event_handlers=[finder])
    r = finder.result
    assert len(r.lrs) == 30 and r.stop_reason == "num_iter"
    assert r.lrs[-1] == pytest.approx(10.0)
    assert est.max_epoch == 1 and est.max_batch is None  # fit's own limits put back
    assert r.meta["batch_size"] == 16 and r.meta["optimizer"] == "sgd"
    assert r.meta["optimizer_params"]["momentum"] == 0.9


class StopAfter(BatchEnd, EpochEnd):
    def __init__(self, k):
        self.k, self.seen = k, 0

    def batch_end(self, estimator, *args, **kwargs):
        self.seen += 1
        return self.seen >= self.k

    def epoch_end(self, estimator, *args, **kwargs):
        return self.seen >= self.k


def test_a_fit_that_ends_early_gives_a_truthful_stop_reason():
    est, loader, _ = setup()
    finder = LRFinderHandler(num_iter=30, stopping=lambda i, loss: False, **FAST)
    with pytest.warns(RuntimeWarning) as record:
        est.fit(loader, epochs=3, event_handlers=[finder, StopAfter(5)])
    messages = [str(w.message) for w in record]
    assert any(m.startswith("fit ended after 5 of the range test's 30 steps") for m in messages)
    assert any(m.startswith("no learning rate could be suggested: only 5") for m in messages)
    r = finder.result
    assert len(r.lrs) == 5 and r.stop_reason == FIT_ENDED == "fit_ended"
    assert r.meta["num_iter"] == 30


def test_validation_is_skipped_during_the_sweep_and_restored():
    est, loader, (X, y) = setup()
    calls = []
    val = ValidationHandler(loader, eval_fn=lambda **kw: calls.append(1), epoch_period=1,
                            batch_period=2)
    finder = LRFinderHandler(num_iter=30, stopping=lambda i, loss: False, **FAST)
    est.fit(loader, val_data=loader, epochs=1, event_handlers=[finder, val])
    assert calls == [] and len(finder.result.lrs) == 30
    assert val.epoch_period == 1 and val.batch_period == 2


def test_default_validation_handler_is_paused_too(monkeypatch):
    est, loader, _ = setup()
    calls = []
    monkeypatch.setattr(est, "evaluate", lambda *a, **kw: calls.append(1))
    finder = LRFinderHandler(num_iter=30, stopping=lambda i, loss: False, **FAST)
    est.fit(loader, val_data=loader, epochs=1, event_handlers=[finder])
    assert calls == [] and len(finder.result.lrs) == 30


def test_apply_lr_sets_the_suggestion_after_the_restore():
    est, loader, _ = setup()
    before = capture(est.net, est.trainer)
    finder = LRFinderHandler(num_iter=40, end_lr=10.0, start_lr=1e-4, progress=False,
                             apply="lr")
    est.fit(loader, epochs=1, event_handlers=[finder])
    r = finder.result
    assert r.lr is not None and finder.applied == r.lr
    assert est.trainer.learning_rate == r.lr
    after = capture(est.net, est.trainer)
    after["lr"] = before["lr"]
    assert_same(before, after)  # everything else is as it was


def test_apply_a_schedule_offset_to_the_trainers_progress():
    est, loader, (X, y) = setup()
    train_steps(est.net, est.trainer, X, y, 3, batch=16)
    finder = LRFinderHandler(num_iter=40, end_lr=10.0, start_lr=1e-4, progress=False,
                             apply="one_cycle", total_steps=120)
    est.fit(loader, epochs=1, event_handlers=[finder])
    sched = est.trainer.optimizer.lr_scheduler
    assert isinstance(sched, Offset) and sched.steps == 3 and finder.applied is sched
    assert isinstance(sched.schedule, OneCycle)
    assert sched(4) == pytest.approx(finder.result.schedule("one_cycle", 120, start=0)(1))


def test_apply_without_a_suggestion_leaves_the_trainer():
    est, loader, _ = setup()
    finder = LRFinderHandler(num_iter=12, start_lr=1e-9, end_lr=1e-8, progress=False,
                             apply="lr")
    with pytest.warns(RuntimeWarning) as record:
        est.fit(loader, epochs=1, event_handlers=[finder])
    messages = [str(w.message) for w in record]
    assert any(m.startswith("apply='lr': the range test gave no suggestion") for m in messages)
    assert finder.applied is None and est.trainer.learning_rate == 0.01


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(apply="fastest"), ValueError, "apply must be None, 'lr' or a schedule preset"),
    (dict(apply=3), ValueError, "apply must be None, 'lr' or a schedule preset"),
    (dict(apply="one_cycle"), ValueError, "apply='one_cycle' needs total_steps"),
    (dict(apply="one_cycle", total_steps=0), ValueError, "total_steps must be >= 1, got 0"),
    (dict(apply="lr", total_steps=10), ValueError, "total_steps goes with apply=<schedule"),
    (dict(total_steps=10), ValueError, "total_steps goes with apply=<schedule name>"),
])
def test_apply_arguments_are_checked_at_the_door(kwargs, error, message):
    with pytest.raises(error, match=message):
        LRFinderHandler(**kwargs)
