"""Which schedule, at what peak, for a budget: how close does one range test get to a grid search?

Per task (``schedule_tasks.py``: 4 DESIGN, 4 HELD-OUT, and 4 + 4 + 4 FRESH and 6 + 6 + 6 + 6
FRESH4-FRESH7 tasks added later as blind tests; tiny MLPs on digits, breast cancer, MNIST-5k, and regressions on
diabetes, breast cancer radius and generated Friedman #1-#3 data), the ground truth is every shape in
{constant, one_cycle, linear, cosine, wsd, triangular} trained at every peak of a 23-point
quarter-decade grid (1e-4 .. 10**1.5) for the full budget T, with 3 seeds (same initialisation
and batch order per seed across all runs). Scores are validation accuracy in percent
(regression: R^2 x 100, floored at 0). Then, per seed, one range test, and:

- ``result.schedule("auto", T)``: regret against the joint best (shape, peak) of the grid;
- ``result.schedule(name, T)`` for each shape: regret against that shape's best grid peak;
- the edge rule before round 10 (``schedule("auto")`` WSD at ``edge_lr``, linear at
  ``edge_lr``; since round 10 linear at sqrt(2) x ``edge_lr``), with ``compare_schedules``
  then, side by side;
- ``compare_schedules`` raising the peak at the edge too (``compare.PROBE_RAISE_AT_EDGE = 2``,
  round 9 before FRESH11), and not raising adaptive regressions to WSD at ``edge_lr``
  (``compare.RAISE_TO_EDGE = False``, before FRESH12), side by side;
- the same two, and ``compare_schedules`` (whose probe starts from the auto peak), with the
  rule before round 9 (``recommend.EDGE_PEAK = False``: adaptive classifiers peak at 1 or
  sqrt(2) x the suggestion, and ``schedule("auto")`` is cosine), side by side;
- ``learner.compare_schedules(result, total_steps=T, val_data=...)``: the pick trained for T,
  its regret against the joint best, and its extra cost in steps as a multiple of T; next to
  it round 4's probe (``gluon_lr.compare.PROBE_RAISE = 1``: one constant run at the auto peak
  that can only lower it; the default until round 7) and the older design, ``probe=False``
  (a race of 1/3, 1 and 3 x the auto peak, each at most 2 x ``edge_lr``);
- the best constant rate of the 23-point grid (23 full trainings) next to the recommendation;
  that "best of the grid", like the joint best, is picked and scored on the same runs, so it
  is a maximum over noisy means (the winner's curse);
- what a grid search really delivers: its pick (chosen on 1 or 2 seeds) scored on the seeds it
  did not see, for the constant grid (23 runs) and for every (shape, peak) pair (138 or 276
  runs); the last shows how much of any regret is the seed noise and the winner's curse
  (a pick made from 276 full trainings still loses that much on a new seed);
- a random pick among the shapes, each at its ``result.schedule`` peak;
- LR-free optimizers (Prodigy, D-Adaptation SGD; lr=1.0 as a multiplier with cosine to 0
  over T) when ``gluon_lr.optimizers`` provides them.

Ground truth is cached in ``.benchmarks/schedule_quality/`` (about 1-2.5 min per task at
OMP_NUM_THREADS=1 on an idle core the first time; about 50 min for the first 20 tasks on a
loaded machine).

    python benchmarks/schedule_quality.py [--tasks a,b] [--ground-truth-only] [--no-compare]
"""
import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np
from mxnet import gluon, nd

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
from common import deployed_grid_search, seeded_net, train_epochs  # noqa: E402
from schedule_tasks import SPLIT, TASKS, split  # noqa: E402
from gluon_lr import Learner, LRFinderResult  # noqa: E402
from gluon_lr import recommend  # noqa: E402
import gluon_lr.compare as compare_module  # noqa: E402
from gluon_lr.recommend import SHAPES, build  # noqa: E402

GRID = [10 ** (-4 + 0.25 * k) for k in range(23)]
SEEDS = (0, 1, 2)
# Grid searches a user could run instead (name, full trainings), scored on seeds they did not see.
GRID_SEARCHES = (("constant, 1 seed", len(GRID)),
                 ("every shape, 1 seed", len(SHAPES) * len(GRID)),
                 ("every shape, 2 seeds", 2 * len(SHAPES) * len(GRID)))
