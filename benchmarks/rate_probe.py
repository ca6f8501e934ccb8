"""Can an over-training probe on held-out data fix ``find_lr()``'s regression answers?

Measured on the cached grids. Built after its blind check (below) as ``learner.check_rate``,
whose answers the last column reports (same split, the Learner's own batch order).

A range test of the training loss cannot see what a held-out MSE pays for a rate: diabetes
wants rates 2-23x below ``find_lr()``'s answer because it over-trains. The probe: from the
task's starting state, train at the default answer ``lr`` (the default ``find_lr()``, three
sweeps) at a constant rate for half the training budget ``B`` on 80 % of the training split (a
fixed shuffle), scoring the other 20 % about 40 times. If the validation loss, smoothed over 9
scores, was best around step ``t*`` and the last window is more than 3 % worse (and the best
window ends before the last one starts: ``gluon_lr.compare``'s over-training test), the answer
becomes ``lr x t* / B`` (the forward area of the budget matched to the probe's up to ``t*``);
otherwise it stays ``lr``. Each answer is scored by interpolating the task's cached grid of
trained constant rates (mean over its 3 seeds, linear in log(lr)), like the design scripts of
rounds 6-7, not by training; regret is the extra validation MSE in % over the best grid rate.

Designed in round 7 on the 29 regression tasks of DESIGN .. FRESH6 (interpolated): mean 13.3 %
extra MSE against 20.0 % for the default answer, lower on every group (with the answers rounded to
two digits, as the design script read them; with the exact answers this script uses, 14.7 against
19.8 %); on classification the
same probe was about neutral (0.53 against 0.50 points), so it is measured on regression only.
A two-sided variant (raise to 2 x when the loss still falls) did worse (22.0 %). Decided before
anything was trained on them: on FRESH7 (six regressions, ``suggestion_quality.py``), the
probe's mean extra MSE must be lower than the default answer's and its worst no more than 2
points higher for the probe to be built into the library next round; both are reported either
way. It was met: 8.8 / 14.5 % against 12.4 / 26.7 % (diabetes RMSProp 5.4 -> 2.1 %, diabetes
Huber resumed 26.7 -> 6.6 %, breast-cancer radius L1 1.1 -> 3.0 %, the other three unchanged).

    python benchmarks/rate_probe.py [--groups design,...,fresh7]

Needs the grids and the default answers cached by ``suggestion_quality.py`` in .benchmarks/
(run it first; the answers are the regret runs of its default row).
"""
import argparse
import math
import os
import statistics
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import suggestion_quality as sq  # noqa: E402
from common import holdout_split  # noqa: E402
from mxnet import autograd, nd  # noqa: E402
POINTS = 40
WINDOW = 9
TOLERANCE = 0.03  # relative validation loss, as gluon_lr.compare.PROBE_TOLERANCE["loss"]
GROUPS = ("design", "held-out", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6",
          "fresh7")


