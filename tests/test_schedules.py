import math
import pickle

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import make_data, make_net, train_steps
from gluon_lr.schedules import (SCHEDULES, WSD, Anneal, Constant, CoolDown, Cosine, External,
                                Linear, Offset, OneCycle, Schedule, Sequential, Triangular,
                                WarmUp, apply_momentum, get_schedule, plot_schedule, to_gluoncv)

# One configured instance of every preset, for the shared rules.
PRESETS = {
    "constant": dict(lr=0.05),
    "triangular": dict(min_lr=0.01, max_lr=0.1, cycle_length=6),
    "triangular2": dict(min_lr=0.01, max_lr=0.1, cycle_length=6),
    "exp_range": dict(min_lr=0.01, max_lr=0.1, cycle_length=6, gamma=0.95),
    "cosine": dict(max_lr=0.1, min_lr=0.001, cycle_length=5, cycle_mul=2.0, cycle_decay=0.5),
    "warmup_cosine": dict(max_lr=0.1, total_steps=20, warmup_steps=4),
    "one_cycle": dict(max_lr=0.1, total_steps=20),
    "linear": dict(max_lr=0.1, total_steps=20, warmup_steps=3),
    "wsd": dict(max_lr=0.1, total_steps=20, warmup_steps=2, decay_fraction=0.3),
}
EXTRA = [WarmUp(Constant(0.1), 3), CoolDown(Cosine(0.1, 0.0, 10), 5, 4, final_lr=0.001),
         Offset(get_schedule("one_cycle", max_lr=0.1, total_steps=20), 7),
         Sequential([Constant(0.1), Anneal(0.1, 0.01, 3)], [2]),
         WSD(0.1, 20, warmup_steps=0, decay="linear", final_lr=0.001),
         Linear(0.1, 20, warmup_steps=0),
         # foreign schedulers inside ours (FactorScheduler mutates itself when called)
         WarmUp(mx.lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=0.1), 2),
         Sequential([Constant(0.05), mx.lr_scheduler.PolyScheduler(30, base_lr=0.1, pwr=1)],
                    [4])]


def all_schedules():
    return [pytest.param(get_schedule(n, **kw), id=n) for n, kw in PRESETS.items()] + \
        [pytest.param(s, id=type(s).__name__) for s in EXTRA]


def test_every_registered_name_is_covered():
    assert set(PRESETS) == set(SCHEDULES)


@pytest.mark.parametrize("s", all_schedules())
def test_shared_rules(s):
    assert isinstance(s, mx.lr_scheduler.LRScheduler) and isinstance(s, Schedule)
    forward = s.values(40)
    # pure: out of order, repeated, and after other calls, the same values
    backward = [s(t) for t in range(40, 0, -1)][::-1]
    assert forward == backward == s.values(40)
    # num_update starts at 1; 0 is treated as 1
    assert s(0) == s(1) == forward[0]
    # picklable (Trainer.save_states pickles the optimizer with its scheduler)
    clone = pickle.loads(pickle.dumps(s))
    assert clone.values(40) == forward and clone == s
    # bounded
    assert all(0.0 <= v <= s.max_value() + 1e-15 for v in forward)
    assert repr(s).startswith(type(s).__name__ + "(")


@pytest.mark.parametrize("s", all_schedules())
@pytest.mark.parametrize("optimizer", ["sgd", "nag", "adam", "rmsprop"])
def test_rates_are_what_the_optimizer_applies(s, optimizer):
    """Through a real Trainer: Adam/RMSProp's default learning_rate must not override it."""
    X, y = make_data(n=32)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), optimizer, {"lr_scheduler": s})
    applied = []
    real = trainer.optimizer._get_lrs

    def spy(indices):
        lrs = real(indices)
        applied.append(lrs[0])
        return lrs

    trainer.optimizer._get_lrs = spy
    seen = []
    for _ in range(12):
        train_steps(net, trainer, X, y, 1)
        seen.append(trainer.learning_rate)  # reads scheduler(num_update) after the step
    expected = s.values(12)
    assert seen == expected
    assert sorted(set(applied)) == sorted(set(expected))


