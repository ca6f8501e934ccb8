"""The ``gluon-lr`` command line: a thin layer over the library.

``build_parser()`` builds the argument parser and ``main(argv=None) -> int`` runs a command and
returns the exit status: 0, 2 for a user error reported on one line of stderr, 3 when ``find``
ran but the curve supports no suggestion, 130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import List, Optional

from .launch import DEFAULT_GRACE, DEFAULT_TIMEOUT, EXIT_TIMEOUT

EXIT_USAGE = 2
EXIT_NO_SUGGESTION = 3


class CLIError(Exception):
    """A user error: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) raised as :class:`CLIError`."""

    def error(self, message):
        raise CLIError(message)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number, got {!r}".format(text))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, got {!r}".format(text))


def _positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError("expected a number >= 1, got {}".format(value))
    return value


def _positive_float(text: str) -> float:
    value = _number(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("expected a finite number > 0, got {!r}".format(text))
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("expected a finite number >= 0, got {!r}".format(text))
    return value


def _seed(text: str) -> int:
    value = _whole(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError("expected a seed in [0, 2**32), got {}".format(value))
    return value


# Schedules are sampled at every step (plot, JSON): beyond this many steps that is a typo.
MAX_STEPS = 10_000_000


def _check_steps(total: int, what: str) -> None:
    if total > MAX_STEPS:
        raise CLIError("{} is {:,} steps; at most {:,} are supported (the schedule is sampled "
                       "at every step)".format(what, total, MAX_STEPS))


def _probe_steps(args, steps_per_epoch: int, n_train: int) -> int:
    """--check-rate / --compare-schedules: the training they are for (--epochs, default
    compare.DEFAULT_EPOCHS), in steps, checked before anything trains or is written: at most
    MAX_STEPS, and leaving their probes enough steps."""
    from .compare import DEFAULT_BUDGET, DEFAULT_EPOCHS, PROBE_WINDOW
    flags = " / ".join(f for f, on in (("--check-rate", args.check_rate),
                                       ("--compare-schedules", args.compare_schedules)) if on)
    epochs = args.epochs or DEFAULT_EPOCHS
    total = epochs * steps_per_epoch
    _check_steps(total, "{} x {} steps per epoch for {}".format(epochs, steps_per_epoch, flags))
    extra = int(DEFAULT_BUDGET * total)
    if extra < PROBE_WINDOW + 1:
        raise CLIError("{}: {} epochs of {} steps ({} samples after the 20% hold-out, batch "
                       "size {}) leave {} steps for the probe; it needs at least {}: raise "
                       "--epochs".format(flags, epochs, steps_per_epoch, n_train,
                                         args.batch_size, extra, PROBE_WINDOW + 1))
    return total


def _check_folder_of(path: str, flag: str) -> None:
    """Fail before any work when ``path`` cannot be written: its folder is missing."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError("cannot write {} ({}): folder {} does not exist".format(path, flag,
                                                                             folder))


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


# The parser is built without importing MXNet (``--help`` stays fast), so the names of the
# rules and presets are listed here; a test checks them against gluon_lr.suggest.RULES and
# gluon_lr.schedules.SCHEDULES.
RULE_NAMES = ("auto", "minimum", "slide", "steepest", "valley")
SCHEDULE_NAMES = ("constant", "cosine", "exp_range", "linear", "one_cycle", "triangular",
                  "triangular2", "warmup_cosine", "wsd")

_FIND_EPILOG = """\
output:
  The report gives the suggestion of the --suggest rule, the suggested range, what the number
  is for (optimizer, its settings, batch size, model, data), how the run ended, a diagnosis
  when the curve is doubtful, and every file written. With --json the same is one JSON object
  on stdout.

files:
  lr_find.png, lr_find.csv and lr_find.json go into --out. If --out already holds a range
  test, the next free folder (lr_find-2, lr_find-3, ...) is used instead and the report says
  so; --overwrite replaces the earlier files.

exit status:
  0  a learning rate was suggested
  2  a usage or data error (one line on stderr)
  3  the run completed but the curve supports no suggestion (see the note: line); the files
     are written all the same
  130  interrupted (Ctrl-C); the net and trainer were restored
"""

