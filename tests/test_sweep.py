"""Sweeps: designs and seeds, resumability after SIGKILL, backend independence, failures, bad specs."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.cli import main
from sim.errors import MixedCodeWarning, ResultWarning
from sim.provenance import code_sha256, package_version

from sim.experiments.design import build_points, build_runs, replicate_seeds
from sim.experiments.backends import Backend
from sim.experiments.executors import _process_pool, drive
from sim.experiments.spec import load_spec
from sim.experiments.sweep import plan, run_sweep
from sim.experiments.task import call_packed, packed

ROOT = Path(__file__).resolve().parents[1]
TOY_SWEEP = ROOT / "experiments" / "toy_sweep.yaml"
sys.path.insert(0, str(Path(__file__).parent))
import sweep_helpers  # noqa: E402


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """`bordersim ARGS` in this process (same parser, same exit-code mapping as the command), output captured."""
    monkeypatch.chdir(ROOT)

    def call(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out.out, stderr=out.err)

    return call


def write_spec(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body.replace("SCENARIO", str(ROOT / "scenarios" / "toy.yaml")))
    return path


SMALL = """
name: small
scenario: SCENARIO
parameters:
  network.edges.dmz.controls.mines: [0.0, 1.0]
  population.size: [3000]
replicates: 3
seed: 7
outputs: {keep: [totals, by_route], timeseries: true}
"""


# For the SIGKILL and Ctrl-C tests: enough runs to stop half-way, each short (12 runs of 5000 persons).
# 12 runs of about 5000 persons for the SIGKILL test, each of its own population size and replicate (so each draws
# its home population: runs sharing one would be served from the cache in milliseconds and could all end before the
# kill); two replicates, so that the resumed sweep must match replicate seeds as well as points.
KILLABLE = """
name: killable
scenario: SCENARIO
parameters:
  network.edges.dmz.controls.mines: [0.5]
  population.size: {start: 5000, stop: 5005, num: 6}
replicates: 2
seed: 2024
outputs: {keep: [totals, by_route], timeseries: true}
"""

# For the Ctrl-C test: 40 runs of about 2000 persons, each of its own population size (as KILLABLE: each run draws
# its population, where 40 runs of one size could end before the SIGINT arrived, exit 0). The signal goes out once a
# record is on disk, and under load the sweep's parent writes its records late while its workers run ahead; 40 such
# runs take seconds after the first record even on a loaded machine, and the resume stays cheap (~0.1 s a run).
INTERRUPTIBLE_RUNS = 40
INTERRUPTIBLE = KILLABLE.replace("name: killable", "name: interruptible").replace(
    "population.size: {start: 5000, stop: 5005, num: 6}", "population.size: {start: 2000, stop: 2039, num: 40}"
).replace("replicates: 2", "replicates: 1")


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """SMALL swept once (1 worker) for the tests that only read it or copy it: (spec path, output dir, runs)."""
    d = tmp_path_factory.mktemp("small")
    spec = write_spec(d, SMALL)
    df = run_sweep(plan(spec), d / "o", workers=1)
    return spec, d / "o", df


def copy_of(out: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "o"
    shutil.copytree(out, dst)
    return dst


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["wall_time"]).sort_values("run_id").reset_index(drop=True)


# ------------------------------------------------------------------------------------------ design and seeds


def test_grid_design_is_full_factorial_with_common_random_numbers():
    ls = load_spec(TOY_SWEEP)
    points = build_points(ls)
    assert len(points) == 4 * 2
    runs = build_runs(ls)
    assert len(runs) == 8 * ls.spec.replicates
    by_rep = {}
    for r in runs:
        by_rep.setdefault(r.replicate, set()).add(r.seed)
    assert all(len(s) == 1 for s in by_rep.values()), "replicate k must use the same seed at every point"
    assert len({next(iter(s)) for s in by_rep.values()}) == ls.spec.replicates


def test_more_replicates_keep_the_old_seeds():
    assert replicate_seeds(5, 3) == replicate_seeds(5, 6)[:3]


@pytest.mark.parametrize("kind", ["lhs", "sobol"])
def test_sampled_designs_respect_bounds(tmp_path, kind):
    spec = write_spec(tmp_path, f"""
name: s
scenario: SCENARIO
parameters:
  network.edges.dmz.controls.mines: {{dist: uniform, low: 0.2, high: 0.4}}
  population.groups.ordinary.departure_rate: {{dist: loguniform, low: 0.0001, high: 0.01}}
  population.size: {{dist: integer, low: 1000, high: 1003}}
