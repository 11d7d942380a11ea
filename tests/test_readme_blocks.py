"""Every ```python block of the README runs when pasted alone into a fresh interpreter.

Each block is checked for names it uses but does not define (ruff's F821 on the block by
itself), and the quick ones are executed in a namespace of their own. The training block
(five MNIST epochs) and the multi-host template are only checked statically; what they
do runs in tests/test_examples.py and tests/test_multiprocess.py.
"""

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
# checked statically only: blocks that train on MNIST, and the multi-host template (it
# waits for the other hosts); tests/test_multiprocess.py runs what the latter describes
LONG = ("data.mnist(", "jax.distributed.initialize(")


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_block_defines_every_name_it_uses(index, tmp_path):
    path = tmp_path / f"block_{index}.py"
    path.write_text(BLOCKS[index])
    ruff = pathlib.Path(sys.executable).with_name("ruff")
    done = subprocess.run([str(ruff), "check", "--isolated", "--select", "F821,F822,F823",
                           str(path)], capture_output=True, text=True)
    assert done.returncode == 0, f"README block {index} alone:\n{done.stdout}\n{BLOCKS[index]}"


@pytest.mark.parametrize("index", [i for i, b in enumerate(BLOCKS)
                                   if not any(m in b for m in LONG)])
def test_block_runs_alone(index, capsys):
    exec(compile(BLOCKS[index], f"README block {index}", "exec"), {"__name__": "__readme__"})
