"""Snapshot a net and its trainer, and put both back bit for bit.

Parameters are copied in memory; optimizer states go through ``Trainer.save_states`` /
``load_states`` in a temporary directory that is always removed. Restoring parameters *before*
optimizer states is what makes the multi-device (kvstore) path right, and re-binding the user's
own optimizer object afterwards keeps ``trainer.optimizer`` and its ``lr_scheduler`` the very
objects the user attached (``load_states`` would otherwise leave fresh unpickled copies).
"""
from __future__ import annotations

import os
import random
import shutil
import tempfile
from typing import Dict, List, Optional

import numpy as np

from ._mx import mx
from .step import set_grad_req


def _trainer_updaters(trainer) -> List:
    updaters = list(getattr(trainer, "_updaters", []) or [])
    kv = getattr(trainer, "_kvstore", None)
    kv_updater = getattr(kv, "_updater", None) if kv is not None else None
    if kv_updater is not None and hasattr(kv_updater, "optimizer"):
        updaters.append(kv_updater)
    return updaters


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
    """Everything a range test may change on ``net`` and ``trainer``.

    Take it after the net's parameters exist (one forward pass for deferred shapes).

    Parameters
    ----------
    params : list of gluon.Parameter
        The parameters to save (those of the net, which includes BatchNorm running statistics).
    trainer : gluon.Trainer
        The trainer whose optimizer states, counters, learning rate and scheduler to save.
    """

    def __init__(self, params, trainer):
        self._params = list(params)
        self._trainer = trainer
        self._data: Dict[str, List[mx.nd.NDArray]] = {}
        self._grad: Dict[str, List[mx.nd.NDArray]] = {}
        self._grad_req = {p.name: p.grad_req for p in self._params}
        for p in self._params:
            if p._data is None:
                raise RuntimeError(
                    "parameter {} has no data yet: snapshot after the first forward "
                    "pass".format(p.name))
        self._optimizer = trainer._optimizer
        self._lr_scheduler = self._optimizer.lr_scheduler
        self._lr = self._optimizer.lr
        # mx.contrib.amp's dynamic loss scaler: its scale changes as steps overflow or not.
        scaler = getattr(trainer, "_amp_loss_scaler", None)
        self._amp = (scaler, dict(scaler.__dict__), trainer._scale) if scaler is not None \
            else None
        self._tmpdir: Optional[str] = tempfile.mkdtemp(prefix="gluon_lr_")
        self._states_file = os.path.join(self._tmpdir, "trainer.states")
        # save_states first: it initialises the kvstore and broadcasts the parameters, so on
        # several devices or distributed workers the copies saved below are the synchronised
        # ones. The scheduler is detached while pickling (a user's scheduler need not be
        # picklable for a range test) and re-attached by identity afterwards.
        self._optimizer.lr_scheduler = None
        try:
            trainer.save_states(self._states_file)
        except BaseException:
            self._optimizer.lr_scheduler = self._lr_scheduler
            self.discard()
            raise
        self._optimizer.lr_scheduler = self._lr_scheduler
        mx.nd.waitall()
        for p in self._params:
            self._data[p.name] = [arr.copy() for arr in p.list_data()]
            if p.grad_req != "null":
                self._grad[p.name] = [g.copy() for g in p.list_grad()]
        mx.nd.waitall()

    def restore(self, detach: bool = False) -> None:
        """Put parameters, gradients' ``grad_req``, optimizer states and scheduler back.

        Parameters
        ----------
        detach : bool, default False
            For a distributed worker whose peers died: engine operations waiting for them will
            never finish, so wait for nothing and give every parameter fresh arrays holding the
            saved values, instead of writing into arrays that a stuck operation still owns.
        """
        if self._tmpdir is None:
            raise RuntimeError("this state was discarded and cannot be restored")
        if detach:
            self._restore_detached()
            return
        mx.nd.waitall()  # finish pending steps before overwriting their outputs
        for p in self._params:
            # keeping the gradient arrays: a training loop may hold on to p.grad()
            set_grad_req(p, self._grad_req[p.name])
            # set_data keeps a kvstore's own copy in step with the devices' copies.
            p.set_data(self._data[p.name][0])
        self._trainer.load_states(self._states_file)
        # load_states may re-initialise the kvstore, which broadcasts device 0's copy of every
        # parameter; copies that legitimately differ per device (BatchNorm running statistics)
        # are put back one by one.
        for p in self._params:
            for arr, saved in zip(p.list_data(), self._data[p.name]):
                saved.copyto(arr)
            for g, saved in zip(p.list_grad() if p.name in self._grad else [],
                                self._grad.get(p.name, [])):
                saved.copyto(g)
        self._rebind_optimizer()
        if self._amp is not None:
            scaler, saved, scale = self._amp
            scaler.__dict__.update(saved)
            self._trainer._scale = scale
        mx.nd.waitall()

    def _restore_detached(self) -> None:
        for p in self._params:
            p._grad_req = self._grad_req[p.name]
            p._data = [saved.copy() for saved in self._data[p.name]]
            p._init_grad()  # fresh gradient arrays, attached to the fresh data
            for g, saved in zip(p._grad or [], self._grad.get(p.name, [])):
                saved.copyto(g)
        self._trainer.load_states(self._states_file)  # unpickles fresh optimizer states
        self._rebind_optimizer()

    def _rebind_optimizer(self) -> None:
        trainer, original = self._trainer, self._optimizer
        loaded = trainer._optimizer
        if loaded is not original:
            state = dict(loaded.__dict__)
            state["param_dict"] = loaded.param_dict
            original.__dict__.clear()
            original.__dict__.update(state)
            trainer._optimizer = original
            for updater in _trainer_updaters(trainer):
                updater.optimizer = original
        original.lr_scheduler = self._lr_scheduler
        original.lr = self._lr

    def discard(self) -> None:
        """Remove the temporary directory; the state can no longer be restored."""
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        self._data = {}
        self._grad = {}

    def __del__(self):  # pragma: no cover - best effort clean-up
        try:
            self.discard()
        except Exception:
            pass
