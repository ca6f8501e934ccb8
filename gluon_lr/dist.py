"""Keep the workers of a distributed range test in step, and make them fail together.

With a ``dist_*`` kvstore every worker must take part in every collective call (the gradient
all-reduce in ``Trainer.step``, the loss average); a worker that stops calling them leaves the
others blocked in C for ever. So each step of a distributed range test has one *round* before
the step's gradients are sent: every worker pushes a small vector through the kvstore and reads
back its sum::

    [loss of the previous step, dirty, code of rank 0 .. code of rank n-1,
     steps_per_epoch of rank 0 .. of rank n-1]

A worker that raised, was interrupted (Ctrl-C is deferred to the next round), or failed a check
puts a non-zero code in its own slot, so every worker learns at the same round who failed and
where, stops there, restores its net and trainer and raises :class:`WorkerFailed`. A worker that
vanished (``SIGKILL``) says nothing: every blocking wait runs in a helper thread and is bounded
by a timeout, after which the survivors restore and raise :class:`WorkerTimeout`.

When a wait timed out, or a worker failed half-way through a collective call, MXNet's engine
holds operations that will never finish. Such a job is *broken*: parameters are restored into
fresh arrays (nothing waits for the stuck operations), and the process cannot exit normally
(MXNet's ``atexit`` hook waits for every pending operation, and ps-lite's exit barrier for
every node), so :func:`exit_now` ends it with ``os._exit``; it is installed automatically for
uncaught exceptions.
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import math
import os
import queue
import signal
import sys
import threading
import time
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np

from ._mx import mx
from .health import check_due, nonfinite_guard

logger = logging.getLogger(__name__)

nd = mx.nd

#: kvstore keys of the rounds; far above the trainer's parameter indices.
ROUND_KEY = 1 << 30
#: Environment variable giving the default timeout in seconds.
TIMEOUT_ENV = "GLUON_LR_DIST_TIMEOUT"
#: The default timeout is ``max(MIN_TIMEOUT, STEP_MULTIPLE * slowest step so far)``.
MIN_TIMEOUT = 60.0
STEP_MULTIPLE = 20.0

OK, ERROR, INTERRUPTED, CHECK = 0, 1, 2, 3
_WHAT = {ERROR: "raised an error", INTERRUPTED: "was interrupted",
         CHECK: "failed its checks"}


class WorkerFailed(RuntimeError):
    """A worker of a distributed range test failed; every worker stops at the same round.

    Attributes
    ----------
    rank : int or None
        The failing worker's rank (None when it is not known, see :class:`WorkerTimeout`).
    step : int or None
        The range-test step at which the workers stopped (None before the first step).
    kind : str
        ``"error"``, ``"interrupted"``, ``"check"`` or ``"timeout"``.
    """

    def __init__(self, message: str, rank: Optional[int] = None, step: Optional[int] = None,
                 kind: str = "error"):
        super().__init__(message)
        self.rank, self.step, self.kind = rank, step, kind


class WorkerTimeout(WorkerFailed):
    """No word from the other workers within the timeout (one of them died or hung)."""


def check_timeout(timeout) -> Optional[float]:
    """Validate ``dist_timeout`` (seconds > 0, or None for the default)."""
    if timeout is None:
        env = os.environ.get(TIMEOUT_ENV)
        if not env:
            return None
        try:
            return check_timeout(float(env))
        except (TypeError, ValueError):
            raise ValueError("{} must be a number of seconds > 0, got {!r}".format(
                TIMEOUT_ENV, env)) from None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, np.integer,
                                                             np.floating)):
        raise TypeError("dist_timeout must be a number of seconds or None, got {!r}".format(
            timeout))
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError("dist_timeout must be a finite number of seconds > 0, got {!r}".format(
            timeout))
    return float(timeout)


def default_timeout(slowest_step: float) -> float:
    """The timeout when none is given: generous, since a false alarm ends the whole job.

    >>> default_timeout(0.01), default_timeout(10.0)
    (60.0, 200.0)
    """
    return max(MIN_TIMEOUT, STEP_MULTIPLE * slowest_step)


def is_dist(kvstore) -> bool:
    if isinstance(kvstore, str):
        return "dist" in kvstore
    return "dist" in getattr(kvstore, "type", "")


# ---- leaving a broken job ------------------------------------------------------------------
_exit_status: List[int] = []
_hooks_installed = False


def exit_now(status: int = 1) -> None:
    """Flush output and end the process with ``status`` at once (``os._exit``).

    Use it to leave a worker after :class:`WorkerTimeout`, or whenever the kvstore's job is
    broken: a normal exit would block in MXNet's ``atexit`` hook (it waits for every pending
    engine operation, some of which wait for a dead peer) and in ps-lite's exit barrier (which
    needs every node). It skips ``atexit`` handlers and ``finally`` blocks of other threads.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # pragma: no cover - a closed stream
            pass
    os._exit(status)


