"""The ``gluon-lr`` command line: a thin layer over the library."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import List, Optional

EXIT_USAGE = 2


class CLIError(Exception):
    """A user error: reported on one line, exit status 2."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got {!r}".format(text))
    if value < 1:
        raise argparse.ArgumentTypeError("expected a number >= 1, got {}".format(value))
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, got {!r}".format(text))
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("expected a finite number > 0, got {!r}".format(text))
    return value


def _key_value(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError("expected key=value, got {!r}".format(text))
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def _contexts(text: str):
    from ._mx import mx
    ctxs = []
    for part in text.split(","):
        part = part.strip()
        if part == "cpu":
            ctxs.append(mx.cpu())
        elif part.startswith(("cpu:", "gpu:")):
            kind, _, idx = part.partition(":")
            try:
                ctxs.append(mx.Context(kind, int(idx)))
            except ValueError:
                raise CLIError("bad --ctx entry {!r}: expected cpu, cpu:N or gpu:N".format(part))
        elif part == "gpu":
            ctxs.append(mx.gpu(0))
        else:
            raise CLIError("bad --ctx entry {!r}: expected cpu, cpu:N or gpu:N".format(part))
    return ctxs if len(ctxs) > 1 else ctxs[0]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gluon-lr", description="Learning-rate range test for MXNet Gluon.")
    sub = parser.add_subparsers(dest="command")

    find = sub.add_parser("find", help="run a range test and report the suggested lr")
    find.add_argument("--data", default="mnist5k",
                      help="mnist5k (default), digits, or a .npz file with x and y arrays")
    find.add_argument("--model", default=None,
                      help="lenet, mlp, resnet20 or gluoncv:<name> (default: lenet for images, "
                           "mlp for flat data)")
    find.add_argument("--optimizer", default="sgd")
    find.add_argument("--optimizer-param", action="append", default=[], type=_key_value,
                      metavar="KEY=VALUE", help="optimizer argument, repeatable "
                      "(default for sgd: momentum=0.9)")
    find.add_argument("--batch-size", type=_positive_int, default=64)
    find.add_argument("--start-lr", type=_positive_float, default=1e-7)
    find.add_argument("--end-lr", type=_positive_float, default=10.0)
    find.add_argument("--num-iter", type=_positive_int, default=100)
    find.add_argument("--step-mode", choices=("exp", "linear"), default="exp")
    find.add_argument("--suggest", default="auto")
    find.add_argument("--seed", type=int, default=0)
    find.add_argument("--ctx", default="cpu", help="cpu, gpu:0 or a list such as gpu:0,gpu:1")
    find.add_argument("--out", default="lr_find", help="folder for lr_find.png/.csv/.json")
    find.add_argument("--quiet", action="store_true", help="no progress bar, no report")
    find.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    return parser


def _load_data(spec: str):
    import numpy as np
    from . import datasets
    if spec in datasets.DATASETS:
        return datasets.load(spec)
    if spec.endswith(".npz"):
        if not os.path.isfile(spec):
            raise CLIError("data file not found: {}".format(spec))
        with np.load(spec) as f:
            if "x" not in f or "y" not in f:
                raise CLIError("{} must hold arrays named x and y".format(spec))
            return f["x"].astype(np.float32), f["y"].astype(np.float32)
    raise CLIError("unknown --data {!r}: use mnist5k, digits or a .npz file".format(spec))


def _cmd_find(args) -> int:
    import numpy as np
    from ._mx import mx
    from .learner import Learner
    from .models import get_model
    from .suggest import check_rule_name

    try:
        check_rule_name(args.suggest)
    except ValueError as err:
        raise CLIError(str(err))
    ctx = _contexts(args.ctx)
    X, y = _load_data(args.data)
    model = args.model or ("lenet" if X.ndim == 4 else "mlp")
    try:
        net = get_model(model, classes=int(np.max(y)) + 1)
    except (ValueError, ImportError) as err:
        raise CLIError(str(err))
    params = dict(args.optimizer_param)
    if args.optimizer == "sgd" and "momentum" not in params:
        params["momentum"] = 0.9
    mx.random.seed(args.seed)
    np.random.seed(args.seed)
    net.hybridize()
    try:
        learner = Learner(net, (X, y), optimizer=args.optimizer, optimizer_params=params,
                          ctx=ctx, batch_size=args.batch_size)
        result = learner.find_lr(start_lr=args.start_lr, end_lr=args.end_lr,
                                 num_iter=args.num_iter, step_mode=args.step_mode,
                                 suggest=args.suggest,
                                 progress=False if (args.quiet or args.json) else None)
    except (ValueError, TypeError) as err:
        raise CLIError(str(err))
    os.makedirs(args.out, exist_ok=True)
    paths = {ext: os.path.join(args.out, "lr_find." + ext) for ext in ("png", "csv", "json")}
    result.to_json(paths["json"])
    result.to_csv(paths["csv"])
    import matplotlib
    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = result.plot(suggest=list(result.suggestions()), path=paths["png"])
    plt.close(ax.figure)
    if args.json:
        out = result.to_dict()
        out.update(suggestions=result.suggestions(), diagnosis=result.diagnosis,
                   suggested_range=result.suggested_range, files=paths)
        print(json.dumps(out))
        return 0
    if not args.quiet:
        lr = "{:.3g}".format(result.lr) if result.lr is not None else "none"
        print("suggested learning rate ({}): {}".format(args.suggest, lr))
        for name, value in result.suggestions().items():
            print("  {:<9} {}".format(name, "{:.3g}".format(value) if value else "none"))
        rng = result.suggested_range
        if rng:
            print("  range     {:.3g} .. {:.3g}".format(*rng))
        print("iterations: {}, stopped by: {}".format(len(result.lrs), result.stop_reason))
        if result.diagnosis:
            print("note: " + result.diagnosis)
        print("plot: {}".format(os.path.abspath(paths["png"])))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``gluon-lr`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed one line of usage error
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return {"find": _cmd_find}[args.command](args)
    except CLIError as err:
        print("gluon-lr: error: {}".format(err), file=sys.stderr)
        return EXIT_USAGE
