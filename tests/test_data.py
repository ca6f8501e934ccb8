import itertools

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from gluon_lr import ContinuousBatchSampler
from gluon_lr.data import make_batches


def take(it, n):
    return list(itertools.islice(iter(it), n))


def test_sampler_is_endless_and_restarts_each_pass():
    s = ContinuousBatchSampler(gluon.data.SequentialSampler(5), 2)
    assert take(s, 5) == [[0, 1], [2, 3], [0, 1], [2, 3], [0, 1]]


@pytest.mark.parametrize("mode,expected", [
    ("keep", [[0, 1], [2, 3], [4], [0, 1]]),
    ("rollover", [[0, 1], [2, 3], [4, 0], [1, 2]]),
])
def test_sampler_last_batch_modes(mode, expected):
    s = ContinuousBatchSampler(gluon.data.SequentialSampler(5), 2, last_batch=mode)
    assert take(s, 4) == expected


def test_sampler_reshuffles_every_pass():
    np.random.seed(1)
    s = ContinuousBatchSampler(gluon.data.RandomSampler(6), 6)
    a, b = take(s, 2)
    assert sorted(a) == sorted(b) == list(range(6))
    assert a != b


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be an int, got 2.5"),
    ({"batch_size": 9}, ValueError, "batch_size=9 is larger"),
    ({"batch_size": 2, "last_batch": "drop"}, ValueError, "last_batch must be one of"),
])
def test_sampler_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ContinuousBatchSampler(gluon.data.SequentialSampler(5), **kwargs)


def test_sampler_rejects_empty_sampler():
    with pytest.raises(ValueError, match="sampler is empty"):
        ContinuousBatchSampler(gluon.data.SequentialSampler(0), 1)


def test_sampler_has_no_length():
    with pytest.raises(TypeError, match="endless"):
        len(ContinuousBatchSampler(gluon.data.SequentialSampler(4), 2))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_sampler_drives_a_dataloader(num_workers):
    ds = gluon.data.ArrayDataset(np.arange(10, dtype="float32"), np.arange(10, dtype="float32"))
    sampler = ContinuousBatchSampler(gluon.data.SequentialSampler(10), 4)
    loader = gluon.data.DataLoader(ds, batch_sampler=sampler, num_workers=num_workers)
    batches = take(loader, 4)
    assert [b[0].asnumpy().tolist() for b in batches] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3], [4, 5, 6, 7]]


def test_arrays_are_batched_by_index_not_per_sample(monkeypatch):
    X = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.arange(10, dtype="float32")
    calls = []
    real_take = mx.nd.take
    monkeypatch.setattr(mx.nd, "take", lambda *a, **k: calls.append(1) or real_take(*a, **k))
    stream = make_batches((X, y), 4)
    xb, yb = next(stream)
    assert xb.shape == (4, 2) and yb.shape == (4,)
    assert len(calls) == 2  # one take for X, one for y: a whole batch at once
    np.testing.assert_array_equal(xb.asnumpy()[:, 0] / 2, yb.asnumpy())


def test_array_dataset_takes_the_array_path():
    X = np.arange(20, dtype="float32").reshape(10, 2)
    ds = gluon.data.ArrayDataset(X, np.arange(10, dtype="float32"))
    xb, yb = next(make_batches(ds, 5))
    np.testing.assert_array_equal(xb.asnumpy()[:, 0] / 2, yb.asnumpy())


def test_generic_dataset_and_loader_and_dataiter():
    X = np.arange(24, dtype="float32").reshape(12, 2)
    y = np.arange(12, dtype="float32")
    ds = gluon.data.SimpleDataset(list(zip(X, y)))
    xb, yb = next(make_batches(ds, 3))
    assert xb.shape == (3, 2)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=5)
    got = take(make_batches(loader), 4)  # 3 batches per pass, then a new pass
    assert [b[0].shape[0] for b in got] == [5, 5, 2, 5]
    it = mx.io.NDArrayIter(X, y, batch_size=5, last_batch_handle="pad")
    stream = make_batches(it)
    got = take(stream, 4)
    assert [b[0].shape[0] for b in got] == [5, 5, 2, 5]  # padding removed, endless
    stream.close()
    assert next(iter(it)).data[0].asnumpy()[0, 0] == 0  # left ready for a new epoch


@pytest.mark.parametrize("data,kwargs,exc,match", [
    ((np.zeros((4, 2)), np.zeros(3)), {}, ValueError, r"len\(X\)=4, len\(y\)=3"),
    ((np.zeros((0, 2)), np.zeros(0)), {}, ValueError, "data is empty"),
    ((np.zeros((4, 2)), np.zeros(4)), {"batch_size": 5}, ValueError, "batch_size=5 is larger"),
    ((np.zeros((4, 2)), np.zeros(4)), {"batch_size": -1}, ValueError, "batch_size must be >= 1"),
    ("nope", {}, TypeError, "data must be a gluon Dataset"),
    ((np.zeros((4, 2)), np.array(["a"] * 4)), {}, TypeError,
     "y must be a numeric array, got dtype=<U1"),
    (gluon.data.SimpleDataset([]), {}, ValueError, "data is empty"),
])
def test_bad_data_is_named(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_batches(data, **kwargs)


def test_batch_size_with_a_loader_is_an_error():
    loader = gluon.data.DataLoader(gluon.data.SimpleDataset([1, 2]), batch_size=1)
    with pytest.raises(ValueError, match="batch_size=4 cannot be used with a DataLoader"):
        make_batches(loader, 4)


def test_empty_loader_is_reported_when_drawn():
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(np.zeros((1, 2)), np.zeros(1)),
                                   batch_size=2, last_batch="discard")
    with pytest.raises(ValueError, match="the DataLoader produced no batch"):
        next(make_batches(loader))


def test_array_dataset_of_triples_is_batched_by_index():
    X = np.arange(12, dtype="float32").reshape(6, 2)
    ds = gluon.data.ArrayDataset(X, np.arange(6, dtype="float32"), np.arange(6) * 10)
    xb, yb, eb = next(make_batches(ds, 3))  # what the fields mean is batch_fn's business
    np.testing.assert_array_equal(xb.asnumpy()[:, 0] / 2, yb.asnumpy())
    np.testing.assert_array_equal(eb.asnumpy(), yb.asnumpy() * 10)


def test_several_input_arrays_give_a_tuple_of_inputs():
    X1 = np.arange(10, dtype="float32")
    X2 = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.arange(10, dtype="float32") * 3
    (x1, x2), yb = next(make_batches(((X1, X2), y), 4))
    np.testing.assert_array_equal(x2.asnumpy()[:, 0] / 2, x1.asnumpy())
    np.testing.assert_array_equal(yb.asnumpy(), x1.asnumpy() * 3)
    rows = [np.arange(3, dtype="float32") for _ in range(10)]  # a list of rows is one input
    xb, yb = next(make_batches((rows, y), 4))
    assert xb.shape == (4, 3)
    with pytest.raises(ValueError, match=r"len\(X\[0\]\)=10, len\(X\[1\]\)=9"):
        make_batches(((X1, X2[:9]), y))
