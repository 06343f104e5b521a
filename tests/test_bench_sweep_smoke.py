"""The sweep benchmark runs in smoke mode and writes its JSON keys (no timing is judged here)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_sweep_smoke_writes_its_figures_and_removes_its_scratch_directory(tmp_path, request):
    out = tmp_path / "bench.json"
    # The benchmark's temporary directory goes here: it must be gone at the end. A short path, not under tmp_path:
    # multiprocessing's forkserver puts its socket in TMPDIR, and a socket's path has at most 107 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="bsw"))
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / "bench_sweep.py"), "--smoke", "--json", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300,
                       env={**os.environ, "TMPDIR": str(scratch)})
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    for key in ("store_overhead_fraction", "parallel_efficiency_2_workers", "run_seconds_median",
                "sweep_seconds_1_worker_median", "sweep_seconds_2_workers_median"):
        assert data[key] > 0
    assert "parallel efficiency" in r.stdout
    assert list(scratch.iterdir()) == []
