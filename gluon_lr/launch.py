"""Run a script as a local MXNet parameter-server job (for trying things on one machine).

It starts one scheduler, ``num_servers`` servers and ``num_workers`` copies of ``command`` with
the ``DMLC_*`` environment variables MXNet's ``dist_*`` kvstores read, watches all workers at
once, and stops whatever it started. It is a convenience, not a cluster manager: on a cluster,
set the same variables on each machine, or use MXNet's ``tools/launch.py``.

What it guarantees:

- **First failure wins.** When a worker exits with a non-zero status (or is killed by a
  signal), the others get ``grace`` seconds to finish on their own (a gluon_lr range test stops
  every worker at the same step), then every process is stopped; :func:`launch` returns the
  first failing worker's status (``128 + signal`` for a signal) and logs which worker it was.
- **No orphans.** Each child runs in its own session (process group) and is stopped with
  ``killpg``: SIGTERM, then SIGKILL after a few seconds. The launcher's own SIGTERM and SIGINT
  stop every child first; on Linux the children also receive SIGKILL if the launcher itself is
  killed (``PR_SET_PDEATHSIG``).
- **A time limit.** ``timeout`` (default :data:`DEFAULT_TIMEOUT`) raises
  :class:`LaunchTimeout` naming the workers still running; ``gluon-lr launch`` exits with
  :data:`EXIT_TIMEOUT` then.
- **No temporary files left.** The children's ``TMPDIR`` is a directory of the launcher's,
  removed at the end, even when a worker was killed before it could clean up.
"""
from __future__ import annotations

import ctypes
import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional, Sequence

logger = logging.getLogger(__name__)

#: Default time limit of a job, in seconds.
DEFAULT_TIMEOUT = 3600.0
#: Default seconds the other workers get to finish after the first failure.
DEFAULT_GRACE = 15.0
#: Exit status of ``gluon-lr launch`` when the time limit is reached (as coreutils' timeout).
EXIT_TIMEOUT = 124
_STOP_WAIT = 3.0  # seconds between SIGTERM and SIGKILL when stopping a child
_POLL = 0.05
_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class LaunchTimeout(subprocess.TimeoutExpired):
    """The workers did not finish within the time limit; every process was stopped.

    Attributes
    ----------
    running : list of str
        The workers still running at the limit, e.g. ``["worker 1 (pid 4242)"]``.
    """

    def __init__(self, cmd, timeout: float, running: List[str]):
        super().__init__(cmd, timeout)
        self.running = running

    def __str__(self) -> str:
        return "the workers did not finish within {:g} s; still running: {}; every process " \
               "of the job was stopped".format(self.timeout, ", ".join(self.running) or "none")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def dmlc_env(role: str, num_workers: int, num_servers: int, host: str, port: int,
             interface: Optional[str] = "lo") -> Dict[str, str]:
    """The environment variables of one ps-lite process."""
    env = {"DMLC_ROLE": role, "DMLC_PS_ROOT_URI": host, "DMLC_PS_ROOT_PORT": str(port),
           "DMLC_NUM_WORKER": str(num_workers), "DMLC_NUM_SERVER": str(num_servers),
           "DMLC_NODE_HOST": host}
    if interface:
        env["DMLC_INTERFACE"] = interface
    return env


def exit_status(returncode: int) -> int:
    """A shell's exit status for a ``Popen.returncode`` (``128 + N`` for signal N).

    >>> exit_status(0), exit_status(3), exit_status(-9)
    (0, 3, 137)
    """
    return 128 - returncode if returncode < 0 else returncode


