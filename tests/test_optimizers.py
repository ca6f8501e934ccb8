"""Prodigy, D-Adaptation SGD and D-Adaptation Adam against hand arithmetic and a numpy
transcription of the authors' reference code, and through every path a trainer meets."""
import math
import os
import pickle
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon, nd

import gluon_lr.optimizers as lrfree
from gluon_lr.schedules import Cosine

from conftest import make_data, make_net


# ---- numpy transcriptions of the reference step() functions ---------------------------------
# Each follows the authors' PyTorch code statement by statement for one parameter group
# (konstmish/prodigy prodigyopt/prodigy.py; facebookresearch/dadaptation dadapt_sgd.py and
# dadapt_adam.py), in float32 arrays and Python-float scalars, as torch does. The one change:
# at lr == 0 Prodigy's reference reads an unset variable; here, as in gluon_lr, d is kept.

class RefProdigy:
    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), beta3=None, eps=1e-8,
                 weight_decay=0.0, decouple=True, use_bias_correction=False,
                 safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=float("inf")):
        self.p = params
        self.lr, self.betas, self.beta3, self.eps = lr, betas, beta3, eps
        self.weight_decay, self.decouple = weight_decay, decouple
        self.use_bias_correction, self.safeguard_warmup = use_bias_correction, safeguard_warmup
        self.d = self.d0 = self.d_max = d0
        self.d_coef, self.growth_rate = d_coef, growth_rate
        self.d_numerator, self.k = 0.0, 0
        self.state = [None] * len(params)

    def step(self, grads, lr):
        d_denom = 0.0
        beta1, beta2 = self.betas
        beta3 = self.beta3 if self.beta3 is not None else math.sqrt(beta2)
        k, d, d_max, d0 = self.k, self.d, self.d_max, self.d0
        bias_correction = (((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1))
                           if self.use_bias_correction else 1)
        dlr = d * lr * bias_correction
        d_numerator = self.d_numerator * beta3
        delta_numerator = 0.0
        decay = self.weight_decay
        grads = [g.astype(np.float32).copy() for g in grads]
        for i, (p, grad) in enumerate(zip(self.p, grads)):
            if decay != 0 and not self.decouple:
                grad += np.float32(decay) * p
            if self.state[i] is None:
                self.state[i] = {"s": np.zeros_like(p), "p0": p.copy(),
                                 "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
            st = self.state[i]
            delta_numerator += (d / d0) * dlr * float(np.dot(grad.ravel(),
                                                             (st["p0"] - p).ravel()))
            st["exp_avg"] = st["exp_avg"] * np.float32(beta1) + grad * np.float32(d * (1 - beta1))
            st["exp_avg_sq"] = (st["exp_avg_sq"] * np.float32(beta2)
                                + grad * grad * np.float32(d * d * (1 - beta2)))
            alpha = (d / d0) * d if self.safeguard_warmup else (d / d0) * dlr
            st["s"] = st["s"] * np.float32(beta3) + grad * np.float32(alpha)
            d_denom += float(np.abs(st["s"]).sum())
        if d_denom == 0:
            return
        global_d_numerator = d_numerator + delta_numerator
        if lr > 0.0:
            d_hat = self.d_coef * global_d_numerator / d_denom
            if d == self.d0:
                d = max(d, d_hat)
            d_max = max(d_max, d_hat)
            d = min(d_max, d * self.growth_rate)
        self.d_numerator, self.d, self.d_max = global_d_numerator, d, d_max
        for i, (p, grad) in enumerate(zip(self.p, grads)):
            st = self.state[i]
            denom = np.sqrt(st["exp_avg_sq"]) + np.float32(d * self.eps)
            if decay != 0 and self.decouple:
                p += p * np.float32(-decay * dlr)
            p += (st["exp_avg"] / denom) * np.float32(-dlr)
        self.k = k + 1


class RefDAdaptSGD:
    def __init__(self, params, lr=1.0, momentum=0.0, weight_decay=0.0, d0=1e-6,
                 growth_rate=float("inf")):
        self.p, self.momentum, self.weight_decay = params, momentum, weight_decay
        self.d, self.growth_rate = d0, growth_rate
        self.numerator_weighted, self.k, self.g0_norm = 0.0, 0, None
        self.state = [None] * len(params)

    def step(self, grads, lr):
        decay, ck, k, d = self.weight_decay, 1 - self.momentum, self.k, self.d
        sk_sq, delta_numerator_weighted = 0.0, 0.0
        grads = [g.astype(np.float32).copy() for g in grads]
        if k == 0:
            # the reference's grad.add(p.data, alpha=decay) here is not in place: g0 has no decay
            self.g0_norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
        dlr = d * lr / self.g0_norm
        for i, (p, grad) in enumerate(zip(self.p, grads)):
            if self.state[i] is None:
                self.state[i] = {"z": p.copy(), "s": np.zeros_like(p), "x0": p.copy()}
            if decay != 0:
                grad += np.float32(decay) * p
            st = self.state[i]
            delta_numerator_weighted += dlr * float(np.dot(grad.ravel(), st["s"].ravel()))
            st["s"] = st["s"] + grad * np.float32(dlr)
            sk_sq += float((st["s"] * st["s"]).sum())
        global_numerator_weighted = self.numerator_weighted + delta_numerator_weighted
        if lr > 0.0:
            d_hat = 2 * global_numerator_weighted / math.sqrt(sk_sq)
            d = max(d, min(d_hat, d * self.growth_rate))
        if sk_sq == 0:
            return
        self.numerator_weighted, self.d = global_numerator_weighted, d
        for i, p in enumerate(self.p):
            st = self.state[i]
            st["z"] = st["x0"] - st["s"]
            p[...] = p * np.float32(1 - ck) + st["z"] * np.float32(ck)
        self.k = k + 1


class RefDAdaptAdam:
    def __init__(self, params, lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decouple=False, use_bias_correction=False, d0=1e-6, growth_rate=float("inf")):
        self.p, self.betas, self.eps = params, betas, eps
        self.weight_decay, self.decouple = weight_decay, decouple
        self.use_bias_correction = use_bias_correction
        self.d, self.growth_rate, self.numerator_weighted, self.k = d0, growth_rate, 0.0, 0
        self.state = [None] * len(params)

    def step(self, grads, lr):
        sk_l1, numerator_acum = 0.0, 0.0
        beta1, beta2 = self.betas
        k, d, decay = self.k, self.d, self.weight_decay
        bias_correction = (((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1))
                           if self.use_bias_correction else 1)
        dlr = d * lr * bias_correction
        sqrt_beta2 = beta2 ** 0.5
        grads = [g.astype(np.float32).copy() for g in grads]
        for i, (p, grad) in enumerate(zip(self.p, grads)):
            if decay != 0 and not self.decouple:
                grad += np.float32(decay) * p
            if self.state[i] is None:
                self.state[i] = {"s": np.zeros_like(p), "exp_avg": np.zeros_like(p),
                                 "exp_avg_sq": np.zeros_like(p)}
            st = self.state[i]
            denom = np.sqrt(st["exp_avg_sq"]) + np.float32(self.eps)
            numerator_acum += dlr * float(np.dot(grad.ravel(), (st["s"] / denom).ravel()))
            st["exp_avg"] = st["exp_avg"] * np.float32(beta1) + grad * np.float32(dlr * (1 - beta1))
            st["exp_avg_sq"] = st["exp_avg_sq"] * np.float32(beta2) + grad * grad * np.float32(
                1 - beta2)
            st["s"] = st["s"] * np.float32(sqrt_beta2) + grad * np.float32(dlr * (1 - sqrt_beta2))
            sk_l1 += float(np.abs(st["s"]).sum())
        if sk_l1 == 0:
            return
        global_numerator_weighted = (sqrt_beta2 * self.numerator_weighted
                                     + (1 - sqrt_beta2) * numerator_acum)
        if lr > 0.0:
            d_hat = global_numerator_weighted / ((1 - sqrt_beta2) * sk_l1)
            d = max(d, min(d_hat, d * self.growth_rate))
        self.numerator_weighted, self.d = global_numerator_weighted, d
        for i, p in enumerate(self.p):
            st = self.state[i]
            denom = np.sqrt(st["exp_avg_sq"]) + np.float32(self.eps)
            if decay != 0 and self.decouple:
                p += p * np.float32(-decay * dlr)
            p -= st["exp_avg"] / denom
        self.k = k + 1


# ---- a smooth two-parameter problem whose gradient numpy computes -------------------------
def _problem(seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(32, 5).astype(np.float32)
    Y = (X @ rs.randn(5, 3) + 0.5).astype(np.float32)
    W = (rs.randn(3, 5) * 0.1).astype(np.float32)
    b = np.zeros(3, np.float32)
    return X, Y, W, b


def _grads(X, Y, W, b):
    r = X @ W.T + b - Y
    return [(2 * r.T @ X / len(X)).astype(np.float32), (2 * r.mean(0)).astype(np.float32)]


def _run_both(name, ref_cls, mx_kw, ref_kw, steps, schedule):
    """Both optimizers take the same gradients (those at the reference's weights), so a
    difference can only come from the update rules, not from a chaotic loss surface."""
    X, Y, W, b = _problem()
    opt = mx.optimizer.create(name, lr_scheduler=schedule, **mx_kw)
    updater = mx.optimizer.get_updater(opt)
    weights = [nd.array(W), nd.array(b)]
    ref_params = [W.copy(), b.copy()]
    ref = ref_cls(ref_params, **ref_kw)
    got_d, ref_d = [], []
    for t in range(1, steps + 1):
        g = _grads(X, Y, *ref_params)
        updater([0, 1], [nd.array(x) for x in g], weights)
        ref.step(g, schedule(t) if schedule is not None else 1.0)
        got_d.append(opt.d)
        ref_d.append(ref.d)
    return [w.asnumpy() for w in weights], ref_params, got_d, ref_d, opt, ref


REF_CASES = [
    ("prodigy", RefProdigy, {}, {}),
    ("prodigy", RefProdigy, {"wd": 0.01, "beta3": 0.9, "use_bias_correction": True},
     {"weight_decay": 0.01, "beta3": 0.9, "use_bias_correction": True}),
    ("prodigy", RefProdigy, {"wd": 0.01, "decouple": False, "safeguard_warmup": True,
                             "d_coef": 2.0, "growth_rate": 1.5},
     {"weight_decay": 0.01, "decouple": False, "safeguard_warmup": True, "d_coef": 2.0,
      "growth_rate": 1.5}),
    ("dadaptsgd", RefDAdaptSGD, {}, {}),
    ("dadaptsgd", RefDAdaptSGD, {"momentum": 0.9, "wd": 0.01, "growth_rate": 1.2},
     {"momentum": 0.9, "weight_decay": 0.01, "growth_rate": 1.2}),
    ("dadaptadam", RefDAdaptAdam, {}, {}),
    ("dadaptadam", RefDAdaptAdam, {"wd": 0.01, "decouple": True, "use_bias_correction": True},
     {"weight_decay": 0.01, "decouple": True, "use_bias_correction": True}),
]


@pytest.mark.parametrize("rates", ["constant", "cosine"])
@pytest.mark.parametrize("name,ref_cls,mx_kw,ref_kw", REF_CASES)
def test_matches_the_reference_update_rule_over_60_steps(name, ref_cls, mx_kw, ref_kw, rates):
    steps = 60
    schedule = Cosine(1.0, 0.0, cycle_length=steps) if rates == "cosine" else None
    got, want, got_d, ref_d, opt, ref = _run_both(name, ref_cls, mx_kw, ref_kw, steps, schedule)
    assert ref_d[-1] > 100 * ref_d[0]  # d really adapted
    np.testing.assert_allclose(got_d, ref_d, rtol=1e-5)
    W = _problem()[2]
    for g, r in zip(got, want):
        # float32 rounding: on the D-Adapt Adam cosine case the float32 reference itself is
        # 7e-6 away from one with float64 parameters (max |bias| 0.77)
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5 * np.abs(r).max())
    assert np.abs(got[0] - W).max() > 1e-3  # the weights moved
    assert opt.k == ref.k == steps


@pytest.mark.parametrize("name,ref_cls", [("prodigy", RefProdigy), ("dadaptsgd", RefDAdaptSGD),
                                          ("dadaptadam", RefDAdaptAdam)])
def test_a_rate_that_reaches_zero_keeps_d(name, ref_cls):
    # mx's CosineScheduler is exactly 0 at max_update: the last step keeps d.
    steps = 30
    schedule = mx.lr_scheduler.CosineScheduler(max_update=steps, base_lr=1.0, final_lr=0.0)
    assert schedule(steps) == 0.0
    got, want, got_d, ref_d, _, _ = _run_both(name, ref_cls, {}, {}, steps, schedule)
    assert got_d[-1] == got_d[-2]
    np.testing.assert_allclose(got_d, ref_d, rtol=1e-5)
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-6 * np.abs(r).max())


