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
