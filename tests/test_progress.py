"""The progress bar: tqdm.auto (a widget in Jupyter), off in logs, ends where the run ended."""
import sys
import types

from conftest import make_net, quick
from gluon_lr import Learner
from gluon_lr.finder import Sweep, _want_progress, in_notebook


def test_no_bar_when_stderr_is_not_a_terminal(data, capsys):
    quick(Learner(make_net(), data, batch_size=16), progress=None, num_iter=30, end_lr=10.0)
    assert capsys.readouterr().err == ""


def test_jupyter_gets_the_tqdm_auto_bar(monkeypatch):
    class ZMQInteractiveShell:
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() and _want_progress(None)
    made = []

    class FakeBar:
        def __init__(self, **kw):
            made.append(self)
            self.kw, self.n, self.desc = kw, 0, kw.get("desc")

        def set_postfix(self, **kw):
            pass

        def update(self, k):
            self.n += k

        def set_description(self, desc, refresh=True):
            self.desc = desc

        def refresh(self):
            pass

        def close(self):
            self.closed = True

    import tqdm.auto
    monkeypatch.setattr(tqdm.auto, "tqdm", FakeBar)
    sweep = Sweep(1e-4, 1.0, 10, stopping=lambda i, loss: i >= 3, progress=None)
    sweep.start()
    for i in range(10):
        if sweep.record(i, 1.0):
            break
    sweep.flush()
    sweep.close()
    bar, = made
    assert bar.kw["total"] == 10 and bar.n == 4 and bar.closed
    assert bar.desc == "find_lr stopped: stopped"


def test_not_a_notebook_without_a_kernel(monkeypatch):
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: None  # plain python, or a terminal IPython
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not in_notebook()


def test_the_bar_ends_at_the_stop_point_with_the_reason(data, capsys):
    from gluon_lr import LRFinderStoppingCriteria
    learner = Learner(make_net(), data, batch_size=16)
    r = quick(learner, progress=True, num_iter=40, start_lr=1.0, end_lr=1e4,
              stopping=LRFinderStoppingCriteria(min_iter=2))
    assert r.stop_reason in ("diverged", "non_finite") and len(r.lrs) < 40
    err = capsys.readouterr().err
    assert "find_lr stopped: {}".format(r.stop_reason) in err
    assert "{}/40".format(len(r.lrs)) in err


def test_each_of_the_default_sweeps_has_a_numbered_bar(data, capsys):
    import warnings
    learner = Learner(make_net(), data, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 12 steps may support no suggestion
        learner.find_lr(progress=True, num_iter=12, repeats=3, stopping=lambda i, loss: False)
    err = capsys.readouterr().err
    for k in (1, 2, 3):
        assert "find_lr {}/3".format(k) in err


def test_a_stopped_sweep_keeps_its_number(data, capsys):
    import warnings
    from gluon_lr import LRFinderStoppingCriteria
    learner = Learner(make_net(), data, batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        learner.find_lr(progress=True, num_iter=40, start_lr=1.0, end_lr=1e4, repeats=2,
                        stopping=LRFinderStoppingCriteria(min_iter=2))
    err = capsys.readouterr().err
    assert "find_lr 1/2 stopped:" in err and "find_lr 2/2 stopped:" in err
