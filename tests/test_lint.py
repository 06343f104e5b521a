"""The code passes the project's ruff configuration (pyproject.toml [tool.ruff])."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    # ruff comes with the dev and test extras; without it this test fails (it does not skip), so that a missing
    # linter cannot pass for a clean tree.
    assert Path(ruff).exists(), "ruff is not installed: pip install -e '.[test]'"
    r = subprocess.run([ruff, "check", "sim", "tests", "experiments"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
