"""``gluon-lr`` on untrusted files and bad arguments: exit 2, one line, no traceback, no pickle."""
import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import make_data
from gluon_lr.cli import main

FAST = ["--num-iter", "12", "--start-lr", "1e-4", "--end-lr", "1", "--batch-size", "16",
        "--quiet"]


def one_line_error(capsys, code, message=None):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("gluon-lr: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err
    if message is not None:
        assert message in err, err
    return err


def good_npz_bytes():
    X, y = make_data(n=48)
    buf = io.BytesIO()
    np.savez(buf, x=X, y=y)
    return buf.getvalue()


class Boom:
    """Unpickling this would create a marker file: it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def find(path, tmp_path, *extra):
    return main(["find", "--data", str(path), "--out", str(tmp_path / "out")] + FAST
                + list(extra))


def test_object_array_npz_is_refused_and_never_unpickled(tmp_path, capsys):
    marker = tmp_path / "unpickled"
    path = tmp_path / "obj.npz"
    X, _ = make_data(n=8)
    y = np.empty(8, dtype=object)
    y[:] = [Boom(str(marker))] * 8
    np.savez(path, x=X, y=y)
    one_line_error(capsys, find(path, tmp_path), "array y holds Python objects")
    assert not marker.exists()


def test_pickle_renamed_npz_is_refused_and_never_unpickled(tmp_path, capsys):
    marker = tmp_path / "unpickled"
    path = tmp_path / "p.npz"
    path.write_bytes(pickle.dumps({"x": Boom(str(marker)), "y": [1]}))
    one_line_error(capsys, find(path, tmp_path), "looks like a Python pickle")
    assert not marker.exists()


def test_npy_renamed_npz(tmp_path, capsys):
    path = tmp_path / "a.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((4, 3)))
    one_line_error(capsys, find(path, tmp_path), "is a single .npy array, not a .npz")


@pytest.mark.parametrize("cut", [10, 100, 400, -200, -30])
def test_truncated_npz(tmp_path, capsys, cut):
    path = tmp_path / "t.npz"
    path.write_bytes(good_npz_bytes()[:cut])
    one_line_error(capsys, find(path, tmp_path))


def test_string_x_and_negative_y(tmp_path, capsys):
    X, y = make_data(n=16)
    path = tmp_path / "s.npz"
    np.savez(path, x=np.array([["a", "b"]] * 16), y=y)
    one_line_error(capsys, find(path, tmp_path), "array x must be numeric, got dtype <U1")
    np.savez(path, x=X, y=-y - 1)
    one_line_error(capsys, find(path, tmp_path), "--loss")  # not class indices: which loss?
    np.savez(path, x=X, y=np.full(16, np.inf))
    one_line_error(capsys, find(path, tmp_path), "y holds NaN or infinite values")


def test_header_declaring_1e10_floats_is_refused_before_allocating(tmp_path, capsys):
    X, y = make_data(n=16)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10 ** 5, 10 ** 5)})
    buf = io.BytesIO()
    np.lib.format.write_array(buf, y)
    path = tmp_path / "h.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", header.getvalue() + b"\0" * 64)  # 64 bytes, not 40 GB
        z.writestr("y.npy", buf.getvalue())
    one_line_error(capsys, find(path, tmp_path), "declares shape (100000, 100000)")


def test_garbage_rec_has_no_exception_ignored_traceback(tmp_path):
    rec = tmp_path / "g.rec"
    (tmp_path / "g.idx").write_text("0\t0\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    for content in (os.urandom(256), (0xced7230a).to_bytes(4, "little") + os.urandom(252)):
        rec.write_bytes(content)
        proc = subprocess.run([sys.executable, "-m", "gluon_lr", "find", "--data", str(rec),
                               "--out", str(tmp_path / "o")] + FAST, capture_output=True,
                              text=True, env=env, timeout=300)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Exception ignored" not in proc.stderr
        assert "Traceback" not in proc.stderr


def test_rec_without_its_index(tmp_path, capsys):
    rec = tmp_path / "n.rec"
    rec.write_bytes((0xced7230a).to_bytes(4, "little") + b"\0" * 12)
    one_line_error(capsys, find(rec, tmp_path), "needs its index file")


@pytest.mark.parametrize("argv, message", [
    (["find", "--seed", "-1"], "argument --seed: expected a seed in [0, 2**32), got -1"),
    (["find", "--data", "digits", "--optimizer-param", "wd=NaN"],
     "optimizer_params['wd'] must be finite, got nan"),
    (["find", "--start-lr", "1e-300", "--end-lr", "1e300"], "start_lr must be in [1.2e-38"),
    (["find", "--num-iter", "1000000000"], "num_iter must be <= 1000000"),
    (["schedule", "constant", "--lr", "0.1", "--total-steps", "1000000000"],
     "--total-steps is 1,000,000,000 steps; at most 10,000,000"),
])
def test_bad_arguments(argv, message, capsys):
    one_line_error(capsys, main(argv), message)


def test_out_pointing_at_a_file(tmp_path, capsys):
    X, y = make_data(n=48)
    np.savez(tmp_path / "d.npz", x=X, y=y)
    (tmp_path / "afile").write_text("x")
    code = main(["find", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "afile")]
                + FAST)
    one_line_error(capsys, code, "is a file, not a folder")


def test_schedule_out_into_a_missing_folder(tmp_path, capsys):
    out = tmp_path / "missing" / "s.png"
    code = main(["schedule", "constant", "--lr", "0.1", "--total-steps", "10", "--out",
                 str(out)])
    one_line_error(capsys, code, "does not exist")


def test_fuzzed_npz_files_never_print_a_traceback(tmp_path, capsys):
    """Malformed archives of every kind: cut anywhere, or with bytes flipped."""
    good = good_npz_bytes()
    rs = np.random.RandomState(0)
    path = tmp_path / "f.npz"
    refused = 0
    for k in range(24):
        data = bytearray(good)
        if k % 2 == 0:
            data = data[:rs.randint(0, len(good))]
        else:
            for pos in rs.randint(0, len(good), size=4):
                data[pos] = rs.randint(0, 256)
        path.write_bytes(bytes(data))
        code = find(path, tmp_path, "--overwrite")
        err = capsys.readouterr().err
        assert "Traceback" not in err and "Exception ignored" not in err, (k, err)
        assert code in (0, 2, 3), (k, code, err)  # a flip in the float data may still load
        if code == 2:
            assert err.count("\n") == 1, (k, err)
            refused += 1
    assert refused >= 12  # every cut file at least
