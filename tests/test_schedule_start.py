"""result.schedule(..., start=N) for a trainer that has already trained (MXNet schedulers read
the optimizer's num_update, which does not restart)."""
import warnings

import pytest
from mxnet import gluon

from conftest import make_data, make_net, train_steps
from gluon_lr import Learner
from gluon_lr.schedules import Offset


def _result(steps):
    X, y = make_data(n=192)
    net = make_net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05,
                                                          "momentum": 0.9})
    train_steps(net, trainer, X, y, steps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = Learner(net, (X, y), trainer=trainer, batch_size=16).find_lr(
            num_iter=60, repeats=1, progress=False, extend=0)
    assert result.lr is not None, result.diagnosis
    return result, trainer


def test_a_resumed_run_records_the_trainers_step_and_schedule_warns_without_start():
    result, trainer = _result(3)
    assert result.meta["trainer_num_update"] == 3 == trainer.optimizer.num_update
    with pytest.warns(UserWarning, match="num_update=3.*start=3"):
        plain = result.schedule("one_cycle", 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shifted = result.schedule("one_cycle", 100, start=3)
        fresh = result.schedule("one_cycle", 100, start=0)  # for a new trainer: no warning
    assert isinstance(shifted, Offset) and not isinstance(fresh, Offset)
    assert shifted.name == "one_cycle" and "after the trainer's step 3" in shifted.reason
    for t in (1, 10, 50, 100):
        assert shifted(t + 3) == pytest.approx(plain(t))
    # the next step of the trainer (its 4th) gets the schedule's first value
    trainer.optimizer.lr_scheduler = shifted
    assert shifted(trainer.optimizer.num_update + 1) == pytest.approx(plain(1))
    again = type(result).from_dict(result.to_dict())
    assert again.meta["trainer_num_update"] == 3


def test_a_fresh_trainer_gets_no_warning():
    X, y = make_data(n=192)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = Learner(make_net(), (X, y), batch_size=16).find_lr(
            num_iter=60, repeats=1, progress=False, extend=0)
    assert result.meta["trainer_num_update"] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result.schedule("cosine", 100)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError),
                                        ("3", TypeError)])
def test_a_bad_start_is_refused_by_name(bad, error):
    result, _ = _result(2)
    with pytest.raises(error, match="start must be"):
        result.schedule("cosine", 100, start=bad)
