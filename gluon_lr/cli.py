"""The ``gluon-lr`` command line: a thin layer over the library.

``build_parser()`` builds the argument parser and ``main(argv=None) -> int`` runs a command and
returns the exit status (0, or 2 for a user error reported on one line of stderr).
"""
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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) raised as :class:`CLIError`."""

    def error(self, message):
        raise CLIError(message)


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
    if "=" not in text or not text.split("=", 1)[0].strip():
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
        kind, _, idx = part.partition(":")
        if kind not in ("cpu", "gpu") or (idx and not idx.isdigit()):
            raise CLIError("bad --ctx entry {!r}: expected cpu, cpu:N, gpu or gpu:N".format(part))
        ctxs.append(mx.Context(kind, int(idx or 0)))
    return ctxs if len(ctxs) > 1 else ctxs[0]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``gluon-lr`` and its sub-commands ``find``, ``schedule`` and ``plot``."""
    from .schedules import SCHEDULES
    from .suggest import RULES
    parser = _Parser(prog="gluon-lr", description="Learning-rate range test and schedule "
                     "presets for MXNet Gluon.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    find = sub.add_parser("find", help="run a range test and report the suggested lr",
                          description="Run a learning-rate range test. With no arguments: the "
                          "MNIST subset and LeNet, SGD momentum 0.9, batch 64.")
    find.add_argument("--data", default="mnist5k",
                      help="mnist5k (default), digits, a .npz file with arrays x and y, or a "
                           "RecordIO .rec image file")
    find.add_argument("--model", default=None,
                      help="lenet, mlp, resnet20 (gluoncv cifar_resnet20_v1) or "
                           "gluoncv:<model_zoo_name> (default: lenet for images, mlp for rows)")
    find.add_argument("--optimizer", default="sgd")
    find.add_argument("--optimizer-param", action="append", default=[], type=_key_value,
                      metavar="KEY=VALUE", help="optimizer argument, repeatable "
                      "(sgd defaults to momentum=0.9)")
    find.add_argument("--batch-size", type=_positive_int, default=64)
    find.add_argument("--start-lr", type=_positive_float, default=1e-7)
    find.add_argument("--end-lr", type=_positive_float, default=10.0)
    find.add_argument("--num-iter", type=_positive_int, default=100)
    find.add_argument("--step-mode", choices=("exp", "linear"), default="exp")
    find.add_argument("--suggest", choices=sorted(RULES), default="auto")
    find.add_argument("--seed", type=int, default=0)
    find.add_argument("--ctx", default="cpu", help="cpu, gpu:0 or a list such as gpu:0,gpu:1")
    find.add_argument("--schedule", choices=sorted(SCHEDULES), default=None,
                      help="also write this preset, built from the result, and its plot")
    find.add_argument("--epochs", type=_positive_int, default=None,
                      help="training length the --schedule is for")
    find.add_argument("--compare-schedules", action="store_true",
                      help="also pick the best schedule preset by successive halving on a "
                           "held-out 20%% of the data; prints a table, saves compare.png/.json")
    find.add_argument("--out", default="lr_find",
                      help="folder for lr_find.png, .csv and .json (default: ./lr_find/)")
    find.add_argument("--quiet", action="store_true", help="no progress bar and no report")
    find.add_argument("--json", action="store_true", help="machine-readable output on stdout")

    sched = sub.add_parser("schedule", help="plot a schedule preset",
                           description="Plot a schedule preset for --total-steps steps.")
    sched.add_argument("name", choices=sorted(SCHEDULES))
    sched.add_argument("--total-steps", type=_positive_int, required=True)
    for flag in ("--lr", "--max-lr", "--min-lr", "--start-lr", "--gamma", "--pct-start",
                 "--div-factor", "--final-div-factor", "--inc-fraction", "--cycle-mul",
                 "--cycle-decay"):
        sched.add_argument(flag, type=float, default=None)
    for flag in ("--cycle-length", "--warmup-steps"):
        sched.add_argument(flag, type=_positive_int, default=None)
    sched.add_argument("--anneal", choices=("cos", "linear"), default=None)
    sched.add_argument("--three-phase", action="store_true", default=None)
    sched.add_argument("--out", default="schedule.png")

    plot = sub.add_parser("plot", help="re-draw a saved result",
                          description="Re-draw a result saved as lr_find.json.")
    plot.add_argument("path")
    plot.add_argument("--out", default=None, help="image path (default: next to the JSON)")
    plot.add_argument("--suggest", default="all",
                      help="'all' or comma-separated rule names to mark")
    launch = sub.add_parser("launch", help="run a script as local distributed workers",
                            description="Run COMMAND as N workers of a local MXNet "
                            "parameter-server job (1 scheduler, S servers), e.g. "
                            "gluon-lr launch -n 2 -s 1 -- python train.py")
    launch.add_argument("-n", "--num-workers", type=_positive_int, default=2)
    launch.add_argument("-s", "--num-servers", type=_positive_int, default=1)
    launch.add_argument("--port", type=_positive_int, default=None)
    launch.add_argument("--timeout", type=_positive_float, default=None, help="seconds")
    launch.add_argument("program", nargs=argparse.REMAINDER, metavar="-- COMMAND ...")
    return parser


