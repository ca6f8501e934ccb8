"""Bad settings are refused at the door, naming the value (issue 13, item 9)."""
import math
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import make_data, make_net, quick
from gluon_lr import Learner, lr_sweep
from gluon_lr.finder import MAX_NUM_ITER


@pytest.mark.parametrize("params, error, match", [
    ({"momentum": "abc"}, TypeError, r"optimizer_params\['momentum'\] must be a number, got 'abc'"),
    ({"wd": float("nan")}, ValueError, r"optimizer_params\['wd'\] must be finite, got nan"),
    ({"momentum": -1}, ValueError, r"optimizer_params\['momentum'\] must be in \[0.0, 1.0\), "
                                   r"got -1"),
    ({"momentum": 1.5}, ValueError, r"momentum'\] must be in"),
    ({"wd": -1e-4}, ValueError, r"optimizer_params\['wd'\] must be in \[0.0, inf\), got -0.0001"),
    ({"learning_rate": 0}, ValueError, r"learning_rate'\] must be in \(0.0, inf\)"),
    ({"beta1": True}, TypeError, r"beta1'\] must be a number, got True"),
    ({"epsilon": float("inf")}, ValueError, r"epsilon'\] must be finite"),
])
def test_bad_optimizer_params(data, params, error, match):
    with pytest.raises(error, match=match):
        Learner(make_net(), data, optimizer_params=params)


def test_good_optimizer_params_including_numpy_numbers(data):
    Learner(make_net(), data, optimizer_params={"momentum": np.float32(0.9), "wd": 0,
                                                "learning_rate": None})


def test_users_trainer_with_a_bad_setting(data):
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9})
    trainer.optimizer.wd = float("nan")
    with pytest.raises(ValueError, match=r"trainer.optimizer.wd must be finite, got nan"):
        Learner(net, data, trainer=trainer)


@pytest.mark.parametrize("kvstore, error, match", [
    ("bogus", ValueError, "unknown kvstore 'bogus'; use one of local, device"),
    (3, TypeError, "kvstore must be a name, an mx.kv.KVStore or None, got 3"),
])
def test_bad_kvstore(data, kvstore, error, match):
    with pytest.raises(error, match=match):
        Learner(make_net(), data, kvstore=kvstore)


@pytest.mark.parametrize("kvstore", [None, "local", "device", "dist_sync"])
def test_known_kvstore_names_are_accepted(data, kvstore):
    from gluon_lr.validate import check_kvstore
    check_kvstore(kvstore)
    check_kvstore(mx.kv.create("local"))


@pytest.mark.parametrize("bad, shown", [(3.0, "3.0"), (-1.0, "-1.0"), (1.5, "1.5")])
def test_labels_outside_the_classes_are_refused(bad, shown):
    X, y = make_data(n=64)
    y = y.copy()
    y[40] = bad  # not in the first batch: the whole array is checked
    learner = Learner(make_net(classes=3), (X, y), batch_size=16)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\).*got {}".format(shown)):
        quick(learner)


def test_labels_of_a_loader_are_checked_on_the_first_batch():
    X, y = make_data(n=64)
    y = y.copy()
    y[0] = 7
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(mx.nd.array(X), mx.nd.array(y)),
                                   batch_size=16)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\).*got 7.0"):
        quick(Learner(make_net(classes=3), loader))


def test_smoothing_accepts_numpy_floats(data):
    r = quick(Learner(make_net(), data, batch_size=16), smoothing=np.float32(0.9))
    assert r.smoothing == pytest.approx(0.9)


@pytest.mark.parametrize("start, end", [(1e-308, 1e308), (1e-300, 1e300), (1e-7, 1e39),
                                        (1e-45, 1.0)])
def test_rates_beyond_float32_are_refused(start, end):
    with pytest.raises(ValueError, match=r"(start_lr|end_lr) must be in \[1.2e-38, 3.4e\+38\]"):
        lr_sweep(start, end, 100)


def test_huge_num_iter_is_refused_before_allocating():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"num_iter must be <= {}, got 1000000000".format(
            MAX_NUM_ITER)):
        lr_sweep(1e-7, 10, 10 ** 9)
    assert time.perf_counter() - t0 < 1.0


def test_kept_last_batch_that_cannot_be_split_is_refused():
    X, y = make_data(n=33)  # 33 = 2 * 16 + 1
    ds = gluon.data.ArrayDataset(mx.nd.array(X), mx.nd.array(y))
    loader = gluon.data.DataLoader(ds, batch_size=16, last_batch="keep")
    with pytest.raises(ValueError, match=r"last batch holds 1 sample\(s\) \(33 samples, "
                                         r"batch_size=16, last_batch='keep'\).*2 contexts"):
        Learner(make_net(init=False), loader, ctx=[mx.cpu(0), mx.cpu(1)])
    ok = gluon.data.DataLoader(ds, batch_size=16, last_batch="discard")
    Learner(make_net(init=False), ok, ctx=[mx.cpu(0), mx.cpu(1)])