def test_closed_forms():
    t = np.arange(1, 13)
    np.testing.assert_allclose(Anneal(1.0, 0.0, span=4).values(6), [1, .75, .5, .25, 0, 0])
    tri = Triangular(0.2, 1.0, cycle_length=8)
    it = t - 1
    closed = 0.2 + 0.8 * (1 - np.abs(it / 4.0 - 2 * np.floor(it / 8.0) - 1))
    np.testing.assert_allclose(tri.values(12), closed)
    cos = Cosine(1.0, 0.1, cycle_length=12)
    np.testing.assert_allclose(cos.values(12), 0.1 + 0.45 * (1 + np.cos(np.pi * it / 12)))
    wc = get_schedule("warmup_cosine", max_lr=1.0, total_steps=10, warmup_steps=2)
    np.testing.assert_allclose(wc.values(3), [0.0, 0.5, 1.0])


# Values printed by torch 2.13 for the same arguments (torch.optim.lr_scheduler), iteration
# t - 1 of PyTorch being num_update t here.
TORCH = {
    "one_cycle": (OneCycle(0.1, 10), [
        0.004, 0.052, 0.1, 0.0950484632, 0.0811745654, 0.0611262022, 0.0388741978,
        0.0188258346, 0.0049519368, 4e-07]),
    "one_cycle_three_phase": (OneCycle(0.5, 13, pct_start=0.25, three_phase=True,
                                       anneal="linear", div_factor=10, final_div_factor=100), [
        0.05, 0.25, 0.45, 0.35, 0.15, 0.0467, 0.0401, 0.0335, 0.0269, 0.0203, 0.0137, 0.0071,
        0.0005]),
    "one_cycle_fractional": (OneCycle(1.0, 7, pct_start=0.35), [
        0.04, 0.7893697914, 0.9643782626, 0.7399697791, 0.4056335797, 0.1145269545, 4e-06]),
    "triangular": (Triangular(0.1, 1.0, 6), [
        0.1, 0.4, 0.7, 1.0, 0.7, 0.4, 0.1, 0.4, 0.7, 1.0, 0.7, 0.4, 0.1, 0.4]),
    "triangular2": (Triangular(0.1, 1.0, 8, inc_fraction=0.25, mode="triangular2"), [
        0.1, 0.55, 1.0, 0.85, 0.7, 0.55, 0.4, 0.25, 0.1, 0.325, 0.55, 0.475, 0.4, 0.325, 0.25,
        0.175, 0.1, 0.2125, 0.325, 0.2875]),
    "exp_range": (Triangular(0.1, 1.0, 6, mode="exp_range", gamma=0.9), [
        0.1, 0.37, 0.586, 0.7561, 0.49366, 0.277147, 0.1, 0.24348907, 0.358280326,
        0.4486784401, 0.3092070641, 0.1941431788, 0.1, 0.1762559748]),
    "cosine_restarts_mul2": (Cosine(0.1, 0.01, 4, cycle_mul=2), [
        0.1, 0.0868198052, 0.055, 0.0231801948, 0.1, 0.096574579, 0.0868198052, 0.0722207545,
        0.055, 0.0377792455, 0.0231801948, 0.013425421, 0.1, 0.0991353376, 0.096574579,
        0.0924161326]),
    "cosine_restarts": (Cosine(0.1, 0.0, 5), [
        0.1, 0.0904508497, 0.0654508497, 0.0345491503, 0.0095491503, 0.1, 0.0904508497,
        0.0654508497, 0.0345491503, 0.0095491503, 0.1, 0.0904508497]),
}


@pytest.mark.parametrize("name", list(TORCH))
def test_matches_pytorch(name):
    s, expected = TORCH[name]
    np.testing.assert_allclose(s.values(len(expected)), expected, rtol=1e-8, atol=1e-10)


def test_one_cycle_momentum_matches_pytorch_and_applies():
    s = OneCycle(0.1, 10)
    expected = [0.95, 0.9, 0.85, 0.8549515566, 0.8688255099, 0.8888739533, 0.9111260467,
                0.9311744901, 0.9450484434, 0.95]
    np.testing.assert_allclose([s.momentum(t) for t in range(1, 11)], expected, atol=1e-10)
    assert s.values(12)[-1] == s(10)  # the final value is kept after total_steps
    X, y = make_data(n=32)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": s, "momentum": 0.9})
    got = []
    for _ in range(4):
        apply_momentum(trainer, s)
        got.append(trainer.optimizer.momentum)
        train_steps(net, trainer, X, y, 1)
    np.testing.assert_allclose(got, expected[:4])
    adam = gluon.Trainer(make_net().collect_params(), "adam", {"lr_scheduler": s})
    apply_momentum(adam, s)
    assert adam.optimizer.beta1 == 0.95
    plain = gluon.Trainer(make_net().collect_params(), "sgd", {"lr_scheduler": s})
    with pytest.raises(ValueError, match="created with momentum=0"):
        apply_momentum(plain, s)
    assert OneCycle(0.1, 10, cycle_momentum=False).momentum(3) == 0.95


