"""Helpers shared by the benchmarks: one training loop, one accuracy, one seeded LeNet."""
import mxnet as mx
import numpy as np
from mxnet import autograd, nd


def train_epochs(net, trainer, loss_fn, X, y, epochs, batch, seed, before_step=None):
    """Train ``epochs`` passes over NDArrays ``X``, ``y`` in a seeded order (drop the last
    partial batch); ``before_step(trainer)`` runs before every ``trainer.step``."""
    rs = np.random.RandomState(seed + 1000)
    n = X.shape[0]
    for _ in range(epochs):
        perm = nd.array(rs.permutation(n), dtype="int64")
        for k in range(n // batch):
            idx = perm[k * batch:(k + 1) * batch]
            with autograd.record():
                loss = loss_fn(net(nd.take(X, idx)), nd.take(y, idx))
            loss.backward()
            if before_step is not None:
                before_step(trainer)
            trainer.step(batch)


def accuracy(net, X, y):
    """Validation accuracy in percent (non-finite outputs count as wrong)."""
    out = np.nan_to_num(net(X).asnumpy(), nan=0.0)
    return float((out.argmax(1) == np.asarray(y)).mean() * 100)


def seeded_net(make, seed, sample):
    """``make()`` initialised with Xavier under ``seed``, hybridized, shapes materialised."""
    mx.random.seed(seed)
    np.random.seed(seed)
    net = make()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(sample)
    return net


def cancer_radius():
    """Regression data: log mean radius of a tumour from the seven shape-only "mean" features
    of scikit-learn's breast-cancer set (no size features); float64 ``X`` (569, 7), ``y`` (569,)."""
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    names = list(d.feature_names)
    cols = [names.index("mean " + f) for f in ("texture", "smoothness", "compactness",
                                               "concavity", "concave points", "symmetry",
                                               "fractal dimension")]
    return d.data[:, cols], np.log(d.data[:, names.index("mean radius")])


def deployed_grid_search(scores, pick_seeds, higher_is_better=True):
    """What a grid search really delivers: its pick, trained again with a seed it did not see.

    ``scores`` is a (configurations x seeds) array of one score per full training. For every
    way of choosing ``pick_seeds`` of the seeds, the configuration with the best mean over
    those seeds is picked and scored by its mean over the other seeds (configurations tied for
    the best count equally: the mean of their scores); the result is the mean over the
    choices. The best mean over *all* seeds (the benchmarks' "best of the grid") is
    chosen and scored on the same runs, so it carries the winner's curse of a maximum over
    noisy means; this is the number a user's own grid search would get.
    """
    import itertools
    s = np.asarray(scores, dtype=float)
    if s.ndim != 2 or not 1 <= pick_seeds < s.shape[1]:
        raise ValueError("need a (configurations x seeds) array with more than pick_seeds={} "
                         "seeds, got shape {}".format(pick_seeds, s.shape))
    sign = 1.0 if higher_is_better else -1.0
    values = []
    for picked in itertools.combinations(range(s.shape[1]), pick_seeds):
        rest = [j for j in range(s.shape[1]) if j not in picked]
        seen = sign * s[:, list(picked)].mean(axis=1)
        tied = np.flatnonzero(np.isclose(seen, seen.max(), rtol=0.0, atol=1e-9))
        values.append(s[np.ix_(tied, rest)].mean())
    return float(np.mean(values))


HOLDOUT = 0.2  # share of a training split held out to validate a probe on


def holdout_indices(n, share=HOLDOUT):
    """(fit, val): a fixed shuffle of range(n) (seed 12345), split (1 - share) / share."""
    order = np.random.RandomState(12345).permutation(n)
    cut = int(round(n * (1 - share)))
    return order[:cut], order[cut:]


def holdout_split(X, y):
    """(X_fit, y_fit, X_val, y_val): NDArrays ``X``, ``y`` split by :func:`holdout_indices`."""
    fit, val = (nd.array(i, dtype="int64") for i in holdout_indices(X.shape[0]))
    return nd.take(X, fit), nd.take(y, fit), nd.take(X, val), nd.take(y, val)
