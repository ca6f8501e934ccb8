"""The tasks of ``schedule_quality.py`` and their DESIGN / HELD-OUT / FRESH split.

The split was decided and committed before any schedule rule was tuned. Rules (the peak
factors and the auto shape in ``gluon_lr/recommend.py``, compare_schedules' settings) are
tuned on DESIGN only; HELD-OUT is only ever reported.
"""
import numpy as np
from mxnet import gluon

from gluon_lr.datasets import digits, mnist5k, train_val_split
from gluon_lr.models import mlp

from common import cancer_radius as _cancer_radius  # benchmarks/ is on sys.path


def _standardize(Xtr, Xva):
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-8
    return ((Xtr - mu) / sd).astype(np.float32), ((Xva - mu) / sd).astype(np.float32)


def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    return d.data.astype(np.float32), d.target.astype(np.float32)


def diabetes():
    from sklearn.datasets import load_diabetes
    d = load_diabetes()
    return d.data.astype(np.float32), d.target.astype(np.float32)


def cancer_radius():
    X, y = _cancer_radius()
    return X.astype(np.float32), y.astype(np.float32)


def _friedman(number, noise):
    """Regression on generated data: scikit-learn's Friedman #``number`` problem, 1,000 samples."""
    from sklearn import datasets
    X, y = getattr(datasets, "make_friedman{}".format(number))(n_samples=1000, noise=noise,
                                                               random_state=0)
    return X.astype(np.float32), y.astype(np.float32)


def friedman1():
    return _friedman(1, noise=1.0)


def friedman2():
    return _friedman(2, noise=10.0)


def friedman3():
    return _friedman(3, noise=0.1)


def synth4():
    """Classification on generated data (round 9): scikit-learn's ``make_classification``,
    2,000 samples, 20 features (8 informative, 4 redundant), 4 classes with 2 clusters each,
    5 % of the labels flipped."""
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=2000, n_features=20, n_informative=8, n_redundant=4,
                               n_classes=4, n_clusters_per_class=2, flip_y=0.05,
                               random_state=0)
    return X.astype(np.float32), y.astype(np.float32)


def synth10():
    """Classification on generated data (round 9): ``make_classification``, 3,000 samples,
    40 features (20 informative, 5 redundant), 10 classes, 2 % of the labels flipped."""
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=3000, n_features=40, n_informative=20, n_redundant=5,
                               n_classes=10, n_clusters_per_class=1, flip_y=0.02,
                               class_sep=1.5, random_state=1)
    return X.astype(np.float32), y.astype(np.float32)


def synth6():
    """Classification on generated data (round 10): ``make_classification``, 2,400 samples,
    30 features (10 informative, 5 redundant), 6 classes with 2 clusters each, 3 % of the labels
    flipped."""
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=2400, n_features=30, n_informative=10, n_redundant=5,
                               n_classes=6, n_clusters_per_class=2, flip_y=0.03,
                               random_state=2)
    return X.astype(np.float32), y.astype(np.float32)


def moons():
    """Classification on generated data (round 10): scikit-learn's two interleaving half
    circles, 2,000 samples, noise 0.25, with 8 extra features of pure noise."""
    from sklearn.datasets import make_moons
    X, y = make_moons(n_samples=2000, noise=0.25, random_state=3)
    extra = np.random.RandomState(3).randn(len(X), 8)
    return np.hstack([X, extra]).astype(np.float32), y.astype(np.float32)


def circles():
    """Classification on generated data (round 10): scikit-learn's two concentric circles,
    2,000 samples, noise 0.15, inner radius 0.5, with 6 extra features of pure noise."""
    from sklearn.datasets import make_circles
    X, y = make_circles(n_samples=2000, noise=0.15, factor=0.5, random_state=4)
    extra = np.random.RandomState(4).randn(len(X), 6)
    return np.hstack([X, extra]).astype(np.float32), y.astype(np.float32)


def digits_value():
    """Regression on real data (round 9): the digit's value, 0-9, from its 64 pixels."""
    X, y = digits(flat=True)
    return X.astype(np.float32), y.astype(np.float32)


def split(task):
    """(Xtr, Xva, ytr, yva) numpy arrays, standardised where the task says so."""
    X, y = task["data"]()
    if task["regression"]:
        from sklearn.model_selection import train_test_split
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.2, random_state=0)
        mu, sd = ytr.mean(), ytr.std()
        ytr, yva = ((ytr - mu) / sd).astype(np.float32), ((yva - mu) / sd).astype(np.float32)
    else:
        Xtr, Xva, ytr, yva = train_val_split(X, y)
    if task.get("standardize"):
        Xtr, Xva = _standardize(Xtr, Xva)
    return Xtr, Xva, ytr, yva


