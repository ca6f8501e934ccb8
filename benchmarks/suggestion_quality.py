"""How good is each suggestion rule? Regret against a grid search of constant learning rates.

For each task and seed: initialise the net, train from that same initialisation at every
learning rate of a log grid (1e-5 .. 10**0.5, four per decade), run the range test (default
settings) from the same initialisation, and train at each rule's suggestion with the same seed.
A rule's regret on a task is the best mean grid score minus its mean score over the seeds, in
percentage points of validation accuracy (for regression: in percent of the best grid MSE).
The cost column is the range test's time over the grid search's.

    python benchmarks/suggestion_quality.py                  # the two issue tasks
    python benchmarks/suggestion_quality.py --tasks all      # plus the robustness tasks

The grid is cached in .benchmarks/ (``--no-cache`` recomputes it).
"""
import argparse
import hashlib
import json
import os
import statistics
import sys
import time
import warnings

import mxnet as mx
import numpy as np
from mxnet import gluon, nd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gluon_lr import Learner, SUGGESTION_RULES  # noqa: E402
from gluon_lr.datasets import digits, mnist5k, train_val_split  # noqa: E402
from gluon_lr.models import lenet, mlp  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import accuracy, seeded_net, train_epochs  # noqa: E402

GRID = [10 ** (e / 4) for e in range(-20, 3)]  # 1e-5 .. 10**0.5
RULES = list(SUGGESTION_RULES)


def bn_mlp():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(128), gluon.nn.BatchNorm(), gluon.nn.Activation("relu"),
            gluon.nn.Dense(10))
    return net


def small_cnn():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(16, 3, activation="relu"), gluon.nn.Flatten(),
            gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(10))
    return net


def reg_mlp():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(64, activation="relu"), gluon.nn.Dense(1))
    return net


def _digits_flat():
    return digits(flat=True)


def _digits_img():
    return digits(flat=False)


def _diabetes():
    from sklearn.datasets import load_diabetes
    d = load_diabetes()
    X = d.data.astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    y = ((d.target - d.target.mean()) / d.target.std()).astype(np.float32)[:, None]
    return X, y


def _cancer():
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    X = d.data.astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    return X, d.target.astype(np.float32)


TASKS = {
    # the two tasks of the issue
    "digits-mlp-sgd": dict(data=_digits_flat, net=mlp, opt="sgd", params={}, batch=32, epochs=5),
    "mnist5k-lenet-momentum": dict(data=mnist5k, net=lenet, opt="sgd",
                                   params={"momentum": 0.9}, batch=64, epochs=3),
    # robustness: other optimizers, BatchNorm, regression, larger batches
    "digits-mlp-adam": dict(data=_digits_flat, net=mlp, opt="adam", params={}, batch=32,
                            epochs=5),
    "digits-bn-nag": dict(data=_digits_flat, net=bn_mlp, opt="nag", params={"momentum": 0.9},
                          batch=32, epochs=5),
    "digits-cnn-rmsprop-b128": dict(data=_digits_img, net=small_cnn, opt="rmsprop", params={},
                                    batch=128, epochs=8),
    "cancer-mlp-sgd-b64": dict(data=_cancer, net=lambda: mlp(32, 2), opt="sgd",
                               params={"momentum": 0.9}, batch=64, epochs=10),
    "diabetes-l2-sgd": dict(data=_diabetes, net=reg_mlp, opt="sgd", params={"momentum": 0.9},
                            batch=32, epochs=20, regression=True),
}
ISSUE_TASKS = ["digits-mlp-sgd", "mnist5k-lenet-momentum"]


class Task:
    def __init__(self, name, spec):
        self.name, self.spec = name, spec
        X, y = spec["data"]()
        self.regression = spec.get("regression", False)
        if self.regression:
            from sklearn.model_selection import train_test_split
            Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, random_state=0)
        else:
            Xtr, Xva, ytr, yva = train_val_split(X, y)
        self.Xtr, self.ytr = nd.array(Xtr), nd.array(ytr)
        self.Xva, self.yva = nd.array(Xva), yva
        self.loss = gluon.loss.L2Loss() if self.regression else \
            gluon.loss.SoftmaxCrossEntropyLoss()

    def init_net(self, seed):
        return seeded_net(self.spec["net"], seed, self.Xtr[:2])

    def trainer(self, net, lr):
        params = dict(self.spec["params"])
        if lr is not None:
            params["learning_rate"] = lr
        return gluon.Trainer(net.collect_params(), self.spec["opt"], params)

    def train(self, seed, lr):
        """Train from the seed's initialisation at a constant lr; return the validation score."""
        net = self.init_net(seed)
        trainer = self.trainer(net, lr)
        train_epochs(net, trainer, self.loss, self.Xtr, self.ytr, self.spec["epochs"],
                     self.spec["batch"], seed)
        if self.regression:
            mse = float(np.mean((net(self.Xva).asnumpy() - self.yva) ** 2))
            return mse if np.isfinite(mse) else float("inf")
        return accuracy(net, self.Xva, self.yva)

    def range_test(self, seed):
        net = self.init_net(seed)
        learner = Learner(net, (self.Xtr, self.ytr), loss=self.loss,
                          trainer=self.trainer(net, None), batch_size=self.spec["batch"])
        t0 = time.perf_counter()
        mx.random.seed(seed)
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = learner.find_lr(progress=False)
        return result, time.perf_counter() - t0


