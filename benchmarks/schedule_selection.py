"""Does the short successive-halving comparison pick the schedule that wins full training?

For each task and seed: run the range test, run ``learner.compare_schedules`` (default short
budget), then train every candidate for the full length from the same initialisation and
batches. Reports how often the pick is the full-length winner, how many points the pick loses
against that winner, and what the comparison costs relative to training all candidates fully.

    python benchmarks/schedule_selection.py [--seeds 3]
"""
import argparse
import os
import statistics
import sys
import time
import warnings

from mxnet import gluon, nd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from common import accuracy, seeded_net, train_epochs  # noqa: E402
from gluon_lr import Learner  # noqa: E402
from gluon_lr.compare import DEFAULT_CANDIDATES  # noqa: E402
from gluon_lr.datasets import digits, mnist5k, train_val_split  # noqa: E402
from gluon_lr.models import lenet, mlp  # noqa: E402

TASKS = {
    "mnist5k-lenet": dict(data=mnist5k, net=lenet, params={"momentum": 0.9}, batch=64,
                          epochs=3),
    "digits-mlp": dict(data=digits, net=mlp, params={"momentum": 0.9}, batch=32, epochs=5),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget-fraction", type=float, default=None,
                        help="first rung = this fraction of the full length (default: the "
                             "library's default budget)")
    parser.add_argument("--select", default="auto", choices=("auto", "loss", "accuracy"))
    args = parser.parse_args()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rows = []
    for task, spec in TASKS.items():
        X, y = spec["data"]()
        Xtr, Xva, ytr, yva = train_val_split(X, y)
        Xtr, ytr, Xva_nd = nd.array(Xtr), nd.array(ytr), nd.array(Xva)
        b = spec["batch"]
        spe = Xtr.shape[0] // b
        full = spe * spec["epochs"]
        for seed in range(args.seeds):
            net = seeded_net(spec["net"], seed, Xtr[:2])
            learner = Learner(net, (Xtr, ytr), trainer=gluon.Trainer(
                net.collect_params(), "sgd", dict(spec["params"])), batch_size=b)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = learner.find_lr(progress=False)
            t0 = time.perf_counter()
            budget = int(full * args.budget_fraction) if args.budget_fraction else None
            cmp = learner.compare_schedules(result, val_data=(Xva, yva), seed=seed,
                                            total_steps=full, budget_steps=budget,
                                            select=args.select)
            cmp_seconds = time.perf_counter() - t0
            scores, t_full = {}, time.perf_counter()
            for name in DEFAULT_CANDIDATES:
                net = seeded_net(spec["net"], seed, Xtr[:2])
                sched = result.schedule(name, total_steps=full, steps_per_epoch=spe)
                trainer = gluon.Trainer(net.collect_params(), "sgd",
                                        dict(spec["params"], lr_scheduler=sched))
                train_epochs(net, trainer, loss_fn, Xtr, ytr, spec["epochs"], b, seed)
                scores[name] = accuracy(net, Xva_nd, yva)
            full_seconds = time.perf_counter() - t_full
            winner = max(scores, key=scores.get)
            rows.append(dict(task=task, seed=seed, pick=cmp.best_name, winner=winner,
                             fixed={n: scores[winner] - scores[n] for n in scores},
                             regret=scores[winner] - scores[cmp.best_name],
                             steps=cmp.steps / (len(DEFAULT_CANDIDATES) * full),
                             seconds=cmp_seconds / full_seconds))
            print("{} seed {}: picked {} ({:.2f}%), full-length winner {} ({:.2f}%); "
                  "comparison {} steps = {:.0%} of training all fully, {:.0%} of the time".format(
                      task, seed, cmp.best_name, scores[cmp.best_name], winner, scores[winner],
                      cmp.steps, rows[-1]["steps"], rows[-1]["seconds"]), flush=True)
    print("\n| task | pick = full-length winner | regret of the pick (pts) | "
          + " | ".join("always {}".format(n) for n in DEFAULT_CANDIDATES)
          + " | random pick | cost (steps) | cost (time) |")
    print("|---" * (6 + len(DEFAULT_CANDIDATES)) + "|")
    for task in TASKS:
        r = [row for row in rows if row["task"] == task]
        fixed = {n: statistics.mean(x["fixed"][n] for x in r) for n in DEFAULT_CANDIDATES}
        print("| {} | {}/{} | {:.2f} | {} | {:.2f} | {:.0%} | {:.0%} |".format(
            task, sum(x["pick"] == x["winner"] for x in r), len(r),
            statistics.mean(x["regret"] for x in r),
            " | ".join("{:.2f}".format(fixed[n]) for n in DEFAULT_CANDIDATES),
            statistics.mean(fixed.values()), statistics.mean(x["steps"] for x in r),
            statistics.mean(x["seconds"] for x in r)))


if __name__ == "__main__":
    main()