@pytest.mark.parametrize("make,exc,match", [
    (lambda: Triangular(0.1, 0.1, 4), ValueError, "max_lr must be greater than min_lr=0.1"),
    (lambda: Triangular(0.1, 1.0, 0), ValueError, "cycle_length must be > 0, got 0"),
    (lambda: Triangular(0.1, 1.0, 1), ValueError, "cycle_length must be >= 2"),
    (lambda: Triangular(0.1, 1.0, 4, inc_fraction=1.0), ValueError, "inc_fraction must be in"),
    (lambda: Triangular(0.1, 1.0, 4, mode="tri"), ValueError, "mode must be one of"),
    (lambda: Triangular(0.1, 1.0, 4, mode="exp_range", gamma=1.5), ValueError, "gamma must be"),
    (lambda: Triangular(-0.1, 1.0, 4), ValueError, "min_lr must be > 0, got -0.1"),
    (lambda: Cosine(0.1, 0.2, 10), ValueError, "max_lr must be greater than min_lr=0.2"),
    (lambda: Cosine(0.1, 0.0, 10, cycle_mul=0.5), ValueError, "cycle_mul must be >= 1"),
    (lambda: Cosine(0.1, 0.0, 2.5), TypeError, "cycle_length must be an int"),
    (lambda: OneCycle(0.1, 100, pct_start=1.0), ValueError, r"pct_start must be in \(0, 1\)"),
    (lambda: OneCycle(0.1, 100, pct_start=0.0), ValueError, "pct_start must be > 0"),
    (lambda: OneCycle(0.1, 100, pct_start=0.6, three_phase=True), ValueError,
     r"pct_start must be in \(0, 0.5\)"),
    (lambda: OneCycle(0.1, 1), ValueError, "total_steps must be >= 2"),
    (lambda: OneCycle(0.1, 10, anneal="exp"), ValueError, "anneal must be one of"),
    (lambda: OneCycle("0.1", 10), TypeError, "max_lr must be a number"),
    (lambda: WarmUp(Constant(0.1), 0), ValueError, "length must be > 0, got 0"),
    (lambda: WarmUp(0.1, 3), TypeError, "schedule must be a gluon_lr Schedule"),
    (lambda: Offset(Constant(0.1), -1), ValueError, "steps must be an int >= 0, got -1"),
    (lambda: WarmUp(Constant(0.1), 3, mode="exp"), ValueError, "mode must be one of"),
    (lambda: CoolDown(Constant(0.1), 0, 3), ValueError, "start must be > 0"),
    (lambda: Sequential([Constant(0.1)], [3]), ValueError, "boundaries must have"),
    (lambda: Sequential([Constant(0.1), Constant(0.2), Constant(0.3)], [3, 3]), ValueError,
     "strictly increasing"),
    (lambda: Constant(0), ValueError, "lr must be > 0, got 0"),
    (lambda: get_schedule("sgdr"), ValueError, "unknown schedule 'sgdr'; choose one of"),
    (lambda: Linear(0.1, 10, warmup_steps=10), ValueError,
     "warmup_steps must be less than total_steps=10"),
    (lambda: Linear(0.1, 10, warmup_steps=-1), ValueError, "warmup_steps must be >= 0, got -1"),
    (lambda: Linear(0.1, 10, warmup_steps=1.5), TypeError, "warmup_steps must be an int"),
    (lambda: Linear(0.1, 10, final_lr=0.2), ValueError, "final_lr must be less than max_lr"),
    (lambda: Linear(0, 10), ValueError, "max_lr must be > 0, got 0"),
    (lambda: WSD(0.1, 10, decay="exp"), ValueError, "decay must be one of"),
    (lambda: WSD(0.1, 10, decay_fraction=1.5), ValueError, r"decay_fraction must be in \(0, 1\]"),
    (lambda: WSD(0.1, 10, warmup_steps=5, decay_fraction=0.6), ValueError,
     "warmup_steps=5 plus the 6 cool-down steps exceed total_steps=10"),
    (lambda: OneCycle(0.1, 10, max_momentum=1.5), ValueError,
     r"max_momentum must be in \(0, 1\), got 1.5"),
    (lambda: OneCycle(0.1, 10, base_momentum=1.0), ValueError,
     r"base_momentum must be in \(0, 1\), got 1.0"),
    (lambda: Sequential([0.1], []), TypeError,
     "schedules must be a gluon_lr Schedule or an mx.lr_scheduler.LRScheduler, got 0.1"),
    (lambda: External(Constant(0.1)), TypeError, "not already a gluon_lr Schedule"),
    (lambda: to_gluoncv(Constant(0.1), 0), ValueError, "niters must be > 0, got 0"),
    (lambda: get_schedule("warmup_cosine", max_lr=0.1, total_steps=5, warmup_steps=5),
     ValueError, "warmup_steps must be less than total_steps=5"),
    (lambda: get_schedule("one_cycle", max_lr=0.1), TypeError, "schedule 'one_cycle'"),
])
def test_bad_arguments_name_the_argument(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_sequential_children_count_from_their_own_start():
    s = Sequential([Anneal(1.0, 0.0, 2), Anneal(5.0, 3.0, 2)], [3])
    assert s.values(6) == [1.0, 0.5, 0.0, 5.0, 4.0, 3.0]
    warm = WarmUp(Constant(0.8), 4, start_lr=0.0)
    assert warm.values(6) == [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 0.8]
    assert WarmUp(Constant(0.8), 2, start_lr=0.1, mode="constant").values(3) == [0.1, 0.1, 0.8]
    cool = CoolDown(Constant(1.0), start=3, length=2, final_lr=0.0)
    assert cool.values(7) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0]