# ---- find -------------------------------------------------------------------------------------
def _load_data(spec: str):
    import numpy as np
    from . import datasets
    if spec in datasets.DATASETS:
        return datasets.load(spec)
    if not os.path.isfile(spec):
        raise CLIError("data file not found: {}".format(spec))
    if spec.endswith(".npz"):
        with np.load(spec) as f:
            if "x" not in f or "y" not in f:
                raise CLIError("{} must hold arrays named x and y".format(spec))
            return f["x"].astype(np.float32), f["y"].astype(np.float32)
    if spec.endswith(".rec"):
        from ._mx import mx
        try:
            ds = mx.gluon.data.vision.ImageRecordDataset(spec)
            images, labels = zip(*[ds[i] for i in range(len(ds))])
        except Exception as err:
            raise CLIError("cannot read {} as a RecordIO image file: {}".format(spec, err))
        if len({im.shape for im in images}) != 1:
            raise CLIError("{}: images have different sizes; resize them first".format(spec))
        X = np.stack([im.asnumpy() for im in images]).transpose(0, 3, 1, 2) / 255.0
        y = np.array([float(np.asarray(lab).ravel()[0]) for lab in labels], dtype=np.float32)
        return X.astype(np.float32), y
    raise CLIError("unknown --data {!r}: use mnist5k, digits, a .npz or a .rec file".format(spec))


def _write_outputs(result, out: str):
    os.makedirs(out, exist_ok=True)
    paths = {ext: os.path.join(out, "lr_find." + ext) for ext in ("png", "csv", "json")}
    result.to_json(paths["json"])
    result.to_csv(paths["csv"])
    _save_plot(lambda ax: result.plot(ax=ax, suggest=list(result.suggestions())), paths["png"])
    return paths


def _save_plot(draw, path: str) -> None:
    import matplotlib
    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw(ax)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _cmd_find(args) -> int:
    import numpy as np
    from ._mx import mx
    from .learner import Learner
    from .models import get_model

    if args.epochs is not None and args.schedule is None:
        raise CLIError("--epochs goes with --schedule NAME")
    if args.schedule is not None and args.epochs is None:
        raise CLIError("--schedule needs --epochs N (the training length it is for)")
    ctx = _contexts(args.ctx)
    X, y = _load_data(args.data)
    val = None
    if args.compare_schedules:
        from .datasets import train_val_split
        try:
            X, Xv, y, yv = train_val_split(X, y)
        except ValueError:  # classes too small to stratify
            from sklearn.model_selection import train_test_split
            X, Xv, y, yv = train_test_split(X, y, test_size=0.2, random_state=0)
        val = (Xv, yv)
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
    paths = _write_outputs(result, args.out)
    schedule = None
    if args.schedule:
        total = args.epochs * learner.steps_per_epoch
        try:
            schedule = result.schedule(args.schedule, total_steps=total)
        except ValueError as err:
            raise CLIError(str(err))
        from .schedules import plot_schedule
        paths["schedule"] = os.path.join(args.out, "schedule.json")
        paths["schedule_png"] = os.path.join(args.out, "schedule.png")
        with open(paths["schedule"], "w", encoding="utf-8") as f:
            json.dump({"name": args.schedule, "total_steps": total, "repr": repr(schedule),
                       "values": schedule.values(total)}, f)
        _save_plot(lambda ax: plot_schedule(schedule, total, ax=ax, label=args.schedule),
                   paths["schedule_png"])
    comparison = None
    if val is not None:
        total = args.epochs * learner.steps_per_epoch if args.epochs else None
        try:
            comparison = learner.compare_schedules(result, val_data=val, seed=args.seed,
                                                   total_steps=total)
        except ValueError as err:
            raise CLIError(str(err))
        paths["compare"] = os.path.join(args.out, "compare.json")
        paths["compare_png"] = os.path.join(args.out, "compare.png")
        comparison.to_json(paths["compare"])
        _save_plot(lambda ax: comparison.plot(ax=ax), paths["compare_png"])
    if args.json:
        out = result.to_dict()
        out.update(suggestions=result.suggestions(), diagnosis=result.diagnosis,
                   suggested_range=result.suggested_range, files=paths,
                   schedule=repr(schedule) if schedule else None,
                   comparison=comparison.to_dict() if comparison else None)
        print(json.dumps(out))
        return 0
    if not args.quiet:
        _report(result, paths, schedule)
        if comparison is not None:
            _report_comparison(comparison, paths)
    return 0


