"""What a range test found: the curve, suggestions, plots, export and schedules."""
from __future__ import annotations

import csv
import json
import math
import numbers
import os
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from . import health as _health
from . import suggest as _suggest

_FORMAT_VERSION = 1


_AS_NUMBER = ("an LRFinderResult is not a number: pass float(result) (or result.lr) as the "
              "learning rate, so the optimizer keeps a plain float that pickles without "
              "gluon_lr and never a NaN")


def _not_a_number(self, *args):
    raise TypeError(_AS_NUMBER)


# MXNet 1.9's Adamax (mxnet/optimizer/optimizer.py) divides by max(beta2 * u, |g|) with no
# epsilon: 0 / 0 for a weight whose gradient is exactly zero (seen here on digits, whose corner
# pixels are always 0: NaN after the first step at any rate).
ADAMAX_NAN = ("MXNet's Adamax divides by the running maximum of |gradient| with no epsilon, so "
              "a weight whose gradient is exactly 0 (for example the weights of an input "
              "feature that is always 0) becomes NaN at the first step, at any rate: use Adam or "
              "Nadam, or drop the constant features")


# Repeated sweeps (find_lr's repeats) whose answers spread over more than this many decades
# (meta["repeat_spread"]) make the answer rough: confidence "low", code "unstable" when the curve
# itself looked healthy. The rate is not moved. In the schedule benchmark's cached range tests 8
# of 168 find_lr calls exceed it (README, "Trust").
UNSTABLE_SPREAD = 0.5

# MXNet's FTRL (mxnet/optimizer/optimizer.py) sets each weight from its accumulated gradient
# sums and the current rate, discarding the initial weights: a rising sweep stays at chance and
# then blows up, while a constant rate trains (a red-team pass: lr=1 reached 73 % on digits).
FTRL_NOTE = ("{}, but MXNet's FTRL sets every weight from its accumulated gradients and the "
             "current rate at each step, discarding the initial weights, so a rising rate does "
             "not trace a range test and this need not mean the inputs or labels are at fault: "
             "try a few constant rates instead")
SGLD_NOTE = ("MXNet's SGLD adds Gaussian noise of standard deviation sqrt(lr) to every step: at "
             "the higher rates of the sweep the noise alone can keep the loss at chance")
# (optimizer name, diagnosis code) -> (replace the diagnosis?, the note)
OPTIMIZER_NOTES = {("adamax", "non_finite"): (False, ADAMAX_NAN),
                   ("ftrl", "dead"): (True, FTRL_NOTE.format(
                       "the loss stayed at its chance level")),
                   ("ftrl", "no_descent"): (True, FTRL_NOTE.format("the loss never decreased")),
                   ("sgld", "dead"): (False, SGLD_NOTE)}


