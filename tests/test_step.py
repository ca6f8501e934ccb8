"""The training step on its own, and the module layout around it."""
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import make_data, make_net
from gluon_lr import Learner, TrainingStep


def test_finder_and_compare_do_not_import_the_learner():
    code = ("import sys, gluon_lr.finder, gluon_lr.compare, gluon_lr.step; "
            "print('gluon_lr.learner' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_learner_trains_through_its_step_and_shares_its_attributes(data):
    learner = Learner(make_net(), data, batch_size=16)
    assert isinstance(learner.step, TrainingStep)
    loss = gluon.loss.L1Loss()
    learner.loss = loss
    assert learner.step.loss is loss
    assert learner.step.net is learner.net and learner.step.trainer is learner.trainer
    assert learner.step.ctx == learner.ctx == [mx.cpu()]


def test_train_on_a_pair_equals_a_hand_written_step():
    X, y = make_data(n=16)
    nets = [make_net(), make_net()]
    for n in nets:
        n(mx.nd.array(X[:1]))
    for a, b in zip(nets[0].collect_params().values(), nets[1].collect_params().values()):
        b.set_data(a.data())  # the same weights
    ce = gluon.loss.SoftmaxCrossEntropyLoss()
    trainers = [gluon.Trainer(n.collect_params(), "sgd", {"learning_rate": 0.1}) for n in nets]
    xb, yb = mx.nd.array(X), mx.nd.array(y)
    step = TrainingStep(nets[0], ce, trainers[0], [mx.cpu()])
    got = step.train((xb, yb)).asscalar()
    with mx.autograd.record():
        ref = ce(nets[1](xb), yb)
    ref.backward()
    trainers[1].step(16)
    assert got == pytest.approx(ref.mean().asscalar())
    for a, b in zip(nets[0].collect_params().values(), nets[1].collect_params().values()):
        np.testing.assert_allclose(a.data().asnumpy(), b.data().asnumpy(), rtol=1e-6)


def test_split_cuts_every_input_and_the_label():
    step = TrainingStep(make_net(init=False), None, None, [mx.cpu(0), mx.cpu(1)])
    a, b, y = mx.nd.arange(10), mx.nd.arange(10) * 2, mx.nd.arange(10) * 3
    parts = step.split((a, b), y)
    assert len(parts) == 2
    assert [p[0][0].shape[0] for p in parts] == [5, 5]
    np.testing.assert_array_equal(parts[1][0][1].asnumpy(), b.asnumpy()[5:])
    np.testing.assert_array_equal(parts[1][1].asnumpy(), y.asnumpy()[5:])
    with pytest.raises(ValueError, match="a batch of 1 samples cannot be split across 2"):
        step.split((a[:1],), y[:1])