def _report_comparison(comparison, paths) -> None:
    print("schedule comparison ({} steps, {:.1f} s): best {}".format(
        comparison.steps, comparison.seconds, comparison.best_name))
    print("  {:<14} {:>6} {:>9} {:>8}".format("schedule", "steps", "val loss", "val acc"))
    for row in comparison.table():
        acc = "{:.2f}%".format(row["val_accuracy"]) if row["val_accuracy"] is not None else "-"
        print("  {:<14} {:>6} {:>9.4f} {:>8}".format(row["name"], row["steps"], row["val_loss"],
                                                     acc))
    print("comparison plot: {}".format(os.path.abspath(paths["compare_png"])))


def _fmt(lr) -> str:
    return "{:.3g}".format(lr) if lr is not None else "none"


def _report(result, paths, schedule) -> None:
    print("suggested learning rate ({}): {}".format(result.rule, _fmt(result.lr)))
    for name, value in result.suggestions().items():
        print("  {:<9} {}".format(name, _fmt(value)))
    rng = result.suggested_range
    if rng:
        print("  range     {} .. {}".format(_fmt(rng[0]), _fmt(rng[1])))
    print("iterations: {}, stopped by: {}".format(len(result.lrs), result.stop_reason))
    if result.diagnosis:
        print("note: " + result.diagnosis)
    if schedule is not None:
        print("schedule: {}".format(schedule))
        print("schedule plot: {}".format(os.path.abspath(paths["schedule_png"])))
    print("plot: {}".format(os.path.abspath(paths["png"])))


# ---- schedule and plot ------------------------------------------------------------------------
_SCHEDULE_ARGS = ("lr", "max_lr", "min_lr", "start_lr", "gamma", "pct_start", "div_factor",
                  "final_div_factor", "inc_fraction", "cycle_mul", "cycle_decay",
                  "cycle_length", "warmup_steps", "anneal", "three_phase")


def _cmd_schedule(args) -> int:
    import inspect
    from .schedules import SCHEDULES, get_schedule, plot_schedule
    factory = SCHEDULES[args.name]
    accepted = set(inspect.signature(factory).parameters)
    kwargs = {k: getattr(args, k) for k in _SCHEDULE_ARGS if getattr(args, k) is not None}
    extra = sorted(set(kwargs) - accepted)
    if extra:
        raise CLIError("{} does not take --{}".format(args.name, extra[0].replace("_", "-")))
    if "total_steps" in accepted:
        kwargs["total_steps"] = args.total_steps
    elif "cycle_length" in accepted and "cycle_length" not in kwargs:
        kwargs["cycle_length"] = args.total_steps
    try:
        schedule = get_schedule(args.name, **kwargs)
    except (ValueError, TypeError) as err:
        raise CLIError(str(err))
    _save_plot(lambda ax: plot_schedule(schedule, args.total_steps, ax=ax, label=args.name),
               args.out)
    print("{}\nplot: {}".format(schedule, os.path.abspath(args.out)))
    return 0


def _cmd_plot(args) -> int:
    from .result import LRFinderResult
    from .suggest import RULES
    if not os.path.isfile(args.path):
        raise CLIError("file not found: {}".format(args.path))
    try:
        result = LRFinderResult.from_json(args.path)
    except (ValueError, KeyError, TypeError) as err:
        raise CLIError("{} is not a saved range test: {}".format(args.path, err))
    rules = list(RULES) if args.suggest == "all" else args.suggest.split(",")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise CLIError("unknown rule {!r}; choose from {}".format(unknown[0], sorted(RULES)))
    out = args.out or os.path.splitext(args.path)[0] + ".png"
    _save_plot(lambda ax: result.plot(ax=ax, suggest=rules), out)
    print("suggested learning rate ({}): {}\nplot: {}".format(result.rule, _fmt(result.lr),
                                                             os.path.abspath(out)))
    return 0


def _cmd_launch(args) -> int:
    import subprocess
    from .launch import launch
    command = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not command:
        raise CLIError("give the command to run after --, e.g. -- python train.py")
    try:
        return launch(command, num_workers=args.num_workers, num_servers=args.num_servers,
                      port=args.port, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise CLIError("the workers did not finish within {} s".format(args.timeout))
    except OSError as err:
        raise CLIError("cannot start {!r}: {}".format(command[0], err))


COMMANDS = {"find": _cmd_find, "schedule": _cmd_schedule, "plot": _cmd_plot,
            "launch": _cmd_launch}


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``gluon-lr`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
        return COMMANDS[args.command](args)
    except CLIError as err:
        print("gluon-lr: error: {}".format(err), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # the net and trainer were already restored by the finder
        print("gluon-lr: interrupted", file=sys.stderr)
        return 130
