"""The small nets used by the demo, the CLI, tutorials and benchmarks."""
from __future__ import annotations

from ._mx import mx

nn = mx.gluon.nn
MODELS = ("lenet", "mlp", "resnet20")


def lenet(classes: int = 10) -> "nn.HybridSequential":
    """The classic Keras-MNIST CNN: conv32-3, relu, pool2, conv64-3, relu, pool2, dropout 0.1,
    flatten, dense128 (relu), dropout 0.1, dense ``classes``. Input: ``(N, 1, 28, 28)``."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(32, kernel_size=3, activation="relu"),
            nn.MaxPool2D(pool_size=2),
            nn.Conv2D(64, kernel_size=3, activation="relu"),
            nn.MaxPool2D(pool_size=2),
            nn.Dropout(0.1),
            nn.Flatten(),
            nn.Dense(128, activation="relu"),
            nn.Dropout(0.1),
            nn.Dense(classes))
    return net


def mlp(hidden: int = 128, classes: int = 10) -> "nn.HybridSequential":
    """Dense ``hidden`` (relu) then Dense ``classes``: the digits benchmark's 64-128-10 MLP."""
    net = nn.HybridSequential()
    net.add(nn.Flatten(), nn.Dense(hidden, activation="relu"), nn.Dense(classes))
    return net


def get_model(name: str, classes: int = 10):
    """``"lenet"``, ``"mlp"``, ``"resnet20"`` (gluoncv ``cifar_resnet20_v1``) or
    ``"gluoncv:<model_zoo_name>"``; gluoncv models are built without pretrained weights."""
    if name == "lenet":
        return lenet(classes)
    if name == "mlp":
        return mlp(classes=classes)
    if name == "resnet20" or name.startswith("gluoncv:"):
        zoo_name = "cifar_resnet20_v1" if name == "resnet20" else name.split(":", 1)[1]
        try:
            from gluoncv.model_zoo import get_model as gcv_get_model
        except ImportError as err:
            raise ImportError("model {!r} needs gluoncv: pip install gluon_lr[gluoncv]".format(
                name)) from err
        try:
            return gcv_get_model(zoo_name, pretrained=False, classes=classes)
        except ValueError as err:
            raise ValueError("unknown gluoncv model {!r}: {}".format(zoo_name, err)) from None
    raise ValueError("unknown model {!r}; choose one of {} or gluoncv:<name>".format(
        name, MODELS))