def _excepthook(exc_type, exc, tb):  # pragma: no cover - runs at the end of a broken worker
    _exit_status.append(130 if issubclass(exc_type, KeyboardInterrupt) else 1)
    sys.__excepthook__(exc_type, exc, tb)
    exit_now(_exit_status[-1])


def _at_exit():  # pragma: no cover - runs at the end of a broken worker
    exit_now(_exit_status[-1] if _exit_status else 1)


def _install_exit_hooks() -> None:
    """Make an uncaught error (or the end of the script) leave a broken job at once."""
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _excepthook
    atexit.register(_at_exit)  # runs before MXNet's own hook, which would wait for ever


def _disable_exit_barrier(kv) -> None:
    try:
        mx.base._LIB.MXKVStoreSetBarrierBeforeExit(kv.handle, ctypes.c_int(0))
    except Exception:  # pragma: no cover - not every build has it
        pass


# ---- waiting with a bound ------------------------------------------------------------------
class _Waiter:
    """One helper thread that runs blocking calls, so that the main thread can wait with a
    bound (and still receive Ctrl-C). A call that times out leaves its thread blocked for
    good; the next call gets a new thread. Starting a thread per call cost ~0.4 ms here."""

    def __init__(self):
        self._jobs = None

    def _start(self) -> None:
        jobs = queue.SimpleQueue()

        def serve():
            while True:
                fn, done, box = jobs.get()
                try:
                    box["value"] = fn()
                except BaseException as err:  # handed to the caller
                    box["error"] = err
                finally:
                    done.set()

        threading.Thread(target=serve, name="gluon_lr-dist-wait", daemon=True).start()
        self._jobs = jobs

    def __call__(self, fn: Callable[[], object], timeout: float):
        if self._jobs is None:
            self._start()
        done, box = threading.Event(), {}
        self._jobs.put((fn, done, box))
        if not done.wait(timeout):
            self._jobs = None  # that thread may never come back
            return False, None
        if "error" in box:
            raise box["error"]
        return True, box.get("value")


#: ``_wait(fn, timeout)``: run ``fn`` (which may block in C) in a helper thread and wait at
#: most ``timeout`` s. Returns ``(True, result)``, or ``(False, None)`` on a timeout. The main
#: thread waits on an ``Event``, so Ctrl-C still reaches it.
_wait = _Waiter()