def _task(data, hidden, classes, optimizer, params, batch, epochs, regression=False,
          standardize=False):
    return dict(data=data, net=lambda: mlp(hidden, classes), optimizer=optimizer,
                params=params, batch=batch, epochs=epochs, regression=regression,
                standardize=standardize,
                loss=gluon.loss.L2Loss if regression else gluon.loss.SoftmaxCrossEntropyLoss)


def mnist_flat():
    return mnist5k(flat=True)


SGDM = {"momentum": 0.9}
DESIGN = {
    "digits-mlp64-sgdm": _task(digits, 64, 10, "sgd", SGDM, 32, 5),
    "cancer-mlp32-adam": _task(breast_cancer, 32, 2, "adam", {}, 16, 8, standardize=True),
    "mnist5k-mlp64-sgd": _task(mnist_flat, 64, 10, "sgd", {}, 64, 3),
    "diabetes-mlp32-adam": _task(diabetes, 32, 1, "adam", {}, 16, 15, regression=True,
                                 standardize=True),
}
HELD_OUT = {
    "digits-mlp128-adam": _task(digits, 128, 10, "adam", {}, 32, 3),
    "cancer-mlp32-sgdm": _task(breast_cancer, 32, 2, "sgd", SGDM, 16, 8, standardize=True),
    "mnist5k-mlp128-sgdm": _task(mnist_flat, 128, 10, "sgd", SGDM, 64, 3),
    "diabetes-mlp32-sgdm": _task(diabetes, 32, 1, "sgd", SGDM, 16, 15, regression=True,
                                 standardize=True),
}
# Added in round 3, after the peak rule (every shape at the suggestion) was fixed, and before
# anything was trained on them: a blind test of that rule, since the HELD_OUT half above was
# looked at while the rule was chosen (README.md). Never tune on these either.
FRESH = {
    "digits-mlp64-nag": _task(digits, 64, 10, "nag", SGDM, 64, 4),
    "cancer-mlp32-rmsprop": _task(breast_cancer, 32, 2, "rmsprop", {}, 32, 10, standardize=True),
    "mnist5k-mlp64-adam": _task(mnist_flat, 64, 10, "adam", {}, 128, 4),
    "cancer-radius-mlp32-adam": _task(cancer_radius, 32, 1, "adam", {}, 32, 10, regression=True,
                                      standardize=True),
}
# Added after the FRESH results were seen (README.md): every task above has now been looked
# at, and any rule changed after that is tested blind on these four, defined before anything
# was trained on them.
FRESH2 = {
    "digits-mlp32-sgd": _task(digits, 32, 10, "sgd", {}, 32, 3),
    "mnist5k-mlp128-nag": _task(mnist_flat, 128, 10, "nag", SGDM, 64, 3),
    "cancer-mlp64-adam": _task(breast_cancer, 64, 2, "adam", {}, 64, 12, standardize=True),
    "friedman1-mlp64-sgdm": _task(friedman1, 64, 1, "sgd", SGDM, 32, 8, regression=True,
                                  standardize=True),
}
# Added after the FRESH2 results were seen: the peak rule is then refitted on all 16 tasks
# above and tested blind on these four, defined before anything was trained on them.
FRESH3 = {
    "digits-mlp128-rmsprop": _task(digits, 128, 10, "rmsprop", {}, 32, 4),
    "mnist5k-mlp64-sgdm-b32": _task(mnist_flat, 64, 10, "sgd", SGDM, 32, 2),
    "cancer-mlp16-nag": _task(breast_cancer, 16, 2, "nag", SGDM, 16, 10, standardize=True),
    "friedman2-mlp64-adam": _task(friedman2, 64, 1, "adam", {}, 32, 6, regression=True,
                                  standardize=True),
}
# Added in round 4, before anything was trained on them, to test one candidate change blind.
# All 20 tasks above have been seen. On their cached grids (benchmarks/schedule_refit.py), the
# shapes that decay to zero over the budget (one_cycle, linear, cosine) did best at sqrt(2) x
# the suggestion (cosine: 1.15 points of regret against 1.31 at 1 x, interpolated), and
# leave-one-group-out refits picked sqrt(2) x in 4 of 5 folds. Decided before training: the
# candidate "decaying shapes (one_cycle, linear, cosine, warmup_cosine) at sqrt(2) x the
# suggestion, the other shapes at 1 x, same 2 x edge_lr cap" replaces the landed rule only if,
# on these six tasks, schedule("auto")'s trained mean regret is lower than the landed rule's
# and its worst regret is not higher by more than 0.5 points. Both are reported either way.
FRESH4 = {
    "digits-mlp96-adam-b64": _task(digits, 96, 10, "adam", {}, 64, 5),
    "mnist5k-mlp64-rmsprop": _task(mnist_flat, 64, 10, "rmsprop", {}, 64, 3),
    "cancer-mlp64-sgd": _task(breast_cancer, 64, 2, "sgd", {}, 16, 8, standardize=True),
    "friedman3-mlp64-sgdm": _task(friedman3, 64, 1, "sgd", SGDM, 32, 8, regression=True,
                                  standardize=True),
    "digits-mlp64-sgdm-b128": _task(digits, 64, 10, "sgd", SGDM, 128, 6),
    "mnist5k-mlp32-adam-b32": _task(mnist_flat, 32, 10, "adam", {}, 32, 2),
}
# Added in round 4 after the sqrt(2) rule was adopted on FRESH4, before anything was trained on
# them: a replication of that blind test. Nothing is tuned on them this round; schedule("auto")
# under the round-4 rule (decaying shapes at sqrt(2) x the suggestion) and under the round-3
# rule (every shape at 1 x) are both reported, whichever wins.
FRESH5 = {
    "digits-mlp48-nag-b32": _task(digits, 48, 10, "nag", SGDM, 32, 4),
    "mnist5k-mlp96-sgdm-b128": _task(mnist_flat, 96, 10, "sgd", SGDM, 128, 4),
    "cancer-mlp48-adam-b32": _task(breast_cancer, 48, 2, "adam", {}, 32, 6, standardize=True),
    "friedman1-mlp32-adam": _task(friedman1, 32, 1, "adam", {}, 16, 6, regression=True,
                                  standardize=True),
    "digits-mlp128-sgd-b64": _task(digits, 128, 10, "sgd", {}, 64, 5),
    "mnist5k-mlp128-adam-b64": _task(mnist_flat, 128, 10, "adam", {}, 64, 3),
}
# Added in round 7, before anything was trained on them, to test one candidate change to
# compare_schedules blind. All 32 tasks above have been seen. Designed on all 32 (probe curves
# recorded once, each rule read off the cached grids): a two-sided probe within the same
# 0.5 x T extra steps. P = the auto peak, R = min(2 x P, 2 x edge_lr) (never below P).
#   - Ranked by accuracy (softmax classification): two constant runs of floor(extra / 2)
#     steps each, from the same weights on the same batches, at P and at R, each scored at
#     about 20 evenly spaced steps. Over-training is read on the R run (same test and
#     forward-area scaling as round 4's probe, at R); if it fires, that scaled peak (at most
#     R). Otherwise the auto shape peaks at R when the mean of the last 9 scores of the R run
#     is at least that of the P run, else at P.
#   - Ranked by validation loss (regression): round 4's probe (one constant run at P for the
#     whole extra budget, 40 scores); if it over-trains, its scaled peak; otherwise R when the
#     smoothed validation loss (9-score windows) fell by more than 5 % between the window
#     ending at the middle of the run and the last window (still improving), else P.
# Interpolated on the 32 seen tasks: mean regret 0.90 (worst 2.49) against 1.17 (4.32) for
# round 4's probe and 1.29 (4.32) for schedule("auto"); no group worse by more than 0.02.
# (As designed and as implemented, the "middle" window is the 9-score window centred on the
# middle of the run, not the one ending there; the wording was corrected after the test.)
# Decided before training: the candidate replaces round 4's probe as compare_schedules'
# default only if, on these six tasks, its trained mean regret is lower than round 4's probe's
# and its worst regret is not higher by more than 0.5 points. Both are reported either way.
FRESH6 = {
    "digits-mlp64-rmsprop-b64": _task(digits, 64, 10, "rmsprop", {}, 64, 4),
    "mnist5k-mlp64-nag-b32": _task(mnist_flat, 64, 10, "nag", SGDM, 32, 2),
    "cancer-mlp24-sgdm-b32": _task(breast_cancer, 24, 2, "sgd", SGDM, 32, 8, standardize=True),
    "diabetes-mlp64-rmsprop": _task(diabetes, 64, 1, "rmsprop", {}, 16, 12, regression=True,
                                    standardize=True),
    "friedman3-mlp32-adam": _task(friedman3, 32, 1, "adam", {}, 16, 6, regression=True,
                                  standardize=True),
    "cancer-radius-mlp64-sgdm": _task(cancer_radius, 64, 1, "sgd", SGDM, 32, 8,
                                      regression=True, standardize=True),
}
# Added in round 7 after the two-sided probe was adopted on FRESH6, before anything was trained
# on them: a replication of that blind test (as FRESH5 was of FRESH4's). Nothing is tuned on
# them this round; compare_schedules with the two-sided probe and with round 4's probe
# (PROBE_RAISE = 1), schedule("auto") and the LR-free baselines are all reported, whichever wins.
FRESH7 = {
    "digits-mlp96-sgdm-b64": _task(digits, 96, 10, "sgd", SGDM, 64, 5),
    "mnist5k-mlp96-rmsprop-b32": _task(mnist_flat, 96, 10, "rmsprop", {}, 32, 2),
    "cancer-mlp64-rmsprop-b16": _task(breast_cancer, 64, 2, "rmsprop", {}, 16, 6,
                                      standardize=True),
    "friedman1-mlp64-rmsprop": _task(friedman1, 64, 1, "rmsprop", {}, 16, 6, regression=True,
                                     standardize=True),
    "friedman2-mlp32-sgdm": _task(friedman2, 32, 1, "sgd", SGDM, 32, 8, regression=True,
                                  standardize=True),
    "diabetes-mlp32-nag": _task(diabetes, 32, 1, "nag", SGDM, 16, 12, regression=True,
                                standardize=True),
}
# Added in round 8, before anything was trained on them, to test one candidate change to the
# peak rule blind. Seen: all 44 tasks above. On their cached grids (interpolated), cosine's best
# multiple of the suggestion splits by optimizer: the SGD family (sgd, nag, with or without
# momentum; 23 tasks) does best at sqrt(2) x (1.14 points of regret against 1.75 at 2 x, with
# cliffs of 10-50 points at 4 x), the adaptive optimizers (Adam, RMSProp; 21 tasks) at 2.83 x
# (1.44 against 1.84 at sqrt(2) x; worst 4.79 against 8.43). Every non-constant shape shows it
# (adaptive: wsd 1.05 at 2 x against 1.52 at 1 x, triangular 1.26 against 1.68); constant does
# not (1.09 at 1 x, 1.24 at sqrt(2) x). It costs the two diabetes tasks (over-training) and
# digits-mlp128-adam, and so HELD-OUT (schedule("auto") 0.84 -> 1.11, compare_schedules 0.45 ->
# 0.71, interpolated); over all 44 tasks schedule("auto") 1.48 -> 1.30, compare_schedules 1.07
# -> 0.96 (/work/exp8 scripts, recorded probe curves).
# The candidate: for a range test that recorded an adaptive optimizer (recommend.ADAPTIVE: adam,
# adamw, adamax, nadam, rmsprop, adagrad, groupadagrad, adadelta, ftml, ftrl, lamb, lans,
# bertadam), every shape except constant peaks at ADAPTIVE_MULTIPLE = 2 times its multiple of the
# suggestion (decaying shapes 2 x sqrt(2) x, wsd and triangular 2 x), at most EDGE_CAP x edge_lr
# as before. compare_schedules' probe starts from the auto peak, so it follows (P and R = 2 P).
# Decided before training, on these six tasks (all adaptive: the rule changes nothing else):
#   (A) schedule("auto") is adopted with the new peaks if its trained mean regret is lower than
#       with ADAPTIVE_MULTIPLE = 1 and its worst is not higher by more than 0.5 points;
#   (B) compare_schedules starts from the new auto peak if (A) holds and its mean regret is not
#       higher than when it starts from the old one, and its worst not higher by more than 0.5;
#       otherwise it keeps the old starting peak.
# Both are reported either way, with the schedule(name) regrets at both rules.
FRESH8 = {
    "digits-mlp64-adam-b32": _task(digits, 64, 10, "adam", {}, 32, 3),
    "mnist5k-mlp48-rmsprop-b64": _task(mnist_flat, 48, 10, "rmsprop", {}, 64, 3),
    "cancer-mlp32-nadam-b16": _task(breast_cancer, 32, 2, "nadam", {}, 16, 6, standardize=True),
    "mnist5k-mlp96-adam-b128": _task(mnist_flat, 96, 10, "adam", {}, 128, 4),
    "friedman2-mlp64-rmsprop-b32": _task(friedman2, 64, 1, "rmsprop", {}, 32, 8,
                                         regression=True, standardize=True),
    "diabetes-mlp48-adam-b32": _task(diabetes, 48, 1, "adam", {}, 32, 12, regression=True,
                                     standardize=True),
}
# (The wsd and triangular numbers above are regrets against each shape's own best peak.)
# Outcome: (A) not met, 1.73 / 6.02 against 1.64 / 3.93 (better on 4 tasks, worse on
# digits-mlp64-adam-b32 and diabetes-mlp48-adam-b32); compare_schedules 1.36 against 0.97. The
# rule was reverted; README.md, "Choosing the schedule for a budget", item 11.
# Added in round 8 after FRESH8, before anything was trained on them, to test one candidate
# change to compare_schedules blind. Seen: the 44 tasks up to FRESH7 (recorded probe curves at
# 1, 2 and 4 x the auto peak, round 7) and FRESH8 (trained, no probe curves). The candidate
# leaves schedule("auto") alone and lets the two-sided probe try a higher rate for adaptive
# optimizers: R = PROBE_RAISE_ADAPTIVE (4) x P instead of PROBE_RAISE (2) x P, at most 2 x
# edge_lr as before, for a range test that recorded an adaptive optimizer (recommend.ADAPTIVE:
# Adam, RMSProp, Nadam, ...); the runs, the tests and the budget are unchanged, so a cliff at
# 4 x shows in the R run and keeps P. Read off the recorded curves of the 44 tasks: mean regret
# 0.98 (worst 2.70) against 1.07 (4.53) for the landed probe; on the 21 adaptive tasks 1.14
# against 1.32; DESIGN 1.03 against 0.96, HELD-OUT level (0.45), FRESH 0.51 against 0.40,
# FRESH4 1.25 against 1.18 (/work/exp8/probe_adapt.py).
# Outcome: not met on the worst task: mean 2.00 against 2.01, worst 3.24 against 2.60
# (digits-mlp48-nadam-b64 1.94 -> 3.24); reverted (README.md, item 12).
# Decided before training: PROBE_RAISE_ADAPTIVE = 4 becomes the default if, on these six tasks
# (all adaptive), compare_schedules' trained mean regret is lower than with
# PROBE_RAISE_ADAPTIVE = 2 (the landed probe) and its worst is not higher by more than 0.5;
# otherwise it is set to 2 (no change). Both are reported either way, and the honest hold-out
# (compare_holdout.py) for both.
FRESH9 = {
    "digits-mlp96-rmsprop-b32": _task(digits, 96, 10, "rmsprop", {}, 32, 3),
    "mnist5k-mlp128-rmsprop-b128": _task(mnist_flat, 128, 10, "rmsprop", {}, 128, 4),
    "cancer-mlp48-rmsprop-b32": _task(breast_cancer, 48, 2, "rmsprop", {}, 32, 6,
                                      standardize=True),
    "digits-mlp48-nadam-b64": _task(digits, 48, 10, "nadam", {}, 64, 4),
    "friedman1-mlp48-adam-b32": _task(friedman1, 48, 1, "adam", {}, 32, 8, regression=True,
                                      standardize=True),
    "diabetes-mlp32-rmsprop-b32": _task(diabetes, 32, 1, "rmsprop", {}, 32, 12,
                                        regression=True, standardize=True),
}
# Added in round 9, before anything was trained on them, to test one candidate blind. Seen: the
# 56 tasks up to FRESH9 (their cached grids; benchmarks/schedule_refit.py and /work/exp9). The
# candidate ("the edge for adaptive classifiers", recommend.EDGE_PEAK): when the range test
# recorded Adam, Nadam or RMSProp (recommend.EDGE_OPTIMIZERS) and a loss with a chance level
# (meta["chance_loss"]: softmax cross-entropy or sigmoid BCE, i.e. classification) and has an
# edge_lr, every shape but constant peaks at edge_lr (the rate where the smoothed loss is
# lowest) instead of 1 or sqrt(2) x the suggestion, and schedule("auto") is WSD instead of
# cosine. Constant keeps the suggestion; every other run (the SGD family, regression losses)
# is unchanged. Design evidence, read off the cached grids of the 22 adaptive classification
# tasks among the 56 (interpolated, no training): schedule("auto") mean / median / worst
# regret 0.76 / 0.76 / 1.48 against 1.52 / 1.18 / 3.33 for the rule that ships (cosine at
# sqrt(2) x the suggestion); the best constant rate of the grid 1.14; the neighbours of the
# chosen rule are close (WSD at 0.71 / 1.41 x edge_lr 0.85 / 0.86, at 2 / 2.83 x the
# suggestion 0.84 / 0.73). Each shape against its own best peak: one_cycle 0.82, linear 0.47,
# cosine 0.59, wsd 0.55, triangular 0.65 against 1.32, 1.22, 1.04, 1.24, 1.41. Regression is
# left out: on the 11 adaptive regressions the same rule gains on Friedman and loses 1.3-4.5
# points on every diabetes task (over-training). Same criterion as rounds 4, 7 and 8, decided
# before training: EDGE_PEAK = True becomes the default if, on these six tasks (all adaptive
# classification), schedule("auto")'s trained mean regret is lower than with EDGE_PEAK = False
# (the rule that ships) and its worst is not higher by more than 0.5; otherwise it is set to
# False (no change). Both are reported either way, with the schedule(name) regrets, the median,
# compare_schedules (whose probe starts from the auto peak) at both, and the honest hold-out.
# Outcome: met, mean 1.24 against 1.64, worst 2.67 against 2.58 (median 0.90 against 1.63;
# better on 5 tasks, worse on digits-mlp32-adam-b16, 0.74 -> 2.50); EDGE_PEAK = True adopted.
# compare_schedules 1.19 against 1.58 (honest hold-out 1.35 against 1.46); README.md, item 13.
FRESH10 = {
    "digits-mlp32-adam-b16": _task(digits, 32, 10, "adam", {}, 16, 3),
    "mnist5k-mlp64-nadam-b32": _task(mnist_flat, 64, 10, "nadam", {}, 32, 3),
    "cancer-mlp96-adam-b64": _task(breast_cancer, 96, 2, "adam", {}, 64, 8, standardize=True),
    "synth4-mlp64-rmsprop-b32": _task(synth4, 64, 4, "rmsprop", {}, 32, 5, standardize=True),
    "synth4-mlp32-adam-b64": _task(synth4, 32, 4, "adam", {}, 64, 6, standardize=True),
    "mnist5k-mlp32-rmsprop-b32": _task(mnist_flat, 32, 10, "rmsprop", {}, 32, 3),
}
# Added in round 9 after FRESH10 (the edge rule adopted), before anything was trained on them,
# to test one candidate change to compare_schedules blind. Seen: the 62 tasks up to FRESH10,
# trained with the edge rule (one run of schedule_quality.py, round 9). The candidate
# (compare.PROBE_RAISE_AT_EDGE = 1): when the auto peak already sits at edge_lr
# (recommend.at_edge: Adam, Nadam, RMSProp on classification), the two-sided probe does not try
# a higher rate (R = P): it can only lower the peak, as round 4's probe did; every other run is
# unchanged. Design evidence, the 28 edge tasks among the 62, trained (compare_schedules
# reading the scoring split, as schedule_quality.py does): mean regret 0.75 against 0.89 for the
# two-sided probe, which was no better than schedule("auto") alone there (0.87); FRESH10, the
# one group blind for the edge rule: 0.79 against 1.19, and with the honest hold-out
# (compare_holdout.py) 1.24 against 1.35. Worse on 3 of the 28 (FRESH3 digits RMSProp,
# FRESH8 MNIST RMSProp, FRESH9 MNIST RMSProp b128: 0.3-0.5 points), better on 6.
# Decided before training, the criterion of rounds 7 and 8: PROBE_RAISE_AT_EDGE = 1 becomes
# the default if, on these six tasks (all adaptive classification), compare_schedules'
# trained mean regret is lower than with PROBE_RAISE_AT_EDGE = PROBE_RAISE (2, the probe that
# ships) and its worst is not higher by more than 0.5; otherwise it is set to 2 (no change).
# Both are reported either way, and the honest hold-out for both.
# Outcome: met, 0.83 / 3.39 against 0.97 / 3.39 (better on 2 tasks, level on 3, worse on
# digits-mlp128-nadam-b32, 0.19 -> 0.37); honest hold-out 0.83 against 0.92. Adopted. The edge
# rule itself, replicated here: schedule("auto") 0.83 / 3.39 against 1.28 / 2.06 for the rule
# before round 9 (median 0.33 against 1.36; synth10-mlp96-nadam-b32 1.06 -> 3.39).
FRESH11 = {
    "digits-mlp64-rmsprop-b16": _task(digits, 64, 10, "rmsprop", {}, 16, 3),
    "mnist5k-mlp48-adam-b64": _task(mnist_flat, 48, 10, "adam", {}, 64, 4),
    "cancer-mlp64-nadam-b32": _task(breast_cancer, 64, 2, "nadam", {}, 32, 6,
                                    standardize=True),
    "synth10-mlp96-nadam-b32": _task(synth10, 96, 10, "nadam", {}, 32, 4, standardize=True),
    "synth10-mlp48-rmsprop-b128": _task(synth10, 48, 10, "rmsprop", {}, 128, 8,
                                        standardize=True),
    "digits-mlp128-nadam-b32": _task(digits, 128, 10, "nadam", {}, 32, 3),
}
# Added in round 9 after FRESH11, before anything was trained on them, to test one candidate
# change to compare_schedules blind. Seen: the 68 tasks up to FRESH11. The candidate
# (compare.RAISE_TO_EDGE = True): for Adam, Nadam or RMSProp on a regression loss whose range
# test bottomed out inside the sweep (recommend.edge_regression), the loss-ranked probe, when
# the validation loss is still falling, raises to the edge rule's schedule, WSD at edge_lr,
# instead of the auto shape (cosine) at 2 x its peak; schedule("auto") and every other run are
# unchanged. Design evidence, trained, on the 11 adaptive regressions seen
# (benchmarks/regression_probe.py, added after the test): compare_schedules mean regret
# 1.18 (worst 2.26) against 1.69 (4.56) for the probe that ships; honest hold-out 1.64 (5.01)
# against 2.14 (5.32); the four diabetes tasks unchanged (the probe saw no falling validation
# loss there), worse on breast-cancer radius (0.19 -> 0.41) and Friedman #2 RMSProp (0.12 ->
# 0.21). Decided before training, the criterion of rounds 7, 8 and 9: RAISE_TO_EDGE = True
# becomes the default if, on these six tasks (all adaptive regression, including a new real
# data set: the digit's value from its pixels), compare_schedules' trained mean regret is
# lower than with RAISE_TO_EDGE = False (the probe that ships) and its worst is not higher by
# more than 0.5; otherwise it is set to False (no change). Both are reported either way, and
# the honest hold-out for both.
# Outcome: met, 1.24 / 3.24 against 1.98 / 3.58 (better on 5 tasks, level on diabetes, where
# the probe saw over-training or no falling loss); honest hold-out 1.30 / 3.76 against 2.05 /
# 3.97. Adopted. schedule("auto") (unchanged) scored 3.39 here, below the best constant of the
# grid (78.51 against 79.73); compare_schedules is ahead of it.
FRESH12 = {
    "friedman1-mlp96-rmsprop-b64": _task(friedman1, 96, 1, "rmsprop", {}, 64, 8,
                                         regression=True, standardize=True),
    "friedman3-mlp48-nadam-b32": _task(friedman3, 48, 1, "nadam", {}, 32, 8, regression=True,
                                       standardize=True),
    "diabetes-mlp64-nadam-b16": _task(diabetes, 64, 1, "nadam", {}, 16, 12, regression=True,
                                      standardize=True),
    "cancer-radius-mlp48-rmsprop-b32": _task(cancer_radius, 48, 1, "rmsprop", {}, 32, 8,
                                             regression=True, standardize=True),
    "digits-value-mlp64-adam-b32": _task(digits_value, 64, 1, "adam", {}, 32, 5,
                                         regression=True),
    "friedman2-mlp48-adam-b16": _task(friedman2, 48, 1, "adam", {}, 16, 8, regression=True,
                                      standardize=True),
}
# Added in round 10, before anything was trained on them, to test one candidate change to
# the edge rule blind. Seen: the 74 tasks up to FRESH12. The candidate (the library since;
# schedule_quality.BEFORE_10 is the rule before it): under the edge rule (recommend.at_edge: Adam, Nadam or
# RMSProp on classification), linear peaks at sqrt(2) x edge_lr instead of edge_lr
# (recommend.EDGE_MULTIPLES = {"linear": sqrt(2)}) and schedule("auto") is linear instead of
# WSD at edge_lr (recommend.EDGE_AUTO_SHAPE = "linear"); every other shape and run unchanged.
# Design evidence, read off the cached grids of the 34 edge tasks among the 74 (no training;
# python benchmarks/schedule_refit.py --per-shape): schedule("auto") mean regret 0.73, median
# 0.71, worst 1.68 against 0.88, 0.70, 2.87 for WSD at edge_lr; chosen on the other groups, linear at
# sqrt(2) x edge_lr was picked for every left-out group (0.73 against 0.88 on them); it lifts
# the three tasks above 2 points (digits Adam b16, synth4 RMSProp, synth10 Nadam: 2.2-2.9 ->
# 1.3-1.35) and costs others (digits Nadam b64 0.64 -> 1.30, breast cancer Adam b64 0.32 ->
# 0.98). Decided before training, the criterion of rounds 4, 7, 8 and 9: the candidate becomes
# the default if, on these six tasks (all adaptive classification, including a generated
# 6-class problem and a two-moons problem, both new), schedule("auto")'s trained mean regret is
# lower than with the rule that ships (WSD at edge_lr) and its worst is not higher by more than
# 0.5; otherwise nothing changes. Both are reported either way, with schedule("linear")'s
# regret against its own best peak and compare_schedules (whose probe starts from the auto
# peak) for both.
# Outcome: met, 1.36 / 4.03 against 2.44 / 9.65 (median 0.92 against 0.76): better on 3 tasks
# (synth6 Adam 9.65 -> 4.03, synth10 Adam 2.28 -> 1.28, digits Adam 0.65 -> 0.19), worse on 3
# by 0.10-0.30; above the best constant of the grid (89.61 against 89.34; WSD was below it,
# 88.53). schedule("linear") against its own best peak 0.81 against 0.93; compare_schedules
# 1.36 against 2.39. Adopted: EDGE_AUTO_SHAPE = "linear", EDGE_MULTIPLES = {"linear": sqrt(2)}.
FRESH13 = {
    "digits-mlp80-adam-b48": _task(digits, 80, 10, "adam", {}, 48, 4),
    "mnist5k-mlp112-nadam-b64": _task(mnist_flat, 112, 10, "nadam", {}, 64, 3),
    "cancer-mlp40-rmsprop-b24": _task(breast_cancer, 40, 2, "rmsprop", {}, 24, 8,
                                      standardize=True),
    "synth6-mlp64-adam-b32": _task(synth6, 64, 6, "adam", {}, 32, 4, standardize=True),
    "moons-mlp32-rmsprop-b32": _task(moons, 32, 2, "rmsprop", {}, 32, 6, standardize=True),
    "synth10-mlp64-adam-b96": _task(synth10, 64, 10, "adam", {}, 96, 6, standardize=True),
}
# Added in round 10 after FRESH13 (linear at sqrt(2) x edge_lr adopted), before anything was
# trained on them: a replication of that blind test, nothing changed in the rule. Decided
# before training: the same criterion is read (mean regret of schedule("auto") against the
# rule before it, WSD at edge_lr; worst not higher by more than 0.5), and the change is
# reverted to WSD at edge_lr only if it fails both halves (a higher mean and a worst higher by
# more than 0.5); a failure of one half is reported, as FRESH11's was for round 9's rule.
# Outcome: met, narrowly on mean: 0.58 / 1.25 against 0.61 / 1.03 (median 0.48 against 0.74);
# better on 3 tasks, worse on 3 (synth6 RMSProp 0.76 -> 1.25, digits RMSProp 0.09 -> 0.56);
# ahead of the best constant of the grid (91.51 against 90.76). One range test of the circles
# task said "dead" on a learnable problem (97 %): that task's numbers are over its other two
# seeds (README.md, Known limits). Kept.
FRESH14 = {
    "digits-mlp56-rmsprop-b32": _task(digits, 56, 10, "rmsprop", {}, 32, 3),
    "mnist5k-mlp80-adam-b32": _task(mnist_flat, 80, 10, "adam", {}, 32, 3),
    "cancer-mlp24-nadam-b16": _task(breast_cancer, 24, 2, "nadam", {}, 16, 8,
                                    standardize=True),
    "synth6-mlp48-rmsprop-b64": _task(synth6, 48, 6, "rmsprop", {}, 64, 5, standardize=True),
    "moons-mlp64-adam-b16": _task(moons, 64, 2, "adam", {}, 16, 4, standardize=True),
    "circles-mlp48-adam-b32": _task(circles, 48, 2, "adam", {}, 32, 5, standardize=True),
}
TASKS = dict(DESIGN, **HELD_OUT, **FRESH, **FRESH2, **FRESH3, **FRESH4, **FRESH5, **FRESH6,
             **FRESH7, **FRESH8, **FRESH9, **FRESH10, **FRESH11, **FRESH12, **FRESH13,
             **FRESH14)
SPLIT = dict({name: "design" for name in DESIGN}, **{name: "held-out" for name in HELD_OUT},
             **{name: "fresh" for name in FRESH}, **{name: "fresh2" for name in FRESH2},
             **{name: "fresh3" for name in FRESH3}, **{name: "fresh4" for name in FRESH4},
             **{name: "fresh5" for name in FRESH5}, **{name: "fresh6" for name in FRESH6},
             **{name: "fresh7" for name in FRESH7},
             **{name: "fresh8" for name in FRESH8},
             **{name: "fresh9" for name in FRESH9},
             **{name: "fresh10" for name in FRESH10},
             **{name: "fresh11" for name in FRESH11},
             **{name: "fresh12" for name in FRESH12},
             **{name: "fresh13" for name in FRESH13},
             **{name: "fresh14" for name in FRESH14})
