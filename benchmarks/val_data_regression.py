"""Does ``find_lr(val_data=...)`` help on regression? A measurement of an existing option.

For every regression task of ``suggestion_quality.py`` and seeds 0-2: one range test
(``find_lr()`` as it ships, three sweeps) on 80 % of the task's training set, recording the
training loss, and one on the same 80 % recording the loss on the other 20 % after each step
(``val_data``). Each answer is scored by interpolating the task's cached grid of constant-rate
trainings (log-linear between grid rates; the grid is computed when missing) as extra
validation MSE in % of the best grid MSE. Nothing is tuned here.

    OMP_NUM_THREADS=1 python benchmarks/val_data_regression.py     # ~3 min once grids are cached
"""
import math
import os
import statistics
import sys
import warnings

import mxnet as mx
import numpy as np
from mxnet import nd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import suggestion_quality as sq  # noqa: E402
from gluon_lr import Learner  # noqa: E402


def interpolate(mean, lr):
    xs = sorted(mean)
    return float(np.interp(math.log(lr), [math.log(x) for x in xs], [mean[x] for x in xs]))


def main():
    warnings.simplefilter("ignore")
    names = [n for n in sq.TASKS if sq.TASKS[n].get("regression")]
    rows = []
    print("| task | half | best grid lr | training loss: extra MSE (%) | answers | val_data: "
          "extra MSE (%) | answers |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        task = sq.Task(name, sq.TASKS[name])
        grid = sq.run_grid(task, [0, 1, 2], True)
        mean = {float(k): statistics.mean(v) for k, v in grid["scores"].items()}
        best_lr = min(mean, key=mean.get)
        best = mean[best_lr]
        n = task.Xtr.shape[0]
        order = np.random.RandomState(0).permutation(n)
        cut = int(0.8 * n)
        fit_i = nd.array(order[:cut], dtype="int64")
        val_i = nd.array(order[cut:], dtype="int64")
        fit = (nd.take(task.Xtr, fit_i), nd.take(task.ytr, fit_i))
        val = (nd.take(task.Xtr, val_i), nd.take(task.ytr, val_i))
        out = {}
        for mode in ("train", "val"):
            answers = []
            for s in (0, 1, 2):
                net, trainer = task.init_state(s)
                learner = Learner(net, fit, loss=task.loss, trainer=trainer,
                                  batch_size=task.spec["batch"])
                mx.random.seed(s)
                np.random.seed(s)
                result = learner.find_lr(num_iter=task.spec.get("num_iter", 100),
                                         progress=False, val_data=val if mode == "val" else None)
                answers.append(result.lr)
            extra = [100 * (interpolate(mean, a) - best) / best if a else float("nan")
                     for a in answers]
            out[mode] = (statistics.mean(extra), answers)
        rows.append((name, out))
        fmt = lambda a: ", ".join("{:.2g}".format(v) if v else "none" for v in a)  # noqa: E731
        print("| {} | {} | {:.3g} | {:.2f} | {} | {:.2f} | {} |".format(
            name, sq._half(name), best_lr, out["train"][0], fmt(out["train"][1]),
            out["val"][0], fmt(out["val"][1])), flush=True)
    for mode in ("train", "val"):
        v = [r[1][mode][0] for r in rows]
        print("{}: mean {:.1f} %, median {:.1f} %, worst {:.1f} %".format(
            mode, statistics.mean(v), statistics.median(v), max(v)))


if __name__ == "__main__":
    main()
