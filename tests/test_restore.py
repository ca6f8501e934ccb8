"""Exact restore with every kvstore and on several devices; the RNG; nothing on disk."""
import os
import random
import tempfile

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import assert_same, capture, make_data, make_net, quick, train_steps
from gluon_lr import Learner
from gluon_lr.state import TrainingState

TWO = [mx.cpu(0), mx.cpu(1)]


def build(ctx, batchnorm=True, seed=5):
    X, _ = make_data(n=4)
    mx.random.seed(seed)
    net = make_net(batchnorm=batchnorm, init=False)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net(mx.nd.array(X[:2], ctx=ctx[0] if isinstance(ctx, list) else ctx))
    return net


def weights(net):
    mx.nd.waitall()
    return [a.asnumpy() for p in net.collect_params().values() for a in p.list_data()]


def assert_same_run(a, b):
    """assert_same for two separately built nets (parameter names differ, values must not)."""
    assert_same(dict(a, params={}), dict(b, params={}))


def assert_equal_lists(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def continuation(make_trainer, ctx, before=2, after=3, finder=True, **learner_kw):
    X, y = make_data(n=96)
    net = build(ctx)
    trainer = make_trainer(net)
    train_steps(net, trainer, X, y, before)
    if finder:
        learner = Learner(net, (X, y), trainer=trainer, batch_size=16, **learner_kw)
        snap = capture(net, trainer)
        quick(learner, num_iter=8)
        assert_same(snap, capture(net, trainer))
    train_steps(net, trainer, X, y, after)
    return weights(net), capture(net, trainer)


@pytest.mark.parametrize("kind, ctx", [("local", [mx.cpu(0)]), ("local", TWO),
                                       ("device", TWO)])
def test_kvstore_object_in_a_users_trainer(kind, ctx):
    # Before: load_states re-initialised the KVStore object: "duplicate init of key 0", the
    # optimizer states lost, lr left at 10 and every later step failing.
    def make(net):
        return gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05,
                                                           "momentum": 0.9},
                             kvstore=mx.kv.create(kind))
    ref_w, ref_state = continuation(make, ctx, finder=False)
    got_w, got_state = continuation(make, ctx)
    assert_equal_lists(ref_w, got_w)
    assert_same_run(ref_state, got_state)


@pytest.mark.parametrize("kind", ["local", "device"])
def test_kvstore_object_in_the_learners_own_trainer(kind):
    X, y = make_data(n=96)
    net = build(TWO)
    learner = Learner(net, (X, y), optimizer_params={"momentum": 0.9}, batch_size=16,
                      ctx=TWO, kvstore=mx.kv.create(kind))
    before = weights(net)
    first = quick(learner, num_iter=8)
    assert_equal_lists(before, weights(net))
    # The kvstore the run initialised keeps no optimizer state and every counter is back.
    assert learner.trainer._kvstore._updater.states == {}
    assert learner.trainer.optimizer.num_update == 0
    second = quick(learner, num_iter=8)  # the kvstore still works, and the run repeats
    np.testing.assert_array_equal(first.losses, second.losses)
    assert_equal_lists(before, weights(net))


def test_no_kvstore_on_two_contexts_keeps_each_devices_optimizer_state():
    # kvstore=None: every device updates from its own gradients, so weights and momentum
    # differ per device. Before: device 1's state came back equal to device 0's.
    def make(net):
        return gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05,
                                                           "momentum": 0.9}, kvstore=None)
    X, y = make_data(n=96)
    net = build(TWO)
    trainer = make(net)
    train_steps(net, trainer, X, y, 3)
    m0, m1 = (u.states[0].asnumpy() for u in trainer._updaters)
    assert not np.array_equal(m0, m1)
    ref_w, ref_state = continuation(make, TWO, finder=False)
    got_w, got_state = continuation(make, TWO)
    assert_equal_lists(ref_w, got_w)
    assert_same_run(ref_state, got_state)


def test_per_device_batchnorm_statistics_survive_the_learners_own_trainer():
    # Before: the snapshot's save_states created the kvstore, which broadcast device 0's
    # running statistics over device 1's before anything was saved.
    X, y = make_data(n=96)
    net = build(TWO)
    for c, lo in zip(TWO, (0, 48)):  # different data per device: different running stats
        with mx.autograd.record():
            out = net(mx.nd.array(X[lo:lo + 16], ctx=c))
        out.backward()
    stats = [p for name, p in net.collect_params().items() if name.endswith("running_mean")]
    a, b = (arr.asnumpy() for arr in stats[0].list_data())
    assert not np.array_equal(a, b)
    learner = Learner(net, (X, y), batch_size=16, ctx=TWO)
    before = weights(net)
    quick(learner, num_iter=8)
    assert_equal_lists(before, weights(net))
    assert not learner.trainer._kv_initialized  # the next step broadcasts, as it would have


