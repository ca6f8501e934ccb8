"""Overhead of find_lr over a plain hand-written Gluon training loop.

Both run ``num_iter`` steps of LeNet on the MNIST subset (batch 64, SGD momentum 0.9) on the
same net, data and batch size, in one process, alternating, several rounds; the median ratio is
printed. The plain loop is deliberately lean: batches by ``nd.take`` from preloaded NDArrays
(no per-sample DataLoader work) and no loss read-back until the end. ``find_lr`` includes its
snapshot, loss recording, stopping checks and restore; its stopping rule is disabled so both do
exactly ``num_iter`` steps.

It then does the same for gluoncv's ``resnet50_v1`` (23.6 M parameters, SGD momentum 0.9) on
random 64x64 images (a few steps: the fixed cost of snapshot and restore is what matters), and
times snapshot + restore alone: in host memory (``snapshot="cpu"``, the default), on the device
(``"device"``), and the ``Trainer.save_states``/``load_states`` + temporary file approach used
before (re-implemented here for the comparison).

    python benchmarks/overhead.py [--num-iter 100] [--rounds 9] [--resnet-steps 12]
"""
import argparse
import os
import shutil
import statistics
import tempfile
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

from gluon_lr import Learner
from gluon_lr.datasets import mnist5k
from gluon_lr.models import lenet
from gluon_lr.state import TrainingState


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


class LegacySnapshot:
    """The snapshot gluon_lr used before: device copies plus save_states into a temp file."""

    def __init__(self, params, trainer):
        self.params, self.trainer = list(params), trainer
        self.opt, self.sched = trainer._optimizer, trainer._optimizer.lr_scheduler
        self.tmp = tempfile.mkdtemp(prefix="gluon_lr_bench_")
        self.file = os.path.join(self.tmp, "trainer.states")
        trainer.save_states(self.file)
        self.data = [[a.copy() for a in p.list_data()] for p in self.params]
        self.grad = [[g.copy() for g in p.list_grad()] for p in self.params
                     if p.grad_req != "null"]
        nd.waitall()

    def restore(self):
        nd.waitall()
        for p, saved in zip(self.params, self.data):
            p.set_data(saved[0])
        self.trainer.load_states(self.file)
        for p, saved in zip([p for p in self.params if p.grad_req != "null"], self.grad):
            for g, s in zip(p.list_grad(), saved):
                s.copyto(g)
        loaded = self.trainer._optimizer
        state = dict(loaded.__dict__)
        self.opt.__dict__.clear()
        self.opt.__dict__.update(state)
        self.trainer._optimizer = self.opt
        for u in self.trainer._updaters:
            u.optimizer = self.opt
        self.opt.lr_scheduler = self.sched
        nd.waitall()

    def discard(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def time_snapshots(net, trainer, repeats):
    """Median seconds of (snapshot, restore) for each way of snapshotting."""
    params = list(net.collect_params().values())
    ways = {"cpu": lambda: TrainingState(params, trainer, "cpu"),
            "device": lambda: TrainingState(params, trainer, "device"),
            "save_states + file (before)": lambda: LegacySnapshot(params, trainer)}
    out = {}
    for _ in range(repeats):
        for name, make in ways.items():
            t0 = time.perf_counter()
            state = make()
            t1 = time.perf_counter()
            state.restore()
            t2 = time.perf_counter()
            state.discard()
            out.setdefault(name, []).append((t1 - t0, t2 - t1))
    return {name: (statistics.median(s for s, _ in v), statistics.median(r for _, r in v))
            for name, v in out.items()}


def compare(label, net, trainer, loss_fn, X, y, num_iter, rounds, batch_size):
    learner = Learner(net, (X, y), loss=loss_fn, trainer=trainer, batch_size=batch_size)
    never = lambda i, loss: False  # noqa: E731 - equal work: no early stop
    # Warm up both paths (graph building, memory pools).
    plain_loop(net, trainer, loss_fn, X, y, min(10, num_iter), batch_size)
    learner.find_lr(num_iter=min(10, num_iter), stopping=never, progress=False, repeats=1)
    t_plain, t_find = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        plain_loop(net, trainer, loss_fn, X, y, num_iter, batch_size)
        t_plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        learner.find_lr(num_iter=num_iter, stopping=never, progress=False, repeats=1)
        nd.waitall()
        t_find.append(time.perf_counter() - t0)
    ratios = [f / p for f, p in zip(t_find, t_plain)]
    print("{}, batch {}, {} iterations, {} rounds".format(label, batch_size, num_iter, rounds))
    print("  plain loop  median {:.3f} s  ({:.2f} ms/step)".format(
        statistics.median(t_plain), 1000 * statistics.median(t_plain) / num_iter))
    print("  find_lr     median {:.3f} s  ({:.2f} ms/step)".format(
        statistics.median(t_find), 1000 * statistics.median(t_find) / num_iter))
    print("  ratio find_lr / plain: median {:.3f} (per round: {})".format(
        statistics.median(ratios), ", ".join("{:.3f}".format(r) for r in ratios)))


def resnet50(args):
    from gluoncv.model_zoo import get_model
    mx.random.seed(0)
    rs = np.random.RandomState(0)
    X = nd.array(rs.rand(256, 3, 64, 64).astype("float32"))
    y = nd.array(rs.randint(0, 10, 256).astype("float32"))
    net = get_model("resnet50_v1", pretrained=False, classes=10)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9, "learning_rate": 0.01})
    compare("ResNet-50 v1 (gluoncv), random 64x64 images", net, trainer, loss_fn, X, y,
            args.resnet_steps, args.resnet_rounds, args.resnet_batch_size)
    n = sum(int(np.prod(p.shape)) for p in net.collect_params().values())
    size = TrainingState(net.collect_params().values(), trainer).nbytes
    print("snapshot + restore of ResNet-50 ({:.1f} M parameters, SGD momentum; snapshot holds "
          "{:.0f} MiB), median of {}:".format(n / 1e6, size / 2 ** 20, args.snapshot_repeats))
    for name, (snap, rest) in time_snapshots(net, trainer, args.snapshot_repeats).items():
        print("  {:<28} snapshot {:.3f} s + restore {:.3f} s = {:.3f} s".format(
            name, snap, rest, snap + rest))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-iter", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--resnet-steps", type=int, default=12,
                        help="steps of the ResNet-50 comparison (0 skips it)")
    parser.add_argument("--resnet-rounds", type=int, default=3)
    parser.add_argument("--resnet-batch-size", type=int, default=8)
    parser.add_argument("--snapshot-repeats", type=int, default=7)
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
    compare("LeNet, MNIST subset", net, trainer, loss_fn, X, y, args.num_iter, args.rounds,
            args.batch_size)
    if args.resnet_steps:
        resnet50(args)


if __name__ == "__main__":
    main()
