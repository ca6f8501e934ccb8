"""`gluon-lr find --loss`: regression and 0/1 targets, and labels that are not classes."""
import json

import numpy as np
import pytest

from gluon_lr.cli import build_parser, main
from gluon_lr.losses import LOSSES, loss_for_labels

FAST = ["--num-iter", "12", "--start-lr", "1e-4", "--end-lr", "1", "--batch-size", "16"]


def _npz(tmp_path, y, name="d.npz", n=80):
    X = np.random.RandomState(0).rand(n, 5).astype("float32")
    path = tmp_path / name
    np.savez(path, x=X, y=y(X))
    return str(path)


def test_continuous_labels_without_loss_are_one_line_naming_loss(tmp_path, capsys):
    path = _npz(tmp_path, lambda X: X @ np.arange(1.0, 6.0) + 0.5)
    assert main(["find", "--data", path, "--out", str(tmp_path / "o")] + FAST) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--loss l2" in err and "not class indices" in err
    assert not (tmp_path / "o").exists()


def test_integer_regression_targets_are_not_taken_for_347_classes(tmp_path, capsys):
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True)
    path = tmp_path / "diabetes.npz"
    np.savez(path, x=X.astype("float32"), y=y.astype("float32"))  # 25.0 .. 346.0
    assert main(["find", "--data", str(path), "--out", str(tmp_path / "o")] + FAST) == 2
    err = capsys.readouterr().err
    assert "look like regression targets" in err and "--loss l2" in err
    assert "347-class" in err


@pytest.mark.parametrize("loss", ["l2", "l1", "huber"])
def test_regression_with_loss(tmp_path, capsys, loss):
    path = _npz(tmp_path, lambda X: X @ np.arange(1.0, 6.0))
    code = main(["find", "--data", path, "--loss", loss, "--out", str(tmp_path / "o"),
                 "--json"] + FAST)
    doc = json.loads(capsys.readouterr().out)
    assert code in (0, 3) and len(doc["lrs"]) >= 5 and np.isfinite(doc["losses"][:5]).all()
    assert doc["meta"]["loss"] == "{} (regression)".format(loss)


def test_regression_report_names_the_loss(tmp_path, capsys):
    path = _npz(tmp_path, lambda X: np.stack([X.sum(1), X[:, 0]], axis=1))  # two targets
    main(["find", "--data", path, "--loss", "l2", "--out", str(tmp_path / "o")] + FAST)
    out = capsys.readouterr().out
    assert "loss l2 (regression)" in out


def test_sigmoid_bce_on_0_1_targets_and_refused_otherwise(tmp_path, capsys):
    path = _npz(tmp_path, lambda X: (X[:, 0] > 0.5).astype("float32"))
    code = main(["find", "--data", path, "--loss", "sigmoid_bce", "--out",
                 str(tmp_path / "o")] + FAST)
    assert code in (0, 3)
    capsys.readouterr()
    bad = _npz(tmp_path, lambda X: X[:, 0] * 3, name="bad.npz")
    assert main(["find", "--data", bad, "--loss", "sigmoid_bce", "--out",
                 str(tmp_path / "p")] + FAST) == 2
    assert "--loss sigmoid_bce needs 0/1 labels" in capsys.readouterr().err


def test_unknown_loss_and_help():
    find = build_parser()._subparsers._group_actions[0].choices["find"]
    action = next(a for a in find._actions if "--loss" in a.option_strings)
    assert action.help and set(action.choices) == set(LOSSES)
    assert main(["find", "--loss", "mse"]) == 2  # argparse's one line, before any data


def test_gluoncv_model_gets_the_outputs_the_loss_needs(tmp_path, monkeypatch):
    import gluon_lr.models
    built = {}
    real = gluon_lr.models.get_model

    def spy(name, classes=10):
        built[name] = classes
        return real("mlp", classes=classes)  # stands in for the zoo model: fast

    monkeypatch.setattr(gluon_lr.models, "get_model", spy)
    path = _npz(tmp_path, lambda X: np.stack([X.sum(1), X[:, 0]], axis=1))
    assert main(["find", "--data", path, "--loss", "huber", "--model",
                 "gluoncv:cifar_resnet20_v1", "--quiet", "--out", str(tmp_path / "o")]
                + FAST) in (0, 3)
    assert built == {"gluoncv:cifar_resnet20_v1": 2}
    net = real("gluoncv:cifar_resnet20_v1", classes=1)  # and the zoo builds it so
    assert "CIFARResNet" in type(net).__name__
