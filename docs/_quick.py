"""Quick mode for the test suite: the tutorials run shorter, with no trace in their source.

The tutorials are what users read (in the docs, as scripts and as notebooks), so they hold no
test plumbing. When the suite runs them (``tests/test_tutorials.py``, ``tests/test_docs.py``
through ``docs/conf.py``, the notebook test), :func:`apply` first makes the bundled MNIST
subset smaller and the range tests shorter, by patching the library functions they call.
"""
#: num_iter of the tutorials' range tests -> what the quick run uses instead
QUICK_ITERS = {100: 50, 40: 12}
QUICK_SAMPLES = 640  # 512 for training after the 80/20 split


def apply(patch=setattr) -> None:
    """Switch quick mode on; ``patch`` is ``setattr`` or pytest's ``monkeypatch.setattr``
    (which undoes it after the test)."""
    import functools

    import gluon_lr.datasets as datasets
    from gluon_lr.learner import Learner

    if getattr(datasets.mnist5k, "_quick", False):
        return
    full = datasets.mnist5k

    @functools.wraps(full)  # the docs built in quick mode still show the real signature
    def mnist5k(*args, **kwargs):
        X, y = full(*args, **kwargs)
        return X[:QUICK_SAMPLES], y[:QUICK_SAMPLES]

    mnist5k._quick = True
    patch(datasets, "mnist5k", mnist5k)
    find_lr = Learner.find_lr

    @functools.wraps(find_lr)
    def quick_find_lr(self, *args, num_iter: int = 100, **kwargs):
        return find_lr(self, *args, num_iter=QUICK_ITERS.get(num_iter, num_iter), **kwargs)

    patch(Learner, "find_lr", quick_find_lr)