class Coordinator:
    """The rounds of one distributed kvstore (one per kvstore: see :func:`coordinator`).

    Parameters
    ----------
    kv : mx.kv.KVStore
        A ``dist_*`` kvstore; ``kv.init`` of the round keys is a barrier of all workers.
    timeout : float, optional
        Seconds to wait at any round; default :func:`default_timeout` of the slowest step.
    """

    def __init__(self, kv, timeout: Optional[float] = None):
        self.kv = kv
        self.rank, self.size = int(kv.rank), int(kv.num_workers)
        self.timeout = timeout
        self.broken = False  # engine operations may never finish: restore detached, exit now
        self.interrupted = False  # Ctrl-C seen, reported at the next round
        self.agreed_steps: Optional[int] = None
        self._slowest = 0.0
        self._last: Optional[float] = None
        self._busy = False  # inside a round: this worker cannot report anything more
        self._round = 0
        self._keys = (ROUND_KEY, ROUND_KEY + 1)
        width = 2 + 2 * self.size
        self._bufs = [nd.zeros((width,), ctx=mx.cpu()) for _ in self._keys]
        self._bounded(lambda: (self.kv.init(list(self._keys), [b.copy() for b in self._bufs]),
                               nd.waitall()), None, "the start of the range test's rounds")

    # -- timing ------------------------------------------------------------------------------
    def current_timeout(self) -> float:
        return self.timeout if self.timeout is not None else default_timeout(self._slowest)

    def start_steps(self) -> None:
        """Start timing steps (the first steps of a sweep set the default timeout)."""
        self._last = None

    def _bounded(self, fn, step: Optional[int], what: str):
        limit = self.current_timeout()
        finished, value = _wait(fn, limit)
        if not finished:
            self.mark_broken()
            raise WorkerTimeout(
                "worker {} of {}: no word from the other workers for {:.0f} s while waiting "
                "for {}{} (a worker died or hung; its launcher or log names it). This "
                "worker's net and trainer were restored; leave the process with "
                "gluon_lr.dist.exit_now() (done for you if the error is not caught). Set "
                "Learner(dist_timeout=...) or {} to wait longer".format(
                    self.rank, self.size, limit, what, _at_step(step), TIMEOUT_ENV),
                rank=None, step=step, kind="timeout")
        return value

    def bounded(self, fn: Callable[[], object], what: str, step: Optional[int] = None):
        """Run a collective call (``fn``) with the timeout of the rounds."""
        self._busy = True
        value = self._bounded(fn, step, what)
        self._busy = False
        return value

    def mark_broken(self) -> None:
        if not self.broken:
            self.broken = True
            _disable_exit_barrier(self.kv)
            _install_exit_hooks()

    # -- rounds ------------------------------------------------------------------------------
    @property
    def can_report(self) -> bool:
        """Whether this worker can still tell the others it failed (no round half done)."""
        return not self._busy and not self.broken

    def exchange(self, loss=None, code: int = OK, dirty: bool = False,
                 steps_per_epoch: Optional[int] = None, step: Optional[int] = None,
                 what: str = "a step of the range test") -> Tuple[float, List[Tuple[int, int]]]:
        """One round: send this worker's facts, return ``(mean loss, [(rank, code), ...])``.

        Also raises nothing for failures: see :meth:`check`. Sets :attr:`broken` when a worker
        failed half-way through a collective call.
        """
        n = self.size
        head = np.zeros(2 + 2 * n, dtype=np.float32)
        head[1] = float(bool(dirty))
        head[2 + self.rank] = code
        head[2 + n + self.rank] = steps_per_epoch or 0
        vec = nd.array(head, ctx=mx.cpu())
        if loss is not None and code == OK:
            vec = nd.concat(loss.reshape((1,)).astype("float32", copy=False).as_in_context(
                mx.cpu()), vec[1:], dim=0)
        k = self._round % 2
        self._round += 1
        buf = self._bufs[k]
        self._busy = True
        self.kv.pushpull(self._keys[k], vec, out=buf)
        self._bounded(buf.wait_to_read, step, what)
        self._busy = False
        total = buf.asnumpy()
        now = time.perf_counter()
        if self._last is not None:
            self._slowest = max(self._slowest, now - self._last)
        self._last = now
        if total[1] > 0:
            self.mark_broken()
        codes = np.rint(total[2:2 + n]).astype(int)
        steps = [int(round(s)) for s in total[2 + n:] if s > 0]
        if steps_per_epoch is not None or steps:
            self.agreed_steps = min(steps) if steps else None
        return float(total[0]) / n, [(r, int(c)) for r, c in enumerate(codes) if c]

    def check(self, failures: List[Tuple[int, int]], step: Optional[int], where: str) -> None:
        """Raise what a round revealed: this worker's own interrupt, or another's failure."""
        if not failures:
            return
        if any(r == self.rank and c == INTERRUPTED for r, c in failures):
            raise _reported(KeyboardInterrupt())
        rank, code = next(((r, c) for r, c in failures if r != self.rank), failures[0])
        others = "" if len(failures) == 1 else " (failed too: {})".format(", ".join(
            "worker {}".format(r) for r, _ in failures if r != rank))
        raise WorkerFailed(
            "worker {} of {} {} {}{}{}; every worker stopped there and restored its net and "
            "trainer (the error itself is in worker {}'s log)".format(
                rank, self.size, _WHAT.get(code, "failed"), where, _at_step(step), others,
                rank),
            rank=rank, step=step, kind={ERROR: "error", INTERRUPTED: "interrupted",
                                        CHECK: "check"}.get(code, "error"))

    def report(self, err: BaseException, step: Optional[int], dirty: bool = False,
               code: Optional[int] = None) -> None:
        """Tell the others that this worker failed (best effort: never raises)."""
        if not self.can_report or isinstance(err, WorkerFailed) or \
                getattr(err, "_gluon_lr_reported", False):
            return
        _reported(err)
        if code is None:
            code = INTERRUPTED if isinstance(err, KeyboardInterrupt) else ERROR
        try:
            self.exchange(code=code, dirty=dirty, step=step)
        except (WorkerFailed, KeyboardInterrupt):
            pass
        if dirty:
            self.mark_broken()

    # -- agreement on local checks -----------------------------------------------------------
    @contextlib.contextmanager
    def agreed(self, where: str, steps_per_epoch: Callable[[], Optional[int]] = None
               ) -> Iterator[None]:
        """Run checks that may fail on one worker only, then agree on the outcome.

        A failing check is reported to the others (who raise :class:`WorkerFailed` naming
        this worker) and re-raised here as it was.
        """
        try:
            yield
        except BaseException as err:
            self.report(err, None, code=CHECK if isinstance(err, Exception) else None)
            raise
        _, failures = self.exchange(steps_per_epoch=steps_per_epoch() if steps_per_epoch
                                    else None, what="the other workers' checks")
        self.check(failures, None, where)

    @contextlib.contextmanager
    def interrupts_deferred(self) -> Iterator[None]:
        """Turn the first Ctrl-C into a failure reported at the next round.

        Only in the main thread, and only when SIGINT has Python's default handler. A second
        Ctrl-C raises ``KeyboardInterrupt`` at once (the other workers then time out).
        """
        if threading.current_thread() is not threading.main_thread() or \
                signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            yield
            return

        def handler(signum, frame):
            if self.interrupted:
                raise KeyboardInterrupt
            self.interrupted = True
            logger.warning("worker %d: interrupted; every worker stops at the next step and "
                           "restores its state (interrupt again to stop at once)", self.rank)

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
            self.interrupted = False