def default_answers(task):
    """The default find_lr() answer per seed (the regret runs of suggestion_quality's default
    row, read from its cache)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = (sq.range_tests(task, [0, 1, 2], True, sq.REPEATS, pool=True,
                               significant=sq.BAR_BEFORE_ROUND_6)
                if task.spec.get("pretrain") else
                sq.range_tests(task, [0, 1, 2], True, sq.REPEATS, pool=task.regression,
                               significant=sq.SIG4))
    return [runs[(s, s)][0].lr for s in (0, 1, 2)]


def probe_curve(task, seed, lr, steps):
    """Validation MSE of a constant run at ``lr`` on 80 % of the training split."""
    Xf, yf, Xv, yv = holdout_split(task.Xtr, task.ytr)
    yv, cut = yv.asnumpy(), Xf.shape[0]
    batch = task.spec["batch"]
    every = max(1, steps // POINTS)
    net, trainer = task.init_state(seed)
    trainer.set_learning_rate(lr)
    rs = np.random.RandomState(seed + 1000)
    curve, t = [], 0
    while t < steps:
        perm = nd.array(rs.permutation(cut), dtype="int64")
        for j in range(cut // batch):
            if t >= steps:
                break
            idx = perm[j * batch:(j + 1) * batch]
            with autograd.record():
                loss = task.loss(net(nd.take(Xf, idx)), nd.take(yf, idx))
            loss.backward()
            trainer.step(batch)
            t += 1
            if t % every == 0 or t == steps:
                mse = float(np.mean((net(Xv).asnumpy().reshape(yv.shape) - yv) ** 2))
                curve.append((t, mse if math.isfinite(mse) else math.inf))
    return curve


def library_check(task, seed, lr, budget):
    """``learner.check_rate`` (the library's version of this probe) on the same 80 / 20 split:
    its batches come from the Learner's sampler, not from the loop above."""
    from gluon_lr import Learner
    Xf, yf, Xv, yv = holdout_split(task.Xtr, task.ytr)
    net, trainer = task.init_state(seed)
    learner = Learner(net, (Xf, yf), loss=task.loss, trainer=trainer,
                      batch_size=task.spec["batch"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learner.check_rate(None, total_steps=budget, val_data=(Xv.asnumpy(),
                                                                      yv.asnumpy()),
                                  lr=lr, seed=seed).lr


def probed(lr, curve, budget):
    """The probe's answer: ``lr x t* / budget`` when the curve over-trains, else ``lr``."""
    values = [-v if math.isfinite(v) else -math.inf for _, v in curve]
    w = min(WINDOW, len(values))
    smooth = [sum(values[j:j + w]) / w for j in range(len(values) - w + 1)]
    j = max(range(len(smooth)), key=lambda k: (smooth[k], -k))
    best, last = smooth[j], smooth[-1]
    drop = (best - last) / max(abs(best), 1e-12) if math.isfinite(last) else math.inf
    if math.isfinite(best) and drop > TOLERANCE and j + w - 1 < len(smooth) - 1:
        return lr * curve[j + (w - 1) // 2][0] / budget
    return lr


def interpolate(mean, lr):
    xs = sorted(mean)
    return float(np.interp(math.log(lr), [math.log(x) for x in xs], [mean[x] for x in xs]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default=",".join(GROUPS))
    args = parser.parse_args()
    groups = args.groups.split(",")
    halves = {"design": sq.DESIGN, "held-out": sq.HELD_OUT, "fresh": sq.FRESH,
              "fresh2": sq.FRESH2, "fresh3": sq.FRESH3, "fresh4": sq.FRESH4,
              "fresh5": sq.FRESH5, "fresh6": sq.FRESH6, "fresh7": sq.FRESH7}
    rows = []
    for g in groups:
        for name in halves[g]:
            task = sq.Task(name, sq.TASKS[name])
            if not task.regression:
                continue
            grid = sq.run_grid(task, [0, 1, 2], True)
            mean = {float(k): statistics.mean(v) for k, v in grid["scores"].items()}
            best = min(mean.values())
            worst = max(mean.values())
            budget = task.spec["epochs"] * (task.Xtr.shape[0] // task.spec["batch"])
            base, probe, library = [], [], []
            for seed, lr in enumerate(default_answers(task)):
                if lr is None:
                    for out in (base, probe, library):
                        out.append(sq.regret(task, best, worst))
                    continue
                q = probed(lr, probe_curve(task, seed, lr, budget // 2), budget)
                base.append(sq.regret(task, best, interpolate(mean, lr)))
                probe.append(sq.regret(task, best, interpolate(mean, q)))
                library.append(sq.regret(task, best, interpolate(
                    mean, library_check(task, seed, lr, budget))))
            rows.append((g, name, statistics.mean(base), statistics.mean(probe),
                         statistics.mean(library)))
            print("{:<9} {:<36} default {:7.2f} %   with the probe {:7.2f} %   "
                  "learner.check_rate {:7.2f} %".format(g, name, *rows[-1][2:]), flush=True)
    print("\n| group | regression tasks | default answer: extra MSE mean / worst (%) | "
          "with the over-training probe (0.5 x budget): mean / worst (%) | "
          "`learner.check_rate`: mean / worst (%) |")
    print("|---|---|---|---|---|")
    for g in groups + ["all"]:
        part = [r for r in rows if g == "all" or r[0] == g]
        if part:
            print("| {} | {} | {} |".format(g, len(part), " | ".join(
                "{:.1f} / {:.1f}".format(statistics.mean(r[k] for r in part),
                                         max(r[k] for r in part)) for k in (2, 3, 4))))


if __name__ == "__main__":
    main()
