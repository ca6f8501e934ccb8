import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from gluon_lr.cli import build_parser, main

FAST = ["--num-iter", "30", "--start-lr", "1e-4", "--end-lr", "10"]


def test_find_writes_files_and_reports(npz, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["find", "--data", npz, "--batch-size", "16", "--out", str(out)] + FAST) == 0
    text = capsys.readouterr().out
    assert "suggested learning rate (auto):" in text
    for rule in ("steepest", "minimum", "valley", "slide"):
        assert "  " + rule in text
    assert "plot: " + str(out / "lr_find.png") in text
    assert re.search(r"^confidence: (high|low|none) \(\w+\)$", text, re.M)
    for ext in ("png", "csv", "json"):
        assert (out / ("lr_find." + ext)).stat().st_size > 0
    saved = json.loads((out / "lr_find.json").read_text())
    assert 10 <= len(saved["lrs"]) <= 30


def test_find_json_and_schedule(npz, tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["find", "--data", npz, "--batch-size", "16", "--out", str(out), "--json",
                 "--schedule", "one_cycle", "--epochs", "2", "--optimizer", "adam",
                 "--optimizer-param", "wd=0.0001"] + FAST)
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["suggestions"]) == {"auto", "steepest", "minimum", "valley", "slide"}
    assert doc["schedule"].startswith("OneCycle(") and "total_steps=10" in doc["schedule"]
    sched = json.loads((out / "schedule.json").read_text())
    assert sched["total_steps"] == 10 and len(sched["values"]) == 10
    assert (out / "schedule.png").exists()


def test_find_digits_with_mlp_quietly(tmp_path, capsys):
    assert main(["find", "--data", "digits", "--quiet", "--out", str(tmp_path)] + FAST) == 0
    assert capsys.readouterr().out == ""


