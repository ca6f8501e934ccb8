"""LR-free optimizers or the range test? Measured side by side on small Gluon tasks.

For every task and seed, from the same initialisation and data order, train for the same
number of steps with:

* ``prodigy+cos`` / ``dadapt_sgd+cos`` / ``dadapt_adam+cos`` -- the LR-free optimizers with
  their defaults (D-Adapt SGD with momentum 0.9), multiplier 1.0 decayed to 0 by a cosine;
  ``prodigy`` -- Prodigy with a constant multiplier 1.0;
* ``rt const`` / ``rt+cos`` -- the task's own optimizer at the range test's suggestion (default
  rule), constant or decayed to 0 by a cosine (the range test runs on the training data and
  its cost is one short run);
* ``grid const`` / ``grid+cos`` -- the task's own optimizer at the best rate of a 6-point
  grid, constant or cosine; "best" is picked per task by the mean over seeds, an oracle that
  costs 6 training runs and looks at the validation data.

Scores are validation accuracy (%) for classification and validation MSE of the
standardised target for regression. Tasks are split into a DESIGN half and a HELD-OUT half
fixed before any run; nothing here is tuned (every optimizer runs on its published defaults),
so the halves are reported side by side as two independent samples.

    OMP_NUM_THREADS=1 python benchmarks/lr_free.py [--seeds 3] [--tasks NAME ...]
    OMP_NUM_THREADS=1 python benchmarks/lr_free.py --speed   # ms per training step
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

import mxnet as mx
import numpy as np
from mxnet import gluon, nd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import gluon_lr.optimizers  # noqa: E402,F401  (registers the LR-free optimizers)
from gluon_lr import Learner  # noqa: E402
from gluon_lr.datasets import digits, mnist5k, train_val_split  # noqa: E402
from gluon_lr.models import lenet, mlp  # noqa: E402
from gluon_lr.schedules import Cosine  # noqa: E402

sys.path.insert(0, HERE)
from common import accuracy, seeded_net, train_epochs  # noqa: E402

SGD_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
ADAM_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
SGDM = ("sgd", {"momentum": 0.9})
ADAM = ("adam", {})


def _sklearn(name):
    from sklearn import datasets
    d = getattr(datasets, name)()
    return d.data.astype(np.float32), d.target.astype(np.float32)


def _mnist_flat():
    return mnist5k(flat=True)


def _task(data, net, opt, batch, epochs, regression=False, standardize=False):
    return dict(data=data, net=net, opt=opt, batch=batch, epochs=epochs, regression=regression,
                standardize=standardize)


DESIGN = {
    "digits mlp64 sgdm": _task(digits, lambda: mlp(64, 10), SGDM, 32, 5),
    "breast-cancer mlp32 adam": _task(lambda: _sklearn("load_breast_cancer"),
                                      lambda: mlp(32, 2), ADAM, 32, 10, standardize=True),
    "diabetes mlp64 sgdm (MSE)": _task(lambda: _sklearn("load_diabetes"), lambda: mlp(64, 1),
                                       SGDM, 32, 20, regression=True, standardize=True),
}
HELD_OUT = {
    "mnist5k lenet sgdm": _task(mnist5k, lambda: lenet(10), SGDM, 64, 3),
    "digits mlp128 adam": _task(digits, lambda: mlp(128, 10), ADAM, 64, 5),
    "mnist5k mlp128 sgdm": _task(_mnist_flat, lambda: mlp(128, 10), SGDM, 64, 3),
    "diabetes mlp64 adam (MSE)": _task(lambda: _sklearn("load_diabetes"), lambda: mlp(64, 1),
                                       ADAM, 32, 20, regression=True, standardize=True),
}
TASKS = {**DESIGN, **HELD_OUT}
METHODS = ("prodigy+cos", "prodigy", "dadapt_sgd+cos", "dadapt_adam+cos", "rt const", "rt+cos",
           "grid const", "grid+cos")


def split(task):
    X, y = task["data"]()
    if task["regression"]:
        from sklearn.model_selection import train_test_split
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, random_state=0)
        mu, sd = ytr.mean(), ytr.std()
        ytr, yva = (ytr - mu) / sd, (yva - mu) / sd
    else:
        Xtr, Xva, ytr, yva = train_val_split(X, y)
    if task["standardize"]:
        mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
        Xtr, Xva = (Xtr - mu) / sd, (Xva - mu) / sd
    return [a.astype(np.float32) for a in (Xtr, Xva, ytr, yva)]


def score(net, task, Xva, yva):
    if not task["regression"]:
        return accuracy(net, Xva, yva)
    pred = net(Xva).asnumpy().ravel()
    mse = float(np.mean((pred - yva) ** 2))
    return mse if math.isfinite(mse) else float("inf")


def run_task(name, task, seeds):
    Xtr, Xva, ytr, yva = split(task)
    Xtr, ytr, Xva_nd = nd.array(Xtr), nd.array(ytr), nd.array(Xva)
    b, epochs = task["batch"], task["epochs"]
    total = (Xtr.shape[0] // b) * epochs
    loss_fn = gluon.loss.L2Loss() if task["regression"] else gluon.loss.SoftmaxCrossEntropyLoss()
    opt, opt_params = task["opt"]
    grid = SGD_GRID if opt == "sgd" else ADAM_GRID

    def train(seed, optimizer, params, schedule=None):
        net = seeded_net(task["net"], seed, Xtr[:2])
        params = dict(params)
        if schedule is not None:
            # learning_rate=None: Adam's default 0.001 would otherwise overwrite base_lr (and
            # print a line); gluon_lr presets ignore base_lr either way
            params.update(lr_scheduler=schedule, learning_rate=None)
        trainer = gluon.Trainer(net.collect_params(), optimizer, params)
        train_epochs(net, trainer, loss_fn, Xtr, ytr, epochs, b, seed)
        return score(net, task, Xva_nd, yva), trainer

    out = {"total_steps": total, "runs": {}, "suggestions": [], "d": []}
    runs = out["runs"]
    for seed in range(seeds):
        t0 = time.time()
        row = {}
        s, tr = train(seed, "prodigy", {}, Cosine(1.0, cycle_length=total))
        row["prodigy+cos"] = s
        out["d"].append(tr.optimizer.d)
        row["prodigy"], _ = train(seed, "prodigy", {})
        row["dadapt_sgd+cos"], _ = train(seed, "dadaptsgd", {"momentum": 0.9},
                                         Cosine(1.0, cycle_length=total))
        row["dadapt_adam+cos"], _ = train(seed, "dadaptadam", {}, Cosine(1.0, cycle_length=total))
        net = seeded_net(task["net"], seed, Xtr[:2])
        trainer = gluon.Trainer(net.collect_params(), opt, dict(opt_params))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.random.seed(seed)
            # one sweep, as measured for the README (find_lr's default is 3 since then)
            result = Learner(net, (Xtr, ytr), loss=loss_fn, trainer=trainer,
                             batch_size=b).find_lr(progress=False, repeats=1)
        try:
            lr = float(result)
        except Exception:  # no suggestion: fall back to the optimizer's usual default
            lr = 0.01 if opt == "sgd" else 0.001
            out.setdefault("no_suggestion", []).append(seed)
        out["suggestions"].append(lr)
        row["rt const"], _ = train(seed, opt, dict(opt_params, learning_rate=lr))
        row["rt+cos"], _ = train(seed, opt, opt_params, Cosine(lr, cycle_length=total))
        for g in grid:
            row["const {:g}".format(g)], _ = train(seed, opt, dict(opt_params, learning_rate=g))
            row["cos {:g}".format(g)], _ = train(seed, opt, opt_params,
                                                 Cosine(g, cycle_length=total))
        for key, value in row.items():
            runs.setdefault(key, []).append(value)
        print("  {} seed {}: {:.0f} s; prodigy+cos {:.4g}, rt+cos {:.4g} (lr {:.3g})".format(
            name, seed, time.time() - t0, row["prodigy+cos"], row["rt+cos"], lr), flush=True)
    better = min if task["regression"] else max
    for kind in ("const", "cos"):
        keys = ["{} {:g}".format(kind, g) for g in grid]
        best = better(keys, key=lambda k: statistics.mean(runs[k]))
        runs["grid const" if kind == "const" else "grid+cos"] = runs[best]
        out["best " + kind] = best
    return out


def fmt(values, regression):
    m = statistics.mean(values)
    return "{:.3f}".format(m) if regression else "{:.2f}".format(m)


def report(results, seeds):
    for half, tasks in (("DESIGN", DESIGN), ("HELD-OUT", HELD_OUT)):
        names = [t for t in tasks if t in results]
        if not names:
            continue
        print("\n{} tasks, mean over {} seeds (accuracy %, or validation MSE where marked)".format(
            half, seeds))
        print("| task | " + " | ".join(METHODS) + " | best grid rates | rt suggestion |")
        print("|---" * (len(METHODS) + 3) + "|")
        for t in names:
            r = results[t]
            reg = TASKS[t]["regression"]
            print("| {} | ".format(t) + " | ".join(fmt(r["runs"][m], reg) for m in METHODS)
                  + " | {} / {} | {} |".format(r["best const"].split()[1], r["best cos"].split()[1],
                                               "{:.3g}".format(statistics.median(r["suggestions"]))))
    print("\nGap to the best cosine grid per task and seed, mean [worst]: accuracy points lost "
          "(classification), % extra MSE (regression)")
    cols = [(h, tasks, reg) for h, tasks in (("DESIGN", DESIGN), ("HELD-OUT", HELD_OUT))
            for reg in (False, True)]
    print("| method | " + " | ".join("{} {}".format(h, "MSE %" if reg else "acc pts")
                                     for h, _, reg in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for m in METHODS:
        cells = []
        for _, tasks, reg in cols:
            gaps = []
            for t in tasks:
                if t not in results or TASKS[t]["regression"] != reg:
                    continue
                r = results[t]
                for v, ref in zip(r["runs"][m], r["runs"]["grid+cos"]):
                    gaps.append(100 * (v - ref) / ref if reg else ref - v)
            cells.append("{:+.2f} [{:+.2f}]".format(statistics.mean(gaps), max(gaps))
                         if gaps else "-")
        print("| {} | {} |".format(m, " | ".join(cells)))


def speed(rounds=5, steps=60):
    """Median ms per training step (forward, backward, update) of each optimizer, alternating."""
    X, y = mnist5k()
    X, y = nd.array(X[:64 * steps]), nd.array(y[:64 * steps])
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    cases = [("sgd", {"learning_rate": 0.05, "momentum": 0.9}), ("adam", {}), ("prodigy", {}),
             ("dadaptsgd", {"momentum": 0.9}), ("dadaptadam", {})]
    for label, make in (("LeNet", lambda: lenet(10)), ("MLP128", lambda: mlp(128, 10))):
        times = {name: [] for name, _ in cases}
        for r in range(rounds):
            for name, params in cases:
                net = seeded_net(make, r, X[:2])
                trainer = gluon.Trainer(net.collect_params(), name, dict(params))
                train_epochs(net, trainer, loss_fn, X[:64 * 5], y[:64 * 5], 1, 64, r)  # warm-up
                nd.waitall()
                t0 = time.perf_counter()
                train_epochs(net, trainer, loss_fn, X, y, 1, 64, r)
                nd.waitall()
                times[name].append(1000 * (time.perf_counter() - t0) / steps)
        print("{} (batch 64, {} steps, median of {} rounds): ".format(label, steps, rounds)
              + ", ".join("{} {:.2f} ms".format(n, statistics.median(t))
                          for n, t in times.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS),
                        metavar="TASK")
    parser.add_argument("--cache", default=os.path.join(HERE, "..", ".benchmarks",
                                                       "lr_free.json"))
    parser.add_argument("--speed", action="store_true", help="only time a training step")
    args = parser.parse_args()
    if args.speed:
        speed()
        return
    cache = {}
    if os.path.exists(args.cache):
        with open(args.cache) as f:
            cache = json.load(f)
    for name in args.tasks:
        key = "{}|{}".format(name, args.seeds)
        if key not in cache:
            print("{} ...".format(name), flush=True)
            cache[key] = run_task(name, TASKS[name], args.seeds)
            os.makedirs(os.path.dirname(args.cache), exist_ok=True)
            with open(args.cache, "w") as f:
                json.dump(cache, f)
    report({n: cache["{}|{}".format(n, args.seeds)] for n in args.tasks}, args.seeds)


if __name__ == "__main__":
    main()