CACHE = os.path.join(ROOT, ".benchmarks", "schedule_quality")
# What the cached range tests were run with: 2 = find_lr()'s defaults since it runs three sweeps
# and returns the median run (1, unmarked: one sweep). Older caches keep their grid and get new
# range tests.
RANGE_TESTS = 2
_DATA = {}


def data(name):
    if name not in _DATA:
        Xtr, Xva, ytr, yva = split(TASKS[name])
        _DATA[name] = (nd.array(Xtr), nd.array(ytr), nd.array(Xva), yva)
    return _DATA[name]


def budget(name):
    task = TASKS[name]
    spe = data(name)[0].shape[0] // task["batch"]
    return spe * task["epochs"], spe


def score(name, net):
    """(points, finite): accuracy % or R^2 x 100 (floored at 0) on the validation split."""
    task = TASKS[name]
    _, _, Xva, yva = data(name)
    out = net(Xva).asnumpy()
    finite = bool(np.isfinite(out).all())
    if task["regression"]:
        if not finite:
            return 0.0, False
        pred = out.ravel()
        r2 = 1.0 - ((pred - yva) ** 2).sum() / ((yva - yva.mean()) ** 2).sum()
        return float(max(r2, 0.0) * 100), True
    out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return float((out.argmax(1) == yva).mean() * 100), finite