# ---- hand-computed steps on one scalar weight w = 1 with gradients 2, 1, 1 --------------------
def _scalar_run(name, grads, **kw):
    opt = mx.optimizer.create(name, **kw)
    updater = mx.optimizer.get_updater(opt)
    w = nd.array([1.0])
    out = []
    for g in grads:
        updater([0], [nd.array([g])], [w])
        out.append((float(w.asscalar()), opt.d))
    return out


def test_prodigy_by_hand():
    # beta1 = beta3 = 0.5, beta2 = 0.75, d0 = 0.01, d_coef = 10, eps = 1e-8 (negligible here).
    # step 1, g = 2: dlr = 0.01; numerator += 0 (w = w0); m = 0.01*0.5*2 = 0.01;
    #   v = 1e-4*0.25*4 = 1e-4; s = 0.01*2 = 0.02; d_hat = 0 -> d stays 0.01;
    #   w = 1 - 0.01 * 0.01 / sqrt(1e-4) = 0.99
    # step 2, g = 1: numerator = 0.5*0 + 0.01*1*(1 - 0.99) = 1e-4; m = 0.005 + 0.005 = 0.01;
    #   v = 0.75e-4 + 0.25e-4 = 1e-4; s = 0.01 + 0.01 = 0.02; d_hat = 10*1e-4/0.02 = 0.05
    #   -> d = 0.05 (d was d0); the step still uses the old d: w = 0.99 - 0.01 = 0.98
    # step 3, g = 1: dlr = 0.05; numerator = 0.5e-4 + (0.05/0.01)*0.05*1*(1 - 0.98) = 0.00505;
    #   m = 0.005 + 0.025 = 0.03; v = 0.75e-4 + 0.0025*0.25 = 7e-4; s = 0.01 + 5*0.05 = 0.26;
    #   d = d_hat = 10*0.00505/0.26 = 0.194230769...; w = 0.98 - 0.05*0.03/sqrt(7e-4)
    out = _scalar_run("prodigy", [2, 1, 1], beta1=0.5, beta2=0.75, beta3=0.5, d0=0.01,
                      d_coef=10)
    w3 = 0.98 - 0.05 * 0.03 / math.sqrt(7e-4)
    expected = [(0.99, 0.01), (0.98, 0.05), (w3, 10 * 0.00505 / 0.26)]
    for (w, d), (ew, ed) in zip(out, expected):
        assert w == pytest.approx(ew, abs=2e-7)
        assert d == pytest.approx(ed, rel=1e-5)


