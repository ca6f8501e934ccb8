"""Overhead of find_lr over a plain hand-written Gluon training loop.

Both run ``num_iter`` steps of LeNet on the MNIST subset (batch 64, SGD momentum 0.9) on the
same net, data and batch size, in one process, alternating, several rounds; the median ratio is
printed. The plain loop is deliberately lean: batches by ``nd.take`` from preloaded NDArrays
(no per-sample DataLoader work) and no loss read-back until the end. ``find_lr`` includes its
snapshot, loss recording, stopping checks and restore; its stopping rule is disabled so both do
exactly ``num_iter`` steps.

    python benchmarks/overhead.py [--num-iter 100] [--rounds 9]
"""
import argparse
import statistics
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

from gluon_lr import Learner
from gluon_lr.datasets import mnist5k
from gluon_lr.models import lenet


def plain_loop(net, trainer, loss_fn, X, y, num_iter, batch_size):
    n = X.shape[0]
    sampler = iter(gluon.data.BatchSampler(gluon.data.RandomSampler(n), batch_size, "discard"))
    lrs = np.geomspace(1e-7, 10, num_iter)
    for i in range(num_iter):
        try:
            idx = next(sampler)
        except StopIteration:
            sampler = iter(gluon.data.BatchSampler(gluon.data.RandomSampler(n), batch_size,
                                                   "discard"))
            idx = next(sampler)
        idx = nd.array(idx, dtype="int64")
        data, label = nd.take(X, idx), nd.take(y, idx)
        trainer.set_learning_rate(float(lrs[i]))
        with autograd.record():
            loss = loss_fn(net(data), label)
        loss.backward()
        trainer.step(batch_size)
    nd.waitall()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-iter", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    X_np, y_np = mnist5k()
    X, y = nd.array(X_np), nd.array(y_np)
    mx.random.seed(0)
    np.random.seed(0)
    net = lenet()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9, "learning_rate": 0.01})
    learner = Learner(net, (X, y), loss=loss_fn, trainer=trainer, batch_size=args.batch_size)
    never = lambda i, loss: False  # noqa: E731 - equal work: no early stop

    # Warm up both paths (graph building, memory pools).
    plain_loop(net, trainer, loss_fn, X, y, 10, args.batch_size)
    learner.find_lr(num_iter=10, stopping=never, progress=False)

    t_plain, t_find = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        plain_loop(net, trainer, loss_fn, X, y, args.num_iter, args.batch_size)
        t_plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        learner.find_lr(num_iter=args.num_iter, stopping=never, progress=False)
        nd.waitall()
        t_find.append(time.perf_counter() - t0)
    ratios = [f / p for f, p in zip(t_find, t_plain)]
    print("LeNet, MNIST subset, batch {}, {} iterations, {} rounds".format(
        args.batch_size, args.num_iter, args.rounds))
    print("plain loop  median {:.3f} s  ({:.2f} ms/step)".format(
        statistics.median(t_plain), 1000 * statistics.median(t_plain) / args.num_iter))
    print("find_lr     median {:.3f} s  ({:.2f} ms/step)".format(
        statistics.median(t_find), 1000 * statistics.median(t_find) / args.num_iter))
    print("ratio find_lr / plain: median {:.3f} (per round: {})".format(
        statistics.median(ratios), ", ".join("{:.3f}".format(r) for r in ratios)))


if __name__ == "__main__":
    main()