_SCHEDULE_EPILOG = """\
presets and their arguments (defaults in brackets; unset options keep them):
  constant       --lr
  cosine         --max-lr --min-lr [0] --cycle-length [--total-steps] --cycle-mul [1]
                 --cycle-decay [1]
  warmup_cosine  --max-lr --warmup-steps [5%% of --total-steps] --min-lr [0] --start-lr [0]
  one_cycle      --max-lr --pct-start [0.3] --div-factor [25] --final-div-factor [1e4]
                 --anneal [cos] --three-phase
  triangular, triangular2, exp_range
                 --min-lr --max-lr --cycle-length [--total-steps] --inc-fraction [0.5]
                 --gamma [1]
  linear         --max-lr --warmup-steps [5%% of --total-steps] --final-lr [0] --start-lr [0]
  wsd            --max-lr --warmup-steps [5%%] --decay-fraction [0.2] --decay [sqrt]
                 --final-lr [0] --start-lr [0]
"""


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``gluon-lr`` and its sub-commands (``find``, ``schedule``, ``plot``,
    ``launch``); building it imports neither MXNet nor matplotlib."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="gluon-lr", description="Learning-rate range test and schedule "
                     "presets for MXNet Gluon.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    find = sub.add_parser("find", help="run a range test and report the suggested lr",
                          formatter_class=fmt, epilog=_FIND_EPILOG,
                          description="Run a learning-rate range test. With no arguments: the "
                          "MNIST subset and LeNet, SGD momentum 0.9, batch 64.")
    find.add_argument("--data", default="mnist5k",
                      help="mnist5k, digits, a .npz file with arrays x and y, or a RecordIO "
                           ".rec image file (default: %(default)s)")
    find.add_argument("--model", default=None,
                      help="lenet, mlp, resnet20 (gluoncv cifar_resnet20_v1) or "
                           "gluoncv:<model_zoo_name> (default: lenet for images, mlp for rows)")
    find.add_argument("--loss", choices=("softmax", "l2", "l1", "huber", "sigmoid_bce"),
                      default=None,
                      help="softmax (class indices), l2/l1/huber (regression: one output per "
                           "target column) or sigmoid_bce (0/1 targets). Default: softmax, "
                           "refused for labels that are not class indices")
    find.add_argument("--optimizer", default="sgd",
                      help="any MXNet optimizer name: sgd, nag, adam, rmsprop, ... "
                           "(default: %(default)s)")
    find.add_argument("--optimizer-param", action="append", default=[], type=_key_value,
                      metavar="KEY=VALUE", help="optimizer argument, repeatable, e.g. "
                      "wd=1e-4 (default: momentum=0.9 for sgd, none otherwise)")
    find.add_argument("--batch-size", type=_positive_int, default=64,
                      help="samples per step; test the batch size you will train with "
                           "(default: %(default)s)")
    find.add_argument("--start-lr", type=_positive_float, default=1e-7,
                      help="first learning rate (default: %(default)s)")
    find.add_argument("--end-lr", type=_positive_float, default=10.0,
                      help="last learning rate (default: %(default)s)")
    find.add_argument("--num-iter", type=_positive_int, default=100,
                      help="steps; the run stops earlier when the loss diverges, and "
                           "--extend may add up to as many again (default: %(default)s)")
    find.add_argument("--repeats", type=_positive_int, default=None,
                      help="sweeps from the same start on different batches; the median "
                           "run is reported, or for a noisy regression curve the mean of the "
                           "runs' curves (default: 3, 1 on distributed workers; 1 is a "
                           "third of the cost)")
    find.add_argument("--extend", type=_non_negative_float, default=3.0, metavar="DECADES",
                      help="when the loss is still falling at --end-lr, go on for up to this "
                           "many more decades (at most --num-iter more steps); 0: never "
                           "(default: %(default)s)")
    find.add_argument("--step-mode", choices=("exp", "linear"), default="exp",
                      help="how the rate rises: exp (log-spaced) or linear "
                           "(default: %(default)s)")
    find.add_argument("--suggest", choices=RULE_NAMES, default="auto",
                      help="the rule behind the suggestion (default: %(default)s)")
    find.add_argument("--mark", default=None, metavar="RULES",
                      help="rules to mark on the plot: 'all' or comma-separated names "
                           "(default: the --suggest rule, with the suggested range shaded)")
    find.add_argument("--seed", type=_seed, default=0,
                      help="seed of MXNet's and numpy's generators (default: %(default)s)")
    find.add_argument("--ctx", default="cpu",
                      help="cpu, gpu:0 or a list such as gpu:0,gpu:1 (default: %(default)s)")
    find.add_argument("--schedule", choices=("auto",) + SCHEDULE_NAMES, default=None,
                      help="also write this preset, built from the result, and its plot; "
                           "auto: the recommended shape and peak, with the reason "
                           "(needs --epochs; default: none)")
    find.add_argument("--epochs", type=_positive_int, default=None,
                      help="training length the --schedule is for, in epochs of the data "
                           "(default: none)")
    find.add_argument("--compare-schedules", action="store_true",
                      help="also spend at most half a training's steps probing the auto "
                           "schedule's peak on a held-out 20%% of the data (constant runs at "
                           "the peak and, for classification, at twice it, except with "
                           "Adam, Nadam or RMSProp, whose peak can only be lowered: lowered if "
                           "validation gets worse, raised if the higher rate scores as well "
                           "or a regression's validation loss is still falling: with Adam, "
                           "Nadam or RMSProp to WSD at the rate where the range test's loss "
                           "bottomed out); "
                           "prints a table with its evidence, choice and caveat, saves "
                           "compare.png/.json (default: off)")
    find.add_argument("--check-rate", action="store_true",
                      help="also spend half a training's steps (--epochs, default 5 epochs) "
                           "checking the suggested constant rate on a held-out 20%% of the "
                           "data: a constant run whose validation score peaked and then got "
                           "clearly worse (over-training) lowers the rate to match the step it "
                           "was best at; prints the rate to train with, saves "
                           "check_rate.png/.json (default: off)")
    find.add_argument("--out", default="lr_find",
                      help="folder for lr_find.png, .csv and .json; an earlier run there is "
                           "kept (see below) (default: ./%(default)s/)")
    find.add_argument("--overwrite", action="store_true",
                      help="replace an earlier run in --out instead of using the next free "
                           "folder (default: off)")
    find.add_argument("--quiet", action="store_true",
                      help="no progress bar and no report; the exit status still tells "
                           "(default: off)")
    find.add_argument("--json", action="store_true",
                      help="print the result, suggestions and files written as one JSON "
                           "object on stdout (default: off)")

    sched = sub.add_parser("schedule", help="plot a schedule preset", formatter_class=fmt,
                           epilog=_SCHEDULE_EPILOG,
                           description="Plot a schedule preset for --total-steps steps and "
                           "print it.")
    sched.add_argument("name", choices=SCHEDULE_NAMES, help="the preset")
    sched.add_argument("--total-steps", type=_positive_int, required=True,
                       help="training length in steps (required)")
    for flag, text in (("--lr", "the constant rate (constant)"),
                       ("--max-lr", "peak rate (cosine, warmup_cosine, one_cycle, "
                                    "triangular*, exp_range)"),
                       ("--min-lr", "lowest rate (cosine, warmup_cosine, triangular*, "
                                    "exp_range)"),
                       ("--start-lr", "rate the warm-up starts from (warmup_cosine)"),
                       ("--gamma", "amplitude decay per step (exp_range)"),
                       ("--pct-start", "fraction of steps spent rising (one_cycle)"),
                       ("--div-factor", "max_lr / first rate (one_cycle)"),
                       ("--final-div-factor", "first rate / last rate (one_cycle)"),
                       ("--inc-fraction", "fraction of a cycle spent rising (triangular*, "
                                          "exp_range)"),
                       ("--cycle-mul", "each restart's cycle is this many times longer "
                                       "(cosine)"),
                       ("--cycle-decay", "each restart's peak is multiplied by this "
                                         "(cosine)"),
                       ("--final-lr", "rate at the end of the budget (linear, wsd)"),
                       ("--decay-fraction", "share of the budget spent cooling down (wsd)")):
        sched.add_argument(flag, type=float, default=None,
                           help=text + " (default: the preset's, see below)")
    sched.add_argument("--cycle-length", type=_positive_int, default=None,
                       help="steps per cycle (cosine, triangular*, exp_range; default: "
                            "--total-steps)")
    sched.add_argument("--warmup-steps", type=_positive_int, default=None,
                       help="warm-up steps (warmup_cosine, linear, wsd; default: 5%% of "
                            "--total-steps)")
    sched.add_argument("--anneal", choices=("cos", "linear"), default=None,
                       help="shape of one_cycle's phases (default: cos)")
    sched.add_argument("--decay", choices=("sqrt", "linear", "cos"), default=None,
                       help="shape of wsd's cool-down (default: sqrt)")
    sched.add_argument("--three-phase", action="store_true", default=None,
                       help="one_cycle with fastai's third, annihilation phase (default: off)")
    sched.add_argument("--out", default="schedule.png",
                       help="image path (default: %(default)s)")

    plot = sub.add_parser("plot", help="re-draw a saved result",
                          description="Re-draw a result saved as lr_find.json.")
    plot.add_argument("path", help="a JSON file written by gluon-lr find or result.to_json()")
    plot.add_argument("--out", default=None,
                      help="image path (default: next to the JSON, with .png; an existing "
                           "image there is kept and the next free name used)")
    plot.add_argument("--mark", "--suggest", dest="mark", default=None, metavar="RULES",
                      help="'all' or comma-separated rule names to mark (default: the saved "
                           "run's rule, with the suggested range shaded)")
    plot.add_argument("--overwrite", action="store_true",
                      help="replace an existing image at the default path (default: off)")

    launch = sub.add_parser("launch", help="run a script as local distributed workers",
                            description="Run COMMAND as N workers of a local MXNet "
                            "parameter-server job (1 scheduler, S servers), e.g. "
                            "gluon-lr launch -n 2 -s 1 -- python train.py")
    launch.add_argument("-n", "--num-workers", type=_positive_int, default=2,
                        help="worker processes (default: %(default)s)")
    launch.add_argument("-s", "--num-servers", type=_positive_int, default=1,
                        help="server processes (default: %(default)s)")
    launch.add_argument("--port", type=_positive_int, default=None,
                        help="scheduler port (default: a free one)")
    launch.add_argument("--timeout", type=_non_negative_float, default=DEFAULT_TIMEOUT,
                        help="seconds before the whole job is stopped (exit status {}); 0: no "
                        "limit (default: %(default)s)".format(EXIT_TIMEOUT))
    launch.add_argument("--grace", type=_positive_float, default=DEFAULT_GRACE,
                        help="seconds the other workers get to finish after the first worker "
                        "fails (default: %(default)s)")
    launch.add_argument("program", nargs=argparse.REMAINDER, metavar="-- COMMAND ...",
                        help="the command every worker runs")
    return parser