def test_dadapt_sgd_by_hand():
    # momentum 0.5, d0 = 0.01. g0_norm = 2, so dlr = d / 2 = 0.005 while d = 0.01.
    # step 1, g = 2: numerator += 0; s = 0.01; d_hat = 0; z = 0.99; w = 0.5*1 + 0.5*0.99 = 0.995
    # step 2, g = 1: numerator = 0.005*1*0.01 = 5e-5; s = 0.015; d_hat = 2*5e-5/0.015 < d0
    #   z = 0.985; w = 0.5*0.995 + 0.5*0.985 = 0.99
    # step 3, g = 1: numerator = 5e-5 + 0.005*0.015 = 1.25e-4; s = 0.02;
    #   d = d_hat = 2*1.25e-4/0.02 = 0.0125; z = 0.98; w = 0.5*0.99 + 0.5*0.98 = 0.985
    out = _scalar_run("dadaptsgd", [2, 1, 1], momentum=0.5, d0=0.01)
    for (w, d), (ew, ed) in zip(out, [(0.995, 0.01), (0.99, 0.01), (0.985, 0.0125)]):
        assert w == pytest.approx(ew, abs=2e-7)
        assert d == pytest.approx(ed, rel=1e-5)


def test_dadapt_adam_by_hand():
    # betas 0.9, 0.999, d0 = 0.01; sb = sqrt(0.999).
    # step 1, g = 2: numerator 0; m = 0.01*0.1*2 = 0.002; v = 0.004; s = 0.01*(1-sb)*2;
    #   d_hat = sb*0 + 0 -> d stays 0.01; w = 1 - 0.002/(sqrt(0.004) + 1e-8)
    sb = math.sqrt(0.999)
    out = _scalar_run("dadaptadam", [2, 1], d0=0.01)
    w1 = 1 - 0.002 / (math.sqrt(0.004) + 1e-8)
    assert out[0][0] == pytest.approx(w1, abs=2e-7) and out[0][1] == 0.01
    # step 2, g = 1: numerator = (1-sb) * 0.01*1*s1/(sqrt(0.004)+eps); s2 = sb*s1 + 0.01*(1-sb)
    #   d_hat = numerator / ((1-sb)*s2); m2 = 0.9*0.002 + 0.001; v2 = 0.999*0.004 + 0.001
    s1 = 0.01 * (1 - sb) * 2
    num = (1 - sb) * 0.01 * s1 / (math.sqrt(0.004) + 1e-8)
    s2 = sb * s1 + 0.01 * (1 - sb)
    d2 = max(0.01, num / ((1 - sb) * s2))
    w2 = w1 - (0.9 * 0.002 + 0.001) / (math.sqrt(0.999 * 0.004 + 0.001) + 1e-8)
    assert out[1][0] == pytest.approx(w2, abs=2e-7)
    assert out[1][1] == pytest.approx(d2, rel=1e-5)


