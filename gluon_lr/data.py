"""Endless batch iteration over the data forms a Gluon user has at hand.

:class:`ContinuousBatchSampler` is the public piece (it is useful with any ``DataLoader``);
:func:`make_batches` turns a Dataset, DataLoader, ``(X, y)`` arrays or an ``mx.io.DataIter`` into
an endless iterator of batches, with a ``close()`` for clean-up. Batches are passed on as the
data gives them; what a batch means (``(data, label)``, or ``batch_fn``) is
:class:`gluon_lr.TrainingStep`'s business.
"""
from __future__ import annotations

import logging
from typing import Iterator, Optional, Tuple

import numpy as np

from ._mx import mx

gluon = mx.gluon
nd = mx.nd
logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 64
_LAST_BATCH = ("discard", "keep", "rollover")


class ContinuousBatchSampler(gluon.data.Sampler):
    """Batches of indices that never end: a new pass over ``sampler`` starts when one finishes.

    Parameters
    ----------
    sampler : gluon.data.Sampler
        Yields sample indices, e.g. ``RandomSampler(len(dataset))``. Each pass over it is one
        epoch; a ``RandomSampler`` reshuffles on every pass.
    batch_size : int
        Number of indices per batch.
    last_batch : {"discard", "keep", "rollover"}, default "discard"
        What to do with the incomplete batch at the end of a pass: drop it, yield it short, or
        fill it with the first indices of the next pass.

    Examples
    --------
    >>> from mxnet import gluon
    >>> s = ContinuousBatchSampler(gluon.data.SequentialSampler(5), batch_size=2)
    >>> it = iter(s)
    >>> [next(it) for _ in range(3)]
    [[0, 1], [2, 3], [0, 1]]
    """

    def __init__(self, sampler, batch_size: int, last_batch: str = "discard"):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError("batch_size must be an int, got {!r}".format(batch_size))
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1, got {!r}".format(batch_size))
        if last_batch not in _LAST_BATCH:
            raise ValueError(
                "last_batch must be one of {}, got {!r}".format(_LAST_BATCH, last_batch))
        try:
            n = len(sampler)
        except TypeError:
            n = None
        if n is not None and n == 0:
            raise ValueError("sampler is empty: there is nothing to batch")
        if n is not None and last_batch == "discard" and batch_size > n:
            raise ValueError(
                "batch_size={} is larger than the sampler's {} samples; with "
                "last_batch='discard' no batch would ever be produced".format(batch_size, n))
        self._sampler = sampler
        self._batch_size = int(batch_size)
        self._last_batch = last_batch

    def __iter__(self) -> Iterator[list]:
        batch: list = []
        while True:
            produced = False
            for index in self._sampler:
                produced = True
                batch.append(index)
                if len(batch) == self._batch_size:
                    yield batch
                    batch = []
            if not produced:
                raise ValueError("sampler produced no indices: there is nothing to batch")
            if batch and self._last_batch != "rollover":
                if self._last_batch == "keep":
                    yield batch
                batch = []

    def __len__(self) -> int:
        raise TypeError("ContinuousBatchSampler is endless and has no length")


class BatchStream:
    """An endless iterator of batches with a ``close()`` hook."""

    def __init__(self, iterator: Iterator, batch_size: Optional[int],
                 close=None):
        self._iterator = iterator
        self.batch_size = batch_size
        self._close = close

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iterator)

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


def _as_ndarray(a, name: str) -> nd.NDArray:
    if isinstance(a, nd.NDArray):
        arr = a.as_in_context(mx.cpu()) if a.context.device_type != "cpu" else a
    else:
        try:
            arr_np = np.asarray(a)
        except Exception as err:
            raise TypeError("{} must be array-like, got {}".format(name, type(a).__name__)) from err
        if not (np.issubdtype(arr_np.dtype, np.number) or arr_np.dtype == np.bool_):
            raise TypeError("{} must be a numeric array, got dtype={}".format(name, arr_np.dtype))
        if arr_np.dtype == np.float64:
            arr_np = arr_np.astype(np.float32)
        arr = nd.array(arr_np, dtype=arr_np.dtype, ctx=mx.cpu())
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return arr


