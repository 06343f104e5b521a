"""`experiments/bench_engines.py --smoke` runs end to end and writes every figure of issue 13's engine benchmark.
No timing is asserted (docs/performance.md has the real table)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from conftest import ROOT

FIGURES = ("agents_run_s", "arrays_run_s", "speed_ratio", "arrays_build_s", "arrays_step_s", "arrays_result_s",
           "arrays_migrant_events_per_s", "bytes_per_migrant_arrays", "bytes_per_migrant_arrays_allocated",
           "arrays_runs_per_s", "arrays_runs_per_s_2_workers")


def test_smoke_engine_benchmark_writes_every_figure(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(ROOT / "experiments" / "bench_engines.py"), "--smoke", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    for key in FIGURES:
        assert isinstance(report[key], (int, float)) and math.isfinite(report[key]) and report[key] > 0, key
    assert report["docked"] is True
    assert report["meta"]["mode"] == "smoke" and report["meta"]["repeats"] >= 2 and report["meta"]["batch"] == 4
    assert "speed_ratio" in proc.stdout and "SMOKE MODE" in proc.stdout
    assert report["generator"] == "bordersim benchmark"  # so a later run may replace it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]  # it wrote bench_engines.json here too


def test_a_file_no_benchmark_wrote_is_not_overwritten(tmp_path):
    mine = tmp_path / "notes.json"
    mine.write_text('{"my": "thesis numbers"}\n')
    cmd = [sys.executable, str(ROOT / "experiments" / "bench_engines.py"), "--smoke", "--json", str(mine)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2 and "not overwritten" in proc.stderr and "Traceback" not in proc.stderr
    assert mine.read_text() == '{"my": "thesis numbers"}\n'
    assert "speed_ratio" not in proc.stdout  # refused before measuring


def test_a_count_below_1_is_a_usage_error_and_ctrl_c_one_line(capsys):
    """--repeats -1 ended in an AssertionError traceback, exit 1; a Ctrl-C in any benchmark script was a
    traceback (bench_sweep's named a scratch directory already removed), not 'interrupted' and exit 130 (a probe)."""
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        from bench_output import positive, run_script
    finally:
        sys.path.remove(str(ROOT / "experiments"))
    cmd = [sys.executable, str(ROOT / "experiments" / "bench_engines.py"), "--smoke", "--repeats", "-1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2 and "argument --repeats: invalid positive int value: '-1'" in proc.stderr
    assert positive(float)("0.5") == 0.5
    # check_korea.py: --seeds 0 was an IndexError traceback, --workers 0 a ValueError one (review)
    for option in ("--seeds", "--workers"):
        cmd = [sys.executable, str(ROOT / "experiments" / "check_korea.py"), option, "0"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 2 and f"argument {option}: invalid positive int value: '0'" in proc.stderr

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_script(interrupted) == 130 and capsys.readouterr().err == "interrupted\n"
    assert run_script(lambda: 0) == 0


def test_json_through_a_missing_directory_and_dot_dot_or_a_link_is_refused(tmp_path, monkeypatch, capsys):
    """`--json nodir/../mine.json` overwrote mine.json (the check read the text, where nodir/.. hides an existing
    file), and a symbolic link, live or dangling, was replaced by a plain file (a probe)."""
    import pytest

    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        from bench_output import check_json_target
    finally:
        sys.path.remove(str(ROOT / "experiments"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.json").write_text('{"mine": 1}\n')
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere" / "x.json")
    (tmp_path / "live.json").symlink_to(tmp_path / "mine.json")
    for given, says in (("nodir/../mine.json", "not overwritten"), ("dangling.json", "symbolic link"),
                        ("live.json", "symbolic link")):
        with pytest.raises(SystemExit) as exc:
            check_json_target(given)
        assert exc.value.code == 2 and says in capsys.readouterr().err, given
    assert (tmp_path / "mine.json").read_text() == '{"mine": 1}\n' and not (tmp_path / "nodir").exists()
    check_json_target("new/../fresh.json")  # a new file through '..' is fine
