"""Snapshot a net and its trainer in memory, and put both back bit for bit.

Nothing goes through ``Trainer.save_states``/``load_states`` and nothing is written to disk.
The snapshot copies, for every device:

- each parameter's array (BatchNorm running statistics included, which may differ per device)
  and gradient, and its ``grad_req``;
- every updater's optimizer states (one updater per device, plus the kvstore's own updater when
  the kvstore does the updates), including which indices have a state at all;
- the optimizer's attributes (learning rate, ``lr_scheduler`` *object*, ``num_update``, the
  per-device update counters, ``rescale_grad``, momentum, ...), restored on the very optimizer
  object the user attached;
- the trainer's kvstore bookkeeping: a kvstore created during the range test is dropped again
  (the next step creates and broadcasts it as it would have), and the weights a kvstore keeps
  for its updates are written back.

Copies go to host memory (``where="cpu"``, the default) or stay on each parameter's device
(``where="device"``, faster on a GPU when its memory allows). The snapshot needs about
``(2 + k) x`` the parameters' size per device (weights, gradients and ``k`` optimizer states
per weight: 0 for plain SGD, 1 for momentum SGD/NAG/RMSProp, 2 for Adam).
"""
from __future__ import annotations

import copy
import ctypes
import random
from typing import Any, Dict, List, Optional

import numpy as np

from ._mx import mx
from .step import set_grad_req

_LIB, check_call = mx.base._LIB, mx.base.check_call

WHERE = ("cpu", "device")


def _trainer_updaters(trainer) -> List:
    updaters = list(getattr(trainer, "_updaters", []) or [])
    kv = getattr(trainer, "_kvstore", None)
    kv_updater = getattr(kv, "_updater", None) if kv is not None else None
    if kv_updater is not None and hasattr(kv_updater, "states"):
        updaters.append(kv_updater)
    return updaters


def has_stepped(trainer) -> bool:
    """Whether the trainer has already taken optimizer steps (so carries optimizer state): a
    ``num_update`` above the optimizer's ``begin_num_update``, or states in any of its
    updaters (the kvstore's included)."""
    optimizer = getattr(trainer, "_optimizer", None)
    if optimizer is not None and getattr(optimizer, "num_update", 0) > getattr(
            optimizer, "begin_num_update", 0):
        return True
    return any(u.states for u in _trainer_updaters(trainer))


def resume_meta(trainer) -> Dict[str, Any]:
    """What a range test records about where ``trainer`` stood before it: ``resumed`` (it had
    already stepped, :func:`has_stepped`) and ``trainer_num_update`` (its ``num_update``)."""
    return {"resumed": has_stepped(trainer),
            "trainer_num_update": int(trainer.optimizer.num_update)}


def reset_optimizer_state(trainer: "mx.gluon.Trainer") -> bool:
    """Give ``trainer`` the optimizer state of a trainer that has never stepped, in place.

    Every updater (the kvstore's included) drops its per-weight states (momentum, Adam's
    moments, ...), which the next step creates afresh from the current weights, and the
    per-weight step counts restart (so Adam's bias correction starts again); Nadam's momentum
    schedule restarts too. Take a :class:`TrainingState` first: it puts the old state back
    (into the very arrays the updaters held). Returns False, and changes nothing, for a
    distributed kvstore (the states live on its servers) and for optimizers that keep step
    state of their own outside the updaters (gluon_lr's LR-free optimizers, LBSGD).

    While the snapshot holds the old state arrays, the new ones the next steps create take as
    much device memory again (``k`` x the parameters, ``k`` states per weight: 2 for Adam).

    Parameters
    ----------
    trainer : gluon.Trainer
        The trainer to reset.

    Returns
    -------
    bool
        Whether the state was reset.
    """
    from .optimizers import LRFreeOptimizer
    optimizer = getattr(trainer, "_optimizer", None)
    if optimizer is None or isinstance(optimizer, (LRFreeOptimizer, mx.optimizer.LBSGD)) \
            or _is_dist(getattr(trainer, "_kvstore", None) or ""):
        return False
    if isinstance(optimizer, mx.optimizer.Nadam):
        optimizer.m_schedule = 1.0  # its value before the first step (restored with the rest)
    for updater in _trainer_updaters(trainer):
        updater.states, updater.states_synced = {}, {}
    for counts in list(optimizer._all_index_update_counts.values()) + [
            optimizer._index_update_count]:
        counts.clear()  # in place: TrainingState restores these very dicts
    return True


