"""compare_schedules with an honest hold-out: does the probe's gain survive?

``schedule_quality.py`` passes ``compare_schedules`` the validation split that then scores the
chosen schedule, so the probe decides on the samples it is judged on. Here, per task and seed,
the probe's learner sees 80 % of the training split and validates on the other 20 % (a fixed
shuffle per task), as ``gluon-lr find --compare-schedules`` does; the chosen schedule is then
trained on the whole training split and scored on the validation split, as in
``schedule_quality.py``. Round 7's two-sided probe and round 4's (``PROBE_RAISE = 1``) side by
side, regrets in points against the joint best of the cached grid (it needs the ground truth
that ``schedule_quality.py`` caches; no grid is trained here).

    python benchmarks/compare_holdout.py [--tasks a,b]
"""
import argparse
import json
import os
import statistics
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import gluon_lr.compare as compare  # noqa: E402
from gluon_lr import recommend  # noqa: E402
from gluon_lr import Learner, LRFinderResult  # noqa: E402
from schedule_quality import CACHE, data, means, patched, train  # noqa: E402
from schedule_tasks import SPLIT, TASKS  # noqa: E402
from common import holdout_split, seeded_net  # noqa: E402
from mxnet import gluon  # noqa: E402


def probe_learner(name, seed):
    """A learner on 80 % of the training split, and the other 20 % as (X, y) arrays."""
    task = TASKS[name]
    Xtr, ytr, _, _ = data(name)
    Xf, yf, Xv, yv = holdout_split(Xtr, ytr)
    net = seeded_net(task["net"], seed, Xtr[:2])
    trainer = gluon.Trainer(net.collect_params(), task["optimizer"], dict(task["params"]))
    learner = Learner(net, (Xf, yf), loss=task["loss"](), trainer=trainer,
                      batch_size=task["batch"])
    return learner, (Xv.asnumpy(), yv.asnumpy())


# The probe variants side by side: the module settings each one runs with (the code that
# ships runs with none changed).
VARIANTS = {
    "two-sided": {},
    "round 4": {(compare, "PROBE_RAISE"): 1.0, (compare, "PROBE_RAISE_AT_EDGE"): 1.0,
                (compare, "RAISE_TO_EDGE"): False},
    "before round 9": {(recommend, "EDGE_PEAK"): False, (compare, "RAISE_TO_EDGE"): False},
    "raise at edge": {(compare, "PROBE_RAISE_AT_EDGE"): compare.PROBE_RAISE,
                      (compare, "RAISE_TO_EDGE"): False},
    "no raise to edge": {(compare, "RAISE_TO_EDGE"): False},
}


def honest(name, gt, patch):
    """(regret, picked peaks): ``compare_schedules`` with the module settings in ``patch`` on
    each seed's probe learner (80 % of the training split, the other 20 % as val_data), its
    pick trained on the whole training split and scored on the validation split."""
    joint = max(max(v) for v in means(gt).values())
    scores, picks = [], []
    for i, seed in enumerate(gt["seeds"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = LRFinderResult.from_dict(gt["results"][i])
            learner, val = probe_learner(name, seed)
            with patched(patch):
                c = learner.compare_schedules(result, total_steps=gt["T"], val_data=val,
                                              seed=seed)
        scores.append(train(name, seed, c.best)[0])
        picks.append(c.best.max_value())
    return joint - statistics.mean(scores), picks


def evaluate(name):
    with open(os.path.join(CACHE, name + ".json")) as f:
        gt = json.load(f)
    out = {"task": name, "split": SPLIT[name]}
    for label, patch in VARIANTS.items():
        out[label], out[label + " picks"] = honest(name, gt, patch)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--json")
    args = parser.parse_args()
    names = [n for n in args.tasks.split(",") if os.path.exists(os.path.join(CACHE, n + ".json"))]
    rows = []
    for name in names:
        rows.append(evaluate(name))
        r = rows[-1]
        print("{:<28} {:<9} two-sided {:6.2f}  round 4 {:6.2f}  before round 9 {:6.2f}  raise "
              "at edge {:6.2f}  no raise to edge {:6.2f}".format(
                  name, r["split"], r["two-sided"], r["round 4"], r["before round 9"],
                  r["raise at edge"], r["no raise to edge"]), flush=True)
    print("\n| group | tasks | two-sided probe, 20 % of the training split held out: mean / worst "
          "| round 4's probe, same: mean / worst | two-sided, rule before round 9 | two-sided, "
          "raising at the edge too | regressions not raised to the edge |")
    print("|---|---|---|---|---|---|---|")
    groups = list(dict.fromkeys(r["split"] for r in rows))
    for g in groups + ["all"]:
        part = [r for r in rows if g == "all" or r["split"] == g]
        keys = tuple(VARIANTS)
        print("| {} | {} | ".format(g, len(part)) + " | ".join(
            "{:.2f} / {:.2f}".format(statistics.mean(r[k] for r in part), max(r[k] for r in part))
            for k in keys) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
