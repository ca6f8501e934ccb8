"""How fast a distributed range test fails cleanly, and what the per-step round costs.

Runs the jobs of ``tests/test_dist_failures.py`` (1 scheduler, 2 servers, 4 workers on
127.0.0.1, a 32-unit MLP on digits; worker 1 fails at step 9) and prints, for each failure,
the time from the failure to the last surviving worker raising (restored), and the whole job's
wall time, start-up included. ``--baseline PATH`` also times the healthy step of an older
``gluon_lr`` (a directory holding its package, e.g. from ``git archive``) side by side with
this one: 2 workers, 1 server, a 64-unit MLP, 300 steps, median of ``--rounds``.

    python benchmarks/dist_failures.py [--baseline /tmp/old] [--rounds 3]
"""
import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)
from gluon_lr.launch import launch  # noqa: E402

WORKER = os.path.join(ROOT, "tests", "dist_worker.py")
STEP_WORKER = textwrap.dedent("""
    import json, sys, time
    import mxnet as mx
    from mxnet import gluon
    from gluon_lr import Learner
    from gluon_lr.datasets import digits
    kv = mx.kv.create("dist_sync")
    X, y = digits()
    X, y = X[kv.rank::kv.num_workers], y[kv.rank::kv.num_workers]
    mx.random.seed(1)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    net.initialize()
    net.hybridize()
    learner = Learner(net, (X, y), kvstore=kv, batch_size=32)
    never = lambda i, loss: False
    learner.find_lr(start_lr=1e-5, end_lr=1e-2, num_iter=20, progress=False, stopping=never)
    t = time.perf_counter()
    r = learner.find_lr(start_lr=1e-5, end_lr=1e-2, num_iter=300, progress=False,
                        stopping=never)
    ms = 1000 * (time.perf_counter() - t) / len(r.losses)
    json.dump(ms, open("{}/w{}.json".format(sys.argv[1], kv.rank), "w"))
""")


def failure_job(mode, env):
    out = tempfile.mkdtemp()
    start = time.monotonic()
    code = launch([sys.executable, WORKER, out, mode], num_workers=4, num_servers=2,
                  timeout=300, env=env)
    wall = time.monotonic() - start
    reports = [json.load(open(f)) for f in glob.glob(os.path.join(out, "worker*.json"))]
    rows = []
    for name in ("sigint", "smalldata", "raise", "kill"):
        raised = [r[name]["raised_at"] for r in reports if name in r and r["rank"] != 1]
        if not raised:
            continue
        marker = os.path.join(out, "failed_at." + name)
        # too little data fails in Learner(): the failing worker's own raise is the start
        failed = float(open(marker).read()) if os.path.exists(marker) else min(
            r[name]["raised_at"] for r in reports if name in r)
        rows.append((name, max(raised) - failed, len(raised)))
    return code, wall, rows


def step_time(path, rounds):
    script = os.path.join(tempfile.mkdtemp(), "step_worker.py")
    with open(script, "w") as f:
        f.write(STEP_WORKER)
    times = []
    for _ in range(rounds):
        out = tempfile.mkdtemp()
        assert launch([sys.executable, script, out], num_workers=2, num_servers=1, timeout=300,
                      env={"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}) == 0
        times.append(max(json.load(open(f)) for f in glob.glob(os.path.join(out, "w*.json"))))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="directory holding an older gluon_lr package")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {"PYTHONPATH": os.pathsep.join([ROOT, os.path.join(ROOT, "tests")])}
    print("failure (worker 1 of 4)   failure -> last survivor raised   job wall (status)")
    for mode, extra in (("scenarios", {}), ("kill", {"GLUON_LR_DIST_TIMEOUT": "5"})):
        code, wall, rows = failure_job(mode, dict(env, **extra))
        for name, delay, n in rows:
            print("{:<26}{:>8.2f} s ({} survivors)            {:>5.1f} s ({})".format(
                name + (" (timeout 5 s)" if name == "kill" else ""), delay, n, wall, code))
    if args.baseline:
        for label, path in (("baseline", args.baseline), ("this tree", ROOT)):
            t = step_time(path, args.rounds)
            print("healthy step, {:<10} median {:.2f} ms/step (rounds: {})".format(
                label, statistics.median(t), ", ".join("{:.2f}".format(x) for x in t)))


if __name__ == "__main__":
    main()
