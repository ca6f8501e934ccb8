"""Adaptive regressions: ``compare_schedules`` raising an improving probe to WSD at ``edge_lr``.

Round 9's third candidate (``gluon_lr.compare.RAISE_TO_EDGE``): for Adam, Nadam or RMSProp on
a regression loss (``gluon_lr.recommend.edge_regression``), a loss probe whose validation loss
is still falling raises to the edge rule's schedule, WSD at ``edge_lr``, instead of cosine at
twice the auto peak. For each adaptive regression task of ``schedule_tasks.py`` with cached
ground truth, and each seed, the pick of ``compare_schedules`` with ``RAISE_TO_EDGE`` on and
off is trained for the full budget and scored (regret in points of R^2 x 100 against the joint
best of the grid), with the validation split that scores it (as ``schedule_quality.py``) and
with the honest hold-out of ``compare_holdout.py``. No grid is trained here.

    python benchmarks/regression_probe.py [--tasks a,b]
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
from gluon_lr import LRFinderResult  # noqa: E402
import schedule_quality as quality  # noqa: E402
from compare_holdout import honest  # noqa: E402
from schedule_tasks import SPLIT, TASKS  # noqa: E402


def evaluate(name):
    with open(os.path.join(quality.CACHE, name + ".json")) as f:
        gt = json.load(f)
    joint = max(max(v) for v in quality.means(gt).values())
    out = {"task": name, "split": SPLIT[name]}
    for flag in (True, False):
        patch = {(compare, "RAISE_TO_EDGE"): flag}
        scored, picks = [], []
        for i, seed in enumerate(gt["seeds"]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = LRFinderResult.from_dict(gt["results"][i])
            c = quality.compared(name, seed, result, gt["T"], patch=patch)
            scored.append(quality.train(name, seed, c.best)[0])
            picks.append(c.best_name)
        key = "raise to edge" if flag else "probe before"
        out[key] = joint - statistics.mean(scored)
        out[key + " (honest)"] = honest(name, gt, patch)[0]
        out[key + " picks"] = picks
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--json")
    args = parser.parse_args()
    names = [n for n in args.tasks.split(",") if TASKS[n]["regression"]
             and TASKS[n]["optimizer"] not in ("sgd", "nag")
             and os.path.exists(os.path.join(quality.CACHE, n + ".json"))]
    rows = []
    for name in names:
        r = evaluate(name)
        rows.append(r)
        print("{:<32} {:<8} raise to edge {:5.2f} (honest {:5.2f})  before {:5.2f} (honest "
              "{:5.2f})  {}".format(name, r["split"], r["raise to edge"],
                                    r["raise to edge (honest)"], r["probe before"],
                                    r["probe before (honest)"], r["raise to edge picks"]),
              flush=True)
    for key in ("raise to edge", "probe before"):
        print("{}: mean {:.2f}, worst {:.2f}; honest hold-out mean {:.2f}, worst {:.2f}".format(
            key, *(f(r[k] for r in rows) for k in (key, key + " (honest)")
                   for f in (statistics.mean, max))))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
