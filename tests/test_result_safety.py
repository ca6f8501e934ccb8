"""A range test's result is safe to hand to MXNet: a plain float, or a clear error."""
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import make_data, make_net
from gluon_lr import LRFinderResult, NoSuggestion
from test_suggest import valley_curve


def good_result():
    lrs, losses = valley_curve(noise=0.03)
    return LRFinderResult(lrs, losses)


def empty_result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return LRFinderResult(np.geomspace(1e-4, 1, 30), np.linspace(1, 5, 30))


def one_step(trainer, net, X, y):
    with mx.autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(mx.nd.array(X)), mx.nd.array(y))
    loss.backward()
    trainer.step(X.shape[0])
    mx.nd.waitall()


@pytest.mark.parametrize("use", [
    lambda r: r * 2, lambda r: 2 * r, lambda r: r + 1, lambda r: 1 - r, lambda r: r / 3,
    lambda r: r ** 2, lambda r: -r, lambda r: r < 0.1, lambda r: round(r), lambda r: int(r)])
def test_result_is_not_a_number(use):
    with pytest.raises(TypeError, match=r"pass float\(result\) \(or result.lr\)"):
        use(good_result())


def test_float_is_the_suggestion_and_format_works():
    r = good_result()
    assert type(float(r)) is float and float(r) == r.lr
    assert "{:.2e}".format(r) == "{:.2e}".format(r.lr)
    assert "{:.3g}".format(empty_result()) == "nan"


def test_no_suggestion_raises_a_value_error_with_the_diagnosis():
    r = empty_result()
    with pytest.raises(NoSuggestion, match="the loss never decreased: lower start_lr"):
        float(r)
    assert issubclass(NoSuggestion, ValueError)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("make", [good_result, empty_result])
def test_result_as_learning_rate_fails_at_the_first_step_and_leaves_weights(optimizer, make):
    # Before: SGD/Adam took the object (Adam with a NaN result turned every weight NaN).
    X, y = make_data(n=8)
    net = make_net()
    net(mx.nd.array(X))
    before = net[0].weight.data().asnumpy().copy()
    trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": make()})
    with pytest.raises(TypeError, match=r"pass float\(result\)"):
        one_step(trainer, net, X, y)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)


def test_result_still_pickles():
    r = good_result()
    back = pickle.loads(pickle.dumps(r))
    assert back.lr == r.lr and np.array_equal(back.losses, r.losses)


def test_trainer_states_after_the_readme_pattern_load_without_gluon_lr(tmp_path):
    X, y = make_data(n=16)
    net = make_net()
    result = good_result()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": float(result), "momentum": 0.9})
    one_step(trainer, net, X, y)
    states = tmp_path / "trainer.states"
    trainer.save_states(str(states))
    net.save_parameters(str(tmp_path / "net.params"))
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "gluon_lr" or name.startswith("gluon_lr."):
                    raise ModuleNotFoundError("No module named " + repr(name))
        sys.meta_path.insert(0, Block())
        try:
            import gluon_lr
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("gluon_lr was importable")
        import mxnet as mx
        from mxnet import gluon
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(3))
        net.load_parameters(sys.argv[1])
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
        trainer.load_states(sys.argv[2])
        lr = trainer.learning_rate
        assert type(lr) is float, type(lr)
        print(repr(lr))
    """)
    env = dict(os.environ, PYTHONPATH="")
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "net.params"),
                           str(states)], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.strip().splitlines()[-1]) == result.lr


@pytest.mark.parametrize("lrs, losses, match", [
    (np.ones((10, 2)), np.ones((10, 2)), "lrs must be one-dimensional"),
    (np.geomspace(1e-3, 1, 10), np.ones((10, 1)), "losses must be one-dimensional"),
    (1.0, 2.0, "lrs must be one-dimensional"),
    (["a"] * 10, [1.0] * 10, "lrs and losses must be sequences of numbers"),
])
def test_curve_shape_is_checked(lrs, losses, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LRFinderResult(lrs, losses)
