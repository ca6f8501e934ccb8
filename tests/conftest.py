import os
import warnings

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from mxnet import gluon  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_close_figures():
    mx.random.seed(0)
    np.random.seed(0)
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def make_data(n=96, d=6, classes=3, seed=0):
    rs = np.random.RandomState(seed)
    centers = rs.randn(classes, d) * 2
    y = rs.randint(0, classes, size=n)
    X = (centers[y] + rs.randn(n, d)).astype("float32")
    return X, y.astype("float32")


def make_net(hidden=8, classes=3, batchnorm=False, dropout=False, init=True):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(hidden, activation="relu"))
    if batchnorm:
        net.add(gluon.nn.BatchNorm())
    if dropout:
        net.add(gluon.nn.Dropout(0.2))
    net.add(gluon.nn.Dense(classes))
    if init:
        net.initialize(mx.init.Xavier())
    return net


@pytest.fixture
def data():
    return make_data()


@pytest.fixture
def npz(tmp_path):
    """A small classification data set saved as ``d.npz`` (arrays ``x``, ``y``)."""
    X, y = make_data(n=80)
    path = tmp_path / "d.npz"
    np.savez(path, x=X, y=y)
    return str(path)


def flat_state(s):
    """An updater state (an NDArray, None, or nested tuples/lists of them) as numpy copies."""
    if s is None:
        return []
    if isinstance(s, (list, tuple)):
        return [x for item in s for x in flat_state(item)]
    return [s.asnumpy().copy()]


def capture(net, trainer):
    """Everything find_lr must leave untouched, as plain numpy/python values."""
    mx.nd.waitall()
    out = {"params": {k: [a.asnumpy().copy() for a in p.list_data()] if p._data is not None
                      else ["deferred"] for k, p in net.collect_params().items()}}
    opt = trainer.optimizer
    out["num_update"] = opt.num_update
    out["counts"] = {k: dict(v) for k, v in opt._all_index_update_counts.items()}
    out["lr"] = opt.lr
    out["scheduler"] = opt.lr_scheduler

    updaters = trainer._updaters if not trainer._update_on_kvstore else [trainer._kvstore._updater]
    out["states"] = [{k: flat_state(v) for k, v in u.states.items()} for u in updaters]
    return out


def assert_same(a, b):
    assert a["params"].keys() == b["params"].keys()
    for k in a["params"]:
        for x, y in zip(a["params"][k], b["params"][k]):
            np.testing.assert_array_equal(x, y, err_msg=k)
    assert a["num_update"] == b["num_update"]
    assert a["counts"] == b["counts"]
    assert a["lr"] == b["lr"]
    assert a["scheduler"] is b["scheduler"]
    assert len(a["states"]) == len(b["states"])
    for sa, sb in zip(a["states"], b["states"]):
        assert sa.keys() == sb.keys()
        for k in sa:
            assert len(sa[k]) == len(sb[k])
            for x, y in zip(sa[k], sb[k]):
                np.testing.assert_array_equal(x, y)


def train_steps(net, trainer, X, y, steps, batch=16, loss=None):
    loss = loss or gluon.loss.SoftmaxCrossEntropyLoss()
    ctx = net.collect_params().list_ctx()
    for i in range(steps):
        lo = (i * batch) % (len(X) - batch + 1)
        xb, yb = mx.nd.array(X[lo:lo + batch]), mx.nd.array(y[lo:lo + batch])
        xs = gluon.utils.split_and_load(xb, ctx, even_split=False)
        ys = gluon.utils.split_and_load(yb, ctx, even_split=False)
        with mx.autograd.record():
            ls = [loss(net(a), b) for a, b in zip(xs, ys)]
        mx.autograd.backward(ls)
        trainer.step(batch)
    mx.nd.waitall()


NO_SUGGESTION = "no learning rate could be suggested"


def quick(learner, **kw):
    """A short range test for tests: one sweep of 15 steps from 1e-4 to 1, no progress bar,
    never extended past ``end_lr`` (``extend=0``; ``tests/test_extend.py`` tests extending).

    Such a short curve often supports no suggestion. The result then warns, and that warning
    is asserted here: it must come exactly when ``result.lr`` is None, and say the result's
    own diagnosis. Any other warning is passed on.
    """
    kw.setdefault("num_iter", 15)
    kw.setdefault("repeats", 1)
    kw.setdefault("start_lr", 1e-4)
    kw.setdefault("end_lr", 1.0)
    kw.setdefault("progress", False)
    kw.setdefault("extend", 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = learner.find_lr(**kw)
    expected = [w for w in caught if issubclass(w.category, RuntimeWarning)
                and str(w.message).startswith(NO_SUGGESTION)]
    if result.lr is None:
        assert [str(w.message) for w in expected] == [
            "{}: {}".format(NO_SUGGESTION, result.diagnosis)]
    else:
        assert not expected
    for w in caught:
        if w not in expected:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def expect_no_suggestion(match=""):
    """``pytest.warns`` for a range test that is expected to end without a suggestion."""
    return pytest.warns(RuntimeWarning, match=NO_SUGGESTION + match)
