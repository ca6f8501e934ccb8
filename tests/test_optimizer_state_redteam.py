"""Red-team checks of find_lr(optimizer_state="fresh") on resumed trainers.

Each passing test compares a resumed net/trainer that ran find_lr against a twin that never did:
bit-identical right after find_lr, and after 3 more training steps each. The last group are the
failures a red-team pass found in round 5 (Nadam's momentum schedule not reset, LBSGD's
cumulated gradients not restored, state arrays replaced under a user's reference, float16
weights against a float32 loss in the NaN check, LRFinderHandler without optimizer_state, and
begin_num_update counted as a step), all fixed.
"""
import os
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import flat_state, make_data, train_steps
from gluon_lr import Learner
from gluon_lr.state import reset_optimizer_state

TWO = [mx.cpu(0), mx.cpu(1)]


def _everything(net, trainer):
    """Weights on every device, every updater's states (the kvstore's too), counters, lr."""
    mx.nd.waitall()
    out = {}
    for n, p in enumerate(net.collect_params().values()):
        for j, a in enumerate(p.list_data()):
            out["param/%d/%d" % (n, j)] = a.asnumpy().copy()
    opt = trainer._optimizer
    out["num_update"] = opt.num_update
    out["counts"] = {k: dict(v) for k, v in opt._all_index_update_counts.items()}
    out["lr"] = opt.lr
    updaters = list(trainer._updaters)
    kv_updater = getattr(trainer._kvstore, "_updater", None)
    if kv_updater is not None:
        updaters.append(kv_updater)
    for n, u in enumerate(updaters):
        out["upd%d/keys" % n] = sorted(u.states)
        out["upd%d/synced" % n] = dict(u.states_synced)
        for k, v in u.states.items():
            for j, a in enumerate(flat_state(v)):
                out["upd%d/%s/%d" % (n, k, j)] = a
    return out


def _assert_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


def _resumed(optimizer="sgd", params=None, ctx=None, kvstore="device", steps=4, **kw):
    X, y = make_data(n=96)
    mx.random.seed(1)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(3))
    ctx = ctx or [mx.cpu()]
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net(mx.nd.array(X[:2], ctx=ctx[0]))
    if kvstore == "object":
        kvstore = mx.kv.create("device")
    params = dict({"learning_rate": 0.1, "momentum": 0.9} if params is None else params)
    trainer = gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kvstore, **kw)
    train_steps(net, trainer, X, y, steps)
    return net, trainer, X, y


def _find(net, trainer, X, y, **kw):
    kw = dict(dict(num_iter=8, repeats=1, start_lr=1e-4, end_lr=1.0, progress=False, extend=0),
              **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short curves support no suggestion
        return Learner(net, (X, y), trainer=trainer, batch_size=16).find_lr(**kw)


class _Raise:
    def __init__(self, at):
        self.at, self.calls = at, 0

    def __call__(self, i, loss):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return False


def _factor():
    return mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.1)


CASES = {
    "sgd": (dict(), dict()),
    "nag": (dict(optimizer="nag"), dict()),
    "adam": (dict(optimizer="adam", params={"learning_rate": 0.01}), dict()),
    "rmsprop": (dict(optimizer="rmsprop", params={"learning_rate": 0.01}), dict()),
    "adagrad": (dict(optimizer="adagrad", params={"learning_rate": 0.1}), dict()),
    "2dev-device": (dict(ctx=TWO), dict()),
    "2dev-local-adam": (dict(ctx=TWO, kvstore="local", optimizer="adam",
                             params={"learning_rate": 0.01}), dict()),
    "2dev-none": (dict(ctx=TWO, kvstore=None), dict()),
    "2dev-kvobject": (dict(ctx=TWO, kvstore="object"), dict()),
    "2dev-device-no-uokv": (dict(ctx=TWO, update_on_kvstore=False), dict()),
    "repeats3-2dev-adam": (dict(ctx=TWO, optimizer="adam", params={"learning_rate": 0.01}),
                           dict(repeats=3)),
    "accumulate2-val": (dict(), dict(accumulate=2, val_data=make_data(n=32, seed=3))),
    "ctrl-c-in-2nd-repeat-2dev": (dict(ctx=TWO, kvstore="object"),
                                  dict(repeats=3, stopping=_Raise(10))),
    "keep": (dict(optimizer="adam", params={"learning_rate": 0.01}),
             dict(optimizer_state="keep")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_find_lr_on_a_resumed_trainer_is_invisible_to_the_training_that_follows(case):
    build_kw, find_kw = CASES[case]
    net, trainer, X, y = _resumed(**build_kw)
    twin = _resumed(**build_kw)
    before = _everything(net, trainer)
    _assert_equal(before, _everything(*twin[:2]))
    try:
        r = _find(net, trainer, X, y, **find_kw)
        assert r.meta["state_reset"] is (find_kw.get("optimizer_state", "fresh") == "fresh")
    except KeyboardInterrupt:
        assert "stopping" in find_kw
    _assert_equal(before, _everything(net, trainer))
    train_steps(net, trainer, X, y, 3)
    train_steps(*twin, 3)
    _assert_equal(_everything(*twin[:2]), _everything(net, trainer))


def test_scheduler_object_and_its_state_survive():
    net, trainer, X, y = _resumed(params={"momentum": 0.9, "lr_scheduler": _factor()})
    twin = _resumed(params={"momentum": 0.9, "lr_scheduler": _factor()})
    sched = trainer.optimizer.lr_scheduler
    saved = dict(vars(sched))
    _find(net, trainer, X, y, repeats=2)
    assert trainer.optimizer.lr_scheduler is sched and vars(sched) == saved
    train_steps(net, trainer, X, y, 3)
    train_steps(*twin, 3)
    _assert_equal(_everything(*twin[:2]), _everything(net, trainer))


@pytest.mark.parametrize("ctx, uokv", [(None, None), (TWO, None), (TWO, False)])
def test_states_loaded_with_load_states(tmp_path, ctx, uokv):
    def loaded():
        net, trainer, X, y = _resumed(ctx=ctx, update_on_kvstore=uokv)
        f = str(tmp_path / "states")
        trainer.save_states(f)
        trainer = gluon.Trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.1, "momentum": 0.9},
                                update_on_kvstore=uokv)
        trainer.load_states(f)
        return net, trainer, X, y
    net, trainer, X, y = loaded()
    twin = loaded()
    before = _everything(net, trainer)
    seen = []

    def probe(i, loss):
        if i == 0:
            seen.append(sorted({c for d in trainer.optimizer._all_index_update_counts.values()
                                for c in d.values()}))
        return False
    r = _find(net, trainer, X, y, repeats=2, stopping=probe)
    assert r.meta["state_reset"] is True and seen == [[2], [2]]
    _assert_equal(before, _everything(net, trainer))
    train_steps(net, trainer, X, y, 3)
    train_steps(*twin, 3)
    _assert_equal(_everything(*twin[:2]), _everything(net, trainer))


