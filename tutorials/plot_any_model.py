"""
Any model: two inputs, two outputs, your own batches
====================================================

``find_lr`` is not limited to ``net(data)`` scored by ``loss(output, label)``. This tutorial runs
the range test on a net with **two inputs** and on a net with **two outputs** (and two labels),
using the 8x8 digits that ship with scikit-learn, and shows ``batch_fn`` for batches in any other
layout (extra fields, token lists).
"""
import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import gluon

from gluon_lr import Learner
from gluon_lr.datasets import digits

mx.random.seed(0)
np.random.seed(0)
X, y = digits()  # (1797, 64) pixels in [0, 1], labels 0-9
top, bottom = X[:, :32], X[:, 32:]  # the upper and the lower half of each digit
ce = gluon.loss.SoftmaxCrossEntropyLoss()

###############################################################################
# A net with two inputs
# ---------------------
# Each half of the image goes through its own layer; the two are joined before the classifier.
# Give the data as ``((X1, X2), y)``: every batch is then ``((x1, x2), label)`` and the net is
# called as ``net(x1, x2)``.


class TwoHalves(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.top = gluon.nn.Dense(32, activation="relu")
        self.bottom = gluon.nn.Dense(32, activation="relu")
        self.classify = gluon.nn.Dense(10)

    def hybrid_forward(self, F, x_top, x_bottom):
        return self.classify(F.concat(self.top(x_top), self.bottom(x_bottom), dim=1))


two_inputs = TwoHalves()
two_inputs.hybridize()
learner = Learner(two_inputs, ((top, bottom), y), loss=ce, optimizer="sgd",
                  optimizer_params={"momentum": 0.9}, batch_size=64)
result_inputs = learner.find_lr(num_iter=100)
print("two inputs:", repr(result_inputs))

###############################################################################
# The same net fed by a DataLoader, with ``batch_fn``
# ---------------------------------------------------
# A ``DataLoader`` over ``ArrayDataset(top, bottom, y)`` yields ``[top, bottom, label]``
# batches: three fields, not a ``(data, label)`` pair. Without help gluon_lr refuses them with a
# ``TypeError`` that names ``batch_fn``; ``batch_fn(batch) -> (inputs, label)`` says what they
# mean. The same function handles extra fields the net does not use (drop them), or batches of
# token-id lists (pad them into NDArrays there).
loader = gluon.data.DataLoader(gluon.data.ArrayDataset(top, bottom, y), batch_size=64,
                               shuffle=True, last_batch="discard")
try:
    Learner(TwoHalves(), loader, loss=ce).find_lr(num_iter=10)
except TypeError as err:
    print("without batch_fn:", err)

learner_fn = Learner(TwoHalves(), loader, loss=ce, optimizer="sgd",
                     optimizer_params={"momentum": 0.9},
                     batch_fn=lambda batch: ((batch[0], batch[1]), batch[2]))
print("with batch_fn:", repr(learner_fn.find_lr(num_iter=100)))

###############################################################################
# A net with two outputs
# ----------------------
# One body, two heads: the digit (10 classes) and whether it is odd (2 classes). The net returns
# a tuple, which the loss receives as it is; the labels can be a tuple too, given as
# ``(X, (y1, y2))``. The loss must still return one value per sample.


class TwoHeads(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = gluon.nn.Dense(64, activation="relu")
        self.digit = gluon.nn.Dense(10)
        self.odd = gluon.nn.Dense(2)

    def hybrid_forward(self, F, x):
        h = self.body(x)
        return self.digit(h), self.odd(h)


def two_losses(outputs, labels):
    digit, odd = outputs
    y_digit, y_odd = labels
    return ce(digit, y_digit) + 0.5 * ce(odd, y_odd)


two_outputs = TwoHeads()
two_outputs.hybridize()
learner_out = Learner(two_outputs, (X, (y, y % 2)), loss=two_losses, optimizer="sgd",
                      optimizer_params={"momentum": 0.9}, batch_size=64)
result_outputs = learner_out.find_lr(num_iter=100)
print("two outputs:", repr(result_outputs))

###############################################################################
# The curves
# ----------
# Read them as any other range test: the suggestion sits on the steep part of the descent.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
result_inputs.plot(ax=axes[0], legend="best")
axes[0].set_title("two inputs")
result_outputs.plot(ax=axes[1], legend="best")
axes[1].set_title("two outputs")
fig.tight_layout()
plt.show()

###############################################################################
# What else works
# ---------------
# * Several contexts: with ``ctx=[mx.gpu(0), mx.gpu(1)]`` every input and every label is split
#   across them.
# * ``start_lr=None`` starts the sweep at the optimizer's current rate; ``num_iter=None`` makes
#   one pass over the data.
# * Parameters with ``grad_req="add"`` (gradients accumulated by hand) get their gradients
#   zeroed before each step of the test, and ``find_lr(accumulate=k)`` keeps your gradient
#   arrays, so a ``p.grad()`` you cached stays the live one.
# * A trainer prepared with ``mx.contrib.amp`` (``amp.init()``, ``amp.init_trainer``) is
#   stepped with AMP's loss scaling, and the loss scaler is restored afterwards.
