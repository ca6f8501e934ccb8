"""One worker of the distributed tests: run find_lr on this worker's shard, save what it saw.

Launched by tests/test_scale.py and tests/test_dist_failures.py through gluon_lr.launch with
DMLC_ROLE=worker. Usage: dist_worker.py OUT_DIR MODE.
"""
import sys

if __name__ == "__main__" and sys.argv[2:3] == ["sleep"]:  # the launcher's tests: no MXNet
    import os
    import time
    with open("{}/pid{}.txt".format(sys.argv[1], os.getpid()), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)
    sys.exit(0)

import hashlib  # noqa: E402
import json  # noqa: E402

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import gluon  # noqa: E402

from gluon_lr import Learner, LRFinderStoppingCriteria  # noqa: E402
from gluon_lr.datasets import digits  # noqa: E402


def digest(net):
    h = hashlib.sha1()
    for p in net.collect_params().values():
        h.update(p.data().asnumpy().tobytes())
    return h.hexdigest()


def make_net(rank):
    mx.random.seed(100 + rank)  # different initial weights per worker: the kvstore must sync them
    np.random.seed(rank)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    return net


def main():
    out_dir, mode = sys.argv[1], sys.argv[2]
    kv = mx.kv.create("dist_sync")
    rank, workers = kv.rank, kv.num_workers
    X, y = digits()
    X, y = X[rank::workers][:400], y[rank::workers][:400]  # this worker's shard
    if mode in ("scenarios", "kill"):
        return failures(out_dir, mode, kv, rank, workers, X, y)
    net = make_net(rank)
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
    if mode == "nan":  # one NaN in worker 1's shard: every worker's weights turn NaN
        if rank == 1:
            X = X.copy()
            X[5, 3] = np.nan
        learner = Learner(net, (X, y), optimizer="sgd", optimizer_params={"momentum": 0.9},
                          kvstore=kv, batch_size=32)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = learner.find_lr(start_lr=1e-4, end_lr=1.0, num_iter=40, progress=False)
        weights = np.concatenate([p.data().asnumpy().ravel()
                                  for p in net.collect_params().values()])
        with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
            json.dump({"rank": rank, "stop_reason": result.stop_reason, "lr": result.lr,
                       "code": result.diagnosis_code, "steps": len(result.losses),
                       "chance": result.meta.get("chance_loss"),
                       "finite_weights": bool(np.isfinite(weights).all())}, f)
        return
    if mode == "trainer":
        net(mx.nd.array(X[:2]))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9}, kvstore=kv,
                                update_on_kvstore=False)
        learner = Learner(net, (X, y), trainer=trainer, batch_size=32)
    else:
        # unequal shards: the schedule facts in result.meta must still agree
        learner = Learner(net, (X[:400 - 40 * rank], y[:400 - 40 * rank]), optimizer="sgd",
                          optimizer_params={"momentum": 0.9}, kvstore=kv, batch_size=32)
    with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
        json.dump(healthy(learner, rank, workers, net), f)


def healthy(learner, rank, workers, net):
    result = learner.find_lr(start_lr=1e-4, end_lr=1000.0, num_iter=40, progress=False,
                             stopping=LRFinderStoppingCriteria(diverge=3.0, smoothing=0.5))
    return {"rank": rank, "workers": workers, "losses": [float(v) for v in result.losses],
            "stop_reason": result.stop_reason, "lr": result.lr,
            "weights": digest(net), "num_update": learner.trainer.optimizer.num_update,
            "steps_per_epoch": result.meta["steps_per_epoch"],
            "num_workers": result.meta["num_workers"]}


FAILING_RANK = 1
FAIL_AT_CALL = 11  # the loss's 11th call: check_batch, then steps 0-9, fail in step 9


class FlakyLoss:
    """The loss of worker FAILING_RANK fails, as ``mode`` says, at its FAIL_AT_CALL-th call."""

    def __init__(self, rank, out_dir):
        self.rank, self.mode, self.calls, self.out_dir = rank, None, 0, out_dir
        self.base = gluon.loss.SoftmaxCrossEntropyLoss()

    def __call__(self, out, label):
        import os
        import signal
        self.calls += 1
        if self.rank == FAILING_RANK and self.calls == FAIL_AT_CALL and self.mode:
            import time
            with open("{}/failed_at.{}".format(self.out_dir, self.mode), "w") as f:
                f.write(repr(time.time()))  # when the failure happened (same machine clock)
            if self.mode == "raise":
                raise RuntimeError("boom in the loss")
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
        return self.base(out, label)


def attempt(fn, net):
    """Run ``fn``; what this worker saw (error, failing rank, step) and its weights around it."""
    import time
    record = {"before": digest(net), "error": None}
    start = time.monotonic()
    try:
        fn()
    except BaseException as err:
        record.update(error=type(err).__name__, message=str(err),
                      failed_rank=getattr(err, "rank", None), step=getattr(err, "step", None),
                      kind=getattr(err, "kind", None), seconds=time.monotonic() - start,
                      raised_at=time.time(), exception=err)
    record["after"] = digest(net)
    return record


def failures(out_dir, mode, kv, rank, workers, X, y):
    """One job, several failures: each is caught (the job stays usable), then a healthy run,
    then an uncaught failure that ends the job (mode ``kill``: only that).

    A job has one Learner: a second Trainer on the same dist kvstore would initialise the
    parameters' keys again, which ps-lite does not support.
    """
    import os
    with open("{}/pid{}.txt".format(out_dir, rank), "w") as f:
        f.write(str(os.getpid()))
    report = {"rank": rank, "pid": os.getpid()}
    if mode == "scenarios":  # fewer samples than batch_size on one worker
        small = make_net(rank)
        n = 8 if rank == FAILING_RANK else len(X)
        small(mx.nd.array(X[:2]))
        report["smalldata"] = attempt(lambda: Learner(small, (X[:n], y[:n]), kvstore=kv,
                                                      batch_size=32), small)
    net = make_net(rank)
    net(mx.nd.array(X[:2]))
    loss = FlakyLoss(rank, out_dir)
    # unequal shards: the schedule facts in result.meta must still agree
    m = 400 - 40 * rank
    learner = Learner(net, (X[:m], y[:m]), loss=loss, optimizer="sgd",
                      optimizer_params={"momentum": 0.9}, kvstore=kv, batch_size=32)

    def sweep(name):
        loss.mode, loss.calls = name, 0
        learner.find_lr(start_lr=1e-4, end_lr=1.0, num_iter=40, progress=False,
                        stopping=lambda i, value: False)

    if mode == "scenarios":
        report["sigint"] = attempt(lambda: sweep("sigint"), net)
        loss.mode = None
        report["healthy"] = healthy(learner, rank, workers, net)
        last = "raise"
    else:
        last = mode
    report[last] = attempt(lambda: sweep(last), net)
    with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
        json.dump({k: {a: b for a, b in v.items() if a != "exception"}
                   if isinstance(v, dict) else v for k, v in report.items()}, f)
    if report[last]["error"] is not None:
        raise report[last]["exception"]


if __name__ == "__main__":
    main()
