"""Import MXNet once, with a clear message when it is missing or broken."""
try:
    import mxnet as mx  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised only without mxnet
    raise ImportError(
        "gluon_lr needs Apache MXNet 1.9, which could not be imported ({}). Install a build that "
        "fits your machine, e.g. `pip install gluon_lr[cpu]` for the CPU wheel or "
        "`pip install mxnet-cu112` for CUDA 11.2; MXNet 1.9.1 needs numpy<1.24.".format(err)
    ) from err

__all__ = ["mx"]
