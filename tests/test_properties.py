"""Property tests (hypothesis): the rules on arbitrary curves, from_json on arbitrary text."""
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gluon_lr import LRFinderResult
from gluon_lr import suggest as S

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

losses_strategy = st.lists(
    st.one_of(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
              st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e300])),
    min_size=0, max_size=120)


def old_valley(lrs, losses):
    """fast.ai's O(n^2) valley loop, as gluon_lr had it before (the reference)."""
    x, y = S._peer_curve(lrs, losses)
    n = y.size
    lds = [1] * n
    max_start, max_end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if y[i] < y[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    if max_end == 0:
        raise S.NoSuggestion("the loss never decreased: lower start_lr")
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(x[min(max(idx, 0), n - 1)])


def answer(rule, lrs, losses):
    try:
        return rule(lrs, losses)
    except S.NoSuggestion as err:
        return ("none", str(err))


@SETTINGS
@given(losses_strategy)
def test_every_rule_answers_inside_the_range_or_explains(losses):
    lrs = np.geomspace(1e-6, 10.0, max(len(losses), 1))[:len(losses)]
    for name, rule in S.RULES.items():
        try:
            lr = rule(lrs, losses)
        except S.NoSuggestion as err:
            assert str(err), name
            continue
        assert math.isfinite(lr) and lrs[0] <= lr <= lrs[-1], (name, lr)


@SETTINGS
@given(losses_strategy)
def test_valley_equals_the_quadratic_reference(losses):
    lrs = np.geomspace(1e-6, 10.0, max(len(losses), 1))[:len(losses)]
    assert answer(S.valley, lrs, losses) == answer(old_valley, lrs, losses)


@pytest.mark.parametrize("seed", range(20))
def test_valley_equals_the_reference_on_random_walks(seed):
    rs = np.random.RandomState(seed)
    n = rs.randint(8, 400)
    lrs = np.geomspace(1e-7, 10.0, n)
    curves = [rs.randn(n).cumsum(), rs.randint(0, 4, n).astype(float),
              np.linspace(3, 1, n) + 0.1 * rs.rand(n)]
    for losses in curves:
        assert answer(S.valley, lrs, losses) == answer(old_valley, lrs, losses)


def test_valley_is_fast_on_long_curves():
    import time
    n = 20000
    lrs = np.geomspace(1e-7, 10.0, n)
    losses = np.sin(np.linspace(0, 40, n)) + np.linspace(3, 0, n)
    t0 = time.perf_counter()
    S.valley(lrs, losses)
    assert time.perf_counter() - t0 < 1.0  # the O(n^2) loop took minutes here


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["lrs", "losses", "smoothing", "suggest", "stop_reason", "meta", "x"]),
        children, max_size=5),
    max_leaves=20)


@SETTINGS
@given(json_values)
def test_from_json_on_arbitrary_json_is_a_result_or_a_value_error(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("j") / "r.json"
    path.write_text(json.dumps(doc))
    try:
        r = LRFinderResult.from_json(str(path))
    except ValueError:
        return
    assert isinstance(r, LRFinderResult)
    back = LRFinderResult.from_dict(json.loads(r.to_json()))
    np.testing.assert_array_equal(back.lrs, r.lrs)


@SETTINGS
@given(st.binary(max_size=200))
def test_from_json_on_arbitrary_bytes_is_a_result_or_a_value_error(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("b") / "r.json"
    path.write_bytes(blob)
    try:
        LRFinderResult.from_json(str(path))
    except ValueError:
        pass


@SETTINGS
@given(st.lists(st.one_of(st.floats(), st.none()), min_size=0, max_size=40),
       st.lists(st.one_of(st.floats(), st.none()), min_size=0, max_size=40))
def test_to_json_round_trips_any_curve(lrs, losses):
    n = min(len(lrs), len(losses))
    lrs = [math.nan if v is None else v for v in lrs[:n]]
    losses = [math.nan if v is None else v for v in losses[:n]]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = LRFinderResult(lrs, losses)
    back = LRFinderResult.from_dict(json.loads(r.to_json()))
    same = lambda a, b: np.array_equal(np.where(np.isfinite(a), a, np.nan),  # noqa: E731
                                       np.where(np.isfinite(b), b, np.nan), equal_nan=True)
    assert same(back.lrs, r.lrs) and same(back.losses, r.losses)
