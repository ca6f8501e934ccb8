import json

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


def test_successive_halving_and_restore(setup):
    learner, result, val = setup
    X, y = make_data(n=128)
    train_steps(learner.net, learner.trainer, X, y, 2)  # mid-training: num_update = 2
    before = capture(learner.net, learner.trainer)
    cmp = learner.compare_schedules(result, val_data=val, budget_steps=4, seed=0)
    assert isinstance(cmp, ScheduleComparison)
    assert_same(before, capture(learner.net, learner.trainer))
    # 4 candidates at 4 steps, the better 2 at 8 steps, then one is left
    rungs = {name: [r["steps"] for r in runs] for name, runs in cmp.history.items()}
    assert sorted(len(v) for v in rungs.values()) == [1, 1, 2, 2]
    assert all(v == [4, 8][:len(v)] for v in rungs.values())
    assert cmp.steps == 4 * 4 + 2 * 8
    table = cmp.table()
    assert table[0]["name"] == cmp.best_name and table[0]["rungs"] == 2
    assert set(table[0]) == {"name", "steps", "val_loss", "val_accuracy", "rungs"}
    assert all(0 <= row["val_accuracy"] <= 100 for row in table)
    finalists = [r for r in table if r["rungs"] == 2]
    assert finalists[0]["val_accuracy"] >= finalists[1]["val_accuracy"]
    assert isinstance(cmp.best, Schedule) and cmp.total_steps == 8
    assert cmp.best == result.schedule(cmp.best_name, total_steps=8,
                                       steps_per_epoch=learner.steps_per_epoch)


def test_candidates_see_the_same_batches_and_are_reproducible(setup):
    learner, result, val = setup
    a = learner.compare_schedules(result, candidates=["constant"],
                                  val_data=val, budget_steps=3, seed=1)
    b = learner.compare_schedules(result, candidates=["constant"], val_data=val, budget_steps=3,
                                  seed=1)
    assert a.history == b.history


def test_export_and_plot(setup, tmp_path):
    learner, result, val = setup
    cmp = learner.compare_schedules(result, val_data=val, budget_steps=3, rungs=2, seed=0)
    doc = json.loads(cmp.to_json(str(tmp_path / "c.json")))
    assert doc["best"] == cmp.best_name and len(doc["table"]) == 4
    ax = cmp.plot(path=str(tmp_path / "c.png"))
    assert len(ax.get_lines()) == 4 and (tmp_path / "c.png").stat().st_size > 0
    assert "(best)" in " ".join(t.get_text() for t in ax.get_legend().get_texts())


def test_regression_is_scored_on_loss():
    rs = np.random.RandomState(0)
    X = rs.rand(96, 3).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]
    learner = Learner(gluon.nn.Dense(1), (X[:64], y[:64]), loss=gluon.loss.L2Loss(),
                      batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10, num_iter=40, progress=False)
    cmp = learner.compare_schedules(result, val_data=(X[64:], y[64:]), budget_steps=4,
                                    candidates=("constant", "cosine"))
    assert cmp.select == "loss" and all(r["val_accuracy"] is None for r in cmp.table())
    with pytest.raises(ValueError, match="select='accuracy' needs a SoftmaxCrossEntropyLoss"):
        learner.compare_schedules(result, val_data=(X[64:], y[64:]), select="accuracy")


def test_select_by_loss_ranks_by_loss(setup):
    learner, result, val = setup
    cmp = learner.compare_schedules(result, val_data=val, budget_steps=4, seed=0, select="loss")
    finalists = [r for r in cmp.table() if r["rungs"] == 2]
    assert finalists[0]["name"] == cmp.best_name
    assert finalists[0]["val_loss"] <= finalists[1]["val_loss"]


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"candidates": []}, ValueError, "candidates is empty"),
    ({"candidates": ["constant", "sgdr"]}, ValueError, "unknown schedule 'sgdr'"),
    ({"candidates": ["constant", "constant"]}, ValueError, "lists a schedule twice"),
    ({"val_data": None}, ValueError, "val_data is required"),
    ({"budget_steps": 1}, ValueError, "budget_steps=1 is too small"),
    ({"budget_steps": 2.5}, TypeError, "budget_steps must be an int"),
    ({"rungs": 0}, ValueError, "rungs must be an int >= 1, got 0"),
    ({"select": "f1"}, ValueError, "select must be 'auto', 'loss' or 'accuracy', got 'f1'"),
])
def test_bad_input_fails_before_training(setup, kwargs, exc, match):
    learner, result, val = setup
    kwargs = dict({"val_data": val, "budget_steps": 4}, **kwargs)
    before = capture(learner.net, learner.trainer)
    with pytest.raises(exc, match=match):
        learner.compare_schedules(result, **kwargs)
    assert_same(before, capture(learner.net, learner.trainer))


def test_offset_schedule():
    s = Offset(Constant(0.1), 5)
    assert s(1) == s(6) == 0.1
    from gluon_lr.schedules import Anneal
    a = Offset(Anneal(1.0, 0.0, 2), 3)
    assert a.values(6) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        Offset(Constant(0.1), -1)