def _reported(err: BaseException) -> BaseException:
    try:
        err._gluon_lr_reported = True  # the others know: do not report it twice
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass
    return err


def _at_step(step: Optional[int]) -> str:
    return "" if step is None else " at step {}".format(step)


def coordinator(kv, timeout: Optional[float] = None) -> Optional[Coordinator]:
    """The :class:`Coordinator` of ``kv`` (made once per kvstore), or None if not distributed."""
    if kv is None or not is_dist(kv):
        return None
    sync = getattr(kv, "_gluon_lr_coordinator", None)
    if sync is None:
        sync = Coordinator(kv, timeout)
        kv._gluon_lr_coordinator = sync
    sync.timeout = timeout
    return sync


def run_sweep(learner, sync: Coordinator, sweep, batches, accumulate: int, val):
    """The range-test loop of a distributed worker (see the module docstring).

    It records the averaged losses in ``sweep`` and returns the first batch; the net and
    trainer are restored on every path out (into fresh arrays when the job is broken).
    """
    state, step, in_step = None, None, False
    with sync.interrupts_deferred():
        try:
            with sync.agreed("before the range test", lambda: learner.steps_per_epoch):
                first = next(batches)
                learner.step.check(first)
            state = sync.bounded(learner.snapshot, "the parameters' broadcast")
            learner.prepare_sweep(accumulate)
            sweep.start()
            sync.start_steps()
            previous = None
            for step in range(sweep.num_iter):
                group = [first if (step == 0 and k == 0) else next(batches)
                         for k in range(accumulate)]
                learner.set_learning_rate(sweep.lr(step))
                loss, n = learner.step.forward_group(group)
                mean, failures = sync.exchange(
                    previous, INTERRUPTED if sync.interrupted else OK, step=step)
                sync.check(failures, step, "during the range test")
                if previous is not None and sweep.observe(step - 1, mean):
                    break
                in_step = True
                learner.step.apply(n)
                in_step = False
                previous = learner.step.evaluate(val) if val is not None else loss
                if check_due(step, sweep.num_iter):  # NaN weights behind a finite loss
                    previous = nonfinite_guard(previous, learner.params)
            else:
                step = sweep.num_iter
                mean, failures = sync.exchange(
                    previous, INTERRUPTED if sync.interrupted else OK, step=step)
                sync.check(failures, step, "during the range test")
                sweep.observe(step - 1, mean)
            sweep.done = True
            return first
        except BaseException as err:
            sync.report(err, step, dirty=in_step)
            raise
        finally:
            if state is not None:
                state.restore(detach=sync.broken)
                state.discard()


__all__ = ["WorkerFailed", "WorkerTimeout", "exit_now", "coordinator", "Coordinator",
           "check_timeout", "default_timeout", "TIMEOUT_ENV", "MIN_TIMEOUT", "STEP_MULTIPLE"]
