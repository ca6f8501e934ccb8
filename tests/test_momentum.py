import numpy as np
import pytest
from mxnet import gluon

from conftest import make_data, make_net, train_steps
from gluon_lr.schedules import (Constant, MomentumCycler, Offset, OneCycle, apply_momentum,
                                cycle_momentum)

# torch OneCycleLR(max_lr=0.1, total_steps=10) momentum, base 0.85, max 0.95
TORCH_MOMENTUM = [0.95, 0.9, 0.85, 0.8549515566, 0.8688255099, 0.8888739533, 0.9111260467,
                  0.9311744901, 0.9450484434, 0.95]


def _spy_momentum(trainer, seen):
    real = trainer.optimizer.update_multi_precision

    def spy(*args, **kwargs):
        seen.append(trainer.optimizer.momentum)
        return real(*args, **kwargs)
    trainer.optimizer.update_multi_precision = spy


def test_cycle_momentum_applies_one_cycle_momentum_at_every_step():
    X, y = make_data(n=32)
    net = make_net()
    s = OneCycle(0.1, 10)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": s, "momentum": 0.9})
    cycler = cycle_momentum(trainer)
    assert isinstance(cycler, MomentumCycler)
    seen = []
    _spy_momentum(trainer, seen)
    for _ in range(10):
        train_steps(net, trainer, X, y, 1)  # a plain loop: no call before trainer.step
    # one value per step (SGD updates all parameters in one aggregated call)
    steps = [seen[i] for i in range(0, len(seen), len(seen) // 10)]
    np.testing.assert_allclose(steps, TORCH_MOMENTUM, atol=1e-10)
    cycler.detach()
    assert trainer.optimizer.momentum == 0.9 and "step" not in trainer.__dict__
    train_steps(net, trainer, X, y, 1)
    assert trainer.optimizer.momentum == 0.9


def test_cycle_momentum_follows_the_attached_scheduler_after_load_states(tmp_path):
    X, y = make_data(n=32)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "adam",
                            {"lr_scheduler": Offset(OneCycle(0.1, 10), 2)})
    with cycle_momentum(trainer):
        train_steps(net, trainer, X, y, 3)  # steps 1-3; the Offset's step 1 is step 3
        assert trainer.optimizer.beta1 == pytest.approx(TORCH_MOMENTUM[0])
        trainer.save_states(str(tmp_path / "t.states"))
        trainer.load_states(str(tmp_path / "t.states"))  # a fresh optimizer object
        train_steps(net, trainer, X, y, 2)
        assert trainer.optimizer.beta1 == pytest.approx(TORCH_MOMENTUM[2])  # step 5
    assert trainer.optimizer.beta1 == 0.9  # restored on leaving the block


def test_cycle_momentum_with_an_explicit_schedule_and_update():
    X, y = make_data(n=32)
    net = make_net()
    s = OneCycle(0.1, 10)
    trainer = gluon.Trainer(net.collect_params(), "nag", {"momentum": 0.9})
    cycle_momentum(trainer, s)
    from mxnet import autograd, nd
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(nd.array(X)), nd.array(y))
    loss.backward()
    trainer.allreduce_grads()
    trainer.update(32)
    assert trainer.optimizer.momentum == pytest.approx(TORCH_MOMENTUM[0])


@pytest.mark.parametrize("make,exc,match", [
    (lambda: gluon.Trainer(make_net().collect_params(), "sgd",
                           {"lr_scheduler": OneCycle(0.1, 10)}), ValueError,
     "created with momentum=0"),
    (lambda: gluon.Trainer(make_net().collect_params(), "sgd",
                           {"lr_scheduler": Constant(0.1), "momentum": 0.9}), TypeError,
     "has no momentum"),
    (lambda: gluon.Trainer(make_net().collect_params(), "adagrad",
                           {"lr_scheduler": OneCycle(0.1, 10)}), TypeError,
     "neither momentum nor beta1"),
])
def test_cycle_momentum_refuses_what_it_cannot_cycle(make, exc, match):
    with pytest.raises(exc, match=match):
        cycle_momentum(make())


def test_apply_momentum_follows_an_offset():
    trainer = gluon.Trainer(make_net().collect_params(), "sgd",
                            {"momentum": 0.9, "learning_rate": 0.1})
    apply_momentum(trainer, Offset(OneCycle(0.1, 10), 1))  # next step 1 -> OneCycle step 1
    assert trainer.optimizer.momentum == 0.95
    with pytest.raises(TypeError, match="has no momentum"):
        apply_momentum(trainer, Constant(0.1))


def test_estimator_momentum_handler():
    import warnings
    from mxnet.gluon.contrib.estimator import Estimator
    from gluon_lr.estimator import MomentumHandler
    X, y = make_data(n=64)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=8)
    net = make_net()
    s = OneCycle(0.1, 16)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": s, "momentum": 0.9})
    seen = []
    _spy_momentum(trainer, seen)
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(loader, epochs=2, event_handlers=[MomentumHandler()])
    per_step = seen[::len(seen) // 16]
    np.testing.assert_allclose(per_step, [s.momentum(t) for t in range(1, 17)], atol=1e-10)
    # with a scheduler that has no momentum, the handler does nothing
    trainer2 = gluon.Trainer(make_net().collect_params(), "sgd",
                             {"learning_rate": 0.1, "momentum": 0.9})
    MomentumHandler().batch_begin(type("E", (), {"trainer": trainer2})())
    assert trainer2.optimizer.momentum == 0.9


def test_lr_finder_handler_applying_one_cycle_also_cycles_momentum():
    import warnings
    from mxnet.gluon.contrib.estimator import Estimator
    from gluon_lr.estimator import LRFinderHandler
    X, y = make_data(n=64)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=8)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9,
                                                          "learning_rate": 0.01})
    est = Estimator(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    finder = LRFinderHandler(start_lr=1e-4, end_lr=10, num_iter=60, progress=False,
                             apply="one_cycle", total_steps=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with finder:
            est.fit(loader, epochs=100, event_handlers=[finder])
        assert trainer.optimizer.momentum == 0.9  # the sweep left it as it was
        sched = finder.applied
        seen = []
        _spy_momentum(trainer, seen)
        est.fit(loader, epochs=2)  # plain training: no handler, no call in the loop
    per_step = seen[::len(seen) // 16]
    np.testing.assert_allclose(per_step, [sched.momentum(t) for t in range(1, 17)], atol=1e-10)