def test_find_rec_file(tmp_path, capsys):
    import mxnet as mx
    rec, idx = str(tmp_path / "img.rec"), str(tmp_path / "img.idx")
    writer = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
    rs = np.random.RandomState(0)
    for i in range(40):
        img = (rs.rand(8, 8, 3) * 127 + 128 * (i % 2)).astype("uint8")  # learnable labels
        header = mx.recordio.IRHeader(0, float(i % 2), i, 0)
        writer.write_idx(i, mx.recordio.pack_img(header, img, img_fmt=".png"))
    writer.close()
    assert main(["find", "--data", rec, "--model", "mlp", "--batch-size", "8", "--out",
                 str(tmp_path / "o")] + FAST) == 0
    assert "suggested learning rate" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["find", "--data", "missing.npz"], "data file not found: missing.npz"),
    (["find", "--data", "mnist5k", "--model", "vgg99"], "unknown model 'vgg99'"),
    (["find", "--data", "digits", "--optimizer", "sgdx"], "unknown optimizer 'sgdx'"),
    (["find", "--batch-size", "x"], "argument --batch-size: expected a whole number, got 'x'"),
    (["find", "--start-lr", "-1"], "argument --start-lr: expected a finite number > 0"),
    (["find", "--start-lr", "nan"], "argument --start-lr: expected a finite number > 0"),
    (["launch", "--timeout", "-1", "--", "true"],
     "argument --timeout: expected a finite number >= 0, got '-1'"),
    (["launch", "--timeout", "inf", "--", "true"], "argument --timeout: expected a finite number"),
    (["find", "--schedule", "one_cycle"], "--schedule needs --epochs N"),
    (["find", "--schedule", "sgdr", "--epochs", "2"], "argument --schedule: invalid choice"),
    (["find", "--ctx", "tpu"], "bad --ctx entry 'tpu'"),
    (["find", "--data", "digits", "--ctx", "gpu:0,gpu:1"], "ctx gpu(0) is not available"),
    (["find", "--optimizer-param", "momentum"], "expected key=value"),
    (["schedule", "sgdr", "--total-steps", "10"], "argument name: invalid choice"),
    (["schedule", "wsd", "--total-steps", "10", "--max-lr", "0.1", "--decay-fraction", "2"],
     "decay_fraction must be in (0, 1]"),
    (["schedule", "one_cycle", "--total-steps", "10"], "max_lr"),
    (["schedule", "constant", "--total-steps", "10", "--max-lr", "1"],
     "constant does not take --max-lr"),
    (["schedule", "one_cycle", "--total-steps", "10", "--max-lr", "0.1", "--pct-start", "2"],
     "pct_start must be in"),
    (["plot", "nope.json"], "file not found: nope.json"),
])
def test_errors_are_one_line_with_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gluon-lr: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_plot_bad_json(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    assert main(["plot", str(bad)]) == 2
    assert "is not a saved range test" in capsys.readouterr().err


def test_schedule_and_plot_commands(npz, tmp_path, capsys):
    png = tmp_path / "s.png"
    assert main(["schedule", "warmup_cosine", "--total-steps", "50", "--max-lr", "0.1",
                 "--warmup-steps", "5", "--out", str(png)]) == 0
    assert png.stat().st_size > 0 and "WarmUp(" in capsys.readouterr().out
    assert main(["schedule", "triangular2", "--total-steps", "60", "--min-lr", "0.01",
                 "--max-lr", "0.1", "--cycle-length", "20", "--out", str(png)]) == 0
    out = tmp_path / "o"
    main(["find", "--data", npz, "--batch-size", "16", "--out", str(out), "--quiet"] + FAST)
    assert main(["plot", str(out / "lr_find.json"), "--suggest", "auto,valley"]) == 0
    assert (out / "lr_find-2.png").exists()  # the earlier lr_find.png is kept


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "find" in capsys.readouterr().err
    assert build_parser().parse_args(["find"]).data == "mnist5k"


def test_module_entry_point_runs(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gluon_lr", "schedule", "constant",
                           "--total-steps", "5", "--lr", "0.1", "--out",
                           str(tmp_path / "c.png")], capture_output=True, text=True,
                          env=dict(os.environ, MPLBACKEND="Agg"), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Constant(lr=0.1)" in proc.stdout


def test_find_auto_schedule_reports_why(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["find", "--data", "digits", "--out", str(out), "--schedule", "auto",
                 "--epochs", "2", "--num-iter", "60", "--start-lr", "1e-4",
                 "--end-lr", "10"]) == 0
    text = capsys.readouterr().out
    from gluon_lr.recommend import AUTO_SHAPE
    assert "  why: auto: {} at peak".format(AUTO_SHAPE) in text


def test_schedule_command_builds_wsd(tmp_path, capsys):
    assert main(["schedule", "wsd", "--total-steps", "20", "--max-lr", "0.1", "--decay",
                 "linear", "--decay-fraction", "0.5", "--out", str(tmp_path / "w.png")]) == 0
    assert "WSD(max_lr=0.1, total_steps=20" in capsys.readouterr().out


def test_find_compare_schedules(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["find", "--data", "digits", "--compare-schedules", "--out", str(out),
                 "--num-iter", "60", "--start-lr", "1e-4", "--end-lr", "10"]) == 0
    text = capsys.readouterr().out
    assert "schedule comparison (" in text and "best " in text
    assert "evidence: " in text and "held-out samples" in text
    assert "caveat: " in text and "schedule_quality.py" in text
    doc = json.loads((out / "compare.json").read_text())
    # the default comparison is the probe: two constant runs (digits: ranked by accuracy),
    # their curves, no race
    probe = doc["probe"]
    assert doc["table"] == [] and len(probe["curve"]) >= 10
    assert probe["base"] is not None and 2 * probe["steps"] == doc["steps"]
    assert "evidence: a {}-step constant run at".format(probe["steps"]) in text
    if not probe["over_training"]:
        assert "scores averaged" in text and "against" in text
    # the two probe runs are listed, not an empty table of race candidates
    assert "probe: constant run at" in text and "(auto peak)" in text
    assert "  schedule        steps" not in text
    assert "choice: " + doc["reason"] in text
    from gluon_lr.recommend import AUTO_SHAPE
    assert doc["best"].startswith(AUTO_SHAPE + "@")
    assert (out / "compare.png").stat().st_size > 0


def test_ctrl_c_exits_130_without_traceback(monkeypatch, capsys):
    import gluon_lr.cli as cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "plot", interrupted)
    assert main(["plot", "x.json"]) == 130
    assert capsys.readouterr().err == "gluon-lr: interrupted\n"


@pytest.mark.parametrize("text", ["0", "0.0", "0.00", "0e0"])
def test_launch_timeout_zero_means_none_however_it_is_written(text):
    args = build_parser().parse_args(["launch", "--timeout", text, "--", "true"])
    assert args.timeout == 0.0


def test_compare_evidence_says_when_the_validation_loss_rose():
    from types import SimpleNamespace
    from gluon_lr.cli import _evidence
    probe = {"steps": 40, "peak": 0.1, "best_step": 20, "drop": 0.01, "improvement": -0.008,
             "base_final": None}
    text = _evidence(SimpleNamespace(probe=probe, select="loss"), 50)
    assert "rose 0.8% from the middle of the run to its end" in text and "fell" not in text
    probe["improvement"] = 0.12
    assert "fell 12.0%" in _evidence(SimpleNamespace(probe=probe, select="loss"), 50)


def _regression_npz(tmp_path):
    from sklearn.datasets import load_diabetes
    d = load_diabetes()
    X = (d.data - d.data.mean(0)) / d.data.std(0)
    y = (d.target - d.target.mean()) / d.target.std()
    path = str(tmp_path / "diabetes.npz")
    np.savez(path, x=X.astype("float32"), y=y.astype("float32"))
    return path