def train(name, seed, schedule, optimizer=None, params=None):
    task = TASKS[name]
    Xtr, ytr, _, _ = data(name)
    net = seeded_net(task["net"], seed, Xtr[:2])
    opt_params = dict(task["params"] if params is None else params, lr_scheduler=schedule)
    trainer = gluon.Trainer(net.collect_params(), optimizer or task["optimizer"], opt_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_epochs(net, trainer, task["loss"](), Xtr, ytr, task["epochs"], task["batch"], seed)
    return score(name, net)


def learner(name, seed):
    task = TASKS[name]
    Xtr, ytr, _, _ = data(name)
    net = seeded_net(task["net"], seed, Xtr[:2])
    trainer = gluon.Trainer(net.collect_params(), task["optimizer"], dict(task["params"]))
    return Learner(net, (Xtr, ytr), loss=task["loss"](), trainer=trainer,
                   batch_size=task["batch"])


def range_test(name, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learner(name, seed).find_lr(progress=False)


def _commit():
    """The commit the ground truth is built from (a record for blind tests: the task group and
    the rule under test were committed before it), or None outside a git checkout."""
    import subprocess
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def ground_truth(name):
    """{"grid": {shape: [[score per seed] per grid peak]}, "results": [range test per seed]}."""
    path = os.path.join(CACHE, name + ".json")
    if os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
        if doc.get("range_tests") != RANGE_TESTS:  # the grid stands; the range tests are redone
            doc["results"] = [range_test(name, s).to_dict() for s in SEEDS]
            doc["range_tests"] = RANGE_TESTS
            with open(path, "w") as f:
                json.dump(doc, f)
        return doc
    T, spe = budget(name)
    t0 = time.perf_counter()
    built = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": _commit()}
    grid = {}
    for shape in SHAPES:
        rows, diverged = [], None
        for peak in GRID:
            if diverged is not None:  # every seed diverged at a lower peak: so will this one
                rows.append(diverged)
                continue
            runs = [train(name, s, build(shape, peak, T, spe)) for s in SEEDS]
            rows.append([r[0] for r in runs])
            if not any(r[1] for r in runs):
                diverged = rows[-1]
        grid[shape] = rows
        print("  {} {}: best {:.2f} at {:.3g} ({:.0f} s)".format(
            name, shape, max(statistics.mean(r) for r in rows),
            GRID[max(range(len(GRID)), key=lambda k: statistics.mean(rows[k]))],
            time.perf_counter() - t0), flush=True)
    doc = {"grid": grid, "T": T, "steps_per_epoch": spe, "seeds": list(SEEDS), "peaks": GRID,
           "results": [range_test(name, s).to_dict() for s in SEEDS],
           "range_tests": RANGE_TESTS, "built": built}
    os.makedirs(CACHE, exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)
    return doc


def means(gt):
    return {shape: [statistics.mean(r) for r in rows] for shape, rows in gt["grid"].items()}


@contextlib.contextmanager
def patched(patch):
    """Set ``{(module, name): value}`` for the duration, then put the old values back."""
    saved = {key: getattr(*key) for key in patch}
    try:
        for (module, attr), value in patch.items():
            setattr(module, attr, value)
        yield
    finally:
        for (module, attr), value in saved.items():
            setattr(module, attr, value)


def compared(name, seed, result, T, patch=None, **kwargs):
    """``compare_schedules`` on a fresh learner for ``name``, validated on its validation
    split, with the module settings in ``patch`` (see :func:`patched`)."""
    _, _, Xva, yva = data(name)
    with patched(patch or {}), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learner(name, seed).compare_schedules(
            result, total_steps=T, val_data=(Xva.asnumpy(), yva), seed=seed, **kwargs)


# The edge rule before round 10 (FRESH13 tested the change blind): schedule("auto") is WSD at
# edge_lr and linear peaks at edge_lr too (since round 10: linear at sqrt(2) x edge_lr).
BEFORE_10 = {(recommend, "EDGE_AUTO_SHAPE"): "wsd", (recommend, "EDGE_MULTIPLES"): {}}


def evaluate(name, gt, compare=True, lr_free=()):
    """Per-task numbers (all regrets in points, averaged over seeds)."""
    T, spe = gt["T"], gt["steps_per_epoch"]
    m = means(gt)
    joint = max(max(v) for v in m.values())
    shape_best = {s: max(v) for s, v in m.items()}
    out = {"task": name, "split": SPLIT[name], "joint_best": joint,
           "joint_best_at": max(((s, GRID[k]) for s in m for k in range(len(GRID))),
                                key=lambda sk: m[sk[0]][GRID.index(sk[1])]),
           "constant_grid": shape_best["constant"]}
    # What a user's own grid search gets: its pick trained again with a seed it did not see
    # (the "best of the grid" above is picked and scored on the same runs).
    every = [row for s in SHAPES for row in gt["grid"][s]]
    out["grid_search"] = {
        "constant, 1 seed": joint - deployed_grid_search(gt["grid"]["constant"], 1),
        "every shape, 1 seed": joint - deployed_grid_search(every, 1),
        "every shape, 2 seeds": joint - deployed_grid_search(every, 2)}
    named = {s: [] for s in SHAPES}
    auto, auto_names, cmp_scores, cmp_cost, cmp_names = [], [], [], [], []
    race_scores, probe4_scores = [], []
    # The rule before round 9 (recommend.EDGE_PEAK = False), side by side; it differs only
    # where recommend.at_edge, so other runs reuse the numbers above.
    prev_named, prev_auto, prev_cmp, prev_names = {s: [] for s in SHAPES}, [], [], []
    edge_raise = []  # compare_schedules raising at the edge as well (before FRESH11)
    no_edge_raise = []  # adaptive regressions not raised to WSD at edge_lr (before FRESH12)
    before10_auto, before10_linear, before10_cmp = [], [], []  # the edge rule of round 9
    skipped = []  # seeds whose range test gave nothing to build a schedule from
    for i, seed in enumerate(gt["seeds"]):
        result = LRFinderResult.from_dict(gt["results"][i])
        try:
            result.schedule("constant", T, steps_per_epoch=spe)
        except ValueError:  # e.g. a "dead" verdict: every rule here is left without an answer
            skipped.append((seed, result.diagnosis_code))
            continue
        for s in SHAPES:
            named[s].append(train(name, seed, result.schedule(s, T, steps_per_epoch=spe))[0])
        sched = result.schedule("auto", T, steps_per_epoch=spe)
        auto_names.append(sched.name)
        auto.append(named[sched.name][-1] if sched == result.schedule(
            sched.name, T, steps_per_epoch=spe) else train(name, seed, sched)[0])
        if compare:
            c = compared(name, seed, result, T)
            cmp_scores.append(train(name, seed, c.best)[0])
            cmp_cost.append(c.steps / T)
            cmp_names.append(c.best_name + ("*" if c.probe and c.probe["over_training"]
                                            else ""))
            # round 4's probe, side by side: one constant run that can only lower the peak
            probe4_scores.append(train(name, seed, compared(
                name, seed, result, T, patch={(compare_module, "PROBE_RAISE"): 1.0,
                                              (compare_module, "RAISE_TO_EDGE"): False}).best)[0])
            # the older design, side by side: a race of 1/3, 1, 3 x the auto peak
            race_scores.append(train(name, seed, compared(name, seed, result, T,
                                                          probe=False).best)[0])
            # the two-sided probe at the edge too (PROBE_RAISE_AT_EDGE = PROBE_RAISE)
            edge_raise.append(train(name, seed, compared(name, seed, result, T, patch={
                (compare_module, "PROBE_RAISE_AT_EDGE"): compare_module.PROBE_RAISE}).best)[0]
                if recommend.at_edge(result) else cmp_scores[-1])
            # adaptive regressions: the probe before FRESH12 (RAISE_TO_EDGE = False)
            no_edge_raise.append(train(name, seed, compared(name, seed, result, T, patch={
                (compare_module, "RAISE_TO_EDGE"): False}).best)[0]
                if recommend.edge_regression(result) else cmp_scores[-1])
        if not recommend.at_edge(result):  # the earlier edge rules differ only at the edge
            before10_auto.append(auto[-1])
            before10_linear.append(named["linear"][-1])
            for s in SHAPES:
                prev_named[s].append(named[s][-1])
            prev_auto.append(auto[-1])
            prev_names.append(auto_names[-1])
            if compare:  # before round 9 no regression was raised to the edge either
                before10_cmp.append(cmp_scores[-1])
                prev_cmp.append(no_edge_raise[-1])
            continue
        with patched(BEFORE_10):
            before10_linear.append(train(name, seed, result.schedule(
                "linear", T, steps_per_epoch=spe))[0])
            before10_auto.append(train(name, seed, result.schedule(
                "auto", T, steps_per_epoch=spe))[0])
        if compare:
            before10_cmp.append(train(name, seed, compared(
                name, seed, result, T, patch=BEFORE_10).best)[0])
        with patched({(recommend, "EDGE_PEAK"): False,
                      (compare_module, "RAISE_TO_EDGE"): False}):
            for s in SHAPES:
                prev_named[s].append(train(name, seed, result.schedule(
                    s, T, steps_per_epoch=spe))[0])
            prev_names.append(result.schedule("auto", T).name)
            prev_auto.append(prev_named[prev_names[-1]][-1])
            if compare:
                prev_cmp.append(train(name, seed, compared(name, seed, result, T).best)[0])
    out["skipped"] = skipped
    out["prev_auto_regret"] = joint - statistics.mean(prev_auto)
    out["prev_auto_names"] = prev_names
    out["prev_named_regret"] = {s: shape_best[s] - statistics.mean(v)
                                for s, v in prev_named.items()}
    if compare:
        out["prev_compare_regret"] = joint - statistics.mean(prev_cmp)
        out["edge_raise_regret"] = joint - statistics.mean(edge_raise)
        out["no_edge_raise_regret"] = joint - statistics.mean(no_edge_raise)
    out["before10_auto_regret"] = joint - statistics.mean(before10_auto)
    out["before10_linear_regret"] = shape_best["linear"] - statistics.mean(before10_linear)
    if compare:
        out["before10_compare_regret"] = joint - statistics.mean(before10_cmp)
    out["auto"] = statistics.mean(auto)
    out["auto_regret"] = joint - out["auto"]
    out["auto_names"] = auto_names
    out["named_regret"] = {s: shape_best[s] - statistics.mean(v) for s, v in named.items()}
    out["named_vs_joint"] = {s: joint - statistics.mean(v) for s, v in named.items()}
    out["random_regret"] = statistics.mean(out["named_vs_joint"].values())
    if compare:
        out["compare_regret"] = joint - statistics.mean(cmp_scores)
        out["compare_cost"] = statistics.mean(cmp_cost)
        out["compare_names"] = cmp_names
        out["race_regret"] = joint - statistics.mean(race_scores)
        out["probe4_regret"] = joint - statistics.mean(probe4_scores)
    for label, optimizer, params in lr_free:
        from gluon_lr.schedules import Cosine
        runs = [train(name, seed, Cosine(1.0, 0.0, T), optimizer, params)[0]
                for seed in gt["seeds"]]
        out.setdefault("lr_free", {})[label] = joint - statistics.mean(runs)
    return out


def lr_free_rows():
    try:
        import gluon_lr.optimizers  # noqa: F401  (registers the optimizers with MXNet)
    except ImportError:  # not on this branch yet
        return ()
    # lr=1.0 is a multiplier of the adapted step; cosine to 0 over T as the schedule.
    # D-Adaptation SGD with momentum 0.9, as its authors train and as our SGD tasks do.
    return (("Prodigy + cosine", "prodigy", {"learning_rate": 1.0}),
            ("D-Adaptation SGD + cosine", "dadaptsgd", {"learning_rate": 1.0, "momentum": 0.9}))


def report(rows, compare):
    def fmt(x):
        return "{:.2f}".format(x)
    for half in ("design", "held-out", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7",
                 "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13", "fresh14"):
        part = [r for r in rows if r["split"] == half]
        if not part:
            continue
        print("\n### {} tasks\n".format(half.upper()))
        head = ["task", "joint best (shape, peak)", "best constant of the 23-point grid",
                "schedule(\"auto\")", "auto regret", "before round 9 (EDGE_PEAK = False)",
                "before round 10 (WSD at edge_lr)"]
        if compare:
            head += ["compare_schedules regret", "its extra cost (x T)",
                     "its picks (* over-training probe fired)",
                     "round-4 probe (PROBE_RAISE = 1) regret",
                     "race of peaks (probe=False) regret"]
        if compare:
            head += ["compare_schedules before round 9",
                     "compare_schedules raising at the edge (PROBE_RAISE_AT_EDGE = 2)",
                     "compare_schedules, regressions not raised to the edge (RAISE_TO_EDGE = "
                     "False)"]
        head += ["random pick regret"]
        head += ["grid search regret: {} ({} runs)".format(k, n) for k, n in GRID_SEARCHES]
        lf = sorted({k for r in part for k in r.get("lr_free", {})})
        head += ["{} regret".format(k) for k in lf]
        print("| " + " | ".join(head) + " |")
        print("|---" * len(head) + "|")
        for r in part:
            cells = [r["task"], "{:.2f} ({}, {:.3g})".format(r["joint_best"], *r["joint_best_at"]),
                     fmt(r["constant_grid"]), "{} ({})".format(fmt(r["auto"]), r["auto_names"][0]),
                     fmt(r["auto_regret"]), "{} ({})".format(fmt(r["prev_auto_regret"]),
                                                             r["prev_auto_names"][0]),
                     fmt(r["before10_auto_regret"])]
            if compare:
                cells += [fmt(r["compare_regret"]), fmt(r["compare_cost"]),
                          ",".join(r["compare_names"]), fmt(r["probe4_regret"]),
                          fmt(r["race_regret"]), fmt(r["prev_compare_regret"]),
                          fmt(r["edge_raise_regret"]), fmt(r["no_edge_raise_regret"])]
            cells += [fmt(r["random_regret"])]
            cells += [fmt(r["grid_search"][k]) for k, _ in GRID_SEARCHES]
            cells += [fmt(r["lr_free"][k]) for k in lf]
            print("| " + " | ".join(cells) + " |")
        mean = statistics.mean
        for r in part:
            if r.get("skipped"):
                print("\n{}: {} of {} range tests gave no suggestion (seed, diagnosis: {}); "
                      "every number of this task is over the other seeds".format(
                          r["task"], len(r["skipped"]), len(r["auto_names"]) + len(r["skipped"]),
                          r["skipped"]))
        print("\n{}: auto regret mean {:.2f}, worst {:.2f}; auto {:.2f} vs best constant of the "
              "grid {:.2f} (mean points); random pick regret {:.2f}".format(
                  half, mean(r["auto_regret"] for r in part),
                  max(r["auto_regret"] for r in part), mean(r["auto"] for r in part),
                  mean(r["constant_grid"] for r in part),
                  mean(r["random_regret"] for r in part)))
        print("{}: auto regret median {:.2f}; before round 9 (EDGE_PEAK = False): mean {:.2f}, "
              "median {:.2f}, worst {:.2f}".format(
                  half, statistics.median(r["auto_regret"] for r in part),
                  mean(r["prev_auto_regret"] for r in part),
                  statistics.median(r["prev_auto_regret"] for r in part),
                  max(r["prev_auto_regret"] for r in part)))
        print("{}: before round 10 (WSD at edge_lr under the edge rule): auto regret mean "
              "{:.2f}, median {:.2f}, worst {:.2f}; schedule(\"linear\") against its own best "
              "peak {:.2f} (since round 10 {:.2f}){}".format(
                  half, mean(r["before10_auto_regret"] for r in part),
                  statistics.median(r["before10_auto_regret"] for r in part),
                  max(r["before10_auto_regret"] for r in part),
                  mean(r["before10_linear_regret"] for r in part),
                  mean(r["named_regret"]["linear"] for r in part),
                  "; compare_schedules then {:.2f}, worst {:.2f}".format(
                      mean(r["before10_compare_regret"] for r in part),
                      max(r["before10_compare_regret"] for r in part)) if compare else ""))
        if compare:
            print("{}: compare_schedules before round 9 (EDGE_PEAK = False): mean {:.2f}, worst "
                  "{:.2f}".format(half, mean(r["prev_compare_regret"] for r in part),
                                  max(r["prev_compare_regret"] for r in part)))
            print("{}: compare_schedules raising at the edge (PROBE_RAISE_AT_EDGE = 2): mean "
                  "{:.2f}, worst {:.2f}".format(half, mean(r["edge_raise_regret"] for r in part),
                                                max(r["edge_raise_regret"] for r in part)))
            print("{}: compare_schedules, regressions not raised to the edge (RAISE_TO_EDGE = "
                  "False): mean {:.2f}, worst {:.2f}".format(
                      half, mean(r["no_edge_raise_regret"] for r in part),
                      max(r["no_edge_raise_regret"] for r in part)))
        if compare:
            print("{}: compare_schedules regret mean {:.2f}, worst {:.2f}, extra cost {:.2f} x T;"
                  " round-4 probe (PROBE_RAISE = 1) mean {:.2f}, worst {:.2f};"
                  " race of peaks (probe=False) regret mean {:.2f}".format(
                      half, mean(r["compare_regret"] for r in part),
                      max(r["compare_regret"] for r in part),
                      mean(r["compare_cost"] for r in part),
                      mean(r["probe4_regret"] for r in part),
                      max(r["probe4_regret"] for r in part),
                      mean(r["race_regret"] for r in part)))
        print("{}: a grid search, its pick trained again with a new seed: regret mean {}".format(
            half, ", ".join("{:.2f} ({}, {} runs)".format(
                mean(r["grid_search"][k] for r in part), k, n) for k, n in GRID_SEARCHES)))
        for k in lf:
            print("{}: {} regret mean {:.2f}".format(half, k, mean(r["lr_free"][k]
                                                                   for r in part)))
        print("\nschedule(name) regret against that shape's best grid peak (points):\n")
        print("| task | " + " | ".join(SHAPES) + " |")
        print("|---" * (len(SHAPES) + 1) + "|")
        for r in part:
            print("| {} | {} |".format(r["task"], " | ".join(fmt(r["named_regret"][s])
                                                          for s in SHAPES)))
        print("| **mean** | {} |".format(" | ".join(
            fmt(mean(r["named_regret"][s] for r in part)) for s in SHAPES)))
        print("| **mean before round 9** | {} |".format(" | ".join(
            fmt(mean(r["prev_named_regret"][s] for r in part)) for s in SHAPES)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--ground-truth-only", action="store_true")
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--json", help="also write the per-task numbers here")
    args = parser.parse_args()
    names = args.tasks.split(",")
    gts = {}
    for name in names:
        gts[name] = ground_truth(name)
    if args.ground_truth_only:
        return
    lr_free = lr_free_rows()
    rows = []
    for name in names:
        rows.append(evaluate(name, gts[name], compare=not args.no_compare, lr_free=lr_free))
        print("done", name, flush=True)
    report(rows, compare=not args.no_compare)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
