"""Does the one-cycle preset built from the range test beat a constant rate at the suggestion?

On the MNIST subset (80/20 stratified split) with the demo LeNet (SGD momentum 0.9, batch 64,
3 epochs), for each seed: run the range test, then train from the same initialisation with
(a) the suggestion as a constant learning rate and (b) ``result.schedule("one_cycle",
total_steps=N)`` (and the other presets), over the same N steps and data order, momentum fixed
at 0.9 (``one_cycle+momentum`` also cycles it with ``apply_momentum``). Prints validation
accuracy per seed and the mean.

    python benchmarks/schedule_vs_constant.py [--seeds 3] [--epochs 3]
"""
import argparse
import os
import statistics
import sys
import warnings

import mxnet as mx
import numpy as np
from mxnet import gluon, nd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gluon_lr import Learner  # noqa: E402
from gluon_lr.datasets import mnist5k, train_val_split  # noqa: E402
from gluon_lr.models import lenet  # noqa: E402
from gluon_lr.schedules import apply_momentum  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import accuracy, seeded_net, train_epochs  # noqa: E402

CANDIDATES = ("constant", "one_cycle", "one_cycle+momentum", "warmup_cosine", "cosine",
              "triangular")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    X, y = mnist5k()
    Xtr, Xva, ytr, yva = train_val_split(X, y)
    Xtr, ytr, Xva_nd = nd.array(Xtr), nd.array(ytr), nd.array(Xva)
    n, b = Xtr.shape[0], args.batch_size
    steps_per_epoch = n // b
    total = steps_per_epoch * args.epochs
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    scores = {c: [] for c in CANDIDATES}

    def init(seed):
        return seeded_net(lenet, seed, Xtr[:2])

    for seed in range(args.seeds):
        net = init(seed)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = Learner(net, (Xtr, ytr), trainer=trainer, batch_size=b).find_lr(
                progress=False)
        for name in CANDIDATES:
            net = init(seed)
            preset = name.split("+")[0]
            sched = result.schedule(preset, total_steps=total, steps_per_epoch=steps_per_epoch)
            trainer = gluon.Trainer(net.collect_params(), "sgd",
                                    {"momentum": 0.9, "lr_scheduler": sched})
            train_epochs(net, trainer, loss_fn, Xtr, ytr, args.epochs, b, seed,
                         before_step=(lambda t, s=sched: apply_momentum(t, s))
                         if name == "one_cycle+momentum" else None)
            acc = accuracy(net, Xva_nd, yva)
            scores[name].append(acc)
        print("seed {}: suggestion {:.3g}; ".format(seed, result.lr) + ", ".join(
            "{} {:.2f}%".format(c, scores[c][-1]) for c in CANDIDATES), flush=True)
    print("\nLeNet, MNIST subset, {} epochs ({} steps), {} seeds: mean validation accuracy".format(
        args.epochs, total, args.seeds))
    print("| schedule | " + " | ".join(CANDIDATES) + " |")
    print("|---" * (len(CANDIDATES) + 1) + "|")
    print("| accuracy % | " + " | ".join("{:.2f}".format(statistics.mean(scores[c]))
                                        for c in CANDIDATES) + " |")
    diff = [o - c for o, c in zip(scores["one_cycle"], scores["constant"])]
    print("one_cycle - constant: {:+.2f} pts (per seed: {})".format(
        statistics.mean(diff), ", ".join("{:+.2f}".format(d) for d in diff)))


if __name__ == "__main__":
    main()
