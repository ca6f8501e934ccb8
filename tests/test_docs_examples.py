"""The code in the docs' pages runs as written (on small data): the docs match the code."""
import os
import re
import sys

import pytest

from conftest import make_data, make_net

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "docs"))
import _quick  # noqa: E402


def code_blocks(page):
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    return ["\n".join(line[3:] for line in b.splitlines()) for b in blocks]


def test_index_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = make_data(n=256)
    scope = {"net": make_net(init=False), "X": X, "y": y}
    blocks = code_blocks("index.rst")
    assert len(blocks) == 1 and "from mxnet import gluon" in blocks[0]
    exec(compile(blocks[0], "index.rst", "exec"), scope)
    trainer = scope["trainer"]
    assert trainer.learning_rate == scope["result"].lr
    assert trainer.optimizer.momentum == 0.9  # the momentum the range test used


@pytest.mark.slow
def test_quickstart_examples_run(tmp_path, monkeypatch):
    _quick.apply(monkeypatch.setattr)
    monkeypatch.chdir(tmp_path)
    scope = {}
    for i, block in enumerate(code_blocks("quickstart.rst")):
        exec(compile(block, "quickstart.rst[{}]".format(i), "exec"), scope)
    assert scope["sched"].max_value() > 0 and "steps_per_epoch" not in scope
    assert os.listdir(tmp_path) == ["lr_find.png"]  # the one file the example asks for