def describe(returncode: int) -> str:
    """``"exited with status 3"`` or ``"was killed by SIGKILL"``."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "signal {}".format(-returncode)
        return "was killed by {}".format(name)
    return "exited with status {}".format(returncode)


def _child_setup(parent: int) -> None:  # pragma: no cover - runs in the child before exec
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked while the parent forks
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        return
    # The launcher may have died between the fork and the prctl call: then no signal will
    # come, and the child would outlive it. (Seen on a loaded machine.)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


class _Signalled(BaseException):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Child:
    def __init__(self, name: str, proc: subprocess.Popen):
        self.name, self.proc = name, proc

    def __str__(self) -> str:
        return "{} (pid {})".format(self.name, self.proc.pid)


def _stop(children: List[_Child]) -> None:
    """SIGTERM every child's process group, then SIGKILL what is left; reap them all."""
    alive = [c for c in children if c.proc.poll() is None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for c in alive:
            try:
                os.killpg(c.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        end = time.monotonic() + _STOP_WAIT
        while alive and time.monotonic() < end:
            alive = [c for c in alive if c.proc.poll() is None]
            time.sleep(_POLL)
    for c in children:
        try:
            os.killpg(c.proc.pid, signal.SIGKILL)  # whatever the child itself started
        except (ProcessLookupError, PermissionError):
            pass
        c.proc.wait()


def launch(command: Sequence[str], num_workers: int = 2, num_servers: int = 1,
           host: str = "127.0.0.1", port: Optional[int] = None,
           timeout: Optional[float] = DEFAULT_TIMEOUT, env: Optional[Dict[str, str]] = None,
           grace: float = DEFAULT_GRACE) -> int:
    """Run ``command`` as ``num_workers`` workers of a local ``dist_*`` job.

    Parameters
    ----------
    command : list of str
        The worker's program and arguments.
    num_workers, num_servers : int
        Processes of each role (plus one scheduler).
    host, port : str, int, optional
        Where the scheduler listens; default a free port on 127.0.0.1.
    timeout : float or None, default DEFAULT_TIMEOUT
        Seconds before the job is stopped and :class:`LaunchTimeout` raised; None: no limit.
    env : dict, optional
        Extra environment variables of every process.
    grace : float, default DEFAULT_GRACE
        Seconds the other workers get to finish after the first failure.

    Returns
    -------
    int
        0 when every worker succeeded, else the first failing worker's exit status
        (``128 + N`` when it was killed by signal N); the failure is logged, naming it.

    Raises
    ------
    LaunchTimeout
        At the time limit, naming the workers still running.
    KeyboardInterrupt
        On SIGINT, after stopping every process. On SIGTERM the processes are stopped and
        the signal is then handled as it would have been without the launcher.
    """
    command = list(command)
    if not command:
        raise ValueError("command is empty: give the program to run as a worker")
    for name, value in (("num_workers", num_workers), ("num_servers", num_servers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("{} must be an int >= 1, got {!r}".format(name, value))
    for name, value in (("timeout", timeout), ("grace", grace)):
        if value is None and name == "timeout":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError("{} must be a number of seconds > 0, got {!r}".format(name, value))
    port = port or free_port(host)
    interface = "lo" if host.startswith("127.") or host == "localhost" else None
    tmpdir = tempfile.mkdtemp(prefix="gluon_lr_launch_")
    base = dict(os.environ, **(env or {}))
    base["TMPDIR"] = tmpdir
    children: List[_Child] = []
    handlers = {}
    setup = functools.partial(_child_setup, os.getpid())

    def start(role: str, name: str, argv: List[str]) -> _Child:
        proc_env = dict(base, **dmlc_env(role, num_workers, num_servers, host, port, interface))
        # Signals wait until the child is on the list, so that it is always stopped.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            child = _Child(name, subprocess.Popen(argv, env=proc_env, start_new_session=True,
                                                  preexec_fn=setup))
            children.append(child)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        return child

    def on_signal(signum, frame):
        raise _Signalled(signum)

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            handlers[sig] = signal.signal(sig, on_signal)
    signalled = None
    try:
        keeper = [sys.executable, "-c", "import mxnet"]  # ps-lite runs inside the import
        start("scheduler", "scheduler", keeper)
        for s in range(num_servers):
            start("server", "server {}".format(s), keeper)
        workers = [start("worker", "worker {}".format(w), command) for w in range(num_workers)]
        status = _watch(command, workers, children, timeout, grace, num_workers)
        if status == 0:
            _await_exit([c for c in children if c not in workers], _STOP_WAIT * 3)
        return status
    except _Signalled as sig:
        signalled = sig.signum
        running = [str(c) for c in children if c.proc.poll() is None]
        logger.error("launcher got %s: stopping %d process(es): %s",
                     signal.Signals(sig.signum).name, len(running), ", ".join(running))
    finally:
        for sig in handlers:
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the clean-up
        _stop(children)
        for sig, previous in handlers.items():
            signal.signal(sig, previous)
        shutil.rmtree(tmpdir, ignore_errors=True)
    if signalled == signal.SIGINT:
        raise KeyboardInterrupt
    os.kill(os.getpid(), signalled)  # as without the launcher (default: the process ends)
    return 128 + signalled  # a handler of the caller's let the process go on


def _await_exit(children: List[_Child], seconds: float) -> None:
    """Scheduler and servers exit on their own once every worker has finalised."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(c.proc.poll() is None for c in children):
        time.sleep(_POLL)
    for c in children:
        if c.proc.poll() is None:
            logger.warning("%s did not exit after the workers; stopping it", c)


def _watch(command, workers: List[_Child], children: List[_Child], timeout: Optional[float],
           grace: float, num_workers: int) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    first, first_at = None, None
    while True:
        done = [c for c in workers if c.proc.poll() is not None]
        if first is None:
            # Several found at once: their order is meaningless; a signal or a status other
            # than 1 (what an uncaught error gives) is the likelier first cause.
            failed = sorted((c for c in done if c.proc.returncode != 0),
                            key=lambda c: (c.proc.returncode > 0, c.proc.returncode == 1))
            others = [c for c in children if c not in workers and c.proc.poll() is not None
                      and c.proc.returncode != 0]
            if failed or others:
                first = (failed or others)[0]
                first_at = time.monotonic()
                logger.error("%s of %d %s; the other workers get %g s to finish, then every "
                             "process is stopped", first, num_workers,
                             describe(first.proc.returncode), grace)
        if len(done) == len(workers):
            break
        now = time.monotonic()
        if first is not None and now - first_at > grace:
            running = [str(c) for c in workers if c.proc.poll() is None]
            logger.error("stopping the workers still running %g s after the first failure: %s",
                         grace, ", ".join(running))
            break
        if deadline is not None and now > deadline:
            raise LaunchTimeout(command, timeout, [str(c) for c in workers
                                                   if c.proc.poll() is None])
        time.sleep(_POLL)
    if first is None:
        return 0
    logger.error("job failed: %s", "; ".join(
        "{} {}".format(c, describe(c.proc.returncode) if c.proc.poll() is not None
                       else "was still running (stopped)") for c in workers))
    return exit_status(first.proc.returncode)
