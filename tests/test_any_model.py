"""Any Gluon model and training step: batch_fn, several inputs and outputs, grad_req="add",
accumulation that keeps the user's gradient arrays, start_lr/num_iter from the learner."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import (assert_same, capture, expect_no_suggestion, make_data, make_net,
                      quick)
from gluon_lr import Learner

ce = gluon.loss.SoftmaxCrossEntropyLoss()


class TwoInputs(gluon.HybridBlock):
    """Two inputs of different widths, one output."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = gluon.nn.Dense(8, activation="relu")
        self.b = gluon.nn.Dense(8, activation="relu")
        self.out = gluon.nn.Dense(3)

    def hybrid_forward(self, F, x1, x2):
        return self.out(F.concat(self.a(x1), self.b(x2), dim=1))


class TwoHeads(gluon.HybridBlock):
    """One input, two outputs (a tuple)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = gluon.nn.Dense(8, activation="relu")
        self.head1 = gluon.nn.Dense(3)
        self.head2 = gluon.nn.Dense(3)

    def hybrid_forward(self, F, x):
        h = self.body(x)
        return self.head1(h), self.head2(h)


def two_input_data(n=96):
    X, y = make_data(n=n)
    return X[:, :4].copy(), X[:, 4:].copy(), y


def test_dataset_of_two_inputs_and_a_label_with_batch_fn():
    X1, X2, y = two_input_data()
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X1, X2, y), batch_size=16,
                                   shuffle=True)
    seen = []

    def batch_fn(batch):
        seen.append(len(batch))
        return (batch[0], batch[1]), batch[2]

    net = TwoInputs()
    learner = Learner(net, loader, batch_fn=batch_fn)
    r = quick(learner, num_iter=20)
    assert len(r.lrs) == 20 and np.isfinite(r.losses).all()
    assert set(seen) == {3}
    assert net.a.weight.shape == (8, 4) and net.b.weight.shape == (8, 2)


def test_a_batch_that_is_not_a_pair_names_batch_fn():
    X1, X2, y = two_input_data()
    learner = Learner(TwoInputs(), gluon.data.ArrayDataset(X1, X2, y), batch_size=16)
    with pytest.raises(TypeError, match=r"a batch must be a \(data, label\) pair, got a tuple "
                                        r"of 3; pass batch_fn="):
        quick(learner)
    bad = Learner(TwoInputs(), gluon.data.ArrayDataset(X1, X2, y), batch_size=16,
                  batch_fn=lambda b: b)
    with pytest.raises(TypeError, match="batch_fn must return .inputs, label., got a tuple of 3"):
        quick(bad)
    with pytest.raises(TypeError, match="batch_fn must be callable"):
        Learner(TwoInputs(), (X1, y), batch_fn="first")


def test_tuple_of_input_arrays_needs_no_batch_fn():
    X1, X2, y = two_input_data()
    net = TwoInputs()
    learner = Learner(net, ((X1, X2), y), batch_size=16)
    assert learner.steps_per_epoch == 6
    r = quick(learner, num_iter=40, start_lr=1e-3, end_lr=10.0)
    assert len(r.lrs) >= 20 and r.lr is not None
    before = capture(net, learner.trainer)
    quick(learner)
    assert_same(before, capture(net, learner.trainer))
    # and the schedule comparison trains and scores the same two-input net
    comparison = learner.compare_schedules(r, total_steps=16, candidates=["constant"],
                                           val_data=((X1, X2), y))
    assert len(comparison.history) == 2  # constant, and the auto choice it must beat
    assert comparison.best_name in comparison.history and comparison.steps == 8


def test_extra_fields_as_in_torch_lr_finders_extra_xor_task():
    rs = np.random.RandomState(0)
    X = rs.randint(0, 2, size=(128, 2)).astype("float32")
    y = np.logical_xor(X[:, 0], X[:, 1]).astype("float32")[:, None]
    extra = rs.rand(128, 2).astype("float32")  # fields the model does not use
    ds = gluon.data.ArrayDataset(X, y, extra, extra)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(4, activation="relu"), gluon.nn.Dense(1))
    learner = Learner(net, ds, loss=gluon.loss.L2Loss(), batch_size=8,
                      batch_fn=lambda b: (b[0], b[1]))
    r = quick(learner, num_iter=20)
    assert len(r.lrs) == 20 and np.isfinite(r.losses).all()
    plain = Learner(net, ds, loss=gluon.loss.L2Loss(), batch_size=8)
    with pytest.raises(TypeError, match="got a tuple of 4; pass batch_fn"):
        quick(plain)


class Tagger(gluon.HybridBlock):
    """Embedding -> Dense per token, as a POS tagger: (N, T) ids -> (N, T, tags)."""

    def __init__(self, vocab=20, tags=4, **kwargs):
        super().__init__(**kwargs)
        self.embed = gluon.nn.Embedding(vocab, 8)
        self.out = gluon.nn.Dense(tags, flatten=False)

    def hybrid_forward(self, F, ids):
        return self.out(self.embed(ids))


def _token_data(n=64, seed=0):
    rs = np.random.RandomState(seed)
    sents = []
    for _ in range(n):
        ids = rs.randint(1, 20, size=rs.randint(3, 9)).tolist()
        sents.append((ids, [i % 4 for i in ids]))  # the tag is a function of the token
    return sents


def _pad(batch):
    """Lists of token ids and tags -> padded NDArrays (0 is padding)."""
    width = max(len(ids) for ids, _ in batch)
    ids = np.zeros((len(batch), width), dtype="float32")
    tags = np.zeros((len(batch), width), dtype="float32")
    for k, (i, t) in enumerate(batch):
        ids[k, :len(i)], tags[k, :len(t)] = i, t
    return mx.nd.array(ids), mx.nd.array(tags)


def test_token_lists_as_in_torch_lr_finders_pos_tagger():
    loader = gluon.data.DataLoader(gluon.data.SimpleDataset(_token_data()), batch_size=8,
                                   shuffle=True, batchify_fn=list)
    net = Tagger()
    learner = Learner(net, loader, loss=gluon.loss.SoftmaxCrossEntropyLoss(axis=-1),
                      batch_fn=_pad)
    r = quick(learner, num_iter=20, start_lr=1e-3, end_lr=10.0)
    assert len(r.lrs) >= 10 and np.isfinite(r.losses[:10]).all()
    assert r.losses[0] > min(r.losses)  # it learns
    # without batch_fn: a TypeError naming batch_fn, not an AttributeError from deep inside
    sce = gluon.loss.SoftmaxCrossEntropyLoss(axis=-1)
    with pytest.raises(TypeError, match="got a list of 8; pass batch_fn"):
        quick(Learner(Tagger(), loader, loss=sce))
    columns = gluon.data.DataLoader(  # ([ids, ...], [tags, ...]): a pair, but of lists
        gluon.data.SimpleDataset(_token_data()), batch_size=8,
        batchify_fn=lambda s: ([a for a, _ in s], [b for _, b in s]))
    with pytest.raises(TypeError, match="the net's inputs must be NDArrays, got list; pass "
                                        "batch_fn"):
        quick(Learner(Tagger(), columns, loss=sce))


def test_multi_output_net_gets_a_tuple_in_its_loss():
    X, y = make_data()
    got = []

    def loss(out, label):
        got.append(type(out))
        return ce(out[0], label) + 0.5 * ce(out[1], label)

    net = TwoHeads()
    r = quick(Learner(net, (X, y), loss=loss, batch_size=16), num_iter=20)
    assert tuple in got
    assert len(r.lrs) == 20 and np.isfinite(r.losses).all()


def test_two_labels_for_two_outputs():
    X, y = make_data()
    y2 = (2 - y).astype("float32")

    def loss(out, label):
        return ce(out[0], label[0]) + ce(out[1], label[1])

    learner = Learner(TwoHeads(), (X, (y, y2)), loss=loss, batch_size=16,
                      ctx=[mx.cpu(0), mx.cpu(1)])
    assert learner.steps_per_epoch == 6
    r = quick(learner)
    assert len(r.lrs) == 15 and np.isfinite(r.losses).all()


def _copy_weights(src, dst, x):
    dst(*x)
    for a, b in zip(src.collect_params().values(), dst.collect_params().values()):
        b.set_data(a.data())


def test_several_contexts_split_every_input_and_the_label():
    X1, X2, y = two_input_data()
    curves = []
    ref = TwoInputs()
    ref.initialize(mx.init.Xavier())
    ref(mx.nd.array(X1[:2]), mx.nd.array(X2[:2]))
    for ctx in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        net = TwoInputs()
        net.initialize(mx.init.Xavier(), ctx=ctx)
        net(mx.nd.array(X1[:2], ctx=ctx[0]), mx.nd.array(X2[:2], ctx=ctx[0]))
        for a, b in zip(ref.collect_params().values(), net.collect_params().values()):
            b.set_data(a.data())
        loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X1, X2, y), batch_size=16)
        learner = Learner(net, loader, batch_fn=lambda b: ((b[0], b[1]), b[2]), ctx=ctx)
        curves.append(quick(learner, num_iter=10, stopping=lambda i, loss: False).losses)
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-4)


@pytest.mark.parametrize("hybridize", [False, True])
def test_grad_req_add_net_gets_the_curve_of_a_write_net(hybridize):
    X, y = make_data()
    curves = []
    for req in ("write", "add"):
        mx.random.seed(0)
        np.random.seed(0)
        net = make_net(init=False)
        net.initialize(mx.init.Xavier())
        if hybridize:
            net.hybridize()
        net(mx.nd.array(X[:2]))
        net.collect_params().setattr("grad_req", req)
        learner = Learner(net, (X, y), batch_size=16, optimizer_params={"momentum": 0.9})
        if req == "add":  # the user has accumulated gradients by hand
            with mx.autograd.record():
                loss = ce(net(mx.nd.array(X[:16])), mx.nd.array(y[:16]))
            loss.backward()
            before = capture(net, learner.trainer)
            grads = [p.grad().asnumpy().copy() for p in net.collect_params().values()]
        mx.random.seed(1)
        np.random.seed(1)
        curves.append(quick(learner, num_iter=30, stopping=lambda i, loss: False).losses)
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-5)
    assert_same(before, capture(net, learner.trainer))
    for p, g in zip(net.collect_params().values(), grads):
        assert p.grad_req == "add"
        np.testing.assert_array_equal(p.grad().asnumpy(), g)


def test_accumulate_keeps_the_users_gradient_arrays(data):
    net = make_net()
    net(mx.nd.array(data[0][:2]))
    cached = {p.name: p.grad() for p in net.collect_params().values()}
    learner = Learner(net, data, batch_size=16)
    seen = []

    def stopping(i, loss):
        seen.append(all(p.grad() is cached[p.name] for p in net.collect_params().values()))
        return False

    quick(learner, accumulate=2, stopping=stopping)
    assert seen and all(seen)  # during the sweep too
    for p in net.collect_params().values():
        assert p.grad() is cached[p.name] and p.grad_req == "write"
    # the cached arrays are still the ones backward writes into
    with mx.autograd.record():
        loss = ce(net(mx.nd.array(data[0][:8])), mx.nd.array(data[1][:8]))
    loss.backward()
    assert float(cached[net[0].weight.name].abs().sum().asscalar()) > 0


def test_accumulate_equals_one_big_batch():
    """Two accumulated batches of 8 step like one batch of 16 (same samples)."""
    X, y = make_data(n=16)
    curves = []
    for bs, acc in ((16, 1), (8, 2)):
        net = make_net(init=False)
        mx.random.seed(0)
        net.initialize(mx.init.Xavier())
        ds = gluon.data.ArrayDataset(X, y)
        loader = gluon.data.DataLoader(ds, batch_size=bs)  # in order: same samples per step
        learner = Learner(net, loader)
        curves.append(quick(learner, num_iter=8, accumulate=acc,
                            stopping=lambda i, loss: False).losses)
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-5)


def test_start_lr_none_starts_from_the_optimizers_rate(data):
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.003})
    r = quick(Learner(net, data, trainer=trainer, batch_size=16), start_lr=None)
    assert r.lrs[0] == pytest.approx(0.003)
    assert trainer.learning_rate == 0.003
    with pytest.raises(ValueError, match=r"end_lr must be greater than start_lr=0.003"):
        quick(Learner(net, data, trainer=trainer, batch_size=16), start_lr=None, end_lr=0.001)


def test_num_iter_none_is_one_pass_over_the_data(data):
    learner = Learner(make_net(), data, batch_size=16)  # 96 samples: 6 batches
    with expect_no_suggestion(": only 6 usable points"):
        r = learner.find_lr(num_iter=None, start_lr=1e-3, end_lr=1.0, progress=False,
                            stopping=lambda i, loss: False)
    assert len(r.lrs) == 6 and r.meta["num_iter"] == 6
    with expect_no_suggestion(": only 3 usable points"):
        r = learner.find_lr(num_iter=None, accumulate=2, start_lr=1e-3, progress=False,
                            stopping=lambda i, loss: False)
    assert len(r.lrs) == 3
    it = mx.io.NDArrayIter(data[0], data[1], batch_size=16)
    with pytest.raises(ValueError, match="num_iter=None means one pass over the data, but"):
        Learner(make_net(), it).find_lr(num_iter=None)
    with pytest.raises(ValueError, match=r"num_iter=None: one pass over the data is only 1"):
        Learner(make_net(), data, batch_size=64).find_lr(num_iter=None)


AMP_SCRIPT = r"""
import json
import mxnet as mx
import numpy as np
from mxnet import gluon
from mxnet.contrib import amp