def _is_dist(kvstore) -> bool:
    if isinstance(kvstore, str):
        return "dist" in kvstore
    return "dist" in getattr(kvstore, "type", "")


def uses_kvstore(trainer) -> bool:
    """Whether ``trainer`` has, or will create at its first step, a kvstore."""
    if trainer._kv_initialized:
        return trainer._kvstore is not None
    kv = trainer._kvstore_params.get("kvstore")
    if kv is None:
        return False
    if isinstance(kv, str):
        return len(trainer._contexts or []) > 1 or "dist" in kv
    return True


def check_restorable(trainer) -> None:
    """Refuse, with the reason, a trainer whose state a snapshot cannot capture.

    2-bit gradient compression keeps error-feedback residuals inside the kvstore (C++), where
    they can be neither read nor written: a range test would leave them changed.
    """
    if getattr(trainer, "_compression_params", None) and uses_kvstore(trainer):
        raise ValueError(
            "the trainer uses gradient compression ({!r}): its kvstore keeps error-feedback "
            "residuals that cannot be read back, so a range test could not restore them. Run "
            "the range test with a trainer without compression_params on the same net and "
            "optimizer (the learning rate it finds carries over)".format(
                trainer._compression_params))


class _Copies:
    """Copies of many NDArrays: packed into one host buffer per dtype, or left on the device.

    Host copies go through ``MXNDArraySyncCopyToCPU`` straight into a numpy buffer: no MXNet
    allocation per array, and numpy asks for huge pages on large buffers, which is most of the
    difference on a ResNet-50 (``benchmarks/overhead.py``).
    """

    def __init__(self, arrays: List[mx.nd.NDArray], where: str):
        self._shapes = [a.shape for a in arrays]
        self._ctxs = [a.context for a in arrays]
        self._items: List[Any] = [None] * len(arrays)
        packed = []
        for i, a in enumerate(arrays):
            if where == "cpu" and a.stype == "default" and _numpy_dtype(a) is not None:
                packed.append(i)
            else:
                self._items[i] = a.copyto(mx.cpu()) if where == "cpu" else a.copy()
        sizes: Dict[np.dtype, int] = {}
        for i in packed:
            dt = _numpy_dtype(arrays[i])
            sizes[dt] = sizes.get(dt, 0) + arrays[i].size
        buffers = {dt: np.empty(n, dtype=dt) for dt, n in sizes.items()}
        offsets = dict.fromkeys(sizes, 0)
        for i in packed:
            a = arrays[i]
            dt = _numpy_dtype(a)
            view = buffers[dt][offsets[dt]:offsets[dt] + a.size]
            offsets[dt] += a.size
            if a.size:
                check_call(_LIB.MXNDArraySyncCopyToCPU(
                    a.handle, view.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(a.size)))
            self._items[i] = view.reshape(a.shape)
        self.nbytes = sum(b.nbytes for b in buffers.values()) + sum(
            int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in self._items
            if isinstance(x, mx.nd.NDArray))

    def write(self, i: int, target: mx.nd.NDArray) -> None:
        """Copy item ``i`` back into ``target`` (same shape), in place."""
        item = self._items[i]
        if isinstance(item, mx.nd.NDArray):
            item.copyto(target)
        elif item.size:
            target[:] = item

    def new(self, i: int) -> mx.nd.NDArray:
        """Item ``i`` as a new array on the context it was copied from."""
        item = self._items[i]
        if isinstance(item, mx.nd.NDArray):
            return item.copyto(self._ctxs[i])
        return mx.nd.array(item, ctx=self._ctxs[i], dtype=item.dtype)

    def fits(self, i: int, target) -> bool:
        item = self._items[i]
        return isinstance(target, mx.nd.NDArray) and target.shape == self._shapes[i] \
            and np.dtype(target.dtype) == np.dtype(item.dtype) and target.stype == (
                item.stype if isinstance(item, mx.nd.NDArray) else "default")