def test_find_check_rate(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["find", "--data", _regression_npz(tmp_path), "--loss", "l2", "--optimizer",
                 "adam", "--batch-size", "16", "--epochs", "30", "--check-rate",
                 "--compare-schedules", "--out", str(out), "--seed", "0"]) == 0
    text = capsys.readouterr().out
    doc = json.loads((out / "check_rate.json").read_text())
    saved = json.loads((out / "lr_find.json").read_text())
    steps_per_epoch = saved["meta"]["steps_per_epoch"]
    assert doc["total_steps"] == 30 * steps_per_epoch  # --epochs reaches the check
    assert doc["select"] == "loss" and doc["suggested"] == pytest.approx(saved["lr"])
    line = "rate check ({} steps of {}".format(doc["steps"], doc["total_steps"])
    assert line in text and "ranked by validation loss on 89 held-out samples" in text
    assert "train at {:.3g}".format(doc["lr"]) in text and doc["reason"] in text
    if doc["kept"]:
        assert "the suggestion" in text
    else:
        assert doc["lr"] < doc["suggested"]
        assert "lowered from {:.3g}".format(doc["suggested"]) in text
    assert "rate check: " + str(out / "check_rate.json") in text
    assert (out / "check_rate.png").stat().st_size > 0
    # --epochs also reaches compare_schedules now
    assert json.loads((out / "compare.json").read_text())["total_steps"] == doc["total_steps"]


def test_find_check_rate_json_and_without_epochs(tmp_path, capsys):
    out = tmp_path / "o"
    main(["find", "--data", "digits", "--check-rate", "--json", "--out", str(out)] + FAST)
    doc = json.loads(capsys.readouterr().out)
    check = doc["rate_check"]
    assert check["total_steps"] == 5 * doc["meta"]["steps_per_epoch"]  # default: 5 epochs
    assert check["select"] == "accuracy" and check["suggested"] == pytest.approx(doc["lr"])
    assert doc["files"]["check_rate"].endswith("check_rate.json")


def test_epochs_needs_something_to_be_for(capsys):
    assert main(["find", "--data", "digits", "--epochs", "3"]) == 2
    assert "--epochs goes with --schedule NAME, --compare-schedules or --check-rate" in \
        capsys.readouterr().err


def test_held_out_probes_check_their_length_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["find", "--data", "digits", "--check-rate", "--epochs", "100000000",
                 "--out", str(out)] + FAST) == 2
    assert "for --check-rate is" in capsys.readouterr().err and not out.exists()
    X = np.random.RandomState(0).randn(30, 4).astype("float32")
    y = (X[:, 0] > 0).astype("float32")
    path = str(tmp_path / "tiny.npz")
    np.savez(path, x=X, y=y)
    assert main(["find", "--data", path, "--batch-size", "8", "--check-rate",
                 "--compare-schedules", "--out", str(out)] + FAST) == 2
    err = capsys.readouterr().err
    assert "--check-rate / --compare-schedules: 5 epochs of 3 steps" in err
    assert "leave 7 steps for the probe; it needs at least 10: raise --epochs" in err
    assert not out.exists()


def test_a_schedule_next_to_a_lowered_rate_says_what_it_was_built_from(tmp_path, capsys,
                                                                      monkeypatch):
    from gluon_lr import Learner
    real = Learner.check_rate

    def lowered(self, *args, **kwargs):
        check = real(self, *args, **kwargs)
        check.lr, check.kept = check.suggested / 3, False
        return check
    monkeypatch.setattr(Learner, "check_rate", lowered)
    out = tmp_path / "o"
    assert main(["find", "--data", "digits", "--check-rate", "--schedule", "constant",
                 "--epochs", "3", "--out", str(out)] + FAST) == 0
    text = capsys.readouterr().out
    assert "note: --schedule constant was built from the range test (peak " in text
    assert "not from the checked rate" in text


def test_ctrl_c_during_the_probes_still_reports_the_range_test(tmp_path, capsys, monkeypatch):
    from gluon_lr import Learner

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Learner, "check_rate", interrupted)
    out = tmp_path / "o"
    assert main(["find", "--data", "digits", "--check-rate", "--out", str(out)] + FAST) == 130
    captured = capsys.readouterr()
    assert "suggested learning rate (auto):" in captured.out
    assert "interrupted during the held-out probes" in captured.out
    assert "json: " + str(out / "lr_find.json") in captured.out
    assert captured.err == "gluon-lr: interrupted\n"


def test_a_batch_too_large_for_the_hold_out_says_so(tmp_path, capsys):
    X = np.random.RandomState(0).randn(30, 4).astype("float32")
    y = (X[:, 0] > 0).astype("float32")
    path = str(tmp_path / "tiny.npz")
    np.savez(path, x=X, y=y)
    assert main(["find", "--data", path, "--batch-size", "28", "--check-rate"] + FAST) == 2
    assert "after the 20% hold-out of --check-rate" in capsys.readouterr().err
