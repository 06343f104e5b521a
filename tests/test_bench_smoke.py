"""`experiments/bench.py --smoke` runs end to end and writes every figure the performance issue asks for.

No timing is asserted: smoke sizes are far too small for the figures to mean anything; the real table comes
from `--quick` or the full run (docs/performance.md).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

from conftest import ROOT

FIGURES = ("home_person_steps_per_s", "home_only_person_steps_per_s", "numpy_ceiling_person_steps_per_s",
           "migrant_steps_per_s",
           "migrant_events_per_s", "mesa_empty_steps_per_s", "naive_mesa_person_steps_per_s",
           "fast_person_steps_per_s_at_naive_size", "naive_speed_ratio", "peak_bytes_per_home_person",
           "peak_bytes_per_migrant", "largest_run_peak_rss_bytes")
TARGETS = ("home_vs_numpy_ceiling", "naive_speed_ratio", "migrant_steps_per_s", "migrants_vs_mesa_empty",
           "time_loglog_slope_max",
           "memory_loglog_slope_max", "peak_bytes_per_home_person", "peak_bytes_per_migrant",
           "largest_run_peak_rss_bytes")


def test_smoke_benchmark_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "experiments" / "bench.py"), "--smoke", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    for key in FIGURES:
        assert isinstance(report[key], (int, float)) and math.isfinite(report[key]), key
    assert report["meta"]["mode"] == "smoke"
    assert report["meta"]["machine"]["cpus"] >= 1
    sizes = [row["persons"] for row in report["scaling"]["rows"]]
    assert len(sizes) == 3 and sizes == sorted(sizes)
    for row in report["scaling"]["rows"]:
        assert row["wall_s"] > 0 and row["peak_rss_bytes"] > 0
    assert len(report["migrants"]) == 2
    for fig in report["migrants"].values():
        assert fig["median_migrant_steps"] > 0 and fig["median_events"] > 0
        assert fig["mesa_empty_steps_per_s"] > 0
    assert set(report["targets"]) == set(TARGETS)
    for name, target in report["targets"].items():
        assert isinstance(target["pass"], bool) and target["target"], name
        assert name in proc.stdout
    assert "naive_mesa_person_steps_per_s" in proc.stdout
