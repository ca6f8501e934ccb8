import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import assert_same, capture, expect_no_suggestion, make_data, make_net, quick
from gluon_lr import ContinuousBatchSampler, Learner, LRFinderResult


def test_issue_example_and_result_is_a_learning_rate(data):
    X, y = data
    net = make_net(init=False)
    learner = Learner(net, (X, y), loss=gluon.loss.SoftmaxCrossEntropyLoss(),
                      optimizer="sgd", optimizer_params={"momentum": 0.9}, batch_size=16)
    result = quick(learner, num_iter=40)
    assert result.lr is not None and 1e-4 <= result.lr <= 1.0
    assert float(result) == result.lr
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": float(result)})
    with mx.autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(mx.nd.array(X[:8])), mx.nd.array(y[:8]))
    loss.backward()
    trainer.step(8)
    assert trainer.learning_rate == result.lr and type(trainer.learning_rate) is float
    assert np.isfinite(net[0].weight.data().asnumpy()).all()


def test_proposal_example_with_data_loader_and_ctx(data):
    X, y = data
    net = make_net()
    ds = gluon.data.ArrayDataset(mx.nd.array(X), mx.nd.array(y))
    loader = gluon.data.DataLoader(
        ds, batch_sampler=ContinuousBatchSampler(gluon.data.RandomSampler(len(ds)), 16))
    learner = Learner(net=net, data_loader=loader, ctx=mx.cpu())
    with expect_no_suggestion(": the loss hardly changed"):  # 10 steps
        lr = learner.find_lr(num_iter=10, progress=False, extend=0)
    assert isinstance(lr, LRFinderResult) and len(lr.lrs) == 10
    assert isinstance(learner.loss, gluon.loss.SoftmaxCrossEntropyLoss)


def test_uninitialised_net_is_xavier_initialised(data):
    net = make_net(init=False)
    Learner(net, data)
    assert isinstance(net[0].weight._deferred_init[0], mx.init.Xavier)


def test_initialised_net_keeps_its_weights(data):
    net = make_net()
    net(mx.nd.array(data[0][:2]))
    w = net[0].weight.data().asnumpy().copy()
    quick(Learner(net, data, batch_size=16))
    np.testing.assert_array_equal(w, net[0].weight.data().asnumpy())


@pytest.mark.parametrize("hybridize", [False, True])
def test_deferred_shapes_and_hybridized(data, hybridize):
    net = make_net()  # Dense without in_units: shapes unknown until the first batch
    if hybridize:
        net.hybridize()
    assert net[0].weight._data is None
    learner = Learner(net, data, batch_size=16)
    r = quick(learner)
    assert len(r.lrs) == 15
    assert net[0].weight.shape == (8, 6)
    # Restored to the weights the first forward pass materialised, and can train on.
    before = capture(net, learner.trainer)
    quick(learner)
    assert_same(before, capture(net, learner.trainer))


def test_dataiter_input(data):
    X, y = data
    it = mx.io.NDArrayIter(X, y, batch_size=16, shuffle=True)
    r = quick(Learner(make_net(), it), num_iter=12)
    assert len(r.lrs) == 12


def test_regression_with_l2_loss():
    rs = np.random.RandomState(0)
    X = rs.rand(64, 3).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5], dtype="float32"))[:, None]
    net = gluon.nn.Dense(1)
    r = quick(Learner(net, (X, y), loss=gluon.loss.L2Loss(), batch_size=16), num_iter=30)
    assert np.isfinite(r.losses[:5]).all()