def _numpy_dtype(a: mx.nd.NDArray):
    try:
        return np.dtype(a.dtype)
    except TypeError:  # pragma: no cover - e.g. bfloat16
        return None


def _flatten(state, arrays: List[mx.nd.NDArray]):
    """An updater state with each NDArray replaced by its index in ``arrays``."""
    if isinstance(state, mx.nd.NDArray):
        arrays.append(state)
        return _Slot(len(arrays) - 1)
    if isinstance(state, (tuple, list)):
        return type(state)(_flatten(s, arrays) for s in state)
    return copy.deepcopy(state)


class _Slot(int):
    """Marks where an NDArray sat in a flattened updater state."""


def _rebuild(template, current, copies: "_Copies"):
    """The saved state, written in place into ``current`` where the shapes allow."""
    if isinstance(template, _Slot):
        if copies.fits(template, current):
            copies.write(template, current)
            return current
        return copies.new(template)
    if isinstance(template, (tuple, list)):
        cur = current if isinstance(current, (tuple, list)) and len(current) == len(
            template) else [None] * len(template)
        return type(template)(_rebuild(t, c, copies) for t, c in zip(template, cur))
    return copy.deepcopy(template)


_COUNTERS = ("_all_index_update_counts", "_index_update_count")
_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.generic)


def _plain(value, depth: int = 0) -> bool:
    """Whether ``value`` is data that a deep copy captures: numbers, strings and containers of
    them, and NDArrays inside containers (LBSGD's ``cumgrads``: {index: {"num_cums": int,
    "cum_grad": NDArray}}, copied on their own device, whatever ``snapshot`` says, and put
    back as new arrays); no other objects."""
    if isinstance(value, _PLAIN) or (depth and isinstance(value, mx.nd.NDArray)):
        return True
    if depth > 8:
        return False
    if isinstance(value, dict):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_plain(v, depth + 1) for v in value)
    return False


def _copy_updater(key, recv, stored):
    recv.copyto(stored)


def _indices(arrays: List[mx.nd.NDArray], new: List[mx.nd.NDArray]) -> List[int]:
    arrays.extend(new)
    return list(range(len(arrays) - len(new), len(arrays)))


class RandomState:
    """Numpy's and Python's global random states, to hand back untouched after a run.

    MXNet's own generator cannot be read back; a range test draws from it (dropout, random
    samplers built on ``mx.random``), which is documented.
    """

    def __init__(self):
        self._np = np.random.get_state()
        self._py = random.getstate()

    def restore(self) -> None:
        np.random.set_state(self._np)
        random.setstate(self._py)


