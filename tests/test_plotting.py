"""What the range-test plot shows, and that odd results draw or fail with a clear ValueError."""
import numpy as np
import pytest

from gluon_lr import LRFinderResult
from gluon_lr.plotting import informative_ylim, plot_lr_find
from test_suggest import valley_curve


def make_result(**kw):
    lrs, losses = valley_curve(noise=0.03)
    return LRFinderResult(lrs, losses, stop_reason="diverged", num_iter=100, **kw)


def labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_default_marks_the_rule_and_shades_the_suggested_range():
    r = make_result()
    ax = r.plot()
    text = labels(ax)
    assert "auto: {:.2e}".format(r.lr) in text
    assert not any(t.startswith(("steepest", "minimum", "valley", "slide")) for t in text)
    low, high = r.suggested_range
    assert "suggested range {:.2e}-{:.2e}".format(low, high) in text
    spans = [p for p in ax.patches if p.get_label().startswith("suggested range")]
    assert len(spans) == 1
    span = spans[0]
    assert np.isclose(span.get_x(), low) and np.isclose(span.get_x() + span.get_width(), high)


def test_other_rules_on_request():
    r = make_result()
    text = labels(r.plot(suggest="all", show_range=False))
    for rule in ("auto", "steepest", "minimum", "valley", "slide"):
        assert any(t.startswith(rule + ":") for t in text), rule
    assert not any(t.startswith("suggested range") for t in text)
    with pytest.raises(ValueError, match="unknown suggestion rule"):
        r.plot(suggest="fastest")


def test_legend_sits_outside_the_axes_by_default():
    r = make_result()
    ax = r.plot(suggest="all")
    fig = ax.figure
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    axes_box = ax.get_window_extent()
    assert legend_box.x0 >= axes_box.x1  # right of the axes: it cannot cover the curve
    inside = r.plot(legend="upper right")
    inside.figure.canvas.draw()
    assert inside.get_legend().get_window_extent().x1 <= inside.get_window_extent().x1 + 1
    assert make_result().plot(legend=None).get_legend() is None
    with pytest.raises(TypeError, match="legend must be a string or None, got 3"):
        r.plot(legend=3)


def test_y_label_says_validation_loss_for_val_data():
    assert make_result().plot().get_ylabel() == "training loss"
    assert make_result(val_batches=4).plot().get_ylabel() == "validation loss"


def test_y_limits_ignore_the_blow_up_after_the_minimum():
    lrs = np.geomspace(1e-6, 10, 100)
    losses = np.r_[np.linspace(0.9, 0.2, 70), np.geomspace(0.3, 300, 30)]
    r = LRFinderResult(lrs, losses, stop_reason="diverged")
    ax = r.plot()
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "linear"
    assert high < 1.2 and low < 0.2  # the descent fills the axes; the tail runs off the top


def test_y_axis_turns_log_when_the_descent_spans_decades():
    lrs = np.geomspace(1e-6, 10, 100)
    losses = np.r_[np.full(20, 250.0), np.geomspace(250, 0.5, 50), np.full(30, 0.5)]
    ax = LRFinderResult(lrs, losses).plot()
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    assert low < 0.5 and high > 250


def test_informative_ylim_without_finite_values():
    nan = np.full(5, np.nan)
    assert informative_ylim(nan, nan) is None
    assert informative_ylim(np.ones(5), np.ones(5))[:2] == pytest.approx((0.992, 1.025))


def test_empty_result_is_a_clear_error():
    with pytest.warns(RuntimeWarning, match="no learning rate could be suggested"):
        r = LRFinderResult([], [])
    with pytest.raises(ValueError, match="no recorded points: there is nothing to plot"):
        r.plot()


def test_losses_near_the_float_maximum(tmp_path):
    lrs = np.geomspace(1e-5, 1, 200)
    with pytest.warns(RuntimeWarning):
        half = LRFinderResult(lrs, np.r_[np.linspace(2, 1, 100), np.full(100, 1.7e308)])
    half.plot(path=str(tmp_path / "half.png"))  # the enormous tail is left out
    assert (tmp_path / "half.png").stat().st_size > 0
    with pytest.warns(RuntimeWarning):
        huge = LRFinderResult(lrs, np.full(200, 1.7e308))
    with pytest.raises(ValueError, match="no loss in the plotted range is finite and below"):
        huge.plot()


@pytest.mark.parametrize("smoothing", [1.0, 2.0, -0.5])
def test_corrupt_smoothing_is_a_clear_error(smoothing):
    r = LRFinderResult(*valley_curve(noise=0.03))
    r.smoothing = smoothing  # as a hand-edited file could hold
    with pytest.raises(ValueError, match=r"result.smoothing must be in \[0, 1\), got"):
        r.plot()


def test_stop_reason_is_drawn_literally_not_as_mathtext(tmp_path):
    lrs, losses = valley_curve(noise=0.03)
    r = LRFinderResult(lrs, losses, stop_reason=r"$\frac{1}$")
    ax = plot_lr_find(r, path=str(tmp_path / "m.png"))  # bad mathtext would raise on draw
    assert ax.get_title().endswith(r"\$\frac{1}\$")


def test_compare_plot_shows_what_ranks_the_table():
    from gluon_lr.compare import ScheduleComparison
    history = {  # a lower loss but a lower accuracy: the table ranks by accuracy
        "constant": [{"steps": 4, "val_loss": 0.50, "val_accuracy": 90.0},
                     {"steps": 8, "val_loss": 0.40, "val_accuracy": 93.0}],
        "one_cycle": [{"steps": 4, "val_loss": 0.45, "val_accuracy": 88.0},
                      {"steps": 8, "val_loss": 0.35, "val_accuracy": 91.0}],
        "triangular": [{"steps": 4, "val_loss": 0.90, "val_accuracy": 70.0}],
    }
    cmp = ScheduleComparison(history, "constant", None, 8, 20, 1.0, "accuracy")
    assert [r["name"] for r in cmp.table()] == ["constant", "one_cycle", "triangular"]
    ax = cmp.plot()
    assert ax.get_ylabel().startswith("validation accuracy")
    assert labels(ax) == ["1. constant (best)", "2. one_cycle", "3. triangular"]
    assert list(ax.get_lines()[0].get_ydata()) == [90.0, 93.0]
    by_loss = ScheduleComparison(history, "one_cycle", None, 8, 20, 1.0, "loss")
    ax = by_loss.plot()
    assert ax.get_ylabel().startswith("validation loss")
    assert labels(ax)[0] == "1. one_cycle (best)"


def test_a_curve_without_suggestion_says_why_on_the_plot():
    lrs = np.geomspace(1e-7, 1e-5, 60)
    losses = 2.3 + 0.05 * np.random.RandomState(0).randn(60)
    with pytest.warns(RuntimeWarning, match="no learning rate could be suggested"):
        r = LRFinderResult(lrs, losses)
    ax = r.plot()
    notes = [t.get_text() for t in ax.texts]
    assert len(notes) == 1 and notes[0].startswith("no suggestion: ")
    assert " ".join(notes[0].split()) == "no suggestion: " + r.diagnosis
    low, high = ax.get_ylim()
    assert high >= np.percentile(losses, 98) and low <= np.percentile(losses, 2)  # the noise
    assert len(make_result().plot().texts) == 0
