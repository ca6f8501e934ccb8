"""A negative result: confirming the suggestion with short constant-rate probes does not help.

For each DESIGN task of ``suggestion_quality.py`` and each seed, one range test (one sweep), then
from the same starting state (restored between probes, the same batches for each) ``P`` steps
at a constant rate ``f x auto`` for every factor ``f`` of a candidate set; the candidate with
the lowest mean training loss over the last half of its probe wins (a challenger only by a
``margin`` over ``auto``). Each choice is scored by interpolating the task's cached grid of
constant-rate trainings (log-linear between grid rates; the grid comes from
``suggestion_quality.py``, computed here when missing), as regret in points (classification)
or % extra MSE (regression), and its spread over 5 batch orders in decades.

    OMP_NUM_THREADS=1 python benchmarks/probe_candidates.py    # design half only, ~2 min cached

"auto" here is the curve rule alone (``gluon_lr.suggest.auto`` on one sweep), the rule the
probes were tried on. Only the DESIGN half is run: the idea was dropped there.
"""
import math
import os
import statistics
import sys
import warnings

import mxnet as mx
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import suggestion_quality as sq  # noqa: E402
from gluon_lr import Learner  # noqa: E402
from gluon_lr import suggest as S  # noqa: E402
from gluon_lr.state import RandomState  # noqa: E402

FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
STEPS = 60
SETS = ((0.5, 1.0, 2.0), (1.0, 2.0, 4.0), (0.5, 1.0, 2.0, 4.0), FACTORS)


def curve_auto(result):
    try:
        return S.suggest(result.lrs, result.losses, "auto")
    except S.NoSuggestion:
        return None


def probes(task, seed, order_seed):
    """(auto, {factor: [loss per step]}) for one range test and its probes."""
    result, _ = task.range_test(seed, order_seed, repeats=1)
    auto = curve_auto(result)
    out = {}
    if auto is None:
        return None, out
    net, trainer = task.init_state(seed)
    learner = Learner(net, (task.Xtr, task.ytr), loss=task.loss, trainer=trainer,
                      batch_size=task.spec["batch"])
    mx.random.seed(order_seed)
    np.random.seed(order_seed)
    rng = RandomState()
    state = learner.snapshot()
    learner.prepare_sweep()
    try:
        for f in FACTORS:
            rng.restore()
            stream = learner.batches()
            learner.set_learning_rate(auto * f)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                losses = [learner.step.train(next(stream)) for _ in range(STEPS)]
                out[f] = [float(v.asscalar()) for v in losses]
            stream.close()
            state.restore()
    finally:
        state.discard()
        rng.restore()
    return auto, out


def choose(auto, runs, steps, factors, margin):
    if auto is None:
        return None
    k0 = steps // 2
    score = {}
    for f in factors:
        v = np.array(runs[f][:steps])
        score[f] = float(v[k0:].mean()) if np.isfinite(v).all() else math.inf
    best = min(score, key=score.get)
    if best != 1.0 and score[best] < score[1.0] * (1 - margin):
        return auto * best
    return auto


def main():
    seeds = [0, 1, 2]
    rows = {}
    for name in sq.DESIGN:
        task = sq.Task(name, sq.TASKS[name])
        grid = sq.run_grid(task, seeds, True)
        lrs = sorted(float(k) for k in grid["scores"])
        means = np.array([statistics.mean(grid["scores"][repr(v) if repr(v) in grid["scores"]
                                                        else str(v)]) for v in lrs])
        best = means.min() if task.regression else means.max()
        worst = means.max() if task.regression else means.min()

        def regret(lrs_chosen, task=task, lrs=lrs, means=means, best=best, worst=worst):
            scores = [worst if v is None else float(np.interp(math.log10(v), np.log10(lrs),
                                                              means)) for v in lrs_chosen]
            mean = statistics.mean(scores)
            return 100.0 * (mean - best) / best if task.regression else best - mean

        regret_runs = [probes(task, s, s) for s in seeds]
        spread_runs = [regret_runs[0]] + [probes(task, 0, k) for k in range(1, 5)]
        configs = [("auto", None)] + [((steps, fs, m), None) for steps in (20, 40, 60)
                                      for fs in SETS for m in (0.0, 0.05)]
        for cfg, _ in configs:
            pick = (lambda a, r: a) if cfg == "auto" else (
                lambda a, r, c=cfg: choose(a, r, c[0], c[1], c[2]))
            chosen = [pick(a, r) for a, r in regret_runs]
            spread_lrs = [pick(a, r) for a, r in spread_runs]
            spread = math.log10(max(spread_lrs) / min(spread_lrs)) if all(spread_lrs) \
                else math.inf
            rows.setdefault(str(cfg), {})[name] = (regret(chosen), spread, task.regression)
        print("done", name, flush=True)
    print("\n| probes (steps, factors, margin) | mean regret (pts) | worst (pts) | "
          "MSE mean / worst (%) | worst spread (dec) |")
    print("|---|---|---|---|---|")
    for cfg, per in rows.items():
        cls = [r for r, _, reg in per.values() if not reg]
        reg = [r for r, _, g in per.values() if g]
        print("| {} | {:.2f} | {:.2f} | {:.1f} / {:.1f} | {:.2f} |".format(
            cfg, statistics.mean(cls), max(cls), statistics.mean(reg), max(reg),
            max(sp for _, sp, _ in per.values())))


if __name__ == "__main__":
    main()
