"""Does ``result.confidence`` mean something? Regret of the default answer by confidence and code.

For every task of ``suggestion_quality.py`` and each of its seeds, the default ``find_lr()``
(the row "auto, default") is read back from the benchmark's cache with the library's current
result code, so its ``confidence`` and ``diagnosis_code`` are today's (round 8 added
``unstable``: the sweeps of one call disagreeing by more than ``result.UNSTABLE_SPREAD``
decades), and its answer's trained score comes from the cache too (nothing is trained; a run
whose score is not cached is counted and skipped). Regret as in the benchmark: accuracy points
below the grid's best, or percent extra MSE for regression. Medians are shown next to means
because a few regression runs lose hundreds of percent.

    python benchmarks/confidence.py          # needs suggestion_quality.py's caches
"""
import os
import statistics
import sys
import warnings
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import suggestion_quality as sq  # noqa: E402

SEEDS = [0, 1, 2]


def default_runs(task):
    """The runs behind the row "auto, default" (as ``suggestion_quality.evaluate`` picks them)."""
    old = sq.BAR_BEFORE_ROUND_6
    if task.spec.get("pretrain"):
        if task.regression:
            return sq.range_tests(task, SEEDS, True, sq.REPEATS, pool=True, significant=old)
        return sq.range_tests(task, SEEDS, True, sq.REPEATS, significant=old)
    return sq.range_tests(task, SEEDS, True, sq.REPEATS, pool=task.regression,
                          significant=sq.SIG4)


def main():
    os.chdir(os.path.join(HERE, ".."))  # the caches live in ./.benchmarks
    groups, skipped = defaultdict(list), 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in sq.TASKS:
            task = sq.Task(name, sq.TASKS[name])
            grid = sq.Cache("grid", name, True, SEEDS, sq.GRID).data
            if "scores" not in grid:
                skipped += len(SEEDS)
                continue
            means = [statistics.mean(v) for v in grid["scores"].values()]
            best = (min if task.regression else max)(means)
            worst = (max if task.regression else min)(means)
            runs = default_runs(task)
            trained = sq.Cache("trained", name, True).data
            kind = "regression (% extra MSE)" if task.regression else "classification (points)"
            for s in SEEDS:
                result = runs[(s, s)][0]
                if result.lr is None:
                    score = worst
                else:
                    key = "{}/{!r}".format(s, float(result.lr))
                    if key not in trained:
                        skipped += 1
                        continue
                    score = trained[key]
                r = sq.regret(task, best, score)
                groups[(kind, result.confidence, "all")].append(r)
                groups[(kind, result.confidence, result.diagnosis_code)].append(r)
    print("runs skipped (no cached score): {}\n".format(skipped))
    print("| task kind | confidence | code | runs | mean regret | median regret | worst |")
    print("|---|---|---|---|---|---|---|")
    for (kind, conf, code), v in sorted(groups.items()):
        print("| {} | {} | {} | {} | {:.2f} | {:.2f} | {:.2f} |".format(
            kind, conf, code, len(v), statistics.mean(v), statistics.median(v), max(v)))


if __name__ == "__main__":
    main()
