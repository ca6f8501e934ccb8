"""
From ``find_lr`` to a schedule
==============================

Turn the range test into a training schedule: one-cycle, triangular (cyclical) and warm-up +
cosine, all configured from the result; plot them; train with one; and compare with a gluoncv
model-zoo net (``cifar_resnet20_v1``) and gluoncv's own ``LRSequential``.
"""
import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon, nd

from gluon_lr import Learner
from gluon_lr.datasets import mnist5k, train_val_split
from gluon_lr.models import get_model, lenet
from gluon_lr.schedules import cycle_momentum, plot_schedule

EPOCHS = 3
BATCH = 64
mx.random.seed(0)
np.random.seed(0)

X, y = mnist5k()
X_train, X_val, y_train, y_val = train_val_split(X, y)
Xtr, ytr = nd.array(X_train), nd.array(y_train)
steps_per_epoch = len(X_train) // BATCH
total = EPOCHS * steps_per_epoch

###############################################################################
# The range test, then three presets
# ----------------------------------
# Each preset gets its own peak from the range test (decaying shapes want a higher one than the
# best constant rate); ``"auto"`` picks a shape and its peak, and says why in ``.reason``.
# ``triangular`` cycles between a quarter of its peak and the peak; ``warmup_cosine`` warms up
# over 5 % of the steps and then follows one cosine down to zero.
net = lenet()
net.hybridize()
learner = Learner(net, (Xtr, ytr), optimizer="sgd", optimizer_params={"momentum": 0.9},
                  batch_size=BATCH)
result = learner.find_lr(num_iter=100)
print(repr(result), "range:", result.suggested_range)
presets = {name: result.schedule(name, total_steps=total, steps_per_epoch=steps_per_epoch)
           for name in ("auto", "one_cycle", "triangular", "warmup_cosine")}
print(presets["auto"].reason)
fig, ax = plt.subplots(figsize=(7, 4))
for name, sched in presets.items():
    plot_schedule(sched, total, ax=ax, label=name)
plt.show()

###############################################################################
# Train with one-cycle
# --------------------
# Every preset is an ``mx.lr_scheduler.LRScheduler``: pass it as ``lr_scheduler``. Presets ignore
# the optimizer's ``learning_rate`` (Adam's default of 0.001 would otherwise override them).
# One-cycle also cycles momentum; MXNet schedulers return only a learning rate, so
# ``cycle_momentum(trainer)`` makes every ``trainer.step`` set it first.
one_cycle = presets["one_cycle"]
trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": one_cycle, "momentum": 0.9})
cycle_momentum(trainer)
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
for epoch in range(EPOCHS):
    perm = np.random.permutation(len(X_train))
    for k in range(steps_per_epoch):
        idx = nd.array(perm[k * BATCH:(k + 1) * BATCH], dtype="int64")
        with autograd.record():
            loss = loss_fn(net(nd.take(Xtr, idx)), nd.take(ytr, idx))
        loss.backward()
        trainer.step(BATCH)
    acc = (net(nd.array(X_val)).argmax(axis=1).asnumpy() == y_val).mean()
    print("epoch {}: lr {:.4f}, validation accuracy {:.1%}".format(
        epoch + 1, trainer.learning_rate, acc))

###############################################################################
# A gluoncv model-zoo net, and gluoncv's ``LRSequential`` side by side
# --------------------------------------------------------------------
# ``cifar_resnet20_v1`` is built without pretrained weights (nothing is downloaded). Its range
# test is slower (about 0.1-0.2 s per step on two CPU cores), so we run a short one.
resnet = get_model("resnet20", classes=10)
resnet.hybridize()
res_result = Learner(resnet, (Xtr, ytr), optimizer="sgd",
                     optimizer_params={"momentum": 0.9, "wd": 1e-4}, batch_size=BATCH).find_lr(
    start_lr=1e-4, end_lr=10, num_iter=40)
print("resnet20:", repr(res_result), res_result.diagnosis or "")
peak = res_result.lr or 0.1

from gluoncv.utils import LRScheduler, LRSequential  # noqa: E402

warmup_epochs = 1 if EPOCHS > 1 else 0.5
gcv = LRSequential([
    LRScheduler("linear", base_lr=0.0, target_lr=peak, nepochs=warmup_epochs,
                iters_per_epoch=steps_per_epoch),
    LRScheduler("cosine", base_lr=peak, target_lr=0.0, nepochs=EPOCHS - warmup_epochs,
                iters_per_epoch=steps_per_epoch),
])
gcv_values = []
for t in range(1, total + 1):
    gcv_values.append(gcv(t))  # gluoncv's schedulers are stateful: call them in order
ours = res_result.schedule("warmup_cosine", total_steps=total,
                           warmup_steps=int(warmup_epochs * steps_per_epoch)) \
    if res_result.lr else None
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(range(1, total + 1), gcv_values, lw=3, alpha=0.5, label="gluoncv LRSequential")
if ours is not None:
    plot_schedule(ours, total, ax=ax, label="gluon_lr warmup_cosine")
ax.set_title("warm-up + cosine for resnet20 at peak lr {:.3g}".format(peak))
ax.set_xlabel("step (num_update)")
ax.set_ylabel("learning rate")
ax.legend()
plt.show()