def test_two_cpu_contexts_restore_every_copy(data):
    X, y = data
    ctx = [mx.cpu(0), mx.cpu(1)]
    net = make_net(batchnorm=True, init=False)
    learner = Learner(net, data, ctx=ctx, optimizer="sgd",
                      optimizer_params={"momentum": 0.9}, batch_size=16)
    learner.materialize(mx.nd.array(X[:16]), mx.nd.array(y[:16]))
    before = capture(net, learner.trainer)
    r = quick(learner)
    assert len(r.lrs) == 15
    after = capture(net, learner.trainer)
    for k in before["params"]:
        assert len(after["params"][k]) == 2
        for a, b in zip(before["params"][k], after["params"][k]):
            np.testing.assert_array_equal(a, b)
    assert before["num_update"] == after["num_update"]


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"loss": "mse"}, TypeError, "loss must be callable"),
    ({"optimizer": "sgdd"}, ValueError, "unknown optimizer 'sgdd'"),
    ({"optimizer": 3}, TypeError, "optimizer must be a name"),
    ({"optimizer_params": [1]}, TypeError, "optimizer_params must be a dict"),
    ({"ctx": "cpu"}, TypeError, "ctx must be an mx.Context"),
    ({"ctx": [mx.cpu(0), mx.cpu(0)]}, ValueError, "ctx lists a context twice"),
    ({"batch_size": 1000}, ValueError, "batch_size=1000 is larger than the data"),
    ({"trainer": "t"}, TypeError, "trainer must be a gluon.Trainer"),
])
def test_bad_learner_arguments(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Learner(make_net(), data, **kwargs)


def test_bad_net_and_missing_data(data):
    with pytest.raises(TypeError, match="net must be a gluon.Block"):
        Learner(lambda x: x, data)
    with pytest.raises(TypeError, match="Learner needs training data"):
        Learner(make_net())
    with pytest.raises(TypeError, match="either data= or data_loader="):
        Learner(make_net(), data, data_loader=data)


def test_ctx_mismatch_is_explained(data):
    net = make_net()
    with pytest.raises(ValueError, match="differs from the contexts the net is initialised on"):
        Learner(net, data, ctx=[mx.cpu(0), mx.cpu(1)])


def test_trainer_and_optimizer_together_is_an_error(data):
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    with pytest.raises(ValueError, match="cannot be combined with trainer="):
        Learner(net, data, trainer=trainer, optimizer="adam")
    other = make_net()
    with pytest.raises(ValueError, match="does not train this net"):
        Learner(net, data, trainer=gluon.Trainer(other.collect_params(), "sgd"))


def test_result_repr(data):
    r = quick(Learner(make_net(), data, batch_size=16))
    text = repr(r)
    assert text.startswith("LRFinderResult(lr=") and "iterations=15" in text
    assert "stop_reason=" in text
    assert r.lr is None or float(r) == r.lr


def test_net_that_cannot_take_the_data_is_explained(data):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, 3), gluon.nn.Dense(3))
    learner = Learner(net, data, batch_size=16)
    with pytest.raises(ValueError, match=r"the net cannot take a batch of data with shape \(16, 6\)"):
        quick(learner)


def test_loss_that_cannot_take_the_output_is_explained(data):
    X, y = data
    learner = Learner(make_net(), (X, np.zeros((len(X), 5, 7), dtype="float32")),
                      loss=gluon.loss.L2Loss(), batch_size=16)
    with pytest.raises(ValueError, match=r"the loss cannot compare the net's output of shape "
                                         r"\(8, 3\) with labels of shape \(16, 5, 7\)"):
        quick(learner)
    bad = Learner(make_net(), data, loss=lambda out, label: 3.0, batch_size=16)
    with pytest.raises(ValueError, match="the loss returned float, not an NDArray"):
        quick(bad)


def test_unavailable_gpu_is_named_before_anything_runs(data):
    with pytest.raises(ValueError, match=r"ctx gpu\(0\) is not available: this MXNet build "
                                         r"sees 0 GPU\(s\) \(it is a CPU-only build\)"):
        Learner(make_net(init=False), data, ctx=mx.gpu(0))
    with pytest.raises(ValueError, match=r"ctx gpu\(1\) is not available"):
        Learner(make_net(init=False), data, ctx=[mx.cpu(), mx.gpu(1)])


def test_gpu_contexts_are_accepted_when_the_build_has_them(monkeypatch):
    from gluon_lr.learner import _as_contexts
    monkeypatch.setattr(mx.context, "num_gpus", lambda: 2)
    assert _as_contexts([mx.gpu(0), mx.gpu(1)]) == [mx.gpu(0), mx.gpu(1)]
    assert _as_contexts(mx.gpu(1)) == [mx.gpu(1)]


def test_frozen_net_is_refused(data):
    net = make_net()
    net(mx.nd.array(data[0][:2]))
    net.collect_params().setattr("grad_req", "null")
    with pytest.raises(ValueError, match="net has no trainable parameters"):
        Learner(net, data)
