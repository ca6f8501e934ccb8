"""find_lr(optimizer_state=...): a resumed trainer sweeps from a new trainer's optimizer state."""
import math
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import assert_same, capture, make_data, make_net, quick, train_steps
from gluon_lr import Learner, LRFinderResult
from gluon_lr.optimizers import Prodigy
from gluon_lr.state import TrainingState, reset_optimizer_state

TWO = [mx.cpu(0), mx.cpu(1)]


def resumed(optimizer="sgd", params=None, steps=4, ctx=None, **trainer_kw):
    X, y = make_data(n=96)
    mx.random.seed(1)
    net = make_net(init=False)
    net.initialize(mx.init.Xavier(), ctx=ctx or mx.cpu())
    net(mx.nd.array(X[:2], ctx=(ctx or [mx.cpu()])[0] if isinstance(ctx, list) else ctx))
    params = {"learning_rate": 0.1, "momentum": 0.9} if params is None else params
    trainer = gluon.Trainer(net.collect_params(), optimizer, params, **trainer_kw)
    train_steps(net, trainer, X, y, steps)
    return net, trainer, X, y


class FirstStep:
    """A stopping rule that looks at the optimizer state right after the sweep's first step."""

    def __init__(self, trainer):
        self.trainer, self.seen = trainer, []

    def __call__(self, iteration, loss):
        if iteration == 0:
            opt = self.trainer.optimizer
            updaters = (self.trainer._updaters if not self.trainer._update_on_kvstore
                        else [self.trainer._kvstore._updater])
            norm = sum(float(mx.nd.norm(s).asscalar()) for u in updaters
                       for s in _arrays(u.states.values()))
            counts = sorted(set(opt._index_update_count.values()))
            self.seen.append((norm, counts))
        return False


def _arrays(states):
    for s in states:
        if isinstance(s, (list, tuple)):
            yield from _arrays(s)
        elif s is not None:
            yield s


@pytest.mark.parametrize("ctx, kvstore", [(None, "device"), (TWO, "device"), (TWO, None)])
def test_sweep_of_a_resumed_sgd_trainer_starts_without_its_momentum(ctx, kvstore):
    norms = {}
    for mode in ("fresh", "keep"):
        net, trainer, X, y = resumed(ctx=ctx, kvstore=kvstore)
        before = capture(net, trainer)
        probe = FirstStep(trainer)
        r = quick(Learner(net, (X, y), trainer=trainer, batch_size=16), num_iter=8,
                  start_lr=1e-6, stopping=probe, optimizer_state=mode)
        assert r.meta["resumed"] is True
        assert r.meta["state_reset"] is (mode == "fresh")
        assert_same(before, capture(net, trainer))  # restored exactly, either way
        norms[mode] = probe.seen[0][0]
    # after one step at lr=1e-6 a new momentum buffer is -1e-6 * grad: tiny; the carried one
    # holds the momentum of 4 steps at lr=0.1
    assert norms["fresh"] < 1e-3 * norms["keep"], norms


def test_adam_restarts_its_step_counts_so_bias_correction_starts_again():
    net, trainer, X, y = resumed("adam", {"learning_rate": 0.01}, steps=5)
    before = capture(net, trainer)
    assert set(trainer.optimizer._index_update_count.values()) == {5}
    probe = FirstStep(trainer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 6-step curve supports no suggestion
        r = Learner(net, (X, y), trainer=trainer, batch_size=16).find_lr(
            num_iter=6, repeats=2, stopping=probe, progress=False, extend=0)
    assert r.meta["state_reset"] is True
    # each repeat starts afresh (the loss of step 0 is read one step late, after step 1)
    assert [counts for _, counts in probe.seen] == [[2], [2]]
    assert_same(before, capture(net, trainer))
    # the trainer carries on from its own state: the next step is its 6th
    train_steps(net, trainer, X, y, 1)
    assert set(trainer.optimizer._index_update_count.values()) == {6}


def test_a_fresh_trainer_is_not_reset_and_a_kept_state_is_said():
    X, y = make_data(n=96)
    r = quick(Learner(make_net(), (X, y), batch_size=16), num_iter=8)
    assert r.meta["resumed"] is False and r.meta["state_reset"] is False
    again = LRFinderResult.from_dict(r.to_dict())
    assert again.meta["state_reset"] is False


def test_lr_free_optimizers_keep_their_state():
    net, trainer, X, y = resumed(Prodigy(), params={}, steps=3)
    before = capture(net, trainer)
    assert reset_optimizer_state(trainer) is False  # changes nothing
    assert_same(before, capture(net, trainer))
    r = quick(Learner(net, (X, y), trainer=trainer, batch_size=16), num_iter=8)
    assert r.meta["resumed"] is True and r.meta["state_reset"] is False
    assert_same(before, capture(net, trainer))


def test_reset_then_restore_by_hand():
    net, trainer, X, y = resumed()
    before = capture(net, trainer)
    state = TrainingState(net.collect_params().values(), trainer)
    assert reset_optimizer_state(trainer) is True
    assert all(not u.states for u in trainer._updaters)
    assert trainer.optimizer._index_update_count == {}
    train_steps(net, trainer, X, y, 2)
    state.restore()
    assert_same(before, capture(net, trainer))


@pytest.mark.parametrize("bad", ["reset", "", None, True])
def test_a_bad_optimizer_state_is_refused_by_name(bad):
    net, trainer, X, y = resumed()
    before = capture(net, trainer)
    with pytest.raises(ValueError, match="optimizer_state must be one of"):
        Learner(net, (X, y), trainer=trainer, batch_size=16).find_lr(
            optimizer_state=bad, progress=False)
    assert_same(before, capture(net, trainer))


def test_carried_over_is_only_diagnosed_when_the_state_was_kept():
    from test_health import _rise_then_fall
    lrs, losses = _rise_then_fall()
    kept = LRFinderResult(lrs, losses, resumed=True, state_reset=False)
    assert kept.diagnosis_code == "carried_over"
    fresh = LRFinderResult(lrs, losses, resumed=True, state_reset=True)
    assert fresh.diagnosis_code == "ok"


@pytest.mark.slow
def test_the_benchmark_net_resumed_mid_training_gets_a_rate_near_its_best():
    """The suggestion benchmark's DESIGN task digits-mlp-midtrain-momentum (an MLP whose own
    SGD-momentum trainer took 20 steps at 0.05; its best constant rate is 0.1): with the momentum
    carried into the sweep the loss rises at tiny rates and "auto" was 0.02-0.035."""
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    import suggestion_quality as sq
    task = sq.Task("digits-mlp-midtrain-momentum", sq.TASKS["digits-mlp-midtrain-momentum"])
    fresh, _ = task.range_test(0, 0, state="fresh")
    kept, _ = task.range_test(0, 0, state="keep")
    assert fresh.meta["state_reset"] and not kept.meta["state_reset"]
    assert 0.05 <= fresh.lr <= 0.2 and fresh.confidence == "high", (fresh.lr, fresh.diagnosis)
    assert kept.lr < 0.04, kept.lr
