"""The code type-checks: mypy with the pydantic plugin passes on sim/ (pyproject.toml [tool.mypy])."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_is_clean():
    # mypy comes with the dev and test extras; without it this test fails (it does not skip) so that a missing
    # checker cannot pass for a clean one. It runs from the repository root with pyproject.toml's configuration
    # (files = ["sim"]) and its cache in ROOT/.mypy_cache, which makes a repeated run take about a second.
    r = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert "No module named mypy" not in r.stderr, "mypy is not installed: pip install -e '.[test]'"
    assert r.returncode == 0, r.stdout + r.stderr
