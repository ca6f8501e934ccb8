"""The CLI as a user meets it: help texts, the report, files kept, exit statuses."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gluon_lr.cli import (EXIT_NO_SUGGESTION, RULE_NAMES, SCHEDULE_NAMES, build_parser,
                          main)

FAST = ["--num-iter", "30", "--start-lr", "1e-4", "--end-lr", "10"]
FLAT = ["--num-iter", "20", "--start-lr", "1e-9", "--end-lr", "1e-8"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _subparsers(parser):
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_every_option_has_help_and_shows_its_default():
    for name, sub in _subparsers(build_parser()).items():
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, "{} {} has no help text".format(name, action.option_strings)
            if action.option_strings and action.default not in (None, False, []):
                assert "default" in action.help, (name, action.option_strings)


def test_the_cli_lists_every_rule_and_preset():
    from gluon_lr.schedules import SCHEDULES
    from gluon_lr.suggest import RULES
    assert list(RULE_NAMES) == sorted(RULES)
    assert list(SCHEDULE_NAMES) == sorted(SCHEDULES)


def test_help_imports_neither_mxnet_nor_matplotlib():
    code = ("import sys; from gluon_lr.cli import main\n"
            "try:\n    main(['find', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('mxnet' in sys.modules, 'matplotlib' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "exit status:" in proc.stdout and "--overwrite" in proc.stdout
    assert proc.stdout.strip().endswith("False False")


def test_report_says_what_the_number_is_for_and_lists_files(npz, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["find", "--data", npz, "--batch-size", "16", "--out", str(out),
                 "--model", "mlp", "--optimizer-param", "wd=0.001"] + FAST) == 0
    text = capsys.readouterr().out
    assert "for: sgd (momentum=0.9, wd=0.001), batch size 16, model mlp, data " + npz in text
    assert "iterations: {} of 30, stopped by: ".format(
        len(json.loads((out / "lr_find.json").read_text())["lrs"])) in text
    assert "files written:" in text
    for ext, label in (("png", "plot:"), ("csv", "csv:"), ("json", "json:")):
        line = next(li for li in text.splitlines() if li.strip().startswith(label))
        assert line.split()[-1] == str(out / ("lr_find." + ext))
    meta = json.loads((out / "lr_find.json").read_text())["meta"]
    assert meta["optimizer"] == "sgd" and meta["batch_size"] == 16
    assert meta["optimizer_params"]["momentum"] == 0.9
    assert meta["optimizer_params"]["wd"] == 0.001
    assert meta["model"] == "mlp" and meta["data"] == npz


def test_find_never_overwrites_an_earlier_run(npz, tmp_path, capsys):
    out = tmp_path / "lr_find"
    args = ["find", "--data", npz, "--batch-size", "16", "--out", str(out)] + FAST
    assert main(args) == 0
    first = (out / "lr_find.json").read_text()
    capsys.readouterr()
    assert main(args + ["--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "holds an earlier run: writing to {}-2".format(out) in text
    assert (out / "lr_find.json").read_text() == first
    assert (tmp_path / "lr_find-2" / "lr_find.json").exists()
    assert main(args + ["--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"]["json"] == str(
        tmp_path / "lr_find-3" / "lr_find.json")
    assert main(args + ["--overwrite", "--quiet", "--seed", "2"]) == 0
    assert (out / "lr_find.json").read_text() != first


def test_flat_curve_exits_3_with_the_note_once(npz, tmp_path, capsys):
    code = main(["find", "--data", npz, "--batch-size", "16", "--out", str(tmp_path / "o")]
                + FLAT)
    assert code == EXIT_NO_SUGGESTION == 3
    captured = capsys.readouterr()
    assert "suggested learning rate (auto): none" in captured.out
    assert captured.out.count("the loss hardly changed") == 1  # the note:, nothing repeats it
    for rule in ("steepest", "minimum", "valley", "slide"):
        assert "  " + rule not in captured.out  # no numbers that look usable
    assert captured.err == ""  # no RuntimeWarning with a file path and source line
    assert (tmp_path / "o" / "lr_find.json").exists()
    assert main(["find", "--data", npz, "--batch-size", "16", "--out", str(tmp_path / "q"),
                 "--quiet"] + FLAT) == 3
    assert main(["find", "--data", npz, "--batch-size", "16", "--out", str(tmp_path / "j"),
                 "--json"] + FLAT) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["lr"] is None and doc["exit_status"] == 3 and "hardly changed" in doc["diagnosis"]


def test_plot_keeps_an_existing_image(npz, tmp_path, capsys):
    out = tmp_path / "o"
    main(["find", "--data", npz, "--batch-size", "16", "--out", str(out), "--quiet"] + FAST)
    png = out / "lr_find.png"
    before = png.read_bytes()
    assert main(["plot", str(out / "lr_find.json"), "--mark", "all"]) == 0
    assert png.read_bytes() == before
    assert "plot: {}".format(out / "lr_find-2.png") in capsys.readouterr().out
    assert main(["plot", str(out / "lr_find.json"), "--overwrite", "--suggest", "all"]) == 0
    assert png.read_bytes() != before
    assert main(["plot", str(out / "lr_find.json"), "--mark", "fastest"]) == 2
    assert "unknown rule 'fastest' in --mark" in capsys.readouterr().err


def _saved(tmp_path, name, **change):
    lrs = list(np.geomspace(1e-4, 1, 40))
    doc = {"format": 1, "lrs": lrs, "losses": list(np.linspace(2, 1, 40)),
           "stop_reason": "num_iter", "smoothing": 0.98, "suggest": "auto", "meta": {}}
    doc.update(change)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.mark.parametrize("case", ["empty", "huge", "smoothing1", "smoothing2", "nested",
                                  "digits400", "missing_folder"])
def test_plot_of_odd_files_exits_2_with_one_line(case, tmp_path, capsys):
    argv = None
    if case == "empty":
        path = _saved(tmp_path, "e.json", lrs=[], losses=[])
    elif case == "huge":
        path = _saved(tmp_path, "h.json", losses=[1.7e308] * 40)
    elif case == "smoothing1":
        path = _saved(tmp_path, "s.json", smoothing=1.0)
    elif case == "smoothing2":
        path = _saved(tmp_path, "s.json", smoothing=2, lrs=list(np.geomspace(1e-6, 1, 3000)),
                      losses=[1.0] * 3000)
    elif case == "nested":
        path = str(tmp_path / "n.json")
        with open(path, "w") as f:
            f.write("[" * 100000 + "]" * 100000)
    elif case == "digits400":
        path = str(tmp_path / "d.json")
        with open(path, "w") as f:
            f.write('{"lrs": [1' + "0" * 400 + ', 2], "losses": [1, 2]}')
    else:
        path = _saved(tmp_path, "ok.json")
        argv = ["plot", path, "--out", str(tmp_path / "no" / "such" / "x.png")]
    assert main(argv or ["plot", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gluon-lr: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_plot_draws_a_stop_reason_with_bad_mathtext(tmp_path, capsys):
    path = _saved(tmp_path, "m.json", stop_reason=r"$\frac{1}$")
    assert main(["plot", path]) == 0
    assert (tmp_path / "m.png").stat().st_size > 0


def test_extend_goes_on_past_end_lr_and_says_so(npz, tmp_path, capsys):
    base = ["find", "--data", npz, "--batch-size", "16", "--repeats", "1"] + FLAT
    assert main(base + ["--out", str(tmp_path / "a")]) == EXIT_NO_SUGGESTION  # still flat
    text = capsys.readouterr().out
    saved = json.loads((tmp_path / "a" / "lr_find.json").read_text())
    assert len(saved["lrs"]) == 40 and saved["meta"]["extended_steps"] == 20
    assert "iterations: 40 of 40 (20 + 20 past end_lr), stopped by: num_iter" in text
    assert "extended: the loss was still falling (or flat) at end_lr 1e-08, so the sweep went " \
           "on for up to 20 more steps, to 1.13e-07" in text
    assert main(base + ["--out", str(tmp_path / "b"), "--extend", "0"]) == EXIT_NO_SUGGESTION
    text = capsys.readouterr().out
    assert "extended:" not in text and "iterations: 20 of 20" in text
    assert main(base + ["--out", str(tmp_path / "c"), "--extend", "-1"]) == 2
    assert "expected a finite number >= 0, got '-1'" in capsys.readouterr().err


def test_flat_curve_with_the_held_out_probes_still_exits_3_with_its_report(npz, tmp_path,
                                                                           capsys):
    code = main(["find", "--data", npz, "--batch-size", "4", "--out", str(tmp_path / "o"),
                 "--check-rate", "--compare-schedules", "--epochs", "8"] + FLAT)
    assert code == 3
    out = capsys.readouterr().out
    assert "suggested learning rate (auto): none" in out
    assert "rate check: skipped, the range test gave no rate to check" in out
    assert "schedule comparison: skipped, the range test gave no suggestion" in out