# ---- failures found by the red team --------------------------------------------------------

def test_nadam_reset_is_like_a_new_trainer():
    net, trainer, X, y = _resumed("nadam", {"learning_rate": 0.01}, steps=6)
    net2 = gluon.nn.HybridSequential()
    net2.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(3))
    net2.initialize()
    net2(mx.nd.array(X[:2]))
    for a, b in zip(net.collect_params().values(), net2.collect_params().values()):
        b.set_data(a.data().copy())
    new = gluon.Trainer(net2.collect_params(), "nadam", {"learning_rate": 0.01})
    assert reset_optimizer_state(trainer)
    train_steps(net, trainer, X, y, 3)
    train_steps(net2, new, X, y, 3)
    for a, b in zip(net.collect_params().values(), net2.collect_params().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())


@pytest.mark.parametrize("mode", ["fresh", "keep"])
def test_lbsgd_cumulated_gradients_are_restored(mode):
    p = {"learning_rate": 0.1, "momentum": 0.9, "batch_scale": 2, "warmup_epochs": 1,
         "updates_per_epoch": 8}
    net, trainer, X, y = _resumed("lbsgd", p, steps=3)
    before = {k: v["num_cums"] for k, v in trainer.optimizer.cumgrads.items()}
    _find(net, trainer, X, y, optimizer_state=mode)
    assert {k: v["num_cums"] for k, v in trainer.optimizer.cumgrads.items()} == before


def test_state_arrays_keep_their_identity():
    net, trainer, X, y = _resumed()
    held = dict(trainer._updaters[0].states)
    _find(net, trainer, X, y)
    assert all(trainer._updaters[0].states[k] is v for k, v in held.items())


class _Elementwise(gluon.HybridBlock):
    """float16 weights, float32 output (CPU has no float16 FullyConnected or dot)."""

    def __init__(self):
        super().__init__()
        with self.name_scope():
            self.w = self.params.get("w", shape=(6, 3))
            self.b = self.params.get("b", shape=(3,), init="zeros")

    def hybrid_forward(self, F, x, w, b):
        x = F.cast(x, dtype="float16")
        out = F.sum(F.broadcast_mul(F.expand_dims(x, 2), F.expand_dims(w, 0)), axis=1)
        return F.cast(F.broadcast_add(out, F.expand_dims(b, 0)), dtype="float32")


def test_float16_multi_precision_with_a_float32_loss():
    X, y = make_data(n=96)
    mx.random.seed(1)
    net = _Elementwise()
    net.initialize(mx.init.Xavier())
    net.cast("float16")
    net(mx.nd.array(X[:2]))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {
        "learning_rate": 0.1, "momentum": 0.9, "multi_precision": True})
    train_steps(net, trainer, X, y, 4)
    before = _everything(net, trainer)
    try:
        _find(net, trainer, X, y, num_iter=12)
    finally:
        _assert_equal(before, _everything(net, trainer))  # restored even when it raises


def test_estimator_handler_sweeps_a_resumed_trainer_from_fresh_state():
    from mxnet.gluon.contrib.estimator import Estimator
    from gluon_lr.estimator import LRFinderHandler
    net, trainer, X, y = _resumed()
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=16)
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    norms = []

    def probe(i, loss):
        if i == 0:
            norms.append(max(float(mx.nd.norm(s).asscalar())
                             for s in trainer._updaters[0].states.values()))
        return False
    finder = LRFinderHandler(num_iter=8, start_lr=1e-6, end_lr=1.0, progress=False,
                             stopping=probe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with finder:
            est.fit(loader, epochs=1, event_handlers=[finder])
    assert finder.result.meta.get("state_reset") is True
    assert norms[0] < 1e-3, norms


def test_a_never_stepped_trainer_with_begin_num_update_is_not_resumed():
    X, y = make_data(n=96)
    net = gluon.nn.Dense(3)
    net.initialize()
    net(mx.nd.array(X[:2]))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {
        "learning_rate": 0.1, "momentum": 0.9, "begin_num_update": 100})
    r = _find(net, trainer, X, y)
    assert r.meta["resumed"] is False
