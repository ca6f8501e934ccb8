"""Saved results that are malformed are ValueErrors; any curve can be saved (item 10)."""
import json
import math
import warnings

import numpy as np
import pytest

from gluon_lr import LRFinderResult
from test_suggest import valley_curve


def write(tmp_path, text):
    path = tmp_path / "r.json"
    path.write_text(text)
    return str(path)


def test_a_400_digit_integer_is_a_value_error(tmp_path):
    doc = {"lrs": [1e-3, 10 ** 400], "losses": [1.0, 2.0]}
    with pytest.raises(ValueError, match=r"lrs\[1\] holds a number beyond the float range"):
        LRFinderResult.from_json(write(tmp_path, json.dumps(doc)))


def test_deeply_nested_json_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="nested too deeply"):
        LRFinderResult.from_json(write(tmp_path, "[" * 100000 + "]" * 100000))


@pytest.mark.parametrize("doc, match", [
    ({"lrs": "abc", "losses": []}, "lrs must be a list of numbers"),
    ({"lrs": [1, "a"], "losses": [1, 2]}, r"lrs\[1\] must be a number or null"),
    ({"lrs": [1, 2], "losses": [True, 2]}, r"losses\[0\] must be a number or null"),
    ({"lrs": [1], "losses": [1], "smoothing": 1.0}, r"smoothing must be a number in \[0, 1\)"),
    ({"lrs": [1], "losses": [1], "smoothing": "x"}, "smoothing must be a number"),
    ({"lrs": [1], "losses": [1], "suggest": 3}, "suggest must be a string"),
    ({"lrs": [1], "losses": [1], "meta": []}, "meta must be an object"),
    ({"lrs": [1], "losses": [1], "meta": {"lrs": 1}}, "meta may not hold 'lrs'"),
    ({"lrs": [[1, 2]], "losses": [[1, 2]]}, r"lrs\[0\] must be a number"),
    ([1, 2], "a dict with 'lrs' and 'losses'"),
])
def test_malformed_fields_are_value_errors(tmp_path, doc, match):
    with pytest.raises(ValueError, match=match):
        LRFinderResult.from_json(write(tmp_path, json.dumps(doc)))


def test_non_finite_rates_and_meta_are_saved_as_null(tmp_path):
    lrs, losses = valley_curve(noise=0.03)
    lrs = lrs.copy()
    lrs[-1] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = LRFinderResult(lrs, losses, seconds=float("nan"), batch=np.int64(16))
    doc = json.loads(r.to_json())  # used to raise on the inf rate
    assert doc["lrs"][-1] is None and doc["meta"] == {"seconds": None, "batch": 16}
    back = LRFinderResult.from_dict(doc)
    assert math.isnan(back.lrs[-1]) and back.lr == r.lr