amp.init(target_dtype="bfloat16")  # float16 has no CPU kernels in MXNet 1.9.1; bfloat16 has
from gluon_lr import Learner

mx.random.seed(0)
np.random.seed(0)
rs = np.random.RandomState(0)
y = rs.randint(0, 3, size=96)
X = (rs.randn(3, 6)[y] * 2 + rs.randn(96, 6)).astype("float32")
net = gluon.nn.HybridSequential()
net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(3))
net.initialize(mx.init.Xavier())
net.hybridize()
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01, "momentum": 0.9})
amp.init_trainer(trainer)
scaler = trainer._amp_loss_scaler
scaler._scale_seq_len = 2  # let the loss scale move during a short run
net(mx.nd.array(X[:2]))
before = (dict(scaler.__dict__), trainer._scale)
weights = net[0].weight.data().asnumpy().copy()
calls, scales = [], []
real_scale_loss = amp.scale_loss

def spy(loss, t):
    calls.append(t is trainer)
    return real_scale_loss(loss, t)

amp.scale_loss = spy
learner = Learner(net, (X, y.astype("float32")), trainer=trainer, batch_size=16)
r = learner.find_lr(start_lr=1e-3, end_lr=10.0, num_iter=20, repeats=1, progress=False,
                    stopping=lambda i, loss: scales.append(scaler.loss_scale) or False)