# ---- find -------------------------------------------------------------------------------------
def _load_data(spec: str):
    import numpy as np
    from . import datasets
    if spec in datasets.DATASETS:
        return datasets.load(spec)
    if not os.path.isfile(spec):
        raise CLIError("data file not found: {}".format(spec))
    from .datafiles import check_recordio, load_npz, quiet_unraisable
    if spec.endswith(".npz"):
        try:
            return load_npz(spec)  # never unpickles; sizes checked before allocating
        except ValueError as err:
            raise CLIError(str(err))
        except MemoryError:
            raise CLIError("{} does not fit in memory".format(spec))
        except OSError as err:
            raise CLIError("cannot read {}: {}".format(spec, err.strerror or err))
    if spec.endswith(".rec"):
        from ._mx import mx
        from .step import first_line
        try:
            check_recordio(spec)
            with quiet_unraisable():
                ds = mx.gluon.data.vision.ImageRecordDataset(spec)
                images, labels = zip(*[ds[i] for i in range(len(ds))])
        except ValueError as err:
            raise CLIError(str(err))
        except Exception as err:
            raise CLIError("cannot read {} as a RecordIO image file: {}".format(
                spec, first_line(err)))
        if len({im.shape for im in images}) != 1:
            raise CLIError("{}: images have different sizes; resize them first".format(spec))
        X = np.stack([im.asnumpy() for im in images]).transpose(0, 3, 1, 2) / 255.0
        y = np.array([float(np.asarray(lab).ravel()[0]) for lab in labels], dtype=np.float32)
        return X.astype(np.float32), y
    raise CLIError("unknown --data {!r}: use mnist5k, digits, a .npz or a .rec file".format(spec))