# ---- through gluon.Trainer ------------------------------------------------------------------
NAMES = ["prodigy", "dadaptsgd", "dadaptadam"]


def _net_and_data(ctx=None, seed=3):
    X, y = make_data(n=64, seed=seed)
    mx.random.seed(seed)
    net = make_net(init=False)
    net.initialize(mx.init.Xavier(), ctx=ctx or mx.cpu())
    return net, nd.array(X), nd.array(y)


def _train(net, trainer, X, y, steps, ctxs=(mx.cpu(),), start=0):
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for step in range(start, start + steps):
        xb, yb = X[(step * 16) % 64:(step * 16) % 64 + 16], y[(step * 16) % 64:(step * 16) % 64 + 16]
        parts = zip(gluon.utils.split_and_load(xb, list(ctxs)),
                    gluon.utils.split_and_load(yb, list(ctxs)))
        with autograd.record():
            losses = [loss_fn(net(a), b) for a, b in parts]
        for loss in losses:
            loss.backward()
        trainer.step(16)
    nd.waitall()


def _weights(net, ctx=mx.cpu()):
    return [p.data(ctx).asnumpy() for p in net.collect_params().values()]


@pytest.mark.parametrize("name", NAMES)
def test_trainer_by_name_trains_and_adapts_d(name):
    net, X, y = _net_and_data()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    before = loss_fn(net(X), y).mean().asscalar()
    trainer = gluon.Trainer(net.collect_params(), name)
    _train(net, trainer, X, y, 40)
    assert trainer.optimizer.learning_rate == 1.0
    assert trainer.optimizer.d > 1e3 * trainer.optimizer.d0
    assert trainer.optimizer.k == 40
    assert loss_fn(net(X), y).mean().asscalar() < 0.5 * before


