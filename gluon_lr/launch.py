"""Run a script as a local MXNet parameter-server job (for trying things on one machine).

It starts one scheduler, ``num_servers`` servers and ``num_workers`` copies of ``command`` with
the ``DMLC_*`` environment variables MXNet's ``dist_*`` kvstores read, waits for the workers,
and stops whatever it started. It is a convenience, not a cluster manager: on a cluster, set
the same variables on each machine, or use MXNet's ``tools/launch.py``.
"""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

logger = logging.getLogger(__name__)


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


def launch(command: Sequence[str], num_workers: int = 2, num_servers: int = 1,
           host: str = "127.0.0.1", port: Optional[int] = None,
           timeout: Optional[float] = None, env: Optional[Dict[str, str]] = None) -> int:
    """Run ``command`` as ``num_workers`` workers of a local ``dist_*`` job.

    Returns the first non-zero exit status of a worker (0 when all succeeded). Every process
    started here is stopped before returning, also on a timeout (``subprocess.TimeoutExpired``
    is raised then) or Ctrl-C.
    """
    command = list(command)
    if not command:
        raise ValueError("command is empty: give the program to run as a worker")
    for name, value in (("num_workers", num_workers), ("num_servers", num_servers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("{} must be an int >= 1, got {!r}".format(name, value))
    port = port or free_port(host)
    base = dict(os.environ, **(env or {}))
    interface = "lo" if host.startswith("127.") or host == "localhost" else None
    started: List[subprocess.Popen] = []

    def start(role: str, argv: List[str]) -> subprocess.Popen:
        proc_env = dict(base, **dmlc_env(role, num_workers, num_servers, host, port, interface))
        proc = subprocess.Popen(argv, env=proc_env)
        started.append(proc)
        return proc

    keeper = [sys.executable, "-c", "import mxnet"]  # ps-lite runs inside the import
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        start("scheduler", keeper)
        for _ in range(num_servers):
            start("server", keeper)
        workers = [start("worker", command) for _ in range(num_workers)]
        codes = []
        for w in workers:
            left = None if deadline is None else max(0.1, deadline - time.monotonic())
            codes.append(w.wait(timeout=left))
        for p in started[:1 + num_servers]:  # they exit once the workers have finalised
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                logger.warning("ps-lite process %d did not exit; stopping it", p.pid)
        return next((c for c in codes if c != 0), 0)
    finally:
        for p in started:
            if p.poll() is None:
                p.terminate()
        for p in started:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
