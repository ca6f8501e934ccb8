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
    if mode == "trainer":
        net(mx.nd.array(X[:2]))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9}, kvstore=kv,
                                update_on_kvstore=False)
        learner = Learner(net, (X, y), trainer=trainer, batch_size=32)
    else:
        learner = Learner(net, (X, y), optimizer="sgd", optimizer_params={"momentum": 0.9},
                          kvstore=kv, batch_size=32)
    result = learner.find_lr(start_lr=1e-4, end_lr=1000.0, num_iter=40, progress=False,
                             stopping=LRFinderStoppingCriteria(diverge=3.0, smoothing=0.5))
    with open("{}/worker{}.json".format(out_dir, rank), "w") as f:
        json.dump({"rank": rank, "workers": workers, "losses": [float(v) for v in result.losses],
                   "stop_reason": result.stop_reason, "lr": result.lr,
                   "weights": digest(net), "num_update": learner.trainer.optimizer.num_update}, f)


if __name__ == "__main__":
    main()
