"""Reading untrusted data files for ``gluon-lr find --data``: ``.npz`` arrays and ``.rec`` images.

Every problem is a ``ValueError`` with one sentence naming the file; nothing is ever unpickled
(``allow_pickle=False``), and an array's declared size is checked against the bytes the file
holds before anything is allocated.
"""
from __future__ import annotations

import os
import struct
import sys
import zipfile
from typing import Tuple

import numpy as np

_NPY_MAGIC = b"\x93NUMPY"
_PICKLE_PREFIXES = (b"\x80",)  # protocol 2+ opcode PROTO
_RECORDIO_MAGIC = 0xced7230a
_NUMERIC = "biuf"


def _header(f) -> Tuple[tuple, np.dtype, int]:
    """Shape, dtype and header length of one ``.npy`` stream, without reading its data."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
    elif version in ((2, 0), (3, 0)):
        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError("unsupported .npy format version {}".format(version))
    return shape, dtype, f.tell()


def load_npz(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` (both float32) from a ``.npz`` file.

    What ``y`` must hold (class indices, targets) depends on the loss and is checked there.

    Raises
    ------
    ValueError
        For a file that is not a ``.npz`` archive (a pickle, a ``.npy``, a truncated zip),
        arrays of objects or strings, sizes that do not match the file, non-finite values,
        or ``x`` and ``y`` of different lengths.
    """
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(_NPY_MAGIC):
        raise ValueError("{} is a single .npy array, not a .npz archive: save both arrays with "
                         "numpy.savez(path, x=x, y=y)".format(path))
    if head.startswith(_PICKLE_PREFIXES):
        raise ValueError("{} looks like a Python pickle, not a .npz archive; gluon-lr never "
                         "unpickles data files: save the arrays with numpy.savez(path, x=x, "
                         "y=y)".format(path))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
        raise ValueError("{} is not a readable .npz archive ({}); save the arrays with "
                         "numpy.savez(path, x=x, y=y)".format(path, err)) from None
    with archive:
        names = {os.path.splitext(n)[0]: n for n in archive.namelist()}
        missing = [k for k in ("x", "y") if k not in names]
        if missing:
            raise ValueError("{} must hold arrays named x and y (it has {})".format(
                path, ", ".join(sorted(names)) or "none"))
        arrays = {}
        for key in ("x", "y"):
            info = archive.getinfo(names[key])
            try:
                with archive.open(info) as member:
                    shape, dtype, offset = _header(member)
                    if dtype.hasobject:
                        raise ValueError("array {} holds Python objects; gluon-lr never "
                                         "unpickles data: save numeric arrays".format(key))
                    if dtype.kind not in _NUMERIC:
                        raise ValueError("array {} must be numeric, got dtype {}".format(
                            key, dtype))
                    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if declared > info.file_size - offset:
                        raise ValueError(
                            "array {} declares shape {} ({:,} bytes) but the file holds {:,}: "
                            "it is truncated or corrupt".format(
                                key, shape, declared, max(0, info.file_size - offset)))
                    data = member.read(declared)
            except (zipfile.BadZipFile, EOFError, OSError, struct.error) as err:
                raise ValueError("{}: cannot read array {} ({})".format(path, key, err)) from None
            except ValueError as err:
                raise ValueError("{}: {}".format(path, err)) from None
            if len(data) != declared:
                raise ValueError("{}: array {} is truncated".format(path, key))
            arrays[key] = np.frombuffer(data, dtype=dtype).reshape(shape)
    x, y = arrays["x"], arrays["y"]
    if x.ndim < 2 or y.ndim < 1 or len(x) != len(y) or len(y) == 0:
        raise ValueError("{}: x must be (samples, features...) and y (samples, ...) with the "
                         "same number of samples, got shapes {} and {}".format(
                             path, x.shape, y.shape))
    with np.errstate(all="ignore"):
        x, y = x.astype(np.float32), y.astype(np.float32)
    for key, arr in (("x", x), ("y", y)):
        if not np.isfinite(arr).all():
            raise ValueError("{}: {} holds NaN or infinite values (or numbers beyond "
                             "float32)".format(path, key))
    return x, y


def check_recordio(path: str) -> None:
    """Refuse a ``.rec`` file that is not RecordIO, or that has no ``.idx`` next to it."""
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) < 4 or struct.unpack("<I", head)[0] != _RECORDIO_MAGIC:
        raise ValueError("{} is not a RecordIO file (it does not start with RecordIO's magic "
                         "number); write one with im2rec".format(path))
    idx = os.path.splitext(path)[0] + ".idx"
    if not os.path.isfile(idx):
        raise ValueError("{} needs its index file {} (im2rec writes both)".format(path, idx))


class quiet_unraisable:
    """Silence "Exception ignored in ..." reports (MXRecordIO.__del__ after a failed open)."""

    def __enter__(self):
        self._hook = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: None
        return self

    def __exit__(self, *exc):
        import gc
        gc.collect()  # collect the half-built reader while the hook is quiet
        sys.unraisablehook = self._hook
        return False
