"""What the scale-out modes cost, measured side by side in one process.

LeNet on the MNIST subset, batch 64, 100 iterations (stopping disabled so every run does the
same work), median of several rounds, as ratios to the plain range test:

- ``val_data`` mode with ``val_batches`` held-out batches evaluated after every step;
- two CPU contexts (``ctx=[cpu(0), cpu(1)]``; on this 2-core machine they exist to exercise the
  multi-device path, not to be faster);
- ``accumulate=2`` (two batches per step).

It also times the start-up of a local ``dist_sync`` job (1 scheduler, 1 server, 2 workers that
only create the kvstore) and a complete one (each worker running a 40-step range test on
digits), as the distributed test runs it.

    python benchmarks/scale_cost.py [--rounds 3]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from gluon_lr import Learner  # noqa: E402
from gluon_lr.datasets import mnist5k, train_val_split  # noqa: E402
from gluon_lr.launch import launch  # noqa: E402
from gluon_lr.models import lenet  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--val-batches", type=int, default=4)
    args = parser.parse_args()
    X, y = mnist5k()
    Xtr, Xva, ytr, yva = train_val_split(X, y)
    never = lambda i, loss: False  # noqa: E731

    def learner(ctx):
        mx.random.seed(0)
        net = lenet()
        net.hybridize()
        return Learner(net, (Xtr, ytr), ctx=ctx, optimizer="sgd",
                       optimizer_params={"momentum": 0.9}, batch_size=64)

    modes = {
        "plain": (learner(mx.cpu()), {}),
        "val_data ({} batches)".format(args.val_batches): (
            learner(mx.cpu()), {"val_data": (Xva, yva), "val_batches": args.val_batches}),
        "two contexts": (learner([mx.cpu(0), mx.cpu(1)]), {}),
        "accumulate=2": (learner(mx.cpu()), {"accumulate": 2}),
    }
    for lrn, kw in modes.values():  # warm-up: graphs, memory pools
        lrn.find_lr(num_iter=5, stopping=never, progress=False, repeats=1, **kw)
    times = {name: [] for name in modes}
    for _ in range(args.rounds):
        for name, (lrn, kw) in modes.items():
            t0 = time.perf_counter()
            lrn.find_lr(num_iter=100, stopping=never, progress=False, repeats=1, **kw)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["plain"])
    print("LeNet, MNIST subset, batch 64, 100 iterations, median of {} rounds".format(args.rounds))
    print("| mode | seconds | ratio to plain |")
    print("|---|---|---|")
    for name, ts in times.items():
        m = statistics.median(ts)
        print("| {} | {:.2f} | {:.2f} |".format(name, m, m / base))

    t0 = time.perf_counter()
    code = launch([sys.executable, "-c", "import mxnet as mx; mx.kv.create('dist_sync')"],
                  num_workers=2, num_servers=1, timeout=120)
    print("local dist_sync start-up (1 scheduler, 1 server, 2 workers that only create the "
          "kvstore): {:.1f} s wall, exit {}".format(time.perf_counter() - t0, code))
    with tempfile.TemporaryDirectory() as out:
        env = {"PYTHONPATH": os.pathsep.join([os.path.join(HERE, ".."),
                                              os.environ.get("PYTHONPATH", "")])}
        t0 = time.perf_counter()
        code = launch([sys.executable, os.path.join(HERE, "..", "tests", "dist_worker.py"), out,
                       "learner"], num_workers=2, num_servers=1, timeout=300, env=env)
        wall = time.perf_counter() - t0
    print("local dist_sync job (1 scheduler, 1 server, 2 workers, 40-step range test each): "
          "{:.1f} s wall, exit {}".format(wall, code))


if __name__ == "__main__":
    main()
