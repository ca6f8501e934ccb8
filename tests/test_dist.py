"""The pieces of failing together, without a job: rounds on a fake kvstore, bounded waits,
detached restore, argument checks (the real jobs are in test_dist_failures.py)."""
import time

import mxnet as mx
import numpy as np
import pytest

from conftest import make_data, make_net
from gluon_lr import Learner, dist
from gluon_lr.launch import launch


class FakeKV:
    """A dist kvstore of ``size`` workers in which the other workers push ``others``."""
    type = "dist_sync"

    def __init__(self, rank=0, size=4):
        self.rank, self.num_workers = rank, size
        self.others = None
        self.pushes = 0

    def init(self, keys, values):
        pass

    def pushpull(self, key, value, out):
        self.pushes += 1
        total = value.asnumpy() + (self.others if self.others is not None else 0)
        out[:] = mx.nd.array(total)


@pytest.fixture
def no_exit_hooks(monkeypatch):
    """A broken job installs os._exit hooks: never in the test process."""
    monkeypatch.setattr(dist, "_install_exit_hooks", lambda: None)
    monkeypatch.setattr(dist, "_disable_exit_barrier", lambda kv: None)


def others(size=4, loss=0.0, codes=None, steps=None, dirty=0):
    vec = np.zeros(2 + 2 * size, dtype=np.float32)
    vec[0], vec[1] = loss, dirty
    for rank, code in (codes or {}).items():
        vec[2 + rank] = code
    for rank, n in (steps or {}).items():
        vec[2 + size + rank] = n
    return vec


def test_a_round_averages_the_loss_and_agrees_on_the_smallest_epoch():
    kv = FakeKV()
    sync = dist.coordinator(kv, timeout=5.0)
    assert dist.coordinator(kv) is sync  # one per kvstore
    kv.others = others(loss=6.0, steps={1: 7, 2: 9, 3: 12})
    mean, failures = sync.exchange(mx.nd.array([2.0]), steps_per_epoch=10)
    assert mean == pytest.approx(2.0) and failures == []
    assert sync.agreed_steps == 7


def test_a_round_names_the_failing_worker_and_step():
    sync = dist.Coordinator(FakeKV(), timeout=5.0)
    sync.exchange()
    sync.kv.others = others(codes={2: dist.ERROR})
    _, failures = sync.exchange(mx.nd.array([1.0]), step=9)
    assert failures == [(2, dist.ERROR)]
    with pytest.raises(dist.WorkerFailed, match="worker 2 of 4 raised an error during the range "
                                                "test at step 9") as err:
        sync.check(failures, 9, "during the range test")
    assert (err.value.rank, err.value.step, err.value.kind) == (2, 9, "error")
    assert not sync.broken  # a failure reported at a round leaves nothing pending


def test_a_failure_inside_a_collective_call_breaks_the_job(no_exit_hooks):
    sync = dist.Coordinator(FakeKV(), timeout=5.0)
    sync.kv.others = others(codes={3: dist.ERROR}, dirty=1)
    sync.exchange()
    assert sync.broken  # restore detached, exit without waiting


def test_own_interrupt_comes_back_as_keyboard_interrupt_once():
    sync = dist.Coordinator(FakeKV(rank=1), timeout=5.0)
    _, failures = sync.exchange(code=dist.INTERRUPTED)
    assert failures == [(1, dist.INTERRUPTED)]
    with pytest.raises(KeyboardInterrupt) as err:
        sync.check(failures, 3, "during the range test")
    pushes = sync.kv.pushes
    sync.report(err.value, 3)  # the others know already: no second round
    assert sync.kv.pushes == pushes