class TrainingState:
    """Everything a range test may change on ``net`` and ``trainer``, held in memory.

    Take it after the net's parameters exist (one forward pass for deferred shapes).

    Parameters
    ----------
    params : list of gluon.Parameter
        The parameters to save (those of the net, which includes BatchNorm running statistics).
    trainer : gluon.Trainer
        The trainer whose optimizer states, counters, learning rate and scheduler to save.
    where : {"cpu", "device"}, default "cpu"
        Keep the copies in host memory, or on each parameter's own device.
    """

    def __init__(self, params, trainer, where: str = "cpu"):
        if where not in WHERE:
            raise ValueError("snapshot must be one of {}, got {!r}".format(WHERE, where))
        self._params = list(params)
        self._trainer = trainer
        self._where = where
        for p in self._params:
            if p._data is None:
                raise RuntimeError(
                    "parameter {} has no data yet: snapshot after the first forward "
                    "pass".format(p.name))
        check_restorable(trainer)
        if not trainer._kv_initialized and _is_dist(trainer._kvstore_params.get("kvstore")):
            # Distributed workers must start (and be restored) from the same weights: create
            # the kvstore now, which broadcasts rank 0's parameters, so that every worker's
            # snapshot holds the synchronised copies. A dist kvstore cannot be reset later.
            trainer._init_kvstore()
            trainer._init_params()
        mx.nd.waitall()
        self._kv = dict(initialized=trainer._kv_initialized, kvstore=trainer._kvstore,
                        update_on_kvstore=trainer._update_on_kvstore,
                        distributed=trainer._distributed,
                        params_to_init=list(trainer._params_to_init))
        self._grad_req = {p.name: p.grad_req for p in self._params}
        arrays: List[mx.nd.NDArray] = []
        self._data: List[List[int]] = []
        self._grad: List[Optional[List[int]]] = []
        for p in self._params:
            self._data.append(_indices(arrays, p.list_data()))
            self._grad.append(_indices(arrays, p.list_grad()) if p.grad_req != "null" else None)
        self._optimizer = trainer._optimizer
        opt = self._optimizer
        # Attributes: plain data (numbers, strings, containers of them: an LR-free
        # optimizer's step bookkeeping) is deep-copied, NDArrays are copied with the rest, and
        # everything else (param_dict, the lr_scheduler object, ...) is kept by identity.
        self._opt_dict = dict(opt.__dict__)
        self._opt_plain = {k: copy.deepcopy(v) for k, v in self._opt_dict.items()
                           if k not in _COUNTERS and _plain(v)}
        self._opt_arrays = {k: _indices(arrays, [v])[0] for k, v in self._opt_dict.items()
                            if isinstance(v, mx.nd.NDArray)}
        self._counts = {dev: (counts, dict(counts))
                        for dev, counts in opt._all_index_update_counts.items()}
        self._current_counts = (opt._index_update_count, dict(opt._index_update_count))
        # mx.contrib.amp's dynamic loss scaler: its scale changes as steps overflow or not.
        scaler = getattr(trainer, "_amp_loss_scaler", None)
        self._amp = (scaler, dict(scaler.__dict__), trainer._scale) if scaler is not None \
            else None
        # per updater: its flattened states, their flags, its optimizer, and the state objects
        # themselves (restore writes into them, so references a user holds stay live even
        # when the range test replaced them: optimizer_state="fresh")
        self._updaters = [(u, {k: _flatten(v, arrays) for k, v in u.states.items()},
                           dict(u.states_synced), u.optimizer, dict(u.states))
                          for u in _trainer_updaters(trainer)]
        self._copies: Optional[_Copies] = _Copies(arrays, where)
        mx.nd.waitall()
        self._live = True

    @property
    def nbytes(self) -> int:
        """Bytes held by the copies (parameters, gradients and optimizer states)."""
        return self._copies.nbytes if self._copies is not None else 0

    def restore(self, detach: bool = False) -> None:
        """Put parameters, gradients, ``grad_req``, optimizer states, counters and the
        scheduler back.

        Parameters
        ----------
        detach : bool, default False
            For a distributed worker whose peers died: engine operations waiting for them will
            never finish, so wait for nothing and give every parameter (and every optimizer
            state) fresh arrays holding the saved values, instead of writing into arrays that a
            stuck operation still owns.
        """
        if not self._live:
            raise RuntimeError("this state was discarded and cannot be restored")
        if detach:
            self._restore_detached()
            return
        trainer = self._trainer
        mx.nd.waitall()  # finish pending steps before overwriting their outputs
        copies = self._copies
        for k, p in enumerate(self._params):
            # keeping the gradient arrays: a training loop may hold on to p.grad()
            set_grad_req(p, self._grad_req[p.name])
            # In place, device by device: set_data would reset (and, with a user's KVStore
            # object, break) the kvstore, and would copy device 0's BatchNorm statistics over
            # the others'.
            for arr, i in zip(p.list_data(), self._data[k]):
                copies.write(i, arr)
            if self._grad[k] is not None:
                for g, i in zip(p.list_grad(), self._grad[k]):
                    copies.write(i, g)
        self._restore_optimizer()
        self._restore_updaters()
        self._restore_kvstore()
        self._restore_amp()
        mx.nd.waitall()

    def _restore_amp(self) -> None:
        if self._amp is not None:
            scaler, saved, scale = self._amp
            scaler.__dict__.update(saved)
            self._trainer._scale = scale

    def _restore_detached(self) -> None:
        copies = self._copies
        for k, p in enumerate(self._params):
            p._grad_req = self._grad_req[p.name]
            p._data = [copies.new(i) for i in self._data[k]]
            p._init_grad()  # fresh gradient arrays, attached to the fresh data
            if self._grad[k] is not None:
                for g, i in zip(p._grad or [], self._grad[k]):
                    copies.write(i, g)
        self._restore_optimizer(fresh=True)
        self._restore_updaters(fresh=True)
        self._restore_amp()

    def _restore_updaters(self, fresh: bool = False) -> None:
        copies, saved = self._copies, {id(u) for u, *_ in self._updaters}
        for updater in _trainer_updaters(self._trainer):
            if id(updater) not in saved:  # created by the range test (a new kvstore's)
                updater.states, updater.states_synced = {}, {}
        for updater, states, synced, optimizer, objects in self._updaters:
            current = {} if fresh else {**updater.states, **objects}
            updater.states = {k: _rebuild(v, current.get(k), copies)
                              for k, v in states.items()}
            updater.states_synced = dict(synced)
            updater.optimizer = optimizer

    def _restore_optimizer(self, fresh: bool = False) -> None:
        opt = self._optimizer
        opt.__dict__.clear()
        opt.__dict__.update(self._opt_dict)
        for key, value in self._opt_plain.items():
            opt.__dict__[key] = copy.deepcopy(value)
        for key, i in self._opt_arrays.items():
            opt.__dict__[key] = _rebuild(_Slot(i), None if fresh else opt.__dict__[key],
                                         self._copies)
        for counts, saved in self._counts.values():
            counts.clear()
            counts.update(saved)
        opt._all_index_update_counts = {dev: counts for dev, (counts, _) in self._counts.items()}
        current, saved = self._current_counts
        current.clear()
        current.update(saved)
        opt._index_update_count = current
        self._trainer._optimizer = opt

    def _restore_kvstore(self) -> None:
        trainer, kv = self._trainer, self._kv
        if not kv["initialized"]:
            if trainer._kv_initialized and isinstance(
                    trainer._kvstore_params.get("kvstore"), (str, type(None))):
                # Created by the range test: drop it, so that the next step creates it afresh
                # and broadcasts the parameters exactly as it would have.
                trainer._reset_kvstore()
                trainer._params_to_init = list(kv["params_to_init"])
                return
            # A KVStore object cannot be initialised twice: keep it initialised, and write the
            # weights it keeps for its updates back (below).
        elif trainer._kvstore is not kv["kvstore"]:
            trainer._kvstore = kv["kvstore"]
            trainer._kv_initialized = kv["initialized"]
            trainer._update_on_kvstore = kv["update_on_kvstore"]
            trainer._distributed = kv["distributed"]
            trainer._params_to_init = list(kv["params_to_init"])
        store = trainer._kvstore
        if store is None or not trainer._update_on_kvstore or _is_dist(store):
            return
        # The kvstore applies the optimizer to its own copy of each weight and hands that copy
        # back after every step: write the saved weights into it, with a copying updater
        # standing in for the optimizer for one push.
        updater = store._updater
        store._set_updater(_copy_updater)
        try:
            for p in self._params:
                if p.name in trainer._param2idx and p._data is not None:
                    store.push(trainer._param2idx[p.name], p.list_data()[0])
            mx.nd.waitall()
        finally:
            store._set_updater(updater)

    def discard(self) -> None:
        """Free the copies; the state can no longer be restored."""
        self._live = False
        self._copies = None
        self._updaters = []
