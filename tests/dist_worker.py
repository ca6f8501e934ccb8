"""One worker of the distributed test: run find_lr on this worker's shard, save what it saw.

Launched by tests/test_scale.py through gluon_lr.launch with DMLC_ROLE=worker.
"""
import hashlib
import json
import sys

import mxnet as mx
import numpy as np
from mxnet import gluon

from gluon_lr import Learner, LRFinderStoppingCriteria
from gluon_lr.datasets import digits


def digest(net):
    h = hashlib.sha1()
    for p in net.collect_params().values():
        h.update(p.data().asnumpy().tobytes())
    return h.hexdigest()


def main():
    out_dir, mode = sys.argv[1], sys.argv[2]
    kv = mx.kv.create("dist_sync")
    rank, workers = kv.rank, kv.num_workers
    X, y = digits()
    X, y = X[rank::workers][:400], y[rank::workers][:400]  # this worker's shard
    mx.random.seed(100 + rank)  # different initial weights per worker: the kvstore must sync them
    np.random.seed(rank)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    if mode == "schedule":
        # A preset on a trainer whose optimizer runs on the server (update_on_kvstore=True):
        # the server unpickles it and applies it. Both workers train on the same batches, so
        # the server sums two equal gradients: the result must equal a local run of the same
        # preset at twice the rate.
        from gluon_lr.schedules import OneCycle
        Xs, ys = mx.nd.array(digits()[0][:96]), mx.nd.array(digits()[1][:96])

        def fresh():
            mx.random.seed(7)
            n = gluon.nn.HybridSequential()
            n.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
            n.initialize(mx.init.Xavier())
            n(Xs[:2])
            return n

        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()

        def train(n, trainer):
            for step in range(6):
                with mx.autograd.record():
                    loss = loss_fn(n(Xs[step * 16:(step + 1) * 16]), ys[step * 16:(step + 1) * 16])
                loss.backward()
                trainer.step(16)
            mx.nd.waitall()
            return np.concatenate([p.data().asnumpy().ravel()
                                   for p in n.collect_params().values()])

        dist_net = fresh()
        dist = gluon.Trainer(dist_net.collect_params(), "sgd",
                             {"lr_scheduler": OneCycle(0.5, total_steps=6)}, kvstore=kv)
        got = train(dist_net, dist)
        local_net = fresh()
        local = gluon.Trainer(local_net.collect_params(), "sgd",
                              {"lr_scheduler": OneCycle(1.0, total_steps=6)}, kvstore=None)
        want = train(local_net, local)
        untrained = np.concatenate([p.data().asnumpy().ravel()
                                    for p in fresh().collect_params().values()])
        with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
            json.dump({"rank": rank, "on_server": bool(dist._update_on_kvstore),
                       "max_diff": float(np.abs(got - want).max()),
                       "moved": float(np.abs(want - untrained).max())}, f)
        return
    if mode in FAILURES:
        return fail(out_dir, mode, kv, rank, workers, X, y, net)
    if mode == "trainer":
        net(mx.nd.array(X[:2]))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9}, kvstore=kv,
                                update_on_kvstore=False)
        learner = Learner(net, (X, y), trainer=trainer, batch_size=32)
    else:
        # unequal shards: the schedule facts in result.meta must still agree
        learner = Learner(net, (X[:400 - 40 * rank], y[:400 - 40 * rank]), optimizer="sgd",
                          optimizer_params={"momentum": 0.9}, kvstore=kv, batch_size=32)
    result = learner.find_lr(start_lr=1e-4, end_lr=1000.0, num_iter=40, progress=False,
                             stopping=LRFinderStoppingCriteria(diverge=3.0, smoothing=0.5))
    with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
        json.dump({"rank": rank, "workers": workers, "losses": [float(v) for v in result.losses],
                   "stop_reason": result.stop_reason, "lr": result.lr,
                   "weights": digest(net), "num_update": learner.trainer.optimizer.num_update,
                   "steps_per_epoch": result.meta["steps_per_epoch"],
                   "num_workers": result.meta["num_workers"]}, f)


FAILURES = ("raise", "kill", "sigint", "smalldata")
FAILING_RANK = 1
FAIL_AT_CALL = 11  # the loss's 11th call: check_batch, then steps 0-9, fail in step 9


def fail(out_dir, mode, kv, rank, workers, X, y, net):
    """Worker FAILING_RANK fails in ``mode``; every worker records what it saw, re-raises."""
    import os
    import signal
    import time
    if mode == "smalldata" and rank == FAILING_RANK:
        X, y = X[:8], y[:8]  # fewer samples than batch_size
    base = gluon.loss.SoftmaxCrossEntropyLoss()
    calls = [0]

    def loss(out, label):
        calls[0] += 1
        if rank == FAILING_RANK and calls[0] == FAIL_AT_CALL:
            if mode == "raise":
                raise RuntimeError("boom in the loss")
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
        return base(out, label)

    net(mx.nd.array(X[:2]))
    before = digest(net)
    record = {"rank": rank, "pid": os.getpid(), "before": before}
    start = time.monotonic()
    try:
        learner = Learner(net, (X, y), loss=loss, kvstore=kv, batch_size=32)
        learner.find_lr(start_lr=1e-4, end_lr=1.0, num_iter=40, progress=False,
                        stopping=lambda i, value: False)
        record["error"] = None
    except BaseException as err:
        record.update(error=type(err).__name__, message=str(err),
                      failed_rank=getattr(err, "rank", None), step=getattr(err, "step", None),
                      kind=getattr(err, "kind", None), after=digest(net),
                      seconds=time.monotonic() - start)
        with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
            json.dump(record, f)
        raise
    with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    main()
