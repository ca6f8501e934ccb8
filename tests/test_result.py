import json
import math
import pickle
import warnings

import numpy as np
import pytest

from gluon_lr import LRFinderResult, NoSuggestion
from test_suggest import valley_curve


def make_result(**kw):
    lrs, losses = valley_curve(noise=0.03)
    return LRFinderResult(lrs, losses, stop_reason="diverged", num_iter=100, **kw)


def test_result_is_its_suggestion():
    r = make_result()
    assert r.lr == float(r) == r.suggestion() == r.suggestion("auto")
    assert "{:.2e}".format(r) == "{:.2e}".format(r.lr)
    assert str(r) == "{}".format(r) == repr(r)
    assert repr(r) == "LRFinderResult(lr={:.3g}, rule='auto', iterations=100, " \
                      "stop_reason='diverged')".format(r.lr)


def test_other_default_rule():
    r = make_result(suggest="valley")
    assert r.lr == r.suggestion("valley") and r.rule == "valley"
    with pytest.raises(ValueError, match="unknown suggestion rule"):
        make_result(suggest="nope")
    with pytest.raises(ValueError, match="unknown suggestion rule"):
        r.suggestion("nope")


def test_suggestions_and_range():
    r = make_result()
    s = r.suggestions()
    assert list(s) == ["auto", "steepest", "minimum", "valley", "slide"]
    assert all(v is not None for v in s.values())
    low, high = r.suggested_range
    assert low < high
    assert r.diagnosis is None


def test_no_suggestion_is_nan_none_and_explained():
    with pytest.warns(RuntimeWarning, match="no learning rate could be suggested: the loss "
                                            "never decreased"):
        r = LRFinderResult(np.geomspace(1e-4, 1, 30), np.linspace(1, 5, 30))
    assert r.lr is None
    with pytest.raises(NoSuggestion, match="no learning rate to use: the loss never decreased"):
        float(r)
    assert "{:.3g}".format(r) == "nan"
    assert r.suggestion() is None and r.suggested_range is None
    assert r.diagnosis == "the loss never decreased: lower start_lr"
    with pytest.raises(ValueError, match="no suggestion to build a schedule from: the loss"):
        r.schedule("one_cycle", total_steps=100)


def test_json_round_trip_is_exact(tmp_path):
    lrs, losses = valley_curve(noise=0.03)
    losses[-1] = np.nan
    r = LRFinderResult(lrs, losses, stop_reason="non_finite", smoothing=0.9, suggest="minimum",
                       start_lr=1e-7, end_lr=10.0, num_iter=100, seconds=1.5,
                       steps_per_epoch=20)
    path = tmp_path / "r.json"
    text = r.to_json(str(path))
    assert json.loads(text)["losses"][-1] is None
    back = LRFinderResult.from_json(str(path))
    np.testing.assert_array_equal(back.lrs, r.lrs)
    np.testing.assert_array_equal(back.losses, r.losses)
    assert back.to_dict() == r.to_dict()
    assert float(back) == float(r) and back.rule == "minimum" and back.smoothing == 0.9
    assert back.meta["steps_per_epoch"] == 20
    clone = pickle.loads(pickle.dumps(r))
    assert clone.to_dict() == r.to_dict() and float(clone) == float(r)
    with pytest.raises(ValueError, match="not a saved LRFinderResult"):
        LRFinderResult.from_dict({"x": 1})


def test_csv_and_pandas(tmp_path):
    r = make_result()
    path = tmp_path / "r.csv"
    r.to_csv(str(path))
    rows = path.read_text().strip().splitlines()
    assert rows[0] == "iteration,lr,loss,ema_loss_lagging,smoothed_loss_no_lag"
    assert len(rows) == 101
    first = rows[1].split(",")
    assert float(first[1]) == r.lrs[0] and float(first[2]) == r.losses[0]
    df = r.to_pandas()
    assert list(df.columns) == ["lr", "loss", "ema_loss_lagging", "smoothed_loss_no_lag"]
    assert len(df) == 100 and df.index.name == "iteration"
    np.testing.assert_array_equal(df["ema_loss_lagging"].values, r.smoothed_losses)
    np.testing.assert_array_equal(df["smoothed_loss_no_lag"].values, r.centered_losses)
    # the lagging average trails the no-lag curve on a falling loss
    assert df["ema_loss_lagging"].values[50] > df["smoothed_loss_no_lag"].values[50]


def test_plot_marks_suggestions_and_returns_axes(tmp_path):
    import matplotlib.pyplot as plt
    r = make_result()
    ax = r.plot(suggest=["auto", "valley"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "auto: {:.2e}".format(r.lr) in labels
    assert "valley: {:.2e}".format(r.suggestion("valley")) in labels
    assert ax.get_xscale() == "log"
    _, own = plt.subplots()
    assert r.plot(ax=own, suggest=False) is own
    path = tmp_path / "lr.png"
    r.plot(path=str(path), skip_start=5, skip_end=5)
    assert path.stat().st_size > 10000
    with pytest.raises(ValueError, match="skip_start=60 and skip_end=50 leave nothing"):
        r.plot(skip_start=60, skip_end=50)
    with pytest.raises(ValueError, match="skip_end must be an int >= 0"):
        r.plot(skip_end=-1)


def test_plot_of_a_result_without_suggestion():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = LRFinderResult(np.geomspace(1e-4, 1, 30), np.linspace(1, 5, 30))
    labels = [t.get_text() for t in r.plot().get_legend().get_texts()]
    assert "auto: none" in labels


def test_schedule_from_result():
    """result.schedule delegates to gluon_lr.recommend (tested in detail in test_recommend)."""
    from gluon_lr.recommend import configure
    from gluon_lr.schedules import SCHEDULES
    r = make_result(steps_per_epoch=10)
    for name in list(SCHEDULES) + ["auto"]:
        s = r.schedule(name, total_steps=100)
        assert s == configure(r, name, 100) and s.reason
        assert all(v <= r.lrs.max() for v in s.values(100))
    assert r.schedule("one_cycle", 100, pct_start=0.5).pct_start == 0.5
    assert r.schedule("triangular", 200).cycle_length == 80  # steps_per_epoch from the run
    with pytest.raises(ValueError, match="unknown schedule 'sgdr'"):
        r.schedule("sgdr", 100)
    with pytest.raises(ValueError, match="total_steps must be > 0"):
        r.schedule("one_cycle", 0)