design: {{type: {kind}, samples: 16}}
""")
    pts = build_points(load_spec(spec))
    assert len(pts) == 16
    mines = np.array([p.values["network.edges.dmz.controls.mines"] for p in pts])
    rate = np.array([p.values["population.groups.ordinary.departure_rate"] for p in pts])
    size = [p.values["population.size"] for p in pts]
    assert mines.min() >= 0.2 and mines.max() <= 0.4
    assert rate.min() >= 1e-4 and rate.max() <= 1e-2
    assert set(size) <= {1000, 1001, 1002, 1003} and all(isinstance(s, int) for s in size)
    # stratified: every quarter of the mines range is hit (LHS exactly 4 per quarter for 16 samples)
    counts = np.histogram(mines, bins=4, range=(0.2, 0.4))[0]
    assert counts.min() >= 2


def test_policy_design_crosses_packages_with_parameters(tmp_path):
    spec = write_spec(tmp_path, """
name: p
scenario: SCENARIO
parameters:
  population.size: [2000, 3000]
design:
  type: policies
  policies:
    baseline: {}
    river_open: {policies.river_closed.start: 2004-12}
""")
    pts = build_points(load_spec(spec))
    assert [(p.package, p.values["population.size"]) for p in pts] == [
        ("baseline", 2000), ("baseline", 3000), ("river_open", 2000), ("river_open", 3000)]


# -------------------------------------------------------------------------------------------- running


def test_sweep_results_do_not_depend_on_worker_count_or_backend(tmp_path, small_sweep):
    spec, out1, one = small_sweep
    p = plan(spec)
    two = run_sweep(p, tmp_path / "w2", workers=2)
    held = socket.socket()  # Dask's default HTTP port taken (by another cluster): it warned on stderr, with its file
    try:
        held.bind(("127.0.0.1", 8787))
        held.listen(1)
    except OSError:  # something holds it already
        pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dask = run_sweep(p, tmp_path / "dask", workers=2, scheduler="local")
    held.close()
    assert not [w for w in caught if "8787" in str(w.message)]
    assert len(one) == 6 and (one["status"] == "ok").all()
    pd.testing.assert_frame_equal(comparable(one), comparable(two))
    pd.testing.assert_frame_equal(comparable(one), comparable(dask))
    assert one["seed"].nunique() == 3 and one.groupby("replicate")["seed"].nunique().eq(1).all()
    ts = pd.read_parquet(out1 / "timeseries")
    assert set(ts["run_id"].astype(str)) == set(one["run_id"])


def test_sigkill_half_way_then_resume_gives_identical_results(tmp_path, run_cli, killed_tmpdir):
    spec = write_spec(tmp_path, KILLABLE)
    full = tmp_path / "full"
    run_sweep(plan(spec), full, workers=2)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(killed),
                             "--workers", "2", "--quiet"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TMPDIR": str(killed_tmpdir)})
    deadline = time.time() + 120  # a guard against a hang, not a timing
    while time.time() < deadline and proc.poll() is None:
        if len(list((killed / "runs").glob("*.json"))) >= 3:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list((killed / "runs").glob("*.json")))
    assert 0 < partial < 12, f"kill was not half-way ({partial} of 12 runs done)"
    r = run_cli("sweep", str(spec), "--out", str(killed), "--workers", "2", "--quiet")  # the resume: in-process
    assert r.returncode == 0, r.stderr
    a = pd.read_parquet(full / "runs.parquet")
    b = pd.read_parquet(killed / "runs.parquet")
    assert len(b) == 12 and b["run_id"].is_unique
    pd.testing.assert_frame_equal(comparable(a), comparable(b))
    assert not list(killed.rglob(".*.tmp"))


def test_resume_skips_finished_runs(tmp_path, small_sweep):
    spec, out, _ = small_sweep
    copy_of(out, tmp_path)
    p = plan(spec)
    stamps = {f.name: f.stat().st_mtime_ns for f in (tmp_path / "o" / "runs").glob("*.json")}
    calls = []
    run_sweep(p, tmp_path / "o", workers=1, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(6, 6)]
    assert stamps == {f.name: f.stat().st_mtime_ns for f in (tmp_path / "o" / "runs").glob("*.json")}


def test_runs_record_the_code_that_made_them_and_a_sweep_mixing_code_warns(tmp_path, small_sweep, run_cli):
    out = copy_of(small_sweep[1], tmp_path)
    records = sorted((out / "runs").glob("*.json"))
    assert {json.loads(p.read_text())["code_sha256"] for p in records} == {code_sha256()}
    made_by = json.loads((out / "sweep.json").read_text())["made_by"]
    assert made_by == {"version": package_version(), "code_sha256": code_sha256()}
    r = run_cli("sweep", str(small_sweep[0]), "--out", str(out), "--workers", "1", "--quiet")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    # one run made by other code (an edited bordersim, a cluster's worker of another install), one by a bordersim
    # that recorded no code: the resumed sweep says so, and still returns the table
    for path, change in zip(records[:2], [{"code_sha256": "0" * 64}, {}]):
        rec = json.loads(path.read_text())
        rec.pop("code_sha256")
        path.write_text(json.dumps(rec | change) + "\n")
    r = run_cli("sweep", str(small_sweep[0]), "--out", str(out), "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr == (f"warning: {out}: 2 of its 6 finished runs were made earlier by other bordersim code, 1 of "
                        f"them before runs recorded their code, not by this command's (code_sha256 "
                        f"{code_sha256()[:12]}...); its table mixes results of different code: to make every run "
                        "with this code, run the command again with a new --out\n")
    with pytest.warns(ResultWarning, match="2 of its 6 finished runs"):  # the Python API warns as Python does
        run_sweep(plan(small_sweep[0]), out, workers=1)
    table = pd.read_parquet(out / "runs.parquet").set_index("run_id")["code_sha256"]  # which code made each run
    assert table[records[0].stem] == "0" * 64 and pd.isna(table[records[1].stem])
    assert (table.drop([records[0].stem, records[1].stem]) == code_sha256()).all()
    r = run_cli("summarize", str(out))
    assert r.returncode == 0 and "note: the runs were made by 3 different bordersim codes" in r.stderr, r.stderr
    for column in ("code_sha256", "status"):  # columns of the table that are no outcome: an internal failure before
        r = run_cli("summarize", str(out), "--outcome", column)
        assert r.returncode == 2 and f"unknown outcome(s) {column}; kept: set_out" in r.stderr, r.stderr
    for path in records:  # every run by other code: nothing is mixed, and the warning does not say it is
        path.write_text(json.dumps(json.loads(path.read_text()) | {"code_sha256": "1" * 64}) + "\n")
    r = run_cli("sweep", str(small_sweep[0]), "--out", str(out), "--workers", "1", "--quiet")
    assert "6 of its 6 finished runs were made earlier" in r.stderr and "mixes" not in r.stderr, r.stderr


def test_runs_made_now_by_workers_of_another_install_and_many_directories_are_told_apart_and_once(tmp_path, capsys):
    from sim.cli.main import _warnings_told
    from sim.experiments.store import SweepStore

    store = SweepStore(tmp_path)
    store.made_now = {"a": "2" * 64, "b": code_sha256(), "c": "2" * 64}  # two workers' runs of other code
    w = store.mixed_code()
    assert isinstance(w, MixedCodeWarning) and (w.total, w.earlier, w.workers) == (3, 0, 2)
    assert str(w) == (f"{tmp_path}: 2 run(s) made now by workers running other bordersim code, not by this "
                      f"command's (code_sha256 {code_sha256()[:12]}...); its table mixes results of different code: "
                      "install this bordersim on the workers (every one must run the same code)")
    store.made_now = {"a": code_sha256()}
    assert store.mixed_code() is None
    capsys.readouterr()
    with _warnings_told():  # a calibration's sweeps: one line for all, when the command ends
        for i in range(7):
            warnings.warn(MixedCodeWarning(f"C/smc_{i}", 8, 8, 0, 0, code_sha256()), stacklevel=1)
        assert capsys.readouterr().err == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: 7 sweep directories of this command hold runs made by "
                                                   "other bordersim code") and "C/smc_4 (8 of 8 earlier)" in err
    assert "C/smc_5" not in err and "and 2 more" in err and err.endswith("with a new --out\n")


def test_a_sweep_directory_the_system_will_not_let_us_read_is_never_taken_for_a_damaged_one(tmp_path, small_sweep,
                                                                                           run_cli, monkeypatch):
    """An unreadable sweep.json was 'damaged', and --force then discarded every run; an unreadable directory was
    an internal failure (exit 1). The refusal is simulated: the suite may run as root, whom chmod does not stop."""
    import pathlib

    out = copy_of(small_sweep[1], tmp_path)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    read_text, iterdir = pathlib.Path.read_text, pathlib.Path.iterdir

    def text(self, *args, **kwargs):
        if self == out / "sweep.json":
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_text", text)
    for extra in ([], ["--force"], ["--dry-run", "--force"]):
        r = run_cli("sweep", str(small_sweep[0]), "--out", str(out), "--workers", "1", "--quiet", *extra)
        assert r.returncode == 2, r.stderr
        assert f"{out / 'sweep.json'}: cannot read it: permission denied" in r.stderr and "damaged" not in r.stderr
    monkeypatch.setattr(pathlib.Path, "read_text", read_text)

    def listing(self):
        if self == out:
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(pathlib.Path, "iterdir", listing)
    r = run_cli("sweep", str(small_sweep[0]), "--out", str(out), "--workers", "1", "--quiet", "--force")
    assert r.returncode == 2 and f"{out}: cannot read it: permission denied" in r.stderr, r.stderr
    monkeypatch.setattr(pathlib.Path, "iterdir", iterdir)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_a_different_spec_is_refused_unless_forced(tmp_path, small_sweep, run_cli):
    out = copy_of(small_sweep[1], tmp_path)
    other = write_spec(tmp_path, SMALL.replace("seed: 7", "seed: 8"), "other.yaml")
    r = run_cli("sweep", str(other), "--out", str(out), "--workers", "1", "--quiet")
    assert r.returncode == 2 and "different spec" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("sweep", str(other), "--out", str(out), "--workers", "1", "--quiet", "--force")
    assert r.returncode == 0, r.stderr


def test_a_failing_run_is_recorded_and_the_sweep_finishes_with_exit_1(tmp_path):
    # A point that fails at run time (the values themselves are valid: a bad value is refused before any run,
    # see test_sweep_robust.py): 200 million persons do not fit in the address space the sweep is given.
    spec = write_spec(tmp_path, SMALL.replace("population.size: [3000]", "population.size: [3000, 200000000]")
                      .replace("replicates: 3", "replicates: 2").replace("timeseries: true", "timeseries: false"))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1200 << 20, 1200 << 20))

    r = subprocess.run([sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(tmp_path / "o"), "--workers",
                        "2", "--quiet"], capture_output=True, text=True, cwd=ROOT, preexec_fn=limit, timeout=120,
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 1, r.stderr  # a run failed, and not because of a bad value
    df = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    assert len(df) == 8
    bad = df[df["population.size"] == 200_000_000]
    assert (bad["status"] == "failed").all() and bad["error"].str.contains("MemoryError").all()
    assert (bad["error_kind"] == "internal").all()
    assert (df[df["population.size"] == 3000]["status"] == "ok").all()
    assert "4 failed" in r.stdout and "4 of 8 runs failed" in r.stderr and "MemoryError" in r.stderr


def test_a_dying_worker_is_retried_and_a_repeat_killer_recorded_failed(tmp_path):
    marker = tmp_path / "marker"
    be = Backend("processes", 2, lambda: _process_pool(2), lambda: _process_pool(1))
    results, lost = {}, {}

    def submit(executor, task):
        kind, value = task
        if kind == "crash_once":
            return executor.submit(sweep_helpers.crash_once, str(marker), value)
        if kind == "crash_always":
            return executor.submit(sweep_helpers.crash_always, value)
        return executor.submit(sweep_helpers.double, value)

    tasks = [("ok", i) for i in range(4)] + [("crash_once", 10)] + [("ok", i) for i in range(4, 8)] + [
        ("crash_always", 99)]
    drive(tasks, submit, be, lambda t, out: results.__setitem__(t, out), lambda t, msg: lost.__setitem__(t, msg))
    assert results == {**{("ok", i): 2 * i for i in range(8)}, ("crash_once", 10): 20}
    assert list(lost) == [("crash_always", 99)] and "died 3 times" in lost[("crash_always", 99)]


def test_a_task_a_worker_cannot_unpickle_is_recorded_with_the_reason_and_kills_no_worker(tmp_path):
    """The sweep hands workers `call_packed(packed(fn, ...))`: a task whose pickle names something the worker's
    modules lack fails at once with the unpickling error and the likely cause, instead of killing the worker
    process three times and reading as a crash; the other tasks run in the same pool."""
    be = Backend("processes", 2, lambda: _process_pool(2), lambda: _process_pool(1))
    results, lost = {}, {}

    def submit(executor, task):
        arg = sweep_helpers.Unpicklable() if task == "unreadable" else task
        return executor.submit(call_packed, packed(sweep_helpers.double, arg))

    drive([1, 2, "unreadable", 3], submit, be, lambda t, out: results.__setitem__(t, out),
          lambda t, msg: lost.__setitem__(t, msg))
    assert results == {1: 2, 2: 4, 3: 6}
    message = lost["unreadable"]
    assert message.startswith("TaskUnreadable: the worker could not read its task (AttributeError: ")
    assert "renamed" in message and "files change while a sweep runs" in message and "died" not in message


# ------------------------------------------------------------------------------------------- CLI and specs


def test_dry_run_prints_design_and_runs_nothing(tmp_path, run_cli, small_sweep):
    out = tmp_path / "o"
    r = run_cli("sweep", str(TOY_SWEEP), "--dry-run", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "32 runs" in r.stdout and "estimated" in r.stdout and f"output: {out} (new)" in r.stdout
    assert not out.exists()
    # more workers than cores: the estimate counts the cores (it said 0 s for --workers 100000)
    from sim.experiments.executors import default_workers

    r = run_cli("sweep", str(TOY_SWEEP), "--dry-run", "--out", str(out), "--workers", "100000")
    cores = default_workers()
    assert f"warning: 100000 workers on the {cores} core(s) of this machine share them" in r.stderr
    assert f"estimated sweep time with {cores} worker(s)" in r.stdout
    # an --out the sweep would refuse is refused by its dry run too (it said 'estimated ... 1 s', exit 0)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    (tmp_path / "a_file").write_text("x")
    for place, why in ((mine, "was not made by bordersim"), (tmp_path / "a_file", "a_file")):
        r = run_cli("sweep", str(TOY_SWEEP), "--dry-run", "--out", str(place))
        assert r.returncode == 2 and why in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (tmp_path / "a_file").read_text() == "x"
    # what the sweep will do there: resume it, or (--force) replace another spec's runs
    spec, done, _ = small_sweep
    r = run_cli("sweep", str(spec), "--dry-run", "--out", str(done))
    assert r.returncode == 0 and f"output: {done} (all 6 runs finished there: nothing to run)" in r.stdout, r.stderr
    assert "pilot run" not in r.stdout  # it estimated the time of the 6 runs again (a probe)
    r = run_cli("sweep", str(spec), "--dry-run", "--out", str(done), "--replicates", "5")
    assert f"estimated sweep time for the 4 runs not yet finished in {done} with" in r.stdout, r.stdout
    assert r.returncode == 0 and f"output: {done} (resumed: its finished runs are kept)" in r.stdout, r.stderr
    other = write_spec(tmp_path, SMALL.replace("seed: 7", "seed: 8"), "other.yaml")
    r = run_cli("sweep", str(other), "--dry-run", "--out", str(done), "--force")
    assert f"output: {done} (replaced (--force): the runs of another spec there are discarded)" in r.stdout
    r = run_cli("sweep", str(other), "--dry-run", "--out", str(done))
    assert r.returncode == 2 and "different spec" in r.stderr and "pilot run" not in r.stdout  # before the pilot
    # nor does summarize suggest running a sweep into a directory of the user's, which the sweep refuses
    r = run_cli("summarize", str(mine))
    assert r.returncode == 2 and "bordersim did not make it" in r.stderr and f"--out {mine}" not in r.stderr


@pytest.mark.parametrize("body, needle", [
    ("name: x\nscenario: SCENARIO\nparameters: {nope.path: [1]}\n", "unknown path 'nope.path'"),
    ("name: x\nscenario: SCENARIO\nreplicates: 0\n", "replicates"),
    ("name: x\nscenario: SCENARIO\nbogus: 1\n", "unknown key 'bogus'"),
    ("name: x\nscenario: missing.yaml\n", ":2, key 'scenario': the base scenario "),  # the spec's key and line
    ("name: x\nscenario: SCENARIO\ndesign: {type: sobol, samples: 10}\n"
     "parameters: {population.size: {dist: integer, low: 1, high: 5}}\n", "power of two"),
    ("name: x\nscenario: SCENARIO\nparameters: {population.size: {dist: uniform, low: 1, high: 5}}\n",
     "use design lhs or sobol"),
    ("name: [unclosed\n", "YAML syntax error"),
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: [0, 1]\ndesign:\n  type: "
     "policies\n  policies:\n    base: {}\n    bad: {network.edges.zzz.open: false}\n",
     ":9, key 'design.policies.bad.network.edges.zzz.open': unknown path"),  # was reported under `parameters`
    ("name: x\nscenario: SCENARIO\ndesign: {type: grid, samples: 4}\nparameters: {population.size: [5, 6]}\n",
     "samples is only used with design type 'lhs' or 'sobol', not 'grid'"),  # was accepted and ignored
    # a package setting a path the grid varies: a policies design dropped the package's value at every point
    # (policies_points puts the package on top, as documented: tests/test_effects.py)
    ("name: x\nscenario: SCENARIO\nparameters: {network.edges.dmz.controls.mines: [0, 1]}\ndesign:\n  type: "
     "policies\n  policies:\n    a: {network.edges.3.controls.mines: 0.5}\n",
     "'network.edges.3.controls.mines' sets the value of the parameter 'network.edges.dmz.controls.mines'"),
    # a sweep that keeps no outcome: summarize printed pandas' "Empty DataFrame" for it
    ("name: x\nscenario: SCENARIO\noutputs: {keep: []}\n", ":3, key 'outputs.keep': List should have at least 1 item"),
    # a range of one value took its start and dropped its stop unseen (a probe)
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: {start: 0.2, stop: 0.8, num: 1}\n",
     ":4, key 'parameters.network.edges.dmz.controls.mines': num: 1 gives one value, but start (0.2) and stop (0.8)"),
    # a points design without parameters made 0 points, an empty sweep and exit 0 (a probe)
    ("name: x\nscenario: SCENARIO\ndesign: {type: points}\n", ":3, key 'design': design 'points' needs at least one "
     "parameter"),
    # true/false written as 1 or 'no' was read as a boolean in a spec, refused in a scenario (a probe)
    ("name: x\nscenario: SCENARIO\noutputs: {timeseries: 1}\n", ":3, key 'outputs.timeseries': Input should be a "
     "valid boolean, found 1"),
    ("name: x\nscenario: SCENARIO\noutputs: {timeseries: 'no'}\n", "key 'outputs.timeseries': Input should be a "
     "valid boolean"),
    # a day where a month is wanted was shown as Python writes it, datetime.date(2004, 6, 1) (a probe)
    ("name: x\nscenario: SCENARIO\nparameters:\n  time.end: [2004-06-01]\n", "found 2004-06-01"),
    # a parameter's form the design does not take: the file was named, its line and key were not (a probe)
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: {dist: uniform, low: 0, high: 1}\n"
     "design: {type: grid}\n", ":5, key 'design': parameter 'network.edges.dmz.controls.mines' is a distribution"),
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: [0.0, 0.5]\n"
     "design: {type: lhs, samples: 4}\n", ":5, key 'design': design 'lhs' samples distributions"),
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: [0.0, 0.5]\n"
     "  network.edges.boat.controls.patrol: [0.0, 0.5, 0.7]\ndesign: {type: points}\n",
     ":6, key 'design': design 'points' needs lists of equal length"),
    # values of two kinds: every run ran, then runs.parquet could not hold the column (a probe)
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: [0.5, '1']\n",
     ":4, key 'parameters.network.edges.dmz.controls.mines': the values mix numbers and text (0.5, '1')"),
    ("name: x\nscenario: SCENARIO\ndesign: {type: lhs, samples: 4}\nparameters:\n  network.edges.dmz.controls.mines:"
     " {dist: categorical, values: [0, true]}\n", "the values mix numbers and true/false (0, True)"),
    # a value given twice (1000 and 1000.0) made two points no table could tell apart (a probe)
    ("name: x\nscenario: SCENARIO\nparameters:\n  population.size: [500, 1000, 1000.0]\n",
     ":4, key 'parameters.population.size': the value 1000.0 is given twice (500, 1000, 1000.0)"),
    ("name: x\nscenario: SCENARIO\nparameters:\n  policies.river_closed.enabled: [true, false, true]\n",
     ":4, key 'parameters.policies.river_closed.enabled': the value true is given twice (true, false, true)"),
    ("name: x\nscenario: SCENARIO\nparameters:\n  network.edges.dmz.controls.mines: {start: 0.5, stop: 0.5, num: 3}\n",
     ":4, key 'parameters.network.edges.dmz.controls.mines': start and stop are both 0.5, so the 3 values are all"),
])
def test_malformed_specs_exit_2_with_a_clear_message(tmp_path, body, needle, run_cli):
    spec = write_spec(tmp_path, body)
    out = tmp_path / "o"
    r = run_cli("sweep", str(spec), "--out", str(out))
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_summarize_formats_and_paired_baseline(tmp_path, small_sweep, run_cli):
    out = copy_of(small_sweep[1], tmp_path)
    r = run_cli("summarize", str(out), "--format", "json")
    rows = json.loads(r.stdout)
    df = pd.read_parquet(out / "runs.parquet")
    row = next(x for x in rows if x["point"] == 1 and x["outcome"] == "route.dmz.killed")
    assert row["mean"] == pytest.approx(df[df["point"] == 1]["route.dmz.killed"].mean())
    r = run_cli("summarize", str(out), "--baseline", "network.edges.dmz.controls.mines=0", "--format", "csv",
                "--outcome", "set_out", "--outcome", "route.dmz.killed")
    diff = pd.read_csv(pd.io.common.StringIO(r.stdout))
    # set_out is decided before any crossing; with common random numbers... it still depends on the mines
    # through the deterrence term, so only the baseline's own difference is exactly zero
    base = diff[(diff["point"] == 0) & (diff["outcome"] == "set_out")].iloc[0]
    assert base["diff"] == 0 and base["ci_low"] == 0 and base["ci_high"] == 0
    # a non-baseline point against the difference computed by hand, replicate by replicate (mines 1 minus mines 0)
    ok = df[df["status"] == "ok"]
    for outcome in ("set_out", "route.dmz.killed"):
        by_hand = (ok[ok["point"] == 1].set_index("replicate")[outcome].astype(float)
                   - ok[ok["point"] == 0].set_index("replicate")[outcome].astype(float)).sort_index()
        assert len(by_hand) == 3
        row = diff[(diff["point"] == 1) & (diff["outcome"] == outcome)].iloc[0]
        half = stats.t.ppf(0.975, 2) * by_hand.std(ddof=1) / np.sqrt(3)
        assert row["n"] == 3
        assert row["diff"] == pytest.approx(by_hand.mean())
        assert row["ci_low"] == pytest.approx(by_hand.mean() - half)
        assert row["ci_high"] == pytest.approx(by_hand.mean() + half)
    killed = diff[(diff["point"] == 1) & (diff["outcome"] == "route.dmz.killed")].iloc[0]
    assert killed["diff"] > 0, "mines kill: the hand check must compare a real difference, not 0 with 0"
    r = run_cli("summarize", str(out), "--baseline", "nope=1")
    assert r.returncode == 2 and "unknown parameter" in r.stderr


def test_a_point_is_named_by_a_parameter_whose_name_holds_commas():
    """A parameter may set several dotted paths at once, named by them joined with commas (docs/experiments.md):
    `--baseline "PATH1,PATH2=0.5"` was split at every comma and refused as an unknown parameter."""
    from sim.errors import UsageError
    from sim.experiments.summarize import resolve_point

    both = "network.edges.dmz.controls.mines,network.edges.ford.controls.guards"
    df = pd.DataFrame({"point": [0, 1, 2, 3], both: [0.0, 0.5, 0.0, 0.5], "population.size": [100, 100, 200, 200]})
    params = [both, "population.size"]
    assert resolve_point(df, params, f"{both}=0.5,population.size=200") == 3
    assert resolve_point(df, params, f"population.size=100, {both} = 0.5") == 1
    for bad, name in ((f"{both}=0.5,nope=1", "nope"),
                      ("network.edges.dmz.controls.mines=0", "network.edges.dmz.controls.mines")):
        with pytest.raises(UsageError, match=f"unknown parameter '{name}'"):
            resolve_point(df, params, bad)
    # a policies sweep has no parameters: it said "parameters: " and nothing (a probe)
    packages = pd.DataFrame({"point": [0, 1], "policy": ["kept", "lifted"]})
    assert resolve_point(packages, [], "policy=lifted") == 1
    with pytest.raises(UsageError, match=r"unknown parameter 'network.edges.boat.open'; parameters: none \(a policy "
                                         r"package is chosen by policy=NAME, or by its name alone\)"):
        resolve_point(packages, [], "network.edges.boat.open=false")


def test_points_design_zips_parameter_lists(tmp_path, run_cli):
    spec = write_spec(tmp_path, """
