"""Where should one-cycle peak? The range test's edge, a fraction of it, or not at all.

For each task and seed: run the range test, then train from the same initialisation and
batches with one-cycle peaking at ``edge_lr`` (where the lag-free loss is lowest),
``edge_lr / sqrt(2)`` (the top of ``suggested_range``, gluon_lr's default), ``edge_lr / 2``,
and with the suggestion as a constant rate. SGD momentum 0.9. Prints validation accuracy.

    python benchmarks/one_cycle_peak.py [--seeds 5] [--tasks digits,mnist5k]
"""
import argparse
import os
import statistics
import sys
import warnings

from mxnet import gluon, nd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from common import accuracy, seeded_net, train_epochs  # noqa: E402
from gluon_lr import Learner  # noqa: E402
from gluon_lr.datasets import digits, mnist5k, train_val_split  # noqa: E402
from gluon_lr.models import lenet, mlp  # noqa: E402

TASKS = {"digits": (digits, mlp, 32, 5), "mnist5k": (mnist5k, lenet, 64, 3)}
PEAKS = {"edge": 1.0, "edge/sqrt2 (default)": 2 ** -0.5, "edge/2": 0.5}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tasks", default="digits,mnist5k")
    args = parser.parse_args()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    print("| task | " + " | ".join(PEAKS) + " | constant at the suggestion |")
    print("|---" * (len(PEAKS) + 2) + "|")
    for task in args.tasks.split(","):
        data, make, b, epochs = TASKS[task]
        X, y = data()
        Xtr, Xva, ytr, yva = train_val_split(X, y)
        Xtr, ytr, Xva = nd.array(Xtr), nd.array(ytr), nd.array(Xva)
        full = (Xtr.shape[0] // b) * epochs
        scores = {k: [] for k in list(PEAKS) + ["constant"]}
        for seed in range(args.seeds):
            net = seeded_net(make, seed, Xtr[:2])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = Learner(net, (Xtr, ytr), trainer=gluon.Trainer(
                    net.collect_params(), "sgd", {"momentum": 0.9}), batch_size=b).find_lr(
                    progress=False)
            for name in scores:
                sched = r.schedule("constant", full) if name == "constant" else \
                    r.schedule("one_cycle", full, max_lr=r.edge_lr * PEAKS[name])
                net = seeded_net(make, seed, Xtr[:2])
                trainer = gluon.Trainer(net.collect_params(), "sgd",
                                        {"momentum": 0.9, "lr_scheduler": sched})
                train_epochs(net, trainer, loss_fn, Xtr, ytr, epochs, b, seed)
                scores[name].append(accuracy(net, Xva, yva))
        print("| {} ({} epochs, {} seeds; worst seed) | {} |".format(
            task, epochs, args.seeds, " | ".join(
                "{:.2f} ({:.1f})".format(statistics.mean(v), min(v)) for v in scores.values())),
            flush=True)


if __name__ == "__main__":
    main()