def regret(task, best, score):
    if task.regression:  # percent worse than the best grid MSE
        return 100.0 * (score - best) / best if np.isfinite(score) else float("inf")
    return best - score


def grid_cache_path(name, seeds):
    spec = TASKS[name]
    stable = {k: (getattr(v, "__name__", None) if callable(v) else v)
              for k, v in spec.items()}
    key = hashlib.sha1(json.dumps([name, seeds, GRID, stable], sort_keys=True,
                                  default=str).encode()).hexdigest()[:10]
    return os.path.join(".benchmarks", "grid-{}-{}.json".format(name, key))


def run_grid(task, seeds, use_cache):
    path = grid_cache_path(task.name, seeds)
    if use_cache and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    t0 = time.perf_counter()
    scores = {str(lr): [task.train(s, lr) for s in seeds] for lr in GRID}
    out = {"scores": scores, "seconds": time.perf_counter() - t0}
    os.makedirs(".benchmarks", exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f)
    return out


def evaluate(task, seeds, use_cache, rules=RULES):
    grid = run_grid(task, seeds, use_cache)
    mean = {float(lr): statistics.mean(v) for lr, v in grid["scores"].items()}
    best_lr = (min if task.regression else max)(mean, key=mean.get)
    best = mean[best_lr]
    per_rule = {r: [] for r in rules}
    suggested = {r: [] for r in rules}
    rt_seconds = []
    for s in seeds:
        result, secs = task.range_test(s)
        rt_seconds.append(secs)
        cache = {}
        for r in rules:
            lr = result.suggestion(r)
            suggested[r].append(lr)
            if lr is None:
                score = float("inf") if task.regression else (100.0 / 10 if True else 0)
            else:
                if lr not in cache:
                    cache[lr] = task.train(s, lr)
                score = cache[lr]
            per_rule[r].append(score)
    rows = {}
    for r in rules:
        score = (statistics.mean(per_rule[r]))
        rows[r] = {"regret": regret(task, best, score), "score": score,
                   "lrs": suggested[r]}
    return {"best_lr": best_lr, "best": best, "rules": rows,
            "cost": sum(rt_seconds) / len(seeds) / (grid["seconds"] / len(seeds)),
            "grid_seconds": grid["seconds"], "range_test_seconds": statistics.mean(rt_seconds)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="issue",
                        help="'issue' (default), 'all', or comma-separated task names")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    names = ISSUE_TASKS if args.tasks == "issue" else list(TASKS) if args.tasks == "all" \
        else args.tasks.split(",")
    seeds = list(range(args.seeds))
    results = {}
    for name in names:
        task = Task(name, TASKS[name])
        results[name] = res = evaluate(task, seeds, not args.no_cache)
        unit = "% MSE" if task.regression else "pts"
        print("\n{}: best grid lr {:.3g} -> {:.2f}{}; range test {:.2f}s = {:.1%} of grid".format(
            name, res["best_lr"], res["best"], " MSE" if task.regression else "% acc",
            res["range_test_seconds"], res["cost"]))
        for r, row in res["rules"].items():
            lrs = ", ".join("{:.2g}".format(v) if v else "none" for v in row["lrs"])
            print("  {:<9} regret {:7.2f} {}   (lrs {})".format(r, row["regret"], unit, lrs))
    print("\nmean regret over {} task(s) (pts of accuracy / % of MSE):".format(len(names)))
    header = "| rule | " + " | ".join(names) + " | mean |"
    print(header)
    print("|" + "---|" * (len(names) + 2))
    for r in RULES:
        vals = [results[n]["rules"][r]["regret"] for n in names]
        print("| {} | {} | {:.2f} |".format(r, " | ".join("{:.2f}".format(v) for v in vals),
                                            statistics.mean(vals)))
    print("| range-test cost / grid | {} | |".format(
        " | ".join("{:.1%}".format(results[n]["cost"]) for n in names)))


if __name__ == "__main__":
    main()