def test_gradient_compression_is_refused_with_the_reason():
    X, y = make_data(n=96)
    net = build(TWO)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05},
                            compression_params={"type": "2bit", "threshold": 0.5})
    with pytest.raises(ValueError, match="gradient compression .*residuals"):
        Learner(net, (X, y), trainer=trainer, batch_size=16)


def test_gradient_compression_without_a_kvstore_is_fine():
    X, y = make_data(n=96)
    net = build([mx.cpu(0)])
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05},
                            compression_params={"type": "2bit", "threshold": 0.5})
    quick(Learner(net, (X, y), trainer=trainer, batch_size=16), num_iter=8)


@pytest.mark.parametrize("where", ["cpu", "device"])
@pytest.mark.parametrize("optimizer", ["sgd", "nag", "adam", "rmsprop"])
def test_snapshot_where_gives_exact_continuation(where, optimizer):
    params = {"learning_rate": 0.01}
    if optimizer in ("sgd", "nag"):
        params["momentum"] = 0.9

    def run(finder):
        X, y = make_data(n=96)
        net = build([mx.cpu(0)])
        trainer = gluon.Trainer(net.collect_params(), optimizer, dict(params))
        train_steps(net, trainer, X, y, 2)
        if finder:
            quick(Learner(net, (X, y), trainer=trainer, batch_size=16), num_iter=8,
                  snapshot=where)
        train_steps(net, trainer, X, y, 3)
        return weights(net), capture(net, trainer)

    (rw, rs), (gw, gs) = run(False), run(True)
    assert_equal_lists(rw, gw)
    assert_same_run(rs, gs)


def test_snapshot_option_is_checked(data):
    with pytest.raises(ValueError, match="snapshot must be one of .*got 'disk'"):
        quick(Learner(make_net(), data, batch_size=16), snapshot="disk")


def test_snapshot_size_is_reported():
    net = build([mx.cpu(0)], batchnorm=False)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    X, y = make_data(n=32)
    train_steps(net, trainer, X, y, 1)
    state = TrainingState(net.collect_params().values(), trainer)
    n = sum(int(np.prod(p.shape)) for p in net.collect_params().values())
    assert state.nbytes == 4 * n * 4  # weights, gradients, Adam's mean and variance
    state.discard()
    with pytest.raises(RuntimeError, match="discarded"):
        state.restore()


def test_nothing_is_written_to_the_temporary_directory(data, tmp_path, monkeypatch):
    # Before: the optimizer states were pickled into $TMPDIR/gluon_lr_*/trainer.states.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []

    def stopping(i, loss):
        seen.append(sorted(os.listdir(str(tmp_path))))
        return False
    quick(Learner(make_net(), data, batch_size=16), stopping=stopping, num_iter=5)
    assert seen and all(entry == [] for entry in seen)


def test_rng_is_restored_when_val_data_raises(data):
    class Broken(gluon.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            np.random.rand()  # a transform that draws, then fails
            random.random()
            raise OSError("disk gone")

    np.random.seed(3)
    random.seed(3)
    before_np, before_py = np.random.get_state()[1].copy(), random.getstate()
    loader = gluon.data.DataLoader(Broken(), batch_size=4)
    with pytest.raises(OSError, match="disk gone"):
        quick(Learner(make_net(), data, batch_size=16), val_data=loader)
    np.testing.assert_array_equal(np.random.get_state()[1], before_np)
    assert random.getstate() == before_py


def test_compare_schedules_leaves_the_rng_with_a_shuffling_val_loader(data):
    X, y = data
    learner = Learner(make_net(), (X, y), optimizer_params={"momentum": 0.9}, batch_size=16)
    result = quick(learner, num_iter=40)
    val = gluon.data.DataLoader(gluon.data.ArrayDataset(mx.nd.array(X), mx.nd.array(y)),
                                batch_size=16, shuffle=True)
    np.random.seed(11)
    before = np.random.get_state()[1].copy()
    learner.compare_schedules(result, candidates=("constant", "cosine"), val_data=val,
                              total_steps=24)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@mx.optimizer.Optimizer.register
class CountingSGD(mx.optimizer.SGD):
    """SGD that keeps plain bookkeeping and an NDArray on itself, changed at every update."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.calls = {"n": 0}
        self.total = mx.nd.zeros((1,))

    def update_multi_precision(self, index, weight, grad, state):
        self.calls["n"] += 1
        self.total += 1
        super().update_multi_precision(index, weight, grad, state)


def test_optimizer_attributes_are_restored_deeply_and_more_than_once(data):
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), CountingSGD(learning_rate=0.1, momentum=0.9))
    X, y = data
    train_steps(net, trainer, X, y, 1)
    opt = trainer.optimizer
    calls, total = dict(opt.calls), opt.total.asnumpy().copy()
    state = TrainingState(net.collect_params().values(), trainer)
    for _ in range(2):  # compare_schedules restores one snapshot once per candidate
        train_steps(net, trainer, X, y, 2)
        assert opt.calls != calls
        state.restore()
        assert trainer.optimizer is opt and opt.calls == calls
        np.testing.assert_array_equal(opt.total.asnumpy(), total)
    state.discard()