def test_base_lr_assignment_does_not_change_a_preset():
    s = OneCycle(0.1, 10)
    before = s.values(10)
    s.base_lr = 0.001  # what Adam's constructor does
    assert s.values(10) == before and s.base_lr == 0.1


def test_values_and_plot(tmp_path):
    s = OneCycle(0.1, 50)
    with pytest.raises(ValueError, match="num_updates must be > 0"):
        s.values(0)
    ax = plot_schedule(s, 50, label="one-cycle", path=str(tmp_path / "s.png"))
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), s.values(50))
    assert (tmp_path / "s.png").stat().st_size > 0
    import matplotlib.pyplot as plt
    _, ax2 = plt.subplots()
    assert plot_schedule(s, 10, ax=ax2) is ax2


def test_one_cycle_from_a_range_test_trains_a_trainer():
    from gluon_lr import Learner
    X, y = make_data(n=96)
    net = make_net()
    learner = Learner(net, (X, y), optimizer="sgd", optimizer_params={"momentum": 0.9},
                      batch_size=16)
    result = learner.find_lr(start_lr=1e-4, end_lr=10.0, num_iter=40, progress=False)
    assert result.lr is not None
    total = 30
    sched = result.schedule("one_cycle", total_steps=total)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"momentum": 0.9, "lr_scheduler": sched})
    rates = []
    for _ in range(total):
        apply_momentum(trainer, sched)
        train_steps(net, trainer, X, y, 1)
        rates.append(trainer.learning_rate)
    assert rates == sched.values(total)
    peak = int(np.argmax(rates))
    from gluon_lr.recommend import peak as peak_of
    edge = peak_of(result, "one_cycle")
    assert peak == 8 and rates[peak] == pytest.approx(edge)  # 30 % of 30 steps, 0-based
    assert rates[0] == pytest.approx(edge / 25) and rates[-1] < edge / 1e4
    assert np.isfinite(net[0].weight.data().asnumpy()).all()


def test_linear_and_wsd_closed_forms():
    T, w, p = 20, 3, 0.4
    t = np.arange(1, T + 3)
    lin = np.where(t <= w, p * (t - 1) / w, p * (1 - (t - w - 1) / (T - w)))
    np.testing.assert_allclose(Linear(p, T, warmup_steps=w).values(T + 2),
                               np.maximum(lin, 0.0), atol=1e-15)
    assert Linear(p, T, warmup_steps=w)(T + 1) == 0.0  # zero right after the budget
    assert Linear(p, 100).warmup_steps == 5  # default warm-up: 5 % of the steps
    d = 6  # round(0.3 * 20)
    k = t - (T - d)
    wsd = np.where(t <= w, p * (t - 1) / w,
                   np.where(t <= T - d, p, p * (1 - np.sqrt(np.clip((k - 1) / d, 0, 1)))))
    np.testing.assert_allclose(WSD(p, T, warmup_steps=w, decay_fraction=0.3).values(T + 2), wsd,
                               atol=1e-15)
    lin_cool = WSD(p, T, warmup_steps=w, decay_fraction=0.3, decay="linear").values(T)
    np.testing.assert_allclose(lin_cool[-d:], p * (1 - np.arange(d) / d))
    assert WSD(p, 100).decay_steps == 20 and WSD(p, 100).warmup_steps == 5
    # no stable phase left: warm-up straight into the cool-down
    np.testing.assert_allclose(WSD(1.0, 4, warmup_steps=2, decay_fraction=0.5,
                                   decay="linear").values(5), [0, 0.5, 1, 0.5, 0])