name: z
scenario: SCENARIO
parameters:
  population.size: [1000, 2000, 3000]
  network.edges.dmz.controls.mines: [0.1, 0.2, 0.3]
design: {type: points}
""")
    pts = build_points(load_spec(spec))
    assert [(p.values["population.size"], p.values["network.edges.dmz.controls.mines"]) for p in pts] == [
        (1000, 0.1), (2000, 0.2), (3000, 0.3)]
    bad = write_spec(tmp_path, "name: z\nscenario: SCENARIO\ndesign: {type: points}\n"
                               "parameters: {population.size: [1, 2], network.edges.dmz.controls.mines: [1]}\n",
                     "bad.yaml")
    r = run_cli("sweep", str(bad), "--dry-run")
    assert r.returncode == 2 and "equal length" in r.stderr


@pytest.mark.parametrize("signum, code, word", [(signal.SIGINT, 130, "interrupted"),
                                                (signal.SIGTERM, 143, "terminated")], ids=["ctrl_c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_cleanly_keeps_finished_runs_and_says_how_to_resume(tmp_path, run_cli, signum,
                                                                                   code, word):
    """Ctrl-C on a terminal, or SIGTERM to the process group (a batch scheduler's time limit): one line, exit 130
    or 143, the finished runs in runs.parquet, and the same command resumes."""
    spec = write_spec(tmp_path, INTERRUPTIBLE)
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(spec), "--out", str(out),
                             "--workers", "2", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=sweep_helpers.as_from_a_terminal)
    deadline = time.time() + 120  # a guard against a hang, not a timing
    while time.time() < deadline and not any((out / "runs").glob("*.json")) and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signum)  # the whole process group, workers included
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith(f"{word}: "), err  # one line, the sweep's only
    partial = pd.read_parquet(out / "runs.parquet")
    assert 0 < len(partial) < INTERRUPTIBLE_RUNS and (partial["status"] == "ok").all()
    r = run_cli("sweep", str(spec), "--out", str(out), "--workers", "2", "--quiet")  # the resume: in-process
    assert r.returncode == 0, r.stderr
    assert len(pd.read_parquet(out / "runs.parquet")) == INTERRUPTIBLE_RUNS


def test_editing_the_base_scenarios_text_keeps_the_results(tmp_path, run_cli):
    scenario = tmp_path / "toy.yaml"
    scenario.write_text((ROOT / "scenarios" / "toy.yaml").read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text(SMALL.replace("SCENARIO", str(scenario)))
    assert run_cli("sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet").returncode == 0
    scenario.write_text(scenario.read_text().replace("name: toy\n", "name: toy\nsources: [a new citation]\n"))
    r = run_cli("sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    scenario.write_text(scenario.read_text().replace("departure_rate: 0.002", "departure_rate: 0.003", 1))
    r = run_cli("sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1", "--quiet")
    assert r.returncode == 2 and "different spec" in r.stderr


def test_a_point_is_named_by_index_package_or_values_and_an_ambiguous_package_says_how_many_it_matches():
    from sim.errors import UsageError
    from sim.experiments.summarize import resolve_point

    df = pd.DataFrame({"point": [0, 1, 2, 3], "policy": ["baseline", "wall", "baseline", "wall"],
                       "mines": [0.0, 0.0, 1.0, 1.0]})
    assert resolve_point(df, ["policy", "mines"], "2") == 2 == resolve_point(df, ["policy", "mines"], 2)
    assert resolve_point(df, ["policy", "mines"], "policy=wall,mines=1") == 3
    with pytest.raises(UsageError, match="'baseline' matches 2 points.*a policy name.*policy=NAME,mines=VALUE"):
        resolve_point(df, ["policy", "mines"], "baseline")
    grid = df.drop(columns="policy")  # no packages: no policy in the advice (a probe)
    with pytest.raises(UsageError, match=r"give a point index \(0, 1, 2, 3\), or name=value pairs naming exactly "
                                         r"one point \(e.g. mines=VALUE\)"):
        resolve_point(grid, ["mines"], "abc")
    with pytest.raises(UsageError, match="'nothing' matches 0 points"):
        resolve_point(df, ["policy", "mines"], "nothing")


def test_a_true_false_parameter_is_named_as_the_spec_writes_it_and_the_hint_names_a_parameter_that_varies():
    """`--baseline shoot=true` matched no point (only True or 1 did), and the hint named the first parameter even
    when it was constant (a probe)."""
    from sim.errors import UsageError
    from sim.experiments.summarize import resolve_point

    df = pd.DataFrame({"point": [0, 1, 2, 3], "size": [500, 500, 500, 500], "mines": [0.2, 0.2, 0.8, 0.8],
                       "shoot": [True, False, True, False]})
    params = ["size", "mines", "shoot"]
    assert resolve_point(df, params, "mines=0.8,shoot=false") == 3
    assert resolve_point(df, params, "mines=0.2, shoot = TRUE") == 0
    with pytest.raises(UsageError, match=r"matches 2 points.*\(e\.g\. mines=VALUE\)"):
        resolve_point(df, params, "shoot=true")
