"""gluon_lr: learning-rate range test and schedule presets for Apache MXNet Gluon.

Typical use::

    from gluon_lr import Learner
    result = Learner(net, (X, y)).find_lr()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": result})
"""
__version__ = "0.1.0"

from ._mx import mx  # noqa: F401  (fails early with a clear message without MXNet)
from .compare import ScheduleComparison, compare_schedules
from .data import ContinuousBatchSampler
from .finder import LRFinder, lr_sweep
from .learner import Learner
from .result import LRFinderResult
from .stopping import LRFinderStoppingCriteria
from .suggest import NoSuggestion, RULES as SUGGESTION_RULES

__all__ = [
    "__version__",
    "ContinuousBatchSampler",
    "Learner",
    "LRFinder",
    "LRFinderResult",
    "LRFinderStoppingCriteria",
    "NoSuggestion",
    "ScheduleComparison",
    "SUGGESTION_RULES",
    "compare_schedules",
    "lr_sweep",
]