def _free_folder(out: str, overwrite: bool) -> str:
    """``out``, or the next free ``out-2``, ``out-3``, ... when ``out`` holds an earlier run."""
    if overwrite or not os.path.exists(os.path.join(out, "lr_find.json")):
        return out
    base = out.rstrip("/\\") or out
    k = 2
    while os.path.exists(os.path.join("{}-{}".format(base, k), "lr_find.json")):
        k += 1
    return "{}-{}".format(base, k)


def _free_file(path: str) -> str:
    """``path``, or the next free ``stem-2.ext``, ... when it exists."""
    stem, ext = os.path.splitext(path)
    k = 2
    while os.path.exists(path):
        path = "{}-{}{}".format(stem, k, ext)
        k += 1
    return path


def _marks(spec: Optional[str]):
    """``--mark`` as the ``suggest=`` argument of ``result.plot``."""
    if spec is None:
        return True
    rules = list(RULE_NAMES) if spec == "all" else [r.strip() for r in spec.split(",")]
    unknown = [r for r in rules if r not in RULE_NAMES]
    if unknown:
        raise CLIError("unknown rule {!r} in --mark; choose 'all' or from {}".format(
            unknown[0], ", ".join(RULE_NAMES)))
    return rules


def _write_outputs(result, out: str, mark):
    try:
        os.makedirs(out, exist_ok=True)
        paths = {ext: os.path.join(out, "lr_find." + ext) for ext in ("png", "csv", "json")}
        result.to_json(paths["json"])
        result.to_csv(paths["csv"])
        _save_plot(lambda ax: result.plot(ax=ax, suggest=mark), paths["png"])
    except OSError as err:
        raise CLIError("cannot write into {}: {}".format(out, err.strerror or err))
    return paths