def test_linear_matches_mxnet_poly_scheduler_one_step_late():
    T = 30
    poly = mx.lr_scheduler.PolyScheduler(max_update=T, base_lr=0.2, pwr=1)
    ours = Linear(0.2, T, warmup_steps=0)
    np.testing.assert_allclose([ours(t + 1) for t in range(1, T + 1)],
                               [poly(t) for t in range(1, T + 1)], atol=1e-12)


def test_triangular2_does_not_overflow_after_1024_cycles():
    s = Triangular(0.01, 0.1, cycle_length=2, mode="triangular2")
    assert s(2049) == pytest.approx(0.01) and s(10 ** 6) == pytest.approx(0.01)
    X, y = make_data(n=32)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": s})
    trainer.optimizer.num_update = 2050  # as after 2,050 steps
    train_steps(net, trainer, X, y, 1)  # used to raise OverflowError inside trainer.step


def test_one_cycle_with_a_warmup_shorter_than_one_step_matches_pytorch():
    # torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=2): 0.0811745654, 4e-07
    np.testing.assert_allclose(OneCycle(0.1, 2).values(2), [0.0811745654, 4e-07], rtol=1e-8)
    np.testing.assert_allclose(OneCycle(0.1, 2).momentum(1), 0.8688255099, rtol=1e-8)
    # total_steps=3 (0.9 steps of warm-up), from OneCycleLR's phase formula
    np.testing.assert_allclose(OneCycle(0.1, 3).values(3),
                               [0.0994415435, 0.0462637103, 4e-07], rtol=1e-8)


def test_offset_accepts_numpy_integers():
    s = Offset(Linear(0.1, 10, warmup_steps=0), np.int64(5))
    assert s.steps == 5 and type(s.steps) is int
    assert s(6) == 0.1 and s(7) == pytest.approx(0.09)
    pickle.loads(pickle.dumps(s))


def test_foreign_schedulers_inside_ours():
    factor = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    seq = Sequential([Constant(2.0), factor], [2])
    # Factor halves the rate every 2 updates after the first 2; its steps 1-5 follow step 2
    assert seq.values(7) == [2.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    assert [seq(t) for t in (7, 3, 6)] == [0.25, 1.0, 0.5]  # any order, any number of times
    assert factor.base_lr == 1.0  # the user's scheduler is left alone
    from gluoncv.utils import LRScheduler as GCV
    gcv = GCV("cosine", base_lr=0.1, target_lr=0.0, niters=10)
    warm = WarmUp(gcv, 3)
    assert warm.values(4)[:3] == pytest.approx([0.0, gcv(1) / 3, 2 * gcv(1) / 3])
    assert warm(4) == pytest.approx(gcv(1))
    cool = CoolDown(mx.lr_scheduler.CosineScheduler(max_update=20, base_lr=0.1), 5, 5)
    assert cool(6) == pytest.approx(mx.lr_scheduler.CosineScheduler(20, base_lr=0.1)(6))
    assert cool(11) == 0.0


def test_our_presets_inside_gluoncv_lr_sequential():
    from gluoncv.utils import LRScheduler as GCV
    from gluoncv.utils import LRSequential
    ours = get_schedule("wsd", max_lr=0.1, total_steps=10, warmup_steps=0, decay_fraction=0.5,
                        decay="linear")
    seq = LRSequential([GCV("linear", base_lr=0.0, target_lr=0.1, niters=4),
                        to_gluoncv(ours, 10)])
    # LRSequential never reaches its last step (it clamps num_update to count - 1)
    assert [seq(t) for t in range(5, 14)] == pytest.approx(ours.values(9))
    # through a Trainer, with pickling (save_states)
    X, y = make_data(n=32)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"lr_scheduler": seq})
    for _ in range(6):
        train_steps(net, trainer, X, y, 1)
    assert trainer.learning_rate == pytest.approx(ours(2))
    clone = pickle.loads(pickle.dumps(seq))
    assert clone(9) == pytest.approx(ours(5))