def _is_group(obj) -> bool:
    """A tuple/list of arrays (several inputs or labels), not a list of per-sample rows."""
    return isinstance(obj, (tuple, list)) and len(obj) > 0 and all(
        isinstance(a, (np.ndarray, nd.NDArray)) and a.ndim >= 1 for a in obj)


def _length(a) -> Optional[int]:
    try:
        return len(a)
    except TypeError:
        return None


def array_samples(X, y) -> int:
    """Samples in ``(X, y)`` array data, either of which may be a tuple of arrays."""
    if _is_group(y) and len({a.shape[0] for a in y}) == 1 and len(y) != y[0].shape[0]:
        return y[0].shape[0]
    return len(y)


def _xy_fields(X, y):
    """``((X, y) fields, pack)``: the arrays to batch and how to rebuild a batch from them.

    ``X`` (or ``y``) may be a tuple/list of arrays of equal length: several inputs (labels).
    """
    def samples(group):
        lengths = {a.shape[0] for a in group}
        return lengths.pop() if len(lengths) == 1 else None

    y_many = _is_group(y) and samples(y) is not None and samples(y) != len(y)
    n_y = samples(y) if y_many else _length(y)
    x_many = _is_group(X) and n_y is not None and len(X) != n_y and X[0].shape[0] == n_y
    if x_many:
        k = len(X)
        xs = [_as_ndarray(a, "X[{}]".format(i)) for i, a in enumerate(X)]
    else:
        k = 1
        xs = [_as_ndarray(X, "X")]
    ys = [_as_ndarray(a, "y[{}]".format(i)) for i, a in enumerate(y)] if y_many \
        else [_as_ndarray(y, "y")]

    def pack(arrays):
        inputs = tuple(arrays[:k]) if x_many else arrays[0]
        label = tuple(arrays[k:]) if y_many else arrays[k]
        return inputs, label

    names = (["X[{}]".format(i) for i in range(len(xs))] if x_many else ["X"]) + \
        (["y[{}]".format(i) for i in range(len(ys))] if y_many else ["y"])
    return xs + ys, names, pack