def _save_plot(draw, path: str) -> None:
    import matplotlib
    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        draw(ax)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)


def _run_quietly(run, diagnosis_of):
    """Call ``run()``; re-issue its warnings as one line each on stderr, without the file
    and source line of Python's default format, and drop the one that repeats the report's
    ``note:`` (no suggestion)."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:  # the filters stay as they are
        value = run()
    diagnosis = diagnosis_of(value)
    for w in caught:
        text = str(w.message)
        if diagnosis and diagnosis in text:
            continue
        print("gluon-lr: warning: {}".format(text), file=sys.stderr)
    return value


def _cmd_find(args) -> int:
    import numpy as np
    from ._mx import mx
    from .learner import Learner
    from .models import get_model
    from .optimizers import lr_free_message

    if lr_free_message(args.optimizer):
        raise CLIError(lr_free_message(args.optimizer))
    if args.epochs is not None and not (args.schedule or args.compare_schedules
                                        or args.check_rate):
        raise CLIError("--epochs goes with --schedule NAME, --compare-schedules or "
                       "--check-rate")
    if args.schedule is not None and args.epochs is None:
        raise CLIError("--schedule needs --epochs N (the training length it is for)")
    mark = _marks(args.mark)
    ctx = _contexts(args.ctx)
    from .finder import lr_sweep
    try:  # the rates and the number of steps, before any data is read
        lr_sweep(args.start_lr, args.end_lr, args.num_iter, args.step_mode)
    except (ValueError, TypeError) as err:
        raise CLIError(str(err))
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CLIError("--out {} is a file, not a folder".format(args.out))
    X, y = _load_data(args.data)
    from .losses import KINDS, loss_for_labels
    try:
        loss, outputs = loss_for_labels(args.loss, y)
    except ValueError as err:
        raise CLIError(str(err))
    loss_name = args.loss or "softmax"
    val = None
    if args.compare_schedules or args.check_rate:
        from .datasets import train_val_split
        try:
            X, Xv, y, yv = train_val_split(X, y)
        except ValueError:  # classes too small to stratify
            from sklearn.model_selection import train_test_split
            X, Xv, y, yv = train_test_split(X, y, test_size=0.2, random_state=0)
        val = (Xv, yv)
    model = args.model or ("lenet" if X.ndim == 4 else "mlp")
    try:
        net = get_model(model, classes=outputs)
    except (ValueError, ImportError) as err:
        raise CLIError(str(err))
    params = dict(args.optimizer_param)
    if args.optimizer == "sgd" and "momentum" not in params:
        params["momentum"] = 0.9
    mx.random.seed(args.seed)
    np.random.seed(args.seed)
    net.hybridize()
    try:
        learner = Learner(net, (X, y), loss=loss, optimizer=args.optimizer,
                          optimizer_params=params, ctx=ctx, batch_size=args.batch_size)
        if val is not None:
            probe_total = _probe_steps(args, learner.steps_per_epoch, len(y))
        result = _run_quietly(lambda: learner.find_lr(
            start_lr=args.start_lr, end_lr=args.end_lr, num_iter=args.num_iter,
            step_mode=args.step_mode, suggest=args.suggest, repeats=args.repeats,
            extend=args.extend,
            progress=False if (args.quiet or args.json) else None),
            lambda r: r.diagnosis)
    except (ValueError, TypeError) as err:
        if val is not None and "larger than the data" in str(err):
            raise CLIError("{} (the part left after the 20% hold-out of --check-rate / "
                           "--compare-schedules)".format(err))
        raise CLIError(str(err))
    result.meta.update(model=model, data=args.data,
                       loss="{} ({})".format(loss_name, KINDS[loss_name]))
    out = _free_folder(args.out, args.overwrite)
    paths = _write_outputs(result, out, mark)
    schedule = None
    if args.schedule:
        total = args.epochs * learner.steps_per_epoch
        _check_steps(total, "--epochs {} x {} steps per epoch".format(
            args.epochs, learner.steps_per_epoch))
        try:
            schedule = result.schedule(args.schedule, total_steps=total)
        except ValueError as err:
            raise CLIError(str(err))
        from .schedules import plot_schedule
        paths["schedule"] = os.path.join(out, "schedule.json")
        paths["schedule_png"] = os.path.join(out, "schedule.png")
        with open(paths["schedule"], "w", encoding="utf-8") as f:
            json.dump({"name": args.schedule, "total_steps": total, "repr": repr(schedule),
                       "values": schedule.values(total)}, f)
        _save_plot(lambda ax: plot_schedule(schedule, total, ax=ax, label=args.schedule),
                   paths["schedule_png"])
    comparison = check = None
    try:
        if args.check_rate and result.lr is not None:
            check = _held_out_run(learner.check_rate, result, val, args.seed, probe_total,
                                  out, paths, "check_rate")
        if args.compare_schedules and result.lr is not None:
            comparison = _held_out_run(learner.compare_schedules, result, val, args.seed,
                                       probe_total, out, paths, "compare")
    except KeyboardInterrupt:  # the range test itself finished: say what it found
        if not (args.quiet or args.json):
            _report(result, schedule)
            print("(interrupted during the held-out probes; net and trainer restored)")
            _report_files(paths)
        raise
    status = 0 if result.lr is not None else EXIT_NO_SUGGESTION
    if args.json:
        doc = result.to_dict()
        doc.update(suggestions=result.suggestions(), diagnosis=result.diagnosis,
                   confidence=result.confidence, diagnosis_code=result.diagnosis_code,
                   suggested_range=result.suggested_range, files=paths,
                   schedule=repr(schedule) if schedule else None,
                   comparison=comparison.to_dict() if comparison else None,
                   comparison_evidence=_evidence(comparison, len(val[1])) if comparison
                   else None, rate_check=check.to_dict() if check else None,
                   exit_status=status)
        print(json.dumps(doc))
        return status
    if not args.quiet:
        if out != args.out:
            print("{} holds an earlier run: writing to {} instead (--overwrite replaces "
                  "it)".format(args.out, out))
        _report(result, schedule)
        if check is not None:
            _report_check(check, len(val[1]))
            if schedule is not None and not check.kept:
                print("note: --schedule {} was built from the range test (peak {:.3g}; the "
                      "suggestion is {:.3g}), not from the checked rate".format(
                          args.schedule, schedule.max_value(), result.lr))
        elif args.check_rate:
            print("rate check: skipped, the range test gave no rate to check")
        if comparison is not None:
            _report_comparison(comparison, len(val[1]))
        elif args.compare_schedules:
            print("schedule comparison: skipped, the range test gave no suggestion")
        _report_files(paths)
    return status


def _held_out_run(run, result, val, seed, total, out: str, paths, name: str):
    """``run`` (check_rate or compare_schedules) on the hold-out, its outcome saved as
    ``name``.json and .png in ``out`` (recorded in ``paths``); a ValueError is a CLIError."""
    try:
        outcome = run(result, val_data=val, seed=seed, total_steps=total)
    except ValueError as err:
        raise CLIError(str(err))
    paths[name] = os.path.join(out, name + ".json")
    paths[name + "_png"] = os.path.join(out, name + ".png")
    outcome.to_json(paths[name])
    _save_plot(lambda ax: outcome.plot(ax=ax), paths[name + "_png"])
    return outcome


# Measured by benchmarks/schedule_quality.py (README, "Choosing the schedule for a budget").
COMPARE_CAVEAT = ("caveat: measured in benchmarks/schedule_quality.py (README); the probe "
                  "lowers the peak when validation clearly got worse and raises it when a "
                  "higher constant rate scored as well (or the validation loss still fell; "
                  "with Adam, Nadam or RMSProp on regression the shape becomes WSD), "
                  "and a race keeps schedule('auto') unless a challenger wins by the margin")


def _evidence(comparison, n_val: int) -> str:
    """How far the pick is ahead of the runner-up, next to the validation noise."""
    from .compare import PROBE_WINDOW
    probe = getattr(comparison, "probe", None)
    if probe is not None:
        text = "a {}-step constant run at {:.3g} scored best on {} held-out samples around " \
               "step {}; its last window was {:.3g} {} worse".format(
                   probe["steps"], probe["peak"], n_val, probe["best_step"], probe["drop"],
                   "accuracy points" if comparison.select == "accuracy" else "(relative loss)")
        if probe.get("base_final") is not None:
            text += "; its last {} scores averaged {:.4g} against {:.4g} at {:.3g}".format(
                PROBE_WINDOW, probe["final"], probe["base_final"], probe["base"]["peak"])
        elif probe.get("improvement") is not None:
            change = probe["improvement"]
            text += "; its validation loss {} {:.1%} from the middle of the run to its " \
                    "end".format("fell" if change >= 0 else "rose", abs(change))
        return text
    rows = [r for r in comparison.table() if r["rungs"] == max(
        x["rungs"] for x in comparison.table())]
    if len(rows) < 2:
        return "only {} reached the last rung".format(comparison.best_name)
    best, second = rows[0], rows[1]
    if comparison.select == "accuracy" and best["val_accuracy"] is not None:
        margin = best["val_accuracy"] - second["val_accuracy"]
        p = min(max(best["val_accuracy"] / 100.0, 1e-3), 1 - 1e-3)
        noise = 100.0 * (2 * p * (1 - p) / max(n_val, 1)) ** 0.5
        verdict = "within" if abs(margin) <= 2 * noise else "beyond"
        return ("after {} steps {} leads {} by {:.2f} accuracy points on {} held-out samples; "
                "the noise of that difference is about +-{:.2f} points, so the lead is {} "
                "the noise".format(best["steps"], best["name"], second["name"], margin, n_val,
                                   noise, verdict))
    return "after {} steps {} leads {} by {:.4f} in validation loss on {} held-out " \
           "samples".format(best["steps"], best["name"], second["name"],
                            second["val_loss"] - best["val_loss"], n_val)


def _report_comparison(comparison, n_val: int) -> None:
    metric = "val acc" if comparison.select == "accuracy" else "val loss"
    print("schedule comparison ({} steps, {:.1f} s, ranked by {}): best {}".format(
        comparison.steps, comparison.seconds, metric, comparison.best_name))
    probe = comparison.probe
    if probe is not None:  # the probe's constant runs, not a race: no table of candidates
        from .compare import PROBE_WINDOW
        key = "val_accuracy" if comparison.select == "accuracy" else "val_loss"
        runs = ([(probe["base"], " (auto peak)")] if probe.get("base") else []) + [(probe, "")]
        print("  {:<26} {:>6} {:>22}".format("probe: constant run at", "steps",
                                             "mean of last {} {}".format(PROBE_WINDOW, metric)))
        for run, note in runs:
            last = [c[key] for c in run["curve"][-PROBE_WINDOW:] if c[key] is not None]
            mean = sum(last) / len(last) if last else float("nan")
            print("  {:<26} {:>6} {:>22}".format("{:.3g}{}".format(run["peak"], note),
                                                 run["steps"], "{:.4g}".format(mean)))
    else:
        print("  {:<14} {:>6} {:>9} {:>8}".format("schedule", "steps", "val loss", "val acc"))
        for row in comparison.table():
            acc = "{:.2f}%".format(row["val_accuracy"]) if row["val_accuracy"] is not None \
                else "-"
            print("  {:<14} {:>6} {:>9.4f} {:>8}".format(row["name"], row["steps"],
                                                         row["val_loss"], acc))
    print("evidence: " + _evidence(comparison, n_val))
    print("choice: " + comparison.reason)
    print(COMPARE_CAVEAT)


def _report_check(check, n_val: int) -> None:
    print("rate check ({} steps of {}, {:.1f} s, ranked by {} on {} held-out samples): "
          "train at {:.3g}, {}".format(
              check.steps, check.total_steps, check.seconds,
              "accuracy" if check.select == "accuracy" else "validation loss", n_val, check.lr,
              "the suggestion" if check.kept else "lowered from {:.3g}".format(check.suggested)))
    print("  " + check.reason)


def _fmt(lr) -> str:
    return "{:.3g}".format(lr) if lr is not None else "none"


def _report(result, schedule) -> None:
    from .runinfo import describe_line
    print("suggested learning rate ({}): {}".format(result.rule, _fmt(result.lr)))
    if result.lr is not None:
        # The other rules are for comparison; on a curve that supports no suggestion their
        # numbers would only mislead, so they are left to --json and `gluon-lr plot --mark all`.
        for name, value in result.suggestions().items():
            if name != result.rule:
                print("  {:<9} {}".format(name, _fmt(value)))
        rng = result.suggested_range
        if rng:
            print("  range     {} .. {}".format(_fmt(rng[0]), _fmt(rng[1])))
    about = describe_line(result.meta)
    if about:
        print("for: " + about)
    extra = result.meta.get("extended_steps")
    planned = result.meta.get("num_iter", len(result.lrs))
    print("iterations: {} of {}{}, stopped by: {}".format(
        len(result.lrs), planned + (extra or 0),
        " ({} + {} past end_lr)".format(planned, extra) if extra else "", result.stop_reason))
    if extra:
        print("extended: the loss was still falling (or flat) at end_lr {}, so the sweep went "
              "on for up to {} more steps, to {}".format(
                  _fmt(result.meta.get("end_lr")), extra, _fmt(result.meta.get("extended_to"))))
    lrs = result.meta.get("repeat_lrs")
    if lrs:
        spread = result.meta.get("repeat_spread")
        pooled = result.meta.get("pooled")
        print("runs: {} ({}): {}{}".format(
            len(lrs), "the median run was noisy: answer on the mean of their curves" if pooled
            else "median reported", ", ".join(_fmt(v) for v in lrs),
            "; spread {:.2f} decades".format(spread) if spread is not None else ""))
    print("confidence: {} ({})".format(result.confidence, result.diagnosis_code))
    if result.diagnosis:
        print("note: " + result.diagnosis)
    if result.lr is None:
        print("no suggestion: exit status {}".format(EXIT_NO_SUGGESTION))
    if schedule is not None:
        print("schedule: {}".format(schedule))
        if getattr(schedule, "reason", None):
            print("  why: {}".format(schedule.reason))


_FILE_LABELS = (("png", "plot"), ("csv", "csv"), ("json", "json"),
                ("schedule", "schedule"), ("schedule_png", "schedule plot"),
                ("check_rate", "rate check"), ("check_rate_png", "rate check plot"),
                ("compare", "comparison"), ("compare_png", "comparison plot"))


def _report_files(paths) -> None:
    print("files written:")
    for key, label in _FILE_LABELS:
        if key in paths:
            print("  {}: {}".format(label, os.path.abspath(paths[key])))


# ---- schedule and plot ------------------------------------------------------------------------
_SCHEDULE_ARGS = ("lr", "max_lr", "min_lr", "start_lr", "gamma", "pct_start", "div_factor",
                  "final_div_factor", "inc_fraction", "cycle_mul", "cycle_decay",
                  "cycle_length", "warmup_steps", "anneal", "three_phase", "final_lr",
                  "decay_fraction", "decay")


def _cmd_schedule(args) -> int:
    import inspect
    from .schedules import SCHEDULES, get_schedule, plot_schedule
    _check_steps(args.total_steps, "--total-steps")
    _check_folder_of(args.out, "--out")
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
    try:
        _save_plot(lambda ax: plot_schedule(schedule, args.total_steps, ax=ax, label=args.name),
                   args.out)
    except OSError as err:
        raise CLIError("cannot write {}: {}".format(args.out, err.strerror or err))
    print("{}\nplot: {}".format(schedule, os.path.abspath(args.out)))
    return 0


def _cmd_plot(args) -> int:
    from .result import LRFinderResult
    mark = _marks(args.mark)
    if not os.path.isfile(args.path):
        raise CLIError("file not found: {}".format(args.path))
    try:
        result = _run_quietly(lambda: LRFinderResult.from_json(args.path), lambda r: None)
    # RecursionError: deeply nested JSON; OverflowError: numbers beyond float.
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as err:
        raise CLIError("{} is not a saved range test: {}".format(args.path, _one_line(err)))
    except OSError as err:
        raise CLIError("cannot read {}: {}".format(args.path, err.strerror or err))
    if args.out is not None:
        out = args.out
    else:
        out = os.path.splitext(args.path)[0] + ".png"
        if not args.overwrite:
            out = _free_file(out)
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise CLIError("cannot write {}: folder {} does not exist".format(out, folder))
    try:
        _save_plot(lambda ax: result.plot(ax=ax, suggest=mark), out)
    except (ValueError, TypeError, OverflowError) as err:
        raise CLIError("cannot plot {}: {}".format(args.path, _one_line(err)))
    except OSError as err:
        raise CLIError("cannot write {}: {}".format(out, err.strerror or err))
    print("suggested learning rate ({}): {}\nplot: {}".format(result.rule, _fmt(result.lr),
                                                             os.path.abspath(out)))
    return 0


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _cmd_launch(args) -> int:
    from .launch import LaunchTimeout, launch
    command = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not command:
        raise CLIError("give the command to run after --, e.g. -- python train.py")
    try:
        # A failing worker is named by the launcher's log; its status is returned.
        return launch(command, num_workers=args.num_workers, num_servers=args.num_servers,
                      port=args.port, timeout=args.timeout or None, grace=args.grace)
    except LaunchTimeout as err:
        print("gluon-lr: error: {}".format(err), file=sys.stderr)
        return EXIT_TIMEOUT
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
