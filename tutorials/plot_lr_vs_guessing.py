"""
Choosing a learning rate vs guessing
====================================

The experiment that convinces: train the same LeNet, from the same initial weights and on the
same batches, at three hand-picked learning rates (1e-5, 1e-4 and 1e-1) and at the one
``find_lr`` suggests, and compare validation accuracy after every epoch.
"""
import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

from gluon_lr import Learner
from gluon_lr.datasets import mnist5k, train_val_split
from gluon_lr.models import lenet

EPOCHS = 4
BATCH = 64
np.random.seed(0)  # the range test's batch order

X, y = mnist5k()
X_train, X_val, y_train, y_val = train_val_split(X, y)
Xtr, ytr, Xva = nd.array(X_train), nd.array(y_train), nd.array(X_val)


def fresh_net():
    """The same initial weights for every run."""
    mx.random.seed(42)
    net = lenet()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(Xtr[:1])
    return net


###############################################################################
# The suggestion
# --------------
result = Learner(fresh_net(), (Xtr, ytr), optimizer="sgd",
                 optimizer_params={"momentum": 0.9}, batch_size=BATCH).find_lr(
    num_iter=100)
print("suggested:", repr(result))
if result.lr is None:  # a curve that cannot support a suggestion says why
    raise SystemExit("no suggestion: {}".format(result.diagnosis))

###############################################################################
# Train at each learning rate
# ---------------------------
def train(lr):
    net = fresh_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr, "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    rs = np.random.RandomState(0)  # the same batches for every learning rate
    accs = []
    for _ in range(EPOCHS):
        perm = rs.permutation(len(X_train))
        for k in range(len(X_train) // BATCH):
            idx = nd.array(perm[k * BATCH:(k + 1) * BATCH], dtype="int64")
            with autograd.record():
                loss = loss_fn(net(nd.take(Xtr, idx)), nd.take(ytr, idx))
            loss.backward()
            trainer.step(BATCH)
        out = np.nan_to_num(net(Xva).asnumpy())
        accs.append((out.argmax(axis=1) == y_val).mean())
    return accs


runs = {"lr = {:g}".format(lr): train(lr) for lr in (1e-5, 1e-4, 1e-1)}
runs["suggested: {:.3g}".format(result.lr)] = train(result.lr)

###############################################################################
# Validation accuracy per epoch
# -----------------------------
fig, ax = plt.subplots(figsize=(7, 4))
for label, accs in runs.items():
    ax.plot(range(1, EPOCHS + 1), accs, marker="o", lw=3 if label.startswith("sugg") else 1.5,
            label=label)
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy")
ax.set_ylim(0, 1)
ax.grid(True, alpha=0.3)
ax.legend()
plt.show()
for label, accs in runs.items():
    print("{:<20} final accuracy {:.1%}".format(label, accs[-1]))