print(json.dumps({
    "calls": len(calls), "all_ours": all(calls), "scales": scales,
    "restored": dict(scaler.__dict__) == before[0] and trainer._scale == before[1],
    "weights": bool((net[0].weight.data().asnumpy() == weights).all()),
    "dtype": str(net(mx.nd.array(X[:2])).dtype), "losses": [float(v) for v in r.losses]}))
"""


@pytest.mark.slow
def test_amp_trainer_is_swept_with_loss_scaling_and_its_scaler_restored():
    import json
    import os
    import subprocess
    import sys
    # amp.init() patches MXNet for the whole process: run it in a fresh one.
    proc = subprocess.run([sys.executable, "-c", AMP_SCRIPT], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["calls"] == 20 and out["all_ours"]
    assert len(set(out["scales"])) > 1  # the loss scale moved during the run ...
    assert out["restored"] and out["weights"]  # ... and is back, as are the weights
    assert "bfloat16" in out["dtype"]
    assert np.isfinite(out["losses"]).all() and min(out["losses"]) < out["losses"][0]


def test_batch_fn_serves_validation_and_the_schedule_comparison_too():
    X1, X2, y = two_input_data()
    fn_calls = []

    def batch_fn(b):
        fn_calls.append(1)
        return (b[0], b[1]), b[2]

    def loader(shuffle):
        return gluon.data.DataLoader(gluon.data.ArrayDataset(X1, X2, y), batch_size=16,
                                     shuffle=shuffle, last_batch="discard")

    learner = Learner(TwoInputs(), loader(True), batch_fn=batch_fn)
    r = quick(learner, num_iter=40, start_lr=1e-3, end_lr=10.0, val_data=loader(False),
              val_batches=2)
    assert r.meta["val_batches"] == 2 and np.isfinite(r.losses[:10]).all()
    assert len(fn_calls) >= 3 * len(r.losses)  # a training batch and two held-out ones per step
    comparison = learner.compare_schedules(r, total_steps=24,
                                           candidates=["constant", "one_cycle"],
                                           val_data=loader(False))
    assert comparison.select == "accuracy" and comparison.best_name in comparison.history
    assert {row["name"].split("@")[0] for row in comparison.table()} >= {"constant", "one_cycle"}