def test_first_ctrl_c_is_deferred_to_the_next_round_the_second_is_not():
    import os
    import signal
    sync = dist.Coordinator(FakeKV(), timeout=5.0)
    # A test runner started in the background by a non-interactive shell inherits an ignored
    # SIGINT (as CI may); the deferral applies to Python's default handler, so install it.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with sync.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            assert sync.interrupted
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert not sync.interrupted
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_wait_that_never_ends_times_out(no_exit_hooks):
    start = time.monotonic()
    assert dist._wait(lambda: time.sleep(3), 0.2) == (False, None)
    assert time.monotonic() - start < 1.5
    with pytest.raises(KeyError):
        dist._wait(lambda: {}["x"], 1.0)
    sync = dist.Coordinator(FakeKV(), timeout=0.2)
    with pytest.raises(dist.WorkerTimeout, match=r"worker 0 of 4: no word from the other "
                                                 r"workers for 0 s while waiting for x at "
                                                 r"step 4 .*GLUON_LR_DIST_TIMEOUT") as err:
        sync.bounded(lambda: time.sleep(3), "x", step=4)
    assert err.value.kind == "timeout" and err.value.rank is None and sync.broken
    assert not sync.can_report


def test_default_timeout_grows_with_the_slowest_step():
    sync = dist.Coordinator(FakeKV(), timeout=None)
    assert sync.current_timeout() == dist.MIN_TIMEOUT
    sync._slowest = 10.0
    assert sync.current_timeout() == 10.0 * dist.STEP_MULTIPLE


def test_timeout_argument_and_environment_are_checked(monkeypatch):
    monkeypatch.delenv(dist.TIMEOUT_ENV, raising=False)
    assert dist.check_timeout(None) is None
    assert dist.check_timeout(2) == 2.0
    monkeypatch.setenv(dist.TIMEOUT_ENV, "7.5")
    assert dist.check_timeout(None) == 7.5
    monkeypatch.setenv(dist.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match="GLUON_LR_DIST_TIMEOUT must be a number of seconds > "
                                         "0, got 'soon'"):
        dist.check_timeout(None)
    monkeypatch.delenv(dist.TIMEOUT_ENV)
    with pytest.raises(ValueError, match="dist_timeout must be a finite number of seconds > 0, "
                                         "got 0"):
        Learner(make_net(), make_data(), dist_timeout=0)
    with pytest.raises(TypeError, match="dist_timeout must be a number of seconds or None, got "
                                        "'5'"):
        Learner(make_net(), make_data(), dist_timeout="5")


def test_detached_restore_gives_fresh_arrays_with_the_saved_values():
    X, y = make_data(n=64)
    batches = [(mx.nd.array(X[i:i + 16]), mx.nd.array(y[i:i + 16])) for i in range(0, 64, 16)]
    results = []
    for detach in (False, True):
        mx.random.seed(0)
        net = make_net(batchnorm=True)
        learner = Learner(net, (X, y), optimizer="sgd", optimizer_params={"momentum": 0.9},
                          batch_size=16)
        learner.materialize(mx.nd.array(X[:2]), None)
        before = {p.name: p.data().asnumpy() for p in learner.params}
        old = {p.name: p.data() for p in learner.params}
        state = learner.snapshot()
        for data, label in batches[:3]:
            learner.train_step(data, label)
        state.restore(detach=detach)
        state.discard()
        for p in learner.params:
            np.testing.assert_array_equal(p.data().asnumpy(), before[p.name])
            assert (p.data() is old[p.name]) is not detach
        for data, label in batches[1:]:  # trains on, as after a normal restore
            learner.train_step(data, label)
        results.append([p.data().asnumpy() for p in learner.params])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_launch_checks_its_time_limits():
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0, got 0"):
        launch(["true"], timeout=0)
    with pytest.raises(ValueError, match="grace must be a number of seconds > 0, got -1"):
        launch(["true"], grace=-1)


def test_cli_launch_rejects_a_negative_time_limit(capsys):
    from gluon_lr.cli import main
    assert main(["launch", "--timeout", "-1", "--", "true"]) == 2
    assert "expected a finite number >= 0, got '-1'" in capsys.readouterr().err
