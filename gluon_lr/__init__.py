"""gluon_lr: learning-rate range test and schedule presets for Apache MXNet Gluon.

Typical use::

    from gluon_lr import Learner
    result = Learner(net, (X, y)).find_lr()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": float(result)})

The public names are loaded on first use (PEP 562). That keeps ``import gluon_lr.schedules``
free of the rest, which matters on MXNet parameter servers: they unpickle an optimizer's
``lr_scheduler`` while ``mxnet`` itself is still half-imported. It also keeps
``gluon-lr --help`` fast: importing MXNet takes about two seconds.
"""
import importlib
import importlib.util

__version__ = "0.1.0"

# Fail early, with a clear message, when MXNet is not installed at all (without importing it;
# a broken install gets the message of gluon_lr._mx on first use).
if importlib.util.find_spec("mxnet") is None:  # pragma: no cover - exercised only without mxnet
    from . import _mx  # noqa: F401  (raises the ImportError that says what to install)

_EXPORTS = {
    "ContinuousBatchSampler": ".data",
    "Learner": ".learner",
    "LRFinder": ".finder",
    "lr_sweep": ".finder",
    "LRFinderResult": ".result",
    "LRFinderStoppingCriteria": ".stopping",
    "NoSuggestion": ".suggest",
    "SUGGESTION_RULES": ".suggest",
    "DAdaptAdam": ".optimizers",
    "DAdaptSGD": ".optimizers",
    "Prodigy": ".optimizers",
    "RateCheck": ".compare",
    "ScheduleComparison": ".compare",
    "check_rate": ".compare",
    "compare_schedules": ".compare",
    "TrainingStep": ".step",
}
_RENAMED = {"SUGGESTION_RULES": "RULES"}

__all__ = ["__version__"] + sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(_EXPORTS[name], __name__)
        value = getattr(module, _RENAMED.get(name, name))
        globals()[name] = value
        return value
    raise AttributeError("module 'gluon_lr' has no attribute {!r}".format(name))


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