@pytest.mark.parametrize("name", NAMES)
def test_two_devices_take_the_single_device_steps(name):
    ctxs = [mx.cpu(0), mx.cpu(1)]
    one, X, y = _net_and_data()
    two, _, _ = _net_and_data(ctx=ctxs)
    one(X[:2]), two(X[:2].as_in_context(ctxs[0]))
    for a, b in zip(one.collect_params().values(), two.collect_params().values()):
        b.set_data(a.data())
    t1 = gluon.Trainer(one.collect_params(), name, {"momentum": 0.9} if name == "dadaptsgd"
                       else {})
    t2 = gluon.Trainer(two.collect_params(), name, {"momentum": 0.9} if name == "dadaptsgd"
                       else {}, update_on_kvstore=False)
    _train(one, t1, X, y, 12)
    _train(two, t2, X, y, 12, ctxs=ctxs)
    assert t2.optimizer.k == t1.optimizer.k == 12  # d advanced once per step, not per device
    assert t2.optimizer.d == pytest.approx(t1.optimizer.d, rel=1e-4)
    for a, b in zip(_weights(two, ctxs[0]), _weights(two, ctxs[1])):
        np.testing.assert_array_equal(a, b)  # the devices' copies are identical
    for a, b in zip(_weights(one), _weights(two, ctxs[0])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_update_on_kvstore_is_refused_with_a_clear_error(name):
    ctxs = [mx.cpu(0), mx.cpu(1)]
    net, X, y = _net_and_data(ctx=ctxs)
    trainer = gluon.Trainer(net.collect_params(), name)  # default: update_on_kvstore=True
    with pytest.raises(ValueError, match="update_on_kvstore=False"):
        _train(net, trainer, X, y, 1, ctxs=ctxs)


def test_parameters_handed_over_one_by_one_are_refused():
    opt = mx.optimizer.create("prodigy")
    w = [nd.ones((2,)), nd.ones((3,))]
    states = [opt.create_state(i, x) for i, x in enumerate(w)]
    opt.update(0, w[0], nd.ones((2,)), states[0])
    with pytest.raises(RuntimeError, match="needs all parameters of a step in one call"):
        opt.update(1, w[1], nd.ones((3,)), states[1])


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_states_continue_bit_for_bit(name, tmp_path):
    net, X, y = _net_and_data()
    trainer = gluon.Trainer(net.collect_params(), name,
                            {"lr_scheduler": Cosine(1.0, cycle_length=20)})
    _train(net, trainer, X, y, 6)
    net.save_parameters(str(tmp_path / "p"))
    trainer.save_states(str(tmp_path / "s"))
    d_saved = trainer.optimizer.d
    _train(net, trainer, X, y, 6, start=6)
    want, want_d = _weights(net), trainer.optimizer.d

    net2, _, _ = _net_and_data(seed=9)
    trainer2 = gluon.Trainer(net2.collect_params(), name)
    net2.load_parameters(str(tmp_path / "p"))
    trainer2.load_states(str(tmp_path / "s"))
    assert trainer2.optimizer.d == d_saved and trainer2.optimizer.k == 6
    assert isinstance(trainer2.optimizer.lr_scheduler, Cosine)
    _train(net2, trainer2, X, y, 6, start=6)
    assert trainer2.optimizer.d == want_d
    for a, b in zip(want, _weights(net2)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_keeps_the_global_state(name):
    net, X, y = _net_and_data()
    trainer = gluon.Trainer(net.collect_params(), name)
    _train(net, trainer, X, y, 5)
    clone = pickle.loads(pickle.dumps(trainer.optimizer))
    assert type(clone) is type(trainer.optimizer)
    assert clone.state_dict() == trainer.optimizer.state_dict()
    assert clone.d == trainer.optimizer.d > clone.d0


def test_scheduler_is_a_multiplier_and_keeps_its_own_base_rate():
    schedule = Cosine(0.5, cycle_length=10)
    opt = mx.optimizer.create("prodigy", lr_scheduler=schedule)
    assert opt.learning_rate == schedule(0) and schedule.max_lr == 0.5
    opt = mx.optimizer.create("prodigy", learning_rate=2.0)
    assert opt.learning_rate == 2.0
    assert mx.optimizer.create("dadaptsgd").learning_rate == 1.0


def test_multiplier_scales_the_step():
    # the first step moves by learning_rate * d0-scaled Adam step: twice the multiplier, twice
    # the move
    moves = []
    for lr in (1.0, 2.0):
        opt = mx.optimizer.create("prodigy", learning_rate=lr, d0=1e-3)
        w = nd.array([1.0, -1.0])
        mx.optimizer.get_updater(opt)([0], [nd.array([0.5, 0.25])], [w])
        moves.append(1 - w.asnumpy()[0])
    assert moves[1] == pytest.approx(2 * moves[0], rel=1e-5)


def test_set_learning_rate_changes_the_multiplier():
    net, X, y = _net_and_data()
    trainer = gluon.Trainer(net.collect_params(), "prodigy")
    trainer.set_learning_rate(0.25)
    assert trainer.optimizer.learning_rate == 0.25


@pytest.mark.parametrize("kwargs,match", [
    ({"d0": 0}, r"d0 must be a finite number > 0, got 0"),
    ({"d0": "x"}, r"d0 must be a number, got 'x'"),
    ({"beta1": 1.0}, r"beta1 must be in \[0, 1\), got 1.0"),
    ({"beta2": -0.1}, r"beta2 must be in \[0, 1\), got -0.1"),
    ({"epsilon": 0.0}, r"epsilon must be a finite number > 0, got 0.0"),
    ({"d_coef": -1}, r"d_coef must be a finite number > 0, got -1"),
    ({"growth_rate": 0.5}, r"growth_rate must be >= 1 \(inf for no limit\), got 0.5"),
    ({"learning_rate": -1.0}, r"learning_rate must be >= 0 .*got -1.0"),
    ({"multi_precision": True}, r"multi_precision=True is not supported by Prodigy"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        lrfree.Prodigy(**kwargs)


def test_dadapt_sgd_momentum_is_checked():
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.5"):
        lrfree.DAdaptSGD(momentum=1.5)


def test_a_layer_multiplier_is_refused_and_zero_freezes():
    net, X, y = _net_and_data()
    params = list(net.collect_params().values())
    params[0].lr_mult = 2.0
    trainer = gluon.Trainer(net.collect_params(), "prodigy")
    with pytest.raises(ValueError, match=r"lr_mult must be 1 .* has lr_mult=2.0"):
        _train(net, trainer, X, y, 1)
    net, X, y = _net_and_data()
    params = list(net.collect_params().values())
    params[0].lr_mult = 0.0
    net(X[:2])
    frozen = params[0].data().asnumpy()
    trainer = gluon.Trainer(net.collect_params(), "prodigy")
    _train(net, trainer, X, y, 3)
    np.testing.assert_array_equal(params[0].data().asnumpy(), frozen)
    assert np.abs(params[2].data().asnumpy()).sum() > 0


def test_float16_weights_are_refused():
    opt = lrfree.DAdaptSGD()
    with pytest.raises(TypeError, match="float32/float64 weights; parameter 0 is float16"):
        opt.create_state(0, nd.ones((2,), dtype="float16"))


@pytest.mark.slow
def test_importing_gluon_lr_alone_does_not_register_but_the_export_does():
    import subprocess
    code = ("import mxnet as mx, gluon_lr; r = mx.optimizer.Optimizer.opt_registry; "
            "a = 'prodigy' in r; gluon_lr.Prodigy; print(a, 'prodigy' in r, "
            "'dadaptsgd' in r, 'dadaptadam' in r)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), check=True).stdout.split()
    assert out == ["False", "True", "True", "True"]


# ---- the range test's snapshot restores d ---------------------------------------------------
@pytest.mark.filterwarnings("ignore:no learning rate could be suggested")
@pytest.mark.parametrize("name", ["prodigy", "dadaptsgd"])
def test_find_lr_on_an_lr_free_trainer_restores_d_and_continues_exactly(name):
    from gluon_lr import Learner

    def setup():
        net, X, y = _net_and_data()
        trainer = gluon.Trainer(net.collect_params(), name)
        _train(net, trainer, X, y, 5)
        return net, trainer, X, y

    net, trainer, X, y = setup()
    before = trainer.optimizer.state_dict()
    opt = trainer.optimizer
    Learner(net, (X.asnumpy(), y.asnumpy()), trainer=trainer, batch_size=16).find_lr(
        start_lr=1e-3, end_lr=10, num_iter=15)
    assert trainer.optimizer is opt
    assert opt.state_dict() == before
    _train(net, trainer, X, y, 5, start=5)
    ref_net, ref_trainer, _, _ = setup()
    _train(ref_net, ref_trainer, X, y, 5, start=5)
    assert opt.d == ref_trainer.optimizer.d
    for a, b in zip(_weights(net), _weights(ref_net)):
        np.testing.assert_array_equal(a, b)


# ---- a 2-worker dist_sync job ------------------------------------------------------------
def _launch_workers(tmp_path, mode, name):
    import json

    from gluon_lr.launch import launch
    here = os.path.dirname(os.path.abspath(__file__))
    env = {"PYTHONPATH": os.pathsep.join([os.path.join(here, ".."),
                                          os.environ.get("PYTHONPATH", "")])}
    code = launch([sys.executable, os.path.join(here, "dist_lr_free_worker.py"), str(tmp_path),
                   mode, name], num_workers=2, num_servers=1, timeout=150, env=env)
    assert code == 0
    return [json.loads((tmp_path / "worker{}.json".format(r)).read_text()) for r in (0, 1)]


@pytest.mark.distributed
def test_two_dist_sync_workers_end_with_the_same_weights_and_d(tmp_path):
    a, b = _launch_workers(tmp_path, "train", "prodigy")
    assert a["workers"] == b["workers"] == 2
    assert a["weights"] == b["weights"]
    assert a["d"] == b["d"] > 1e-4
    assert a["k"] == b["k"] == 20
    for w in (a, b):
        assert w["loss"] < 0.5 * w["first_loss"]


@pytest.mark.distributed
def test_dist_optimizer_on_the_servers_is_refused_on_the_workers(tmp_path):
    for w in _launch_workers(tmp_path, "refuse", "prodigy"):
        assert "update_on_kvstore=False" in w["error"]
        assert "one parameter at a time" in w["error"]


@pytest.mark.parametrize("name", ["prodigy", "DAdaptSGD", "dadaptadam"])
def test_cli_find_with_an_lr_free_optimizer_explains_in_one_line(name, capsys):
    from gluon_lr.cli import main
    assert main(["find", "--data", "digits", "--optimizer", name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is learning-rate-free" in err and "nothing to find" in err
    assert "multiplier" in err


def test_lr_free_message_is_none_for_ordinary_optimizers():
    assert lrfree.lr_free_message("sgd") is None
    assert lrfree.lr_free_message(mx.optimizer.Adam()) is None
    assert lrfree.lr_free_message("no-such-optimizer") is None
    assert "Prodigy is learning-rate-free" in lrfree.lr_free_message(lrfree.Prodigy())


def test_states_saved_on_one_device_resume_on_two(tmp_path):
    # A new device joins as a follower of the restored step count: d still advances once per
    # step, and both copies stay identical.
    ctxs = [mx.cpu(0), mx.cpu(1)]
    one, X, y = _net_and_data()
    t1 = gluon.Trainer(one.collect_params(), "prodigy")
    _train(one, t1, X, y, 4)
    one.save_parameters(str(tmp_path / "p"))
    t1.save_states(str(tmp_path / "s"))
    _train(one, t1, X, y, 4, start=4)

    two, _, _ = _net_and_data(ctx=ctxs)
    two(X[:2].as_in_context(ctxs[0]))
    two.load_parameters(str(tmp_path / "p"), ctx=ctxs)
    t2 = gluon.Trainer(two.collect_params(), "prodigy", update_on_kvstore=False)
    t2.load_states(str(tmp_path / "s"))
    _train(two, t2, X, y, 4, ctxs=ctxs, start=4)
    assert t2.optimizer.k == t1.optimizer.k == 8
    assert t2.optimizer.d == pytest.approx(t1.optimizer.d, rel=1e-4)
    for a, b in zip(_weights(two, ctxs[0]), _weights(two, ctxs[1])):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_weights(one), _weights(two, ctxs[0])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_global_state_is_rebound_not_mutated_so_a_shallow_dict_copy_is_a_snapshot():
    net, X, y = _net_and_data()
    trainer = gluon.Trainer(net.collect_params(), "prodigy")
    _train(net, trainer, X, y, 3)
    opt = trainer.optimizer
    shallow = dict(opt.__dict__)
    before = opt.state_dict()
    _train(net, trainer, X, y, 3, start=3)
    assert opt.state_dict() != before
    opt.__dict__.clear()
    opt.__dict__.update(shallow)
    after = opt.state_dict()
    # MXNet's own per-index counters are changed in place; everything of ours comes back
    for key in before:
        if key not in ("_all_index_update_counts", "_index_update_count"):
            assert after[key] == before[key], key


def test_rescale_and_clip_apply_before_the_update():
    def run(grad, **kw):
        opt = mx.optimizer.create("prodigy", d0=1e-3, **kw)
        w = nd.array([1.0, -1.0, 0.5])
        upd = mx.optimizer.get_updater(opt)
        for _ in range(3):
            upd([0], [nd.array(grad)], [w])
        return w.asnumpy(), opt.d
    w1, d1 = run([0.5, -0.25, 1.0])
    w2, d2 = run([1.0, -0.5, 2.0], rescale_grad=0.5)
    np.testing.assert_allclose(w1, w2, rtol=1e-6)
    assert d1 == pytest.approx(d2, rel=1e-6)
    w3, _ = run([0.5, -0.25, 0.3])
    w4, _ = run([0.5, -0.25, 5.0], clip_gradient=0.3)
    np.testing.assert_allclose(w3, w4, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["prodigy", "DAdaptSGD"])
def test_learner_builds_an_lr_free_trainer_that_updates_locally_on_two_devices(optimizer):
    from gluon_lr import Learner
    rs = np.random.RandomState(0)
    X, y = rs.rand(32, 4).astype("float32"), rs.randint(0, 2, 32).astype("float32")
    net = gluon.nn.Dense(2)
    learner = Learner(net, (X, y), optimizer=optimizer, ctx=[mx.cpu(0), mx.cpu(1)],
                      batch_size=8)
    # The Trainer's default on two devices runs the optimizer in the kvstore, which LR-free
    # optimizers refuse; the Learner asks for local updates instead.
    assert learner.trainer._kvstore_params["update_on_kvstore"] is False
    learner.train_step(nd.array(X[:8]), nd.array(y[:8]))
    weights = [w.asnumpy() for w in net.weight.list_data()]
    np.testing.assert_array_equal(weights[0], weights[1])
    assert learner.trainer.optimizer.d > 0