def _array_batches(fields, names, batch_size: int, pack=tuple) -> BatchStream:
    """Batches of in-memory arrays (all of one length) taken by index; ``pack`` shapes them."""
    if any(a.ndim == 0 for a in fields):
        raise ValueError("X and y must have a sample axis; got shapes {}".format(
            " and ".join(str(a.shape) for a in fields)))
    n = fields[0].shape[0]
    for a, name in zip(fields[1:], names[1:]):
        if a.shape[0] != n:
            raise ValueError("X and y have different lengths: len({})={}, len({})={}".format(
                names[0], n, name, a.shape[0]))
    if n == 0:
        raise ValueError("data is empty: X has 0 samples")
    if batch_size > n:
        raise ValueError("batch_size={} is larger than the data ({} samples)".format(
            batch_size, n))

    def gen():
        # The same order as ContinuousBatchSampler(RandomSampler(n)) with last_batch="discard",
        # but each pass's permutation is uploaded once and sliced (views, no copy): a per-batch
        # nd.array(indices) is a synchronous copy that would wait for the running step.
        while True:
            order = np.arange(n)
            np.random.shuffle(order)
            perm = nd.array(order, dtype="int64", ctx=mx.cpu())
            for k in range(n // batch_size):
                idx = perm[k * batch_size:(k + 1) * batch_size]
                yield pack([nd.take(a, idx) for a in fields])

    return BatchStream(gen(), batch_size)


def _dataset_batches(dataset, batch_size: int) -> BatchStream:
    n = len(dataset)
    if n == 0:
        raise ValueError("data is empty: the Dataset has 0 samples")
    if batch_size > n:
        raise ValueError("batch_size={} is larger than the data ({} samples)".format(
            batch_size, n))
    if isinstance(dataset, gluon.data.ArrayDataset) and all(
            isinstance(a, (np.ndarray, nd.NDArray)) for a in dataset._data):
        # In-memory arrays: batch by index instead of sample by sample.
        fields = [_as_ndarray(a, "field {}".format(i)) for i, a in enumerate(dataset._data)]
        names = ["field {}".format(i) for i in range(len(fields))]
        return _array_batches(fields, names, batch_size)
    sampler = ContinuousBatchSampler(gluon.data.RandomSampler(n), batch_size)
    loader = gluon.data.DataLoader(dataset, batch_sampler=sampler)
    return _loader_batches(loader, batch_size, where="the Dataset")


def _loader_batches(loader, batch_size: Optional[int], where: str = "the DataLoader"
                    ) -> BatchStream:
    if batch_size is None:
        batch_size = getattr(getattr(loader, "_batch_sampler", None), "_batch_size", None)

    def gen():
        while True:  # a new pass whenever one ends (an endless batch sampler never ends one)
            produced = False
            for batch in loader:
                produced = True
                yield batch
            if not produced:
                raise ValueError("data is empty: {} produced no batch".format(where))

    return BatchStream(gen(), batch_size)


def _dataiter_batches(data_iter) -> BatchStream:
    def gen():
        while True:
            produced = False
            for batch in data_iter:
                produced = True
                if not batch.data or not batch.label:
                    raise TypeError("the DataIter must provide both data and label")
                data, label = list(batch.data), list(batch.label)
                if batch.pad:
                    data = [a[:a.shape[0] - batch.pad] for a in data]
                    label = [a[:a.shape[0] - batch.pad] for a in label]
                yield (data[0] if len(data) == 1 else tuple(data),
                       label[0] if len(label) == 1 else tuple(label))
            if not produced:
                raise ValueError("data is empty: the DataIter produced no batch")
            data_iter.reset()

    # Leave the user's iterator ready for a fresh epoch.
    return BatchStream(gen(), getattr(data_iter, "batch_size", None), close=data_iter.reset)


def make_batches(data, batch_size: Optional[int] = None) -> BatchStream:
    """An endless stream of batches from ``data``.

    Parameters
    ----------
    data : Dataset, DataLoader, (X, y) or mx.io.DataIter
        ``X`` and ``y`` may be numpy arrays or NDArrays; they are batched by index (``nd.take``),
        never sample by sample, as is an ``ArrayDataset`` of arrays. ``X`` may be a tuple of
        arrays (a net with several inputs): batches are then ``((x1, x2, ...), y)``. A
        DataLoader's batches are passed on as they come; a DataIter gives ``(data, label)``
        (tuples when it has several).
    batch_size : int, optional
        Samples per batch for a Dataset or ``(X, y)`` (default 64). A DataLoader or DataIter
        brings its own, so passing one there is an error.

    Raises
    ------
    TypeError
        For an unsupported data type or a non-integer batch size.
    ValueError
        For empty data, mismatched ``X``/``y`` or a batch larger than the data.
    """
    is_loader = isinstance(data, gluon.data.DataLoader)
    is_iter = isinstance(data, mx.io.DataIter)
    if batch_size is not None:
        if is_loader or is_iter:
            raise ValueError(
                "batch_size={!r} cannot be used with a {}: it sets its own batch size".format(
                    batch_size, type(data).__name__))
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError("batch_size must be an int, got {!r}".format(batch_size))
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1, got {!r}".format(batch_size))
        batch_size = int(batch_size)
    if is_loader:
        return _loader_batches(data, None)
    if is_iter:
        return _dataiter_batches(data)
    bs = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if isinstance(data, gluon.data.Dataset):
        return _dataset_batches(data, bs if batch_size is not None else min(bs, len(data) or 1))
    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = data
        fields, names, pack = _xy_fields(X, y)
        if batch_size is None and fields[0].ndim:
            bs = min(bs, fields[0].shape[0]) or 1
        return _array_batches(fields, names, bs, pack)
    raise TypeError(
        "data must be a gluon Dataset, a DataLoader, an (X, y) pair of arrays or an "
        "mx.io.DataIter, got {}".format(type(data).__name__))
