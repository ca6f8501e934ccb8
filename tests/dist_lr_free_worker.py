"""One worker of the LR-free optimizers' distributed test (tests/test_optimizers.py).

Mode "train": a Prodigy or D-Adaptation trainer on a dist_sync kvstore with
update_on_kvstore=False trains on this worker's shard; both workers must end with the same
weights and the same d. Mode "refuse": the same trainer with the optimizer on the servers
(update_on_kvstore=True) must fail on the worker with a clear error.
"""
import hashlib
import json
import sys

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

import gluon_lr.optimizers  # noqa: F401  (registers "prodigy", "dadaptsgd", "dadaptadam")
from gluon_lr.datasets import digits


def main():
    out_dir, mode, name = sys.argv[1], sys.argv[2], sys.argv[3]
    kv = mx.kv.create("dist_sync")
    rank, workers = kv.rank, kv.num_workers
    X, y = digits()
    X, y = mx.nd.array(X[rank::workers][:256]), mx.nd.array(y[rank::workers][:256])
    mx.random.seed(100 + rank)  # different initial weights per worker: the kvstore syncs them
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier())
    net(X[:2])
    result = {"rank": rank, "workers": workers}
    trainer = gluon.Trainer(net.collect_params(), name, kvstore=kv,
                            update_on_kvstore=(mode == "refuse"))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    try:
        # Initialise the kvstore and broadcast worker 0's weights before the first step.
        trainer._init_kvstore()
        trainer._init_params()
        mx.nd.waitall()
        for step in range(20):
            xb, yb = X[(step * 32) % 256:][:32], y[(step * 32) % 256:][:32]
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(32)
            if step == 0:
                result["first_loss"] = float(loss.mean().asscalar())
        mx.nd.waitall()
    except ValueError as err:
        result["error"] = str(err)
    else:
        h = hashlib.sha1()
        for p in net.collect_params().values():
            h.update(p.data().asnumpy().tobytes())
        result.update(weights=h.hexdigest(), d=trainer.optimizer.d, k=trainer.optimizer.k,
                      loss=float(loss.mean().asscalar()))
    with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
