"""Distributed range tests that fail cleanly: real local jobs (1 scheduler, 2 servers, 4 workers).

Worker 1 fails in one way; every job must end within a bound, every surviving worker restored
and naming the failing rank, the launcher's status and log naming the failure, and no process
or temporary directory left behind.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKERS, SERVERS, FAILING = 4, 2, 1
BOUND = 60.0  # seconds for a whole job, start-up included


def job_processes(marker):
    """PIDs of live processes whose environment carries ``marker`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/{}/environ".format(entry), "rb") as f:
                environ = f.read()
            with open("/proc/{}/stat".format(entry)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry))
    return found


def start_job(tmp_path, mode, extra_env=None, launch_args=()):
    out = tmp_path / "out"
    out.mkdir()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    marker = "gluon-lr-test-{}".format(uuid.uuid4().hex)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, HERE]), TMPDIR=str(tmp),
               GLUON_LR_TEST_JOB=marker, **(extra_env or {}))
    cmd = [sys.executable, "-m", "gluon_lr", "launch", "-n", str(WORKERS), "-s", str(SERVERS),
           "--timeout", "90", *launch_args, "--", sys.executable,
           os.path.join(HERE, "dist_worker.py"), str(out), mode]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    return proc, out, tmp, marker


def finish(proc, marker, limit=BOUND + 30):
    try:
        _, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:  # a hang: clean up what we can, then fail
        for pid in [proc.pid] + job_processes(marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.communicate()
        pytest.fail("the job did not end within {} s".format(limit))
    return err


def run_job(tmp_path, mode, extra_env=None):
    start = time.monotonic()
    proc, out, tmp, marker = start_job(tmp_path, mode, extra_env)
    err = finish(proc, marker)
    elapsed = time.monotonic() - start
    reports = {}
    for rank in range(WORKERS):
        path = out / "worker{}.json".format(rank)
        if path.exists():
            reports[rank] = json.loads(path.read_text())
    pids = {rank: int((out / "pid{}.txt".format(rank)).read_text())
            for rank in range(WORKERS) if (out / "pid{}.txt".format(rank)).exists()}
    assert job_processes(marker) == [], "processes left behind"
    assert list(tmp.iterdir()) == [], "temporary files left behind"
    assert elapsed < BOUND, (elapsed, err[-2000:])
    return proc.returncode, err, reports, pids


def assert_restored(records):
    """Restored means: the weights every worker had after the start-up broadcast (rank 0's)."""
    for rank, r in records.items():
        assert r["after"] == records[0]["before"], rank


def assert_survivors_name(records, kind, step):
    survivors = [r for rank, r in records.items() if rank != FAILING]
    assert len(survivors) == WORKERS - 1
    for r in survivors:
        assert r["error"] == "WorkerFailed", r
        assert r["failed_rank"] == FAILING and r["kind"] == kind and r["step"] == step, r
        assert "worker {} of {}".format(FAILING, WORKERS) in r["message"]


def test_failing_workers_stop_every_worker_together_and_the_job_stays_usable(tmp_path):
    """One job: worker 1 is interrupted (caught), has too little data (caught), then a healthy
    run on unequal shards, then worker 1 raises (uncaught: the job ends)."""
    code, err, reports, pids = run_job(tmp_path, "scenarios")
    assert sorted(reports) == list(range(WORKERS))

    # Ctrl-C on one worker: deferred to the next step's round, all stop at step 9 and restore
    sigint = {rank: r["sigint"] for rank, r in reports.items()}
    assert_survivors_name(sigint, "interrupted", step=9)
    assert sigint[FAILING]["error"] == "KeyboardInterrupt"
    assert_restored(sigint)

    # too little data on one worker: all fail in Learner(), before any collective call
    small = {rank: r["smalldata"] for rank, r in reports.items()}
    assert_survivors_name(small, "check", step=None)
    assert "batch_size=32 is larger than the data (8 samples)" in small[FAILING]["message"]
    for r in small.values():  # nothing trained: every worker kept its own weights
        assert r["after"] == r["before"]

    # the job is still healthy: identical curves, stop, suggestion and restored weights
    runs = [reports[rank]["healthy"] for rank in range(WORKERS)]
    for r in runs[1:]:
        for key in ("losses", "stop_reason", "lr", "weights", "steps_per_epoch"):
            assert r[key] == runs[0][key], key
    assert runs[0]["stop_reason"] == "diverged" and 5 < len(runs[0]["losses"]) < 40
    assert runs[0]["lr"] is not None and runs[0]["num_update"] == 0
    # shards of 400, 360, 320, 280 samples in batches of 32: one schedule, the smallest epoch
    assert runs[0]["steps_per_epoch"] == 280 // 32 and runs[0]["num_workers"] == WORKERS

    # an exception in one worker's loss: all stop at step 9, restore, exit; status 1
    boom = {rank: r["raise"] for rank, r in reports.items()}
    assert_survivors_name(boom, "error", step=9)
    assert boom[FAILING]["error"] == "RuntimeError"
    assert_restored(boom)
    assert code == 1
    assert "job failed" in err and "exited with status 1" in err
    assert "worker 1 of 4 raised an error during the range test at step 9" in err


def test_a_killed_worker_makes_the_others_time_out_restore_and_exit(tmp_path):
    code, err, reports, pids = run_job(tmp_path, "kill", {"GLUON_LR_DIST_TIMEOUT": "5"})
    assert code == 128 + signal.SIGKILL
    assert "(pid {}) was killed by SIGKILL".format(pids[FAILING]) in err
    assert sorted(reports) == [r for r in range(WORKERS) if r != FAILING]
    for rank, report in reports.items():
        r = report["kill"]
        assert r["error"] == "WorkerTimeout" and r["kind"] == "timeout", r
        assert r["step"] == 9 and "no word from the other workers for 5 s" in r["message"]
        assert 5 <= r["seconds"] < 20
        assert r["after"] == reports[0]["kill"]["before"]  # restored, with a peer gone


def test_launcher_stopped_by_sigterm_leaves_no_process(tmp_path):
    start = time.monotonic()
    proc, out, tmp, marker = start_job(tmp_path, "sleep")
    deadline = time.monotonic() + BOUND
    while len(list(out.glob("pid*.txt"))) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(job_processes(marker)) >= 1 + SERVERS + WORKERS
    proc.send_signal(signal.SIGTERM)
    err = finish(proc, marker)
    assert proc.returncode == -signal.SIGTERM
    assert "launcher got SIGTERM: stopping {} process(es)".format(1 + SERVERS + WORKERS) in err
    assert job_processes(marker) == []
    assert list(tmp.iterdir()) == []
    assert time.monotonic() - start < BOUND


SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def test_launcher_time_limit_has_its_own_status_and_names_the_running_workers(
        tmp_path, capsys, monkeypatch):
    import tempfile
    from gluon_lr.cli import main
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from gluon_lr.launch import EXIT_TIMEOUT
    marker = "gluon-lr-test-{}".format(uuid.uuid4().hex)
    os.environ["GLUON_LR_TEST_JOB"] = marker
    try:
        code = main(["launch", "-n", "2", "--timeout", "3", "--"] + SLEEPER)
    finally:
        del os.environ["GLUON_LR_TEST_JOB"]
    assert code == EXIT_TIMEOUT != 2
    err = capsys.readouterr().err
    assert "did not finish within 3 s; still running: worker 0 (pid " in err
    assert ", worker 1 (pid " in err
    assert job_processes(marker) == []
    assert list(tmp_path.iterdir()) == []  # the children's TMPDIR is gone too


def test_launcher_returns_the_first_failure_and_stops_the_rest(tmp_path, caplog):
    from gluon_lr.launch import launch
    marker = "gluon-lr-test-{}".format(uuid.uuid4().hex)
    # one worker fails at once; the other would run for two minutes
    script = "import os, sys, time; sys.exit(3) if os.environ['W'] == '0' else time.sleep(120)"
    start = time.monotonic()
    with open(tmp_path / "w.sh", "w") as f:
        # mkdir is atomic: exactly one worker becomes W=0
        f.write('if mkdir {} 2>/dev/null; then W=0; else W=1; fi; W=$W exec "$@"\n'.format(
            tmp_path / "first"))
    code = launch(["sh", str(tmp_path / "w.sh"), sys.executable, "-c", script], num_workers=2,
                  grace=1, env={"GLUON_LR_TEST_JOB": marker})
    assert code == 3
    assert time.monotonic() - start < 20
    assert re.search(r"worker \d \(pid \d+\) of 2 exited with status 3", caplog.text)
    assert "was still running (stopped)" in caplog.text
    assert job_processes(marker) == []


def test_killed_launcher_leaves_no_orphans(tmp_path):
    marker = "gluon-lr-test-{}".format(uuid.uuid4().hex)
    # a launcher killed outright cannot remove its own temporary directory: keep it here
    env = dict(os.environ, PYTHONPATH=ROOT, GLUON_LR_TEST_JOB=marker, TMPDIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "gluon_lr", "launch", "-n", "2", "--"]
                            + SLEEPER, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while len(job_processes(marker)) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(job_processes(marker)) == 5  # launcher, scheduler, server, 2 workers
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while job_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job_processes(marker) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_whose_launcher_died_before_prctl_kills_itself():
    # the race seen on a loaded machine: the launcher dies between fork and prctl, so no
    # death signal ever comes; the child must notice its parent changed and stop
    import functools
    from gluon_lr.launch import _child_setup
    not_the_parent = 1  # as if the launcher had died and the child was reparented
    proc = subprocess.Popen(SLEEPER, preexec_fn=functools.partial(_child_setup, not_the_parent))
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc = subprocess.Popen([sys.executable, "-c", "pass"],
                            preexec_fn=functools.partial(_child_setup, os.getpid()))
    assert proc.wait(timeout=30) == 0  # the real parent: it runs