class LRFinderResult:
    """The outcome of a learning-rate range test.

    ``float(result)`` is the ``suggest`` rule's answer (also :attr:`lr`), and the object carries
    the recorded curve. When no rule can answer, :attr:`lr` is None, :attr:`diagnosis` says
    what to change and ``float(result)`` raises :class:`~gluon_lr.NoSuggestion` with that
    diagnosis. The object itself is not a number: arithmetic on it (which is what MXNet does
    with a ``learning_rate`` at the first step) raises ``TypeError``, so pass
    ``float(result)`` to a trainer; the optimizer then holds a plain float that saves and
    loads without gluon_lr.

    Parameters
    ----------
    lrs, losses : sequence of float
        Learning rate and raw training loss of every recorded iteration (one-dimensional).
    stop_reason : str
        ``"diverged"``, ``"non_finite"`` or ``"num_iter"`` (budget spent).
    smoothing : float
        EMA weight of :attr:`smoothed_losses` (the curve the stopping rule saw).
    suggest : str
        Name of the rule behind :attr:`lr`.
    **meta
        Settings of the run (``start_lr``, ``end_lr``, ``num_iter``, ``step_mode``, ``seconds``).
    """

    def __init__(self, lrs: Sequence[float], losses: Sequence[float],
                 stop_reason: str = "num_iter", smoothing: float = 0.98, suggest: str = "auto",
                 **meta):
        _suggest.check_rule_name(suggest)
        lrs_a, losses_a = _curve(lrs, losses)
        # the bar for a measurable fall, fixed with the result (see gluon_lr.suggest.significance)
        bar = self._bar = _significant(meta)
        review = _health.review(lrs_a, losses_a, stop_reason, meta.get("chance_loss"),
                                meta.get("num_iter"),
                                bool(meta.get("resumed")) and not meta.get("state_reset"),
                                bar)
        try:
            value: Optional[float] = _rule_answer(lrs_a, losses_a, suggest, meta, bar)
            diagnosis = review.message
        except _suggest.NoSuggestion as err:
            value, diagnosis = None, review.message or str(err)
        if not review.usable and review.code in ("dead", "non_finite"):
            value = None
        note = OPTIMIZER_NOTES.get((str(meta.get("optimizer")).lower(), review.code))
        if note is not None:
            diagnosis = note[1] if note[0] else "{}. {}".format(diagnosis, note[1])
        self.lrs = lrs_a
        self.losses = losses_a
        self.stop_reason = stop_reason
        self.smoothing = float(smoothing)
        self.rule = suggest
        self.meta = dict(meta)
        self._lr = value
        self._diagnosis = diagnosis
        self.diagnosis_code = review.code
        self.confidence = "none" if value is None else review.confidence
        self._note_spread()
        if value is None:
            warnings.warn("no learning rate could be suggested: {}".format(diagnosis),
                          RuntimeWarning, stacklevel=2)

    def _note_spread(self) -> None:
        """Mark the answer rough when repeated sweeps disagreed by more than
        :data:`UNSTABLE_SPREAD` decades (``meta["repeat_spread"]``); idempotent."""
        lrs = self.meta.get("repeat_lrs")
        lrs = list(lrs) if isinstance(lrs, (list, tuple)) else []
        answers = [float(v) for v in lrs if isinstance(v, numbers.Real) and
                   not isinstance(v, bool) and math.isfinite(v) and v > 0]
        if len(answers) >= 2:  # the answered runs, also when one gave none
            spread = math.log10(max(answers) / min(answers))
        else:
            spread = self.meta.get("repeat_spread")
            if isinstance(spread, bool) or not isinstance(spread, numbers.Real):
                return
        if self._lr is None or not spread > UNSTABLE_SPREAD:  # NaN is never above
            return
        note = ("the {} sweeps' answers spread over {:.2f} decades{}{}: the batch order moves "
                "the answer, so it is rough; larger batches, more repeats or a longer sweep "
                "(num_iter) steady it".format(
                    len(lrs) or "repeated", float(spread),
                    " ({:.3g} .. {:.3g})".format(min(answers), max(answers))
                    if len(answers) >= 2 else "",
                    "; {} gave none".format(len(lrs) - len(answers))
                    if len(answers) >= 2 and len(answers) < len(lrs) else ""))
        if self._diagnosis and note in self._diagnosis:
            return
        if self.diagnosis_code == "ok":
            self.diagnosis_code = "unstable"
        self._diagnosis = "{}; {}".format(self._diagnosis, note) if self._diagnosis else note
        self.confidence = "low"

    def __float__(self) -> float:
        if self._lr is None:
            raise _suggest.NoSuggestion("the range test gave no learning rate to use: {}"
                                        .format(self._diagnosis))
        return self._lr

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        return format(math.nan if self._lr is None else self._lr, spec)

    # Using the object as a number is a mistake that MXNet would only notice (or not, for a
    # NaN) at the first step; say what to do instead.
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_a_number
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _not_a_number
    __mod__ = __rmod__ = __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = _not_a_number
    __lt__ = __le__ = __gt__ = __ge__ = __round__ = __int__ = __index__ = _not_a_number

    def __reduce__(self):
        return (_from_dict, (self.to_dict(),))

    def __repr__(self) -> str:
        lr = "{:.3g}".format(self.lr) if self.lr is not None else "None"
        return "LRFinderResult(lr={}, rule={!r}, iterations={}, stop_reason={!r})".format(
            lr, self.rule, len(self.lrs), self.stop_reason)

    # ---- the answer ----------------------------------------------------------------------
    @property
    def lr(self) -> Optional[float]:
        """The suggested learning rate, or None when the curve cannot support one."""
        return self._lr

    @property
    def smoothed_losses(self) -> np.ndarray:
        """Bias-corrected exponential moving average of :attr:`losses` (weight ``smoothing``)."""
        return _suggest.ema(self.losses, self.smoothing)

    @property
    def centered_losses(self) -> np.ndarray:
        """The loss smoothed without lag (centred median and mean), as ``"auto"`` sees it.

        Points a rule does not use (see :func:`gluon_lr.suggest.usable_mask`) are ``nan``.
        """
        out = np.full(self.losses.shape, np.nan)
        keep = _suggest.usable_mask(self.lrs, self.losses)
        if keep.any():
            out[keep] = _suggest.centered_smooth(self.losses[keep])
        return out

    @property
    def diagnosis(self) -> Optional[str]:
        """One sentence naming the cause and what to change, or None when the curve looks
        healthy. :attr:`diagnosis_code` is the same as a code and :attr:`confidence` says
        ``"high"``, ``"low"`` or ``"none"`` (see :mod:`gluon_lr.health`)."""
        return self._diagnosis

    def suggestion(self, rule: Optional[str] = None) -> Optional[float]:
        """The learning rate suggested by ``rule`` (default: the run's rule), or None.

        Rules: ``"auto"``, ``"steepest"``, ``"minimum"``, ``"valley"``, ``"slide"``.
        ``"auto"`` is moved for the optimizer the run recorded (plain SGD: see
        :func:`gluon_lr.suggest.optimizer_factor`), as :attr:`lr` is.
        """
        rule = self.rule if rule is None else rule
        try:
            return _rule_answer(self.lrs, self.losses, rule, self.meta, self._bar)
        except _suggest.NoSuggestion:
            return None

    def suggestions(self) -> Dict[str, Optional[float]]:
        """Every registered rule's answer, by name."""
        return {name: self.suggestion(name) for name in _suggest.RULES}

    @property
    def suggested_range(self) -> Optional[Tuple[float, float]]:
        """``(low, high)`` bounds where the loss falls steadily, or None; with the ``"auto"``
        rule, ``high`` is never below :attr:`lr`."""
        if self.lr is None:
            return None
        try:
            low, high = _suggest.suggested_range(self.lrs, self.losses, self._bar)
        except _suggest.NoSuggestion:
            return None
        if self.rule == "auto":  # the plain-SGD factor may lift lr above the curve's "auto"
            high = max(high, self.lr)
        return low, high

    @property
    def edge_lr(self) -> Optional[float]:
        """Where the smoothed loss is lowest (Smith's upper bound), or None; see
        :func:`gluon_lr.suggest.edge`."""
        if self.lr is None:
            return None
        try:
            return _suggest.edge(self.lrs, self.losses, self._bar)
        except _suggest.NoSuggestion:
            return None

    # ---- export --------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """Everything needed to rebuild this result (JSON-safe: non-finite numbers as None)."""
        return {
            "format": _FORMAT_VERSION,
            "lrs": [_finite_or_none(v) for v in self.lrs],
            "losses": [_finite_or_none(v) for v in self.losses],
            "stop_reason": self.stop_reason,
            "smoothing": self.smoothing,
            "suggest": self.rule,
            "lr": self.lr,
            "meta": _json_safe(dict(self.meta)),
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "LRFinderResult":
        """Rebuild a result from :meth:`to_dict`; anything malformed is a ``ValueError``."""
        if not isinstance(d, dict) or "lrs" not in d or "losses" not in d:
            raise ValueError("not a saved LRFinderResult: a dict with 'lrs' and 'losses' is "
                             "needed")
        lrs, losses = _numbers("lrs", d["lrs"]), _numbers("losses", d["losses"])
        stop_reason, rule = d.get("stop_reason", "num_iter"), d.get("suggest", "auto")
        for key, value in (("stop_reason", stop_reason), ("suggest", rule)):
            if not isinstance(value, str):
                raise ValueError("{} must be a string, got {}".format(key, _short(value)))
        smoothing = d.get("smoothing", 0.98)
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not (
                0.0 <= _as_float("smoothing", smoothing) < 1.0):
            raise ValueError("smoothing must be a number in [0, 1), got {}".format(
                _short(smoothing)))
        meta = d.get("meta", {})
        if not isinstance(meta, dict) or not all(isinstance(k, str) for k in meta):
            raise ValueError("meta must be an object with string keys")
        clash = sorted(set(meta) & {"lrs", "losses", "stop_reason", "smoothing", "suggest"})
        if clash:
            raise ValueError("meta may not hold {!r}".format(clash[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = cls(lrs, losses, stop_reason=stop_reason, smoothing=float(smoothing),
                         suggest=rule, **meta)
        saved = d.get("lr")
        if (isinstance(saved, (int, float)) and not isinstance(saved, bool)
                and math.isfinite(saved) and saved > 0
                and (result.lr is None or not math.isclose(result.lr, saved, rel_tol=1e-6))):
            warnings.warn("this result was saved with lr={:.3g}; read with the current rules "
                          "its curve gives {}: a rule changed since it was saved (see the "
                          "README, 'How the suggestion is made')".format(
                              saved, "no suggestion" if result.lr is None
                              else "lr={:.3g}".format(result.lr)), UserWarning, stacklevel=2)
        return result

    def to_json(self, path: Optional[str] = None) -> str:
        """The result as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        if path is not None:
            with open(os.fspath(path), "w", encoding="utf-8") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, path: str) -> "LRFinderResult":
        """Load a result saved by :meth:`to_json`.

        Raises ``ValueError`` for anything that is not a saved result (bad JSON, numbers
        beyond a float, nesting deeper than Python's recursion limit, wrong fields), and
        ``OSError`` when the file cannot be read.
        """
        with open(os.fspath(path), encoding="utf-8") as f:
            try:
                doc = json.load(f)
            except RecursionError:
                raise ValueError("not a saved LRFinderResult: JSON nested too deeply") from None
        return cls.from_dict(doc)

    def _columns(self) -> Dict[str, np.ndarray]:
        with np.errstate(all="ignore"):
            return {"lr": self.lrs, "loss": self.losses,
                    "ema_loss_lagging": self.smoothed_losses,
                    "smoothed_loss_no_lag": self.centered_losses}

    def to_csv(self, path: str) -> None:
        """Write ``iteration,lr,loss,ema_loss_lagging,smoothed_loss_no_lag`` rows to ``path``.

        ``ema_loss_lagging`` is :attr:`smoothed_losses`, the exponential average the stopping
        rule watches (the dashed line of the plot); it trails the loss by about
        ``1 / (1 - smoothing)`` steps. ``smoothed_loss_no_lag`` is :attr:`centered_losses`,
        the curve ``"auto"`` reads (the bold line).
        """
        cols = self._columns()
        with open(os.fspath(path), "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["iteration"] + list(cols))
            for i, row in enumerate(zip(*cols.values())):
                writer.writerow([i] + [repr(float(v)) for v in row])

    def to_pandas(self):
        """A ``pandas.DataFrame`` with the columns of :meth:`to_csv` (``lr``, ``loss``,
        ``ema_loss_lagging``, ``smoothed_loss_no_lag``), indexed by iteration."""
        try:
            import pandas as pd
        except ImportError as err:  # pragma: no cover - pandas is a dev dependency
            raise ImportError("to_pandas() needs pandas: pip install pandas") from err
        return pd.DataFrame(self._columns()).rename_axis("iteration")

    # ---- pictures and schedules ----------------------------------------------------------
    def schedule(self, name: str, total_steps: int, steps_per_epoch: Optional[int] = None,
                 start: Optional[int] = None, **overrides):
        """A schedule preset for ``total_steps`` steps, at the peak this range test gives it.

        Parameters
        ----------
        name : str
            ``"auto"`` (the recommended shape and peak, no extra training) or a preset:
            ``"constant"``, ``"linear"``, ``"wsd"``, ``"one_cycle"``, ``"cosine"``,
            ``"warmup_cosine"``, ``"triangular"``, ``"triangular2"``, ``"exp_range"``.
        total_steps : int
            Length of the training the schedule is for, in steps.
        steps_per_epoch : int, optional
            Sizes the cycles of the triangular family (default: what the range test's data
            had, when known).
        start : int, optional
            The trainer's ``num_update`` when the schedule is attached. MXNet schedulers read
            the optimizer's ``num_update``, which a trainer that has already trained does not
            restart: with ``start=N`` the schedule's step 1 is the trainer's step ``N + 1``
            (an :class:`~gluon_lr.schedules.Offset`). Default: 0, with a warning when this
            range test ran on a trainer that had stepped (``meta["trainer_num_update"]``),
            whose schedule would otherwise begin part-way through.
        **overrides
            Any argument of the preset, replacing the value derived.

        Returns
        -------
        Schedule
            With ``name`` (the preset) and ``reason`` (why this shape and peak).

        Notes
        -----
        The configuration lives in :mod:`gluon_lr.recommend`: each shape is parameterised by
        its peak (:func:`~gluon_lr.recommend.build`), and the peak is chosen per shape
        (:func:`~gluon_lr.recommend.peak`); ``benchmarks/schedule_quality.py`` measures both
        against a grid search.

        Raises
        ------
        ValueError
            For an unknown name, or when the range test gave no suggestion (see
            :attr:`diagnosis`).
        """
        from .recommend import configure
        from .schedules.base import check_non_negative
        if start is not None:
            start = check_non_negative("start", start, integer=True)
        schedule = configure(self, name, total_steps, steps_per_epoch, **overrides)
        at = int(self.meta.get("trainer_num_update") or 0)
        return starting_at(schedule, start, at, total_steps)

    def plot(self, ax=None, suggest=True, skip_start: int = 0, skip_end: int = 0,
             path: Optional[str] = None, show: bool = False, show_range: bool = True,
             legend: Optional[str] = "outside"):
        """Loss against learning rate (log axis), raw and smoothed, with the suggestion marked
        and the suggested range shaded.

        See :func:`gluon_lr.plotting.plot_lr_find` for the parameters; returns the axes.
        """
        from .plotting import plot_lr_find
        return plot_lr_find(self, ax=ax, suggest=suggest, skip_start=skip_start,
                            skip_end=skip_end, path=path, show=show, show_range=show_range,
                            legend=legend)


def starting_at(schedule, start: Optional[int], at: int, total_steps: int,
                stacklevel: int = 3, who: str = "this range test ran on a trainer"):
    """``schedule`` shifted to begin after the trainer's step ``start`` (an
    :class:`~gluon_lr.schedules.Offset` keeping its ``name`` and ``reason``); unshifted for
    ``start`` 0 or None, with a warning when ``start`` is None and the trainer it was chosen on
    was already at ``num_update = at > 0``."""
    from .schedules import Offset
    if start is None and at > 0:
        warnings.warn(
            "{3} already at num_update={0}; MXNet schedulers "
            "read the trainer's num_update, so attached to that trainer this {1}-step "
            "schedule would start at its step {2}: pass start={0} (or start=0 for a new "
            "trainer)".format(at, total_steps, at + 1, who), UserWarning, stacklevel=stacklevel)
    if not start:
        return schedule
    shifted = Offset(schedule, start)
    shifted.name = schedule.name
    shifted.reason = "{}; starts after the trainer's step {}".format(schedule.reason, start)
    return shifted


def _rule_answer(lrs, losses, rule: str, meta: Dict[str, Any], bar: float) -> float:
    """``rule``'s answer on the curve, ``"auto"`` moved for the optimizer the run recorded
    (plain SGD: no momentum lag in the curve); raises :class:`~gluon_lr.suggest.NoSuggestion`."""
    value = _suggest.suggest(lrs, losses, rule, bar)
    if rule == "auto":
        value = _suggest.for_optimizer(value, lrs, losses, meta.get("optimizer"),
                                       meta.get("optimizer_params"), bar)
    return value


def _significant(meta: Dict[str, Any]) -> float:
    """The bar for a measurable fall on this run's curve: lower for a net trained from scratch
    than for a trainer that had already stepped (``meta["resumed"]``)."""
    return _suggest.significance(bool(meta.get("resumed")))


def _finite_or_none(v) -> Optional[float]:
    v = float(v)
    return v if math.isfinite(v) else None


def _json_safe(value):
    """``value`` with numpy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _finite_or_none(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_float(name: str, value) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError("{} holds a number beyond the float range: {}".format(
            name, _short(value))) from None


def _numbers(name: str, values) -> list:
    """A saved curve: a list of numbers, None standing for a non-finite value."""
    if not isinstance(values, list):
        raise ValueError("{} must be a list of numbers, got {}".format(name, type(values).__name__))
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append(math.nan)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("{}[{}] must be a number or null, got {}".format(name, i, _short(v)))
        else:
            out.append(_as_float("{}[{}]".format(name, i), v))
    return out


def _curve(lrs, losses) -> Tuple[np.ndarray, np.ndarray]:
    """The curve as two 1-D float arrays of equal length; anything else is refused."""
    try:
        lrs_a = np.asarray(lrs, dtype=np.float64)
        losses_a = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError("lrs and losses must be sequences of numbers: {}".format(err)) from None
    for name, arr in (("lrs", lrs_a), ("losses", losses_a)):
        if arr.ndim != 1:
            raise ValueError("{} must be one-dimensional, got shape {}".format(name, arr.shape))
    if lrs_a.shape != losses_a.shape:
        raise ValueError("lrs and losses have different lengths: {} and {}".format(
            lrs_a.size, losses_a.size))
    return lrs_a, losses_a


def _from_dict(d: Dict[str, Any]) -> LRFinderResult:
    return LRFinderResult.from_dict(d)
