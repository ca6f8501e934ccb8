"""What a range test was run with (optimizer, its settings, batch size, model), for its result.

A saved run should say what its number is for: the best learning rate depends on the
optimizer, its momentum and weight decay, the batch size and the model.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Optional

# Optimizer attributes that are settings (not bookkeeping such as num_update or lr).
_SKIP = {"lr", "num_update", "begin_num_update", "aggregate_num", "allow_np_array",
         "rescale_grad",
         "m_schedule"}  # Nadam's running product of its momentum schedule: state


def optimizer_settings(optimizer) -> Dict[str, Any]:
    """The optimizer's scalar settings (momentum, wd, betas, ...), JSON-safe."""
    out = {}
    for key, value in sorted(vars(optimizer).items()):
        if key.startswith("_") or key in _SKIP or value is None:
            continue
        if isinstance(value, (bool, str)):
            out[key] = value
        elif isinstance(value, numbers.Integral):
            out[key] = int(value)
        elif isinstance(value, numbers.Real) and math.isfinite(float(value)):
            out[key] = float(value)  # numpy scalars too (momentum=np.float32(0.9))
    return out


def describe(net, trainer, batch_size: Optional[int]) -> Dict[str, Any]:
    """``optimizer``, ``optimizer_params``, ``batch_size`` and ``model`` of a range test."""
    optimizer = trainer.optimizer
    return {"optimizer": type(optimizer).__name__.lower(),
            "optimizer_params": optimizer_settings(optimizer),
            "batch_size": int(batch_size) if batch_size is not None else None,
            "model": type(net).__name__}


def describe_line(meta: Dict[str, Any]) -> Optional[str]:
    """``"sgd (momentum=0.9, wd=0), batch size 64, model lenet"`` from a result's meta, or None
    when the run did not record them (older files)."""
    if not meta.get("optimizer"):
        return None
    params = meta.get("optimizer_params") or {}
    shown = ", ".join("{}={}".format(k, v) for k, v in sorted(params.items())
                      if k not in _QUIET)
    text = meta["optimizer"] + (" ({})".format(shown) if shown else "")
    if meta.get("batch_size"):
        text += ", batch size {}".format(meta["batch_size"])
        if (meta.get("accumulate") or 1) > 1:
            text += " x {} accumulated".format(meta["accumulate"])
    if meta.get("model"):
        text += ", model {}".format(meta["model"])
    if meta.get("data"):
        text += ", data {}".format(meta["data"])
    if meta.get("loss"):
        text += ", loss {}".format(meta["loss"])
    return text


# Settings every optimizer has that are rarely changed; left out of the one-line summary.
_QUIET = {"multi_precision", "lazy_update", "clip_gradient", "epsilon"}
