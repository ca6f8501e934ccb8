"""Endless batch iteration over the data forms a Gluon user has at hand.

:class:`ContinuousBatchSampler` is the public piece (it is useful with any ``DataLoader``);
:func:`make_batches` turns a Dataset, DataLoader, ``(X, y)`` arrays or an ``mx.io.DataIter`` into
an endless iterator of ``(data, label)`` NDArray pairs, with a ``close()`` for clean-up.
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
    """An endless iterator of ``(data, label)`` pairs with a ``close()`` hook."""

    def __init__(self, iterator: Iterator[Tuple[nd.NDArray, nd.NDArray]], batch_size: int,
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


def _array_batches(X, y, batch_size: int) -> BatchStream:
    X = _as_ndarray(X, "X")
    y = _as_ndarray(y, "y")
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must have a sample axis; got shapes {} and {}".format(
            X.shape, y.shape))
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError("X and y have different lengths: len(X)={}, len(y)={}".format(
            n, y.shape[0]))
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
                yield nd.take(X, idx), nd.take(y, idx)

    return BatchStream(gen(), batch_size)


def _dataset_batches(dataset, batch_size: int) -> BatchStream:
    n = len(dataset)
    if n == 0:
        raise ValueError("data is empty: the Dataset has 0 samples")
    if batch_size > n:
        raise ValueError("batch_size={} is larger than the data ({} samples)".format(
            batch_size, n))
    if isinstance(dataset, gluon.data.ArrayDataset) and len(dataset._data) == 2:
        # In-memory arrays: batch by index instead of sample by sample.
        X, y = dataset._data
        if all(isinstance(a, (np.ndarray, nd.NDArray)) for a in (X, y)):
            return _array_batches(X, y, batch_size)
    sampler = ContinuousBatchSampler(gluon.data.RandomSampler(n), batch_size)
    loader = gluon.data.DataLoader(dataset, batch_sampler=sampler)
    return _loader_batches(loader, batch_size, where="the Dataset")


def _split_batch(batch, where: str):
    if isinstance(batch, (list, tuple)) and len(batch) == 2:
        return batch[0], batch[1]
    raise TypeError("{} must yield (data, label) pairs, got {}".format(
        where, type(batch).__name__ if not isinstance(batch, (list, tuple))
        else "a sequence of {}".format(len(batch))))


def _loader_batches(loader, batch_size: Optional[int], where: str = "the DataLoader"
                    ) -> BatchStream:
    if batch_size is None:
        batch_size = getattr(getattr(loader, "_batch_sampler", None), "_batch_size", None)

    def gen():
        while True:  # a new pass whenever one ends (an endless batch sampler never ends one)
            produced = False
            for batch in loader:
                produced = True
                yield _split_batch(batch, where)
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
                data, label = batch.data[0], batch.label[0]
                if batch.pad:
                    data, label = data[:data.shape[0] - batch.pad], label[:label.shape[0] - batch.pad]
                yield data, label
            if not produced:
                raise ValueError("data is empty: the DataIter produced no batch")
            data_iter.reset()

    # Leave the user's iterator ready for a fresh epoch.
    return BatchStream(gen(), getattr(data_iter, "batch_size", None), close=data_iter.reset)


def make_batches(data, batch_size: Optional[int] = None) -> BatchStream:
    """An endless stream of ``(data, label)`` NDArray batches from ``data``.

    Parameters
    ----------
    data : Dataset, DataLoader, (X, y) or mx.io.DataIter
        ``X`` and ``y`` may be numpy arrays or NDArrays; they are batched by index (``nd.take``),
        never sample by sample.
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
        if batch_size is None:
            try:
                bs = min(bs, len(X)) or 1
            except TypeError:
                pass
        return _array_batches(X, y, bs)
    raise TypeError(
        "data must be a gluon Dataset, a DataLoader, an (X, y) pair of arrays or an "
        "mx.io.DataIter, got {}".format(type(data).__name__))
