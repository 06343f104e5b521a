"""Sweeps never lose a user's files, never hang and never mislead (issue 10): who may replace an --out directory,
the directory lock, sizes counted before anything is built, Dask timeouts, no orphan processes, the main guard of
scripts, points checked up front, damaged directories in `summarize`, and Ctrl-C while workers start.

Timeouts here only guard against hangs (a hang fails the test); nothing asserts how long anything took."""

from __future__ import annotations

import io
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import InputError, UsageError, with_article
from sim.experiments.store import load_sweep
from conftest import users_file
from sweep_helpers import as_from_a_terminal
from sim.outputs import MARKER, marker_kind, write_marker

ROOT = Path(__file__).resolve().parents[1]
TOY = ROOT / "scenarios" / "toy.yaml"
HUNG = 60  # seconds after which a command counts as hung


def write_spec(path: Path, params: str, *, replicates: int = 1, seed: int = 7, population: int | None = 500) -> Path:
    """A toy-scenario spec; `params` is the YAML of its parameters block (indented two spaces)."""
    size = f"  population.size: [{population}]\n" if population else ""
    path.write_text(f"name: {path.stem}\nscenario: {TOY}\nparameters:\n{params}{size}replicates: {replicates}\n"
                    f"seed: {seed}\noutputs: {{keep: [totals], timeseries: false}}\n")
    return path


def tiny(tmp_path: Path, name: str = "tiny", seed: int = 7) -> Path:
    """Two runs of 500 persons."""
    return write_spec(tmp_path / f"{name}.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n", seed=seed)


def slow(tmp_path: Path, points: int = 12) -> Path:
    """`points` runs of 20,000 persons (long enough to act on a sweep while it runs)."""
    mines = f"  network.edges.dmz.controls.mines: {{start: 0, stop: 1, num: {points}}}\n"
    return write_spec(tmp_path / "slow.yaml", mines, population=20000)


def cli(capsys, *args) -> tuple[int, str, str]:
    """`bordersim ARGS` in this process: (exit code, stdout, stderr)."""
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def sim_cmd(*args, timeout: float = HUNG, limit_mb: int | None = None, env: dict | None = None, cwd=ROOT):
    """`python -m sim ARGS` in a fresh process, with an optional address-space limit; TimeoutExpired if it hangs."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))

    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit if limit_mb else None,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})})


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and directory under root, hidden ones included."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def wait_for(condition, what: str, timeout: float = HUNG, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def records(out: Path) -> int:
    return len(list((out / "runs").glob("*.json"))) if (out / "runs").is_dir() else 0


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid and stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append((int(entry), Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
                                  .decode()))
            except (OSError, ValueError, IndexError):
                continue
    return found


def marked(mark: str) -> list[int]:
    """Live processes whose environment holds BORDERSIM_TEST_MARK=mark (the sweep and everything it started)."""
    needle = f"BORDERSIM_TEST_MARK={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if needle in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0") and \
                        Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry))
            except OSError:
                continue
    return found


# -------------------------------------------------------------------------- item 1: --force and ownership


def fake_git_clone(d: Path) -> None:
    (d / ".git" / "objects" / "ab").mkdir(parents=True)
    (d / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (d / ".git" / "objects" / "ab" / "cdef0123").write_bytes(b"x\x01blob")
    (d / "chapters").mkdir()
    (d / "chapters" / "ch1.tex").write_text("\\chapter{One}\n")
    (d / "README.md").write_text("my thesis\n")


def thesis(d: Path) -> None:
    (d / "ch1.tex").write_text("\\chapter{One}\n")


def looks_like_a_sweep(d: Path) -> None:
    (d / "runs").mkdir(parents=True)
    (d / "runs" / "mine.json").write_text("{}\n")
    (d / "notes.txt").write_text("not bordersim's\n")


@pytest.mark.parametrize("make", [thesis, fake_git_clone, looks_like_a_sweep])
def test_force_never_deletes_a_directory_bordersim_did_not_make(tmp_path, capsys, make):
    target = tmp_path / "proj" / "thesis"
    target.mkdir(parents=True)
    make(target)
    before = snapshot(tmp_path / "proj")
    for force in ([], ["--force"]):
        rc, _, err = cli(capsys, "sweep", tiny(tmp_path), "--out", target, "--workers", "1", "--quiet", *force)
        assert rc == 2, err
        assert "not made by bordersim" in err and "Traceback" not in err
        assert snapshot(tmp_path / "proj") == before


def test_the_current_home_root_and_parent_directories_are_refused_even_with_force(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work" / "cwd"
    work.mkdir(parents=True)
    (work / "notes.txt").write_text("mine\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "keep.txt").write_text("mine too\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    deleted = []
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: deleted.append(a))
    spec = tiny(tmp_path)
    for out, why in [(".", "current directory"), (str(home), "home directory"), ("..", "contains the current"),
                     (str(tmp_path), "contains the current"), ("/", "root of the file system")]:
        before = snapshot(tmp_path)
        rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--force", "--workers", "1", "--quiet")
        assert rc == 2 and "refusing to write here" in err and why in err, (out, err)
        assert snapshot(tmp_path) == before, out
    assert not deleted


def test_force_replaces_a_sweep_directory_bordersim_made(tmp_path, capsys):
    out = tmp_path / "o"
    a, b = tiny(tmp_path, "a", seed=1), tiny(tmp_path, "b", seed=2)
    assert cli(capsys, "sweep", a, "--out", out, "--workers", "1", "--quiet")[0] == 0
    assert marker_kind(out) == "sweep"
    rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet")
    assert rc == 2 and "different spec" in err
    rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet", "--force")
    assert rc == 0, err
    assert (out / json.loads((out / "sweep.json").read_text())["spec_path"]).resolve() == b.resolve()  # b's runs
    assert marker_kind(out) == "sweep" and len(pd.read_parquet(out / "runs.parquet")) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "b.yaml", "o"]  # no temporaries left


def _temporaries(d: Path) -> list[Path]:
    return [p for p in d.iterdir() if p.name.startswith(".bordersim-")]


def _as_if_its_process_ended(temporary: Path) -> None:
    """Rename a temporary of this (living) process as one of a process that has ended."""
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    temporary.rename(temporary.with_name(f".bordersim-{int(ended.stdout)}-x.tmp"))


@pytest.mark.parametrize("moment", ["between the two renames", "while the old sweep is removed"])
def test_a_ctrl_c_while_force_replaces_a_sweep_keeps_a_whole_sweep_at_out(tmp_path, capsys, monkeypatch, moment,
                                                                          ctrl_c_between_the_renames):
    """--force swaps the new sweep directory in by two renames and then deletes the old one. A Ctrl-C between the
    renames left neither at OUT; one while the old one was deleted closed the old lock twice ('Bad file
    descriptor', exit 1, the new lock leaked). Now OUT holds the new sweep, the command says it was interrupted
    (exit 130), the same command resumes it, and the old sweep's remains go with the next sweep there."""
    from sim.experiments import store

    out = tmp_path / "o"
    a, b = tiny(tmp_path, "a", seed=1), tiny(tmp_path, "b", seed=2)
    assert cli(capsys, "sweep", a, "--out", out, "--workers", "1", "--quiet")[0] == 0
    if moment == "between the two renames":
        ctrl_c_between_the_renames()
    else:
        def remove_owned(path, kind):
            shutil.rmtree(Path(path) / "runs")  # part of the old sweep is gone
            raise KeyboardInterrupt

        monkeypatch.setattr(store, "remove_owned", remove_owned)
    rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet", "--force")
    monkeypatch.undo()
    assert rc == 130 and "interrupted" in err and "Traceback" not in err and "Bad file descriptor" not in err, err
    assert (out / json.loads((out / "sweep.json").read_text())["spec_path"]).resolve() == b.resolve()
    [left] = _temporaries(tmp_path)  # the old sweep, or what is left of it
    _as_if_its_process_ended(left)
    rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet")
    assert rc == 0, err
    assert len(pd.read_parquet(out / "runs.parquet")) == 2 and _temporaries(tmp_path) == []


def test_force_does_not_replace_a_sweep_directory_holding_what_bordersim_did_not_write(tmp_path, capsys):
    """--force deletes the old sweep directory as a whole: only when everything in it is bordersim's (its
    records, series, manifest, marker, lock, runs.parquet, plot's figures and report), else refused, untouched: a
    report or figure bordersim did not write (its own tags are missing) is the user's."""
    out = tmp_path / "o"
    a, b = tiny(tmp_path, "a", seed=1), tiny(tmp_path, "b", seed=2)
    assert cli(capsys, "sweep", a, "--out", out, "--workers", "1", "--quiet")[0] == 0
    assert cli(capsys, "plot", out, "--only", "response")[0] == 0 and cli(capsys, "report", out)[0] == 0
    for where, shown in [("notes.txt", "notes.txt"), ("runs/notes.txt", "runs/notes.txt"),
                         ("figures/notes.txt", "figures/notes.txt"), ("timeseries/mine.parquet",) * 2,
                         ("timeseries/run_id=p00000-r0000/extra.parquet",) * 2, ("analysis/table.csv", "analysis"),
                         ("report.html",) * 2, ("figures/my_figure.png",) * 2,
                         ("runs/p99999-r0000.json",) * 2,  # a file of the user's under a record's name
                         # names that matched bordersim's patterns, "$" matching before a final newline
                         ("runs/.bordersim-1-x.tmp\n",) * 2, ("timeseries/run_id=p00000-r0000/part-0.parquet\n",) * 2,
                         (".bordersim-1-notes.tmp/a.txt", ".bordersim-1-notes.tmp"),  # a directory named like a
                         ("runs/.p00000-r0000.json.keep.tmp/a.txt", "runs/.p00000-r0000.json.keep.tmp")]:  # temporary
        (out / where).parent.mkdir(exist_ok=True)
        (out / where).write_bytes(users_file(where))
        before = snapshot(tmp_path)
        rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet", "--force")
        assert rc == 2 and f"holds what bordersim did not write ({shown})" in err, (where, err)
        assert snapshot(tmp_path) == before, where
        (out / where).unlink()
        if where.startswith("analysis") or where.endswith(".tmp/a.txt"):
            (out / where).parent.rmdir()
    table = (out / "runs.parquet").read_bytes()  # an empty directory of the user's named like a file of the sweep's
    (out / "runs.parquet").unlink()
    (out / "runs.parquet").mkdir()
    before = snapshot(tmp_path)
    rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet", "--force")
    assert rc == 2 and "holds what bordersim did not write (runs.parquet)" in err, err
    assert snapshot(tmp_path) == before
    (out / "runs.parquet").rmdir()
    (out / "runs.parquet").write_bytes(table)
    rc, _, err = cli(capsys, "sweep", b, "--out", out, "--workers", "1", "--quiet", "--force")
    assert rc == 0, err  # bordersim's own figures and report do not stop it
    assert (out / json.loads((out / "sweep.json").read_text())["spec_path"]).resolve() == b.resolve()  # b's runs


def make_older_version(out: Path) -> None:
    """What a sweep directory of bordersim before markers looks like: no .bordersim, no .lock."""
    (out / MARKER).unlink(missing_ok=True)
    (out / ".lock").unlink(missing_ok=True)


def test_a_sweep_directory_of_an_older_version_resumes_and_gets_its_marker(tmp_path, capsys):
    out = tmp_path / "o"
    spec = tiny(tmp_path)
    assert cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")[0] == 0
    make_older_version(out)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")
    assert rc == 0, err
    assert marker_kind(out) == "sweep"
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}  # resumed, not rerun


def test_an_older_sweep_directory_of_another_spec_is_kept_even_with_force(tmp_path, capsys):
    out = tmp_path / "o"
    assert cli(capsys, "sweep", tiny(tmp_path, "a", seed=1), "--out", out, "--workers", "1", "--quiet")[0] == 0
    make_older_version(out)
    before = snapshot(out)
    rc, _, err = cli(capsys, "sweep", tiny(tmp_path, "b", seed=2), "--out", out, "--workers", "1", "--quiet",
                     "--force")
    assert rc == 2 and "older bordersim" in err and "delete it yourself" in err, err
    assert snapshot(out) == before


# ------------------------------------------------------------------------------------------- item 4: lock

LOCKER = """
import sys, time
from sim.experiments.spec import load_spec
from sim.experiments.store import SweepStore
store = SweepStore.open(sys.argv[1], load_spec(sys.argv[2]))
print("locked", flush=True)
time.sleep(300)
"""


def test_a_second_sweep_into_a_locked_directory_is_refused_and_a_killed_holder_releases_it(tmp_path, capsys):
    spec, out = tiny(tmp_path), tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, str(out), str(spec)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        ready, _, _ = select.select([holder.stdout], [], [], HUNG)
        assert ready and holder.stdout.readline().strip() == "locked"
        before = snapshot(out)
        rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")
        assert rc == 2, err
        assert "another sweep" in err and f"pid {holder.pid} on {socket.gethostname()}" in err
        assert snapshot(out) == before and records(out) == 0
    finally:
        holder.kill()  # SIGKILL: the OS releases its lock
        holder.wait()
    rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")
    assert rc == 0, err
    assert len(pd.read_parquet(out / "runs.parquet")) == 2


# ------------------------------------------------------------------------------------------ item 8: sizes

GRID = "".join(f"  network.edges.{edge}.controls.{control}: {{start: 0, stop: 1, num: 10}}\n" for edge, control in [
    ("walk", "guards"), ("ford", "guards"), ("ford", "fence"), ("flight", "surveillance"), ("dmz", "guards"),
    ("dmz", "fence"), ("boat", "patrol")])


def test_a_sweep_above_the_limit_is_refused_before_anything_is_built(tmp_path):
    spec, out = write_spec(tmp_path / "huge.yaml", GRID), tmp_path / "o"  # 10^7 points
    for args in (["--dry-run"], []):
        r = sim_cmd("sweep", spec, "--out", out, *args, limit_mb=1000)
        assert r.returncode == 2, r.stderr
        assert "10,000,000 runs" in r.stderr and "limit of 1,000,000" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_a_large_sweep_needs_yes_and_its_dry_run_shows_40_rows_without_building_the_design(tmp_path, capsys):
    spec = write_spec(tmp_path / "large.yaml", "  network.edges.walk.controls.guards: {start: 0, stop: 1, num: 100}\n"
                      "  network.edges.ford.controls.guards: {start: 0, stop: 1, num: 100}\n"
                      "  network.edges.boat.controls.patrol: {start: 0, stop: 1, num: 90}\n", population=1_000_000)
    # a million persons: the pilot run takes ~0.3 s, so the estimate for 900,000 runs is days on this machine (at 50,000
    # a pilot of 0.08 s gave 20 h and the "more than 24 h" warning depended on the machine's speed)
    out = tmp_path / "o"
    r = sim_cmd("sweep", spec, "--dry-run", "--workers", "1", limit_mb=1000, timeout=3 * HUNG)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    table = lines[2:lines.index(next(x for x in lines if x.startswith("checked the scenario")))]
    assert sum(1 for x in table if x.split()[0].isdigit()) == 40
    assert "899,960 more points" in r.stdout
    assert "900,000 runs" in r.stdout and "--yes" in r.stderr and "more than 24 h" in r.stderr
    r = sim_cmd("sweep", spec, "--out", out, limit_mb=1000)
    assert r.returncode == 2 and "more than 100,000" in r.stderr and "--yes" in r.stderr, r.stderr
    assert not out.exists()
    # with --yes the size is accepted (this one then stops at its --out, a file)
    many = write_spec(tmp_path / "many.yaml", "  network.edges.dmz.controls.mines: {start: 0, stop: 1, num: 20}\n",
                      replicates=10_000)
    (tmp_path / "file").write_text("x")
    rc, _, err = cli(capsys, "sweep", many, "--out", tmp_path / "file", "--yes", "--quiet")
    assert rc == 2 and "not a directory" in err, err


# ------------------------------------------------------------------------------------------- item 9: Dask


@contextmanager
def listener(reply: bytes | None):
    """A TCP port on 127.0.0.1 that accepts connections and never answers (reply None) or answers `reply`."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.1)
    stop, conns = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conns.append(conn)
            if reply is not None:
                try:
                    conn.recv(1024)
                    conn.sendall(reply)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in conns:
            conn.close()
        srv.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_guarded(capsys, *args) -> tuple[int, str, str]:
    """`cli`, failing the test (rather than hanging it) when the command does not end within HUNG seconds."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("rc", main([str(a) for a in args])), daemon=True)
    thread.start()
    thread.join(HUNG)
    assert not thread.is_alive(), f"`bordersim {' '.join(map(str, args))}` hung"
    out, err = capsys.readouterr()
    return box["rc"], out, err


@pytest.mark.parametrize("kind", ["garbage", "nothing listening", "silent", "not dask"])
def test_a_scheduler_that_is_not_there_is_an_error_not_a_hang(tmp_path, capsys, kind):
    import dask
    import distributed  # noqa: F401 - its defaults must be in dask's config before the temporary setting below:
    # imported inside `dask.config.set`, they would be removed with it, and a later LocalCluster in this test
    # process (test_sweep.py) would fail with KeyError 'distributed'

    reply = {"silent": None, "not dask": b"HTTP/1.0 400 Bad Request\r\n\r\n"}
    out = tmp_path / "o"
    # 1 s: every case here ends in the connect timeout or before it (nothing answers as a scheduler would)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        if kind == "garbage":
            rc, _, err = cli_guarded(capsys, "sweep", tiny(tmp_path), "--out", out, "--scheduler", "garbage")
        elif kind == "nothing listening":
            rc, _, err = cli_guarded(capsys, "sweep", tiny(tmp_path), "--out", out, "--scheduler",
                                     f"tcp://127.0.0.1:{free_port()}")
        else:
            with listener(reply[kind]) as port:
                rc, _, err = cli_guarded(capsys, "sweep", tiny(tmp_path), "--out", out, "--scheduler",
                                         f"tcp://127.0.0.1:{port}")
    assert rc == 2, err
    assert "--scheduler" in err and "Traceback" not in err and "internal failure" not in err
    assert not out.exists()


CLUSTER = """
import sys, time
from distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                       scheduler_port=int(sys.argv[1]), dashboard_address=None)
Client(cluster).wait_for_workers(1)
print(cluster.scheduler_address, flush=True)
time.sleep(600)
"""


def test_workers_that_cannot_import_bordersim_are_named_before_any_task():
    """A task sent to a Dask worker without bordersim failed to unpickle there and killed the worker; the sweep
    ended 30 s later with "the scheduler has had no worker". The check asks every worker to import what a task
    needs (`client.run`, whose on_error="return" gives each worker's exception; the real call runs in every Dask
    sweep of the suite, on workers that can)."""
    from sim.experiments.dask_cluster import WORKER_IMPORT, check_workers_import

    class Client:
        def run(self, function, *args, on_error):
            assert function is exec and args == (WORKER_IMPORT,) and on_error == "return"
            return {"tcp://10.0.0.1:1": None, "tcp://10.0.0.2:2": ImportError("No module named 'sim'")}

    with pytest.raises(InputError, match=r"--scheduler tcp://s:8786: 1 of 2 worker\(s\) cannot import bordersim "
                                         r"\(tcp://10.0.0.2:2: ImportError: No module named 'sim'\); install"):
        check_workers_import(Client(), "tcp://s:8786")
    check_workers_import(type("Good", (), {"run": lambda self, f, *a, on_error: {"w": f(*a)}})(), "tcp://s:8786")


def test_a_ctrl_c_after_the_last_run_says_the_runs_are_kept(tmp_path, capsys, monkeypatch):
    """A Ctrl-C that lands after the runs (while the workers stop, the directory's lock is released) printed a
    bare 'interrupted'; it now says what every other Ctrl-C of a sweep says."""
    from sim.experiments.store import SweepStore

    real_close = SweepStore.close

    def close(self):
        real_close(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(SweepStore, "close", close)
    out = tmp_path / "o"
    rc, _, err = cli(capsys, "sweep", tiny(tmp_path), "--out", out, "--workers", "1", "--quiet")
    assert rc == 130 and f"interrupted: 2 of 2 runs finished and saved in {out}; run the same command again" in err


def test_a_ctrl_c_while_the_finished_sweep_writes_runs_parquet_stops_it_once_the_table_is_whole(tmp_path, capsys,
                                                                                                   monkeypatch):
    """A Ctrl-C during the last writing of runs.parquet (every run done) said the runs were saved, but left no
    runs.parquet: `summarize` then sent the user to run the sweep again (a probe)."""
    import signal

    from sim.experiments.store import SweepStore

    real_compile = SweepStore.compile

    def compile_(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the handler would run at the next line: inside the writing
        return real_compile(self, *args, **kwargs)

    monkeypatch.setattr(SweepStore, "compile", compile_)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # a suite run in the background ignores SIGINT
    try:
        out = tmp_path / "o"
        rc, _, err = cli(capsys, "sweep", tiny(tmp_path), "--out", out, "--workers", "1", "--quiet")
    finally:
        signal.signal(signal.SIGINT, old)
    assert rc == 130 and f"interrupted: 2 of 2 runs finished and saved in {out}" in err, err
    assert len(pd.read_parquet(out / "runs.parquet")) == 2



def test_a_write_refused_for_want_of_permission_names_the_file_and_says_to_give_access(tmp_path, capsys,
                                                                                       monkeypatch):
    """A time series part the system would not let the sweep create raised a raw PermissionError (the mkdir was
    outside `writing`), and a refused write said 'free some space' (an API probe)."""
    import errno

    real_mkdir = os.mkdir

    def refused(path, *args, **kwargs):
        if "run_id=" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    spec = tmp_path / "kept.yaml"
    spec.write_text(f"name: kept\nscenario: {TOY}\nparameters:\n  population.size: [500]\n"
                    "outputs: {timeseries: true}\n")
    monkeypatch.setattr(os, "mkdir", refused)
    rc, _, err = cli(capsys, "sweep", spec, "--out", tmp_path / "o", "--workers", "1", "--quiet")
    assert rc == 1 and "run_id=p00000-r0000: cannot write (Permission denied)" in err, err
    assert "give your user write access there and run the same command again" in err and "space" not in err, err

def test_a_disk_that_fills_during_a_sweep_is_exit_1_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    """The system refusing a write (a full disk) is not bad input: it was exit 2, and a sweep stopped by it did
    not say that its finished runs were kept (a probe; README: 'exits with 1')."""
    import errno

    from sim.errors import WriteFailed
    from sim.experiments.store import SweepStore

    real_record, calls = SweepStore.record, []

    def record(self, run, output):
        calls.append(run)
        if len(calls) == 2:
            raise WriteFailed(f"{self.root}/runs/x.json: cannot write (No space left on device); nothing was replaced",
                              errno.ENOSPC)
        return real_record(self, run, output)

    monkeypatch.setattr(SweepStore, "record", record)
    out = tmp_path / "o"
    rc, _, err = cli(capsys, "sweep", tiny(tmp_path), "--out", out, "--workers", "1", "--quiet")
    assert rc == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert f"1 of 2 runs finished and saved in {out}: free some space and run the same command again" in err
    monkeypatch.undo()
    assert cli(capsys, "sweep", tiny(tmp_path), "--out", out, "--workers", "1", "--quiet")[0] == 0


def test_the_workers_of_a_local_dask_cluster_ignore_ctrl_c():
    """They share the terminal's process group: a Ctrl-C reached each and each printed a traceback (a probe), while
    the sweep process stops the cluster itself."""
    from sim.experiments.dask_cluster import dask_backend

    with dask_backend(1, "local") as be:
        executor = be.make()
        disposition = executor.submit(lambda: str(signal.getsignal(signal.SIGINT))).result(timeout=HUNG)
        assert disposition == str(signal.SIG_IGN)


def test_a_scheduler_lost_mid_sweep_ends_it_with_a_message_and_keeps_finished_runs(tmp_path):
    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    cluster = subprocess.Popen([sys.executable, "-c", CLUSTER, str(free_port())], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    out = tmp_path / "o"
    try:
        ready, _, _ = select.select([cluster.stdout], [], [], 2 * HUNG)
        assert ready, "the LocalCluster did not start"
        address = cluster.stdout.readline().strip()
        sweep = subprocess.Popen([sys.executable, "-m", "sim", "sweep", slow(tmp_path, 20), "--out", out,
                                  "--scheduler", address, "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: records(out) >= 2 or sweep.poll() is not None, "two finished runs", 2 * HUNG)
            os.kill(cluster.pid, signal.SIGKILL)  # the scheduler lives in this process, its worker in a child
            _, err = sweep.communicate(timeout=HUNG)
        finally:
            sweep.kill()
        assert sweep.returncode == 1, err
        assert "Dask scheduler" in err and "run the same command again to resume" in err and "Traceback" not in err
        kept = pd.read_parquet(out / "runs.parquet")
        assert len(kept) == records(out) >= 2 and (kept["status"] == "ok").all()
    finally:
        try:
            os.killpg(cluster.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        cluster.wait()


# ----------------------------------------------------------------------------------------- item 10: orphans


def test_sigkill_of_the_sweep_leaves_no_process_behind(tmp_path, killed_tmpdir):
    mark, out = uuid.uuid4().hex, tmp_path / "o"
    sweep = subprocess.Popen([sys.executable, "-m", "sim", "sweep", slow(tmp_path, 20), "--out", out, "--workers",
                              "2", "--quiet"], cwd=ROOT,
                             env={**os.environ, "BORDERSIM_TEST_MARK": mark, "TMPDIR": str(killed_tmpdir)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    left = []
    try:
        wait_for(lambda: records(out) >= 1 or sweep.poll() is not None, "a finished run")
        assert sweep.poll() is None and len(marked(mark)) >= 4  # sweep, resource tracker, forkserver, workers
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
        deadline = time.monotonic() + 20
        while marked(mark) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = marked(mark)
        assert not left, [Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in left]
    finally:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_killing_the_forkserver_mid_sweep_the_sweep_still_finishes(tmp_path):
    out = tmp_path / "o"
    sweep = subprocess.Popen([sys.executable, "-m", "sim", "sweep", slow(tmp_path, 10), "--out", out, "--workers",
                              "2", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def forkserver():
        return next((pid for pid, cmd in children(sweep.pid) if "multiprocessing.forkserver" in cmd), None)

    try:
        first = wait_for(forkserver, "the forkserver", every=0.005)
        os.kill(first, signal.SIGKILL)  # while the workers start
        wait_for(lambda: records(out) >= 1 or sweep.poll() is not None, "a finished run")
        second = forkserver()
        if second is not None and second != first:
            os.kill(second, signal.SIGKILL)  # and again while they run
        _, err = sweep.communicate(timeout=3 * HUNG)
    finally:
        sweep.kill()
    assert sweep.returncode == 0, err
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 10 and (runs["status"] == "ok").all()


PRELOADED = """
import os
from multiprocessing import forkserver
from sim.experiments.executors import backend

if __name__ == "__main__":
    with backend(workers=1, engine="arrays") as be:
        pool = be.make()
        worker = pool.submit(os.getpid).result()  # the forkserver forks a worker only after its imports
        server = forkserver._forkserver._forkserver_pid
        with open(f"/proc/{server}/maps") as maps:
            print(worker != server, "_multiarray_umath" in maps.read())
        pool.shutdown()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the forkserver's memory map from /proc")
def test_the_forkserver_imports_the_engine_once_so_workers_start_without_importing_it(tmp_path):
    """Every pool (a calibration starts one per round) forks its workers from the forkserver; with the task and
    engine modules imported there first, a worker does not import them again (about 1 s a pool). The forkserver
    must be started with them: set after it started, they are ignored. numpy's compiled core in the forkserver's
    memory map shows that it imported the array engine."""
    script = tmp_path / "preloaded.py"
    script.write_text(PRELOADED)
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=HUNG)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


STUCK = """
import gc, os, struct, sys
from multiprocessing.queues import SimpleQueue
from sim.experiments import executors
from sim.experiments.executors import backend, drive

executors.STUCK_WAIT = 0.2  # seconds of dead workers before the pool counts as stuck (1 s in use): the test waits less

def task(marker):
    if not os.path.exists(marker):  # the first time: die while writing a result, as a killed worker can
        open(marker, "w").close()
        queue = next(o for o in gc.get_objects() if isinstance(o, SimpleQueue))  # the worker's result queue
        os.write(queue._writer.fileno(), struct.pack("!i", 1000) + b"x" * 10)  # 10 bytes of 1,000
        os._exit(1)
    return "done"

if __name__ == "__main__":
    results, lost = [], []
    with backend(workers=int(sys.argv[2])) as be:
        drive([sys.argv[1]], lambda ex, t: ex.submit(task, t), be, lambda t, out: results.append(out),
              lambda t, msg: lost.append(msg))
    print(results, lost)
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_that_dies_while_writing_its_result_does_not_hang_the_sweep(tmp_path, workers):
    """The executor's thread read the dead worker's half-written result and waited for the rest for ever: the
    sweep hung with no worker left (seen after the forkserver was killed mid-sweep). Once every worker has been
    dead a moment the pipe is closed, the run is retried and the sweep ends."""
    script = tmp_path / "stuck.py"
    script.write_text(STUCK)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "marker"), str(workers)], cwd=ROOT,
                          capture_output=True, text=True, timeout=HUNG)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['done'] []"


# ---------------------------------------------------------------------- item 16: main guard and bad points

UNGUARDED = """
import sim
df = sim.sweep({spec!r}, {out!r}, workers=2)
print("returned", len(df))
"""

GUARDED = """
import sim


def main():
    df = sim.sweep({spec!r}, {out!r}, workers=2)
    print("returned", len(df))


if __name__ == "__main__":
    main()
"""


def test_a_script_without_a_main_guard_gets_one_clear_error_and_a_guarded_one_runs(tmp_path):
    spec = tiny(tmp_path)
    for name, body, out in [("unguarded", UNGUARDED, tmp_path / "o1"), ("guarded", GUARDED, tmp_path / "o2")]:
        script = tmp_path / f"{name}.py"
        script.write_text(body.format(spec=str(spec), out=str(out)))
        r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                           timeout=2 * HUNG)
        if name == "unguarded":
            assert r.returncode == 1 and "returned" not in r.stdout, r.stderr[-2000:]
            assert 'if __name__ == "__main__":' in r.stderr and str(script) in r.stderr
            assert r.stderr.count("Traceback") == 1
            assert not out.exists()
        else:
            assert r.returncode == 0 and "returned 2" in r.stdout, r.stderr[-2000:]


def test_a_sweep_from_a_script_piped_to_python_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    """`python - < script.py`: the main script is '<stdin>', which worker processes cannot import again; every run
    failed as "worker process died 3 times" (each worker: FileNotFoundError '<stdin>') and the call returned (a
    probe). Refused at once, naming what to do."""
    import types

    import sim

    piped = types.ModuleType("__main__")
    piped.__file__ = "<stdin>"
    monkeypatch.setitem(sys.modules, "__main__", piped)
    out = tmp_path / "o"
    with pytest.raises(UsageError, match=r"main script \(<stdin>\) is not a file they can read") as err:
        sim.sweep(tiny(tmp_path), out, workers=1)
    assert 'if __name__ == "__main__":' in str(err.value)
    assert not out.exists()


def test_a_temporary_directory_too_long_for_the_workers_socket_is_named_before_anything_is_written(tmp_path):
    """Python's forkserver listens on a Unix socket under TMPDIR, whose path may have at most 107 bytes: a
    long TMPDIR (a batch system's per-job directory) ended every sweep as "internal failure: OSError: AF_UNIX
    path too long", after its directory was made."""
    long_tmp = tmp_path / ("t" * max(1, 90 - len(str(tmp_path))))
    long_tmp.mkdir()
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "sim", "sweep", str(tiny(tmp_path)), "--out", str(out), "--workers",
                        "2"], cwd=ROOT, capture_output=True, text=True, timeout=HUNG,
                       env={**os.environ, "TMPDIR": str(long_tmp)})
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: the temporary directory {long_tmp} (") and "set TMPDIR" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1
    assert not out.exists()


def test_a_point_with_bad_values_is_refused_before_any_run(tmp_path, capsys):
    spec = write_spec(tmp_path / "bad.yaml", "  population.groups.soldier.share: [0.07, 0.5]\n"
                      "  network.edges.dmz.controls.mines: [0.0, 1.0]\n")
    out = tmp_path / "o"
    for extra in (["--dry-run"], ["--out", out]):
        rc, _, err = cli(capsys, "sweep", spec, "--workers", "1", "--quiet", *extra)
        assert rc == 2, err
        assert "2 of 4 points make an invalid scenario" in err and "point 2 (" in err and "sum to 1" in err
        assert str(spec) in err and "Traceback" not in err
    assert not out.exists()


def test_each_problem_of_a_bad_point_is_named_with_its_own_key(tmp_path, capsys):
    """A point that ends the toy before its policies start has several problems: the key of the first was printed
    at the end of the last one's line, where it read as the last one's (a probe)."""
    spec = write_spec(tmp_path / "short.yaml", "  time.end: ['2001-12']\n")
    rc, _, err = cli(capsys, "sweep", spec, "--dry-run", "--quiet")
    assert rc == 2, err
    lines = err.splitlines()
    problems = [x for x in lines if "lies outside" in x or "lies after" in x]
    assert len(problems) >= 2, err
    for line in problems:  # each line names one key, before its own message
        assert line.count("key '") == 1 and line.index("key '") < line.index(" lies "), line


# ------------------------------------------------------------------------------- items 11/19: summarize


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> Path:
    from sim.experiments.sweep import plan, run_sweep

    d = tmp_path_factory.mktemp("finished")
    run_sweep(plan(tiny(d)), d / "sweep", workers=1)
    return d / "sweep"


@pytest.mark.parametrize("kind, command", [("sensitivity", "sensitivity"), ("calibration", "calibrate"),
                                           ("effects", "effects"), ("discovery", "discover")])
def test_a_sweep_is_not_written_into_an_analysis_directory(tmp_path, capsys, finished_sweep, kind, command):
    """`sweep --force --out SENS/sweep` replaced a sensitivity analysis's runs by another spec's, and `plot` and
    `report` then showed the analysis's old indices as finished (a probe). A sweep inside an analysis directory is
    refused, with or without --force and in a dry run, from the command line and from Python; nothing is
    touched."""
    import sim

    analysis = tmp_path / "analysis"
    shutil.copytree(finished_sweep, analysis / "sweep")
    write_marker(analysis, kind)
    before = sorted(p.relative_to(analysis) for p in analysis.rglob("*"))
    spec = tiny(tmp_path)
    (tmp_path / "link").symlink_to(analysis / "sweep")  # a link to the analysis's sweep is inside it too
    for out in (analysis / "sweep", analysis / "other", tmp_path / "link"):
        for extra in ([], ["--force"], ["--dry-run"]):
            rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--quiet", *extra)
            assert rc == 2 and f"lies inside the {kind} directory {analysis}" in err, err
            assert f"bordersim {command}" in err and "Traceback" not in err
        with pytest.raises(UsageError, match=f"inside the {kind} directory"):
            sim.sweep(spec, out, force=True)
    assert sorted(p.relative_to(analysis) for p in analysis.rglob("*")) == before
    # summarize's advice names the analysis's command, not the refused `bordersim sweep`
    rc, _, err = cli(capsys, "summarize", analysis / "sweep")
    assert rc == 0 and f"(the replicates of the {command} spec)" in err and "bordersim sweep" not in err, err
    runs = pd.read_parquet(analysis / "sweep" / "runs.parquet")
    runs.iloc[:1].to_parquet(analysis / "sweep" / "runs.parquet", index=False)
    rc, _, err = cli(capsys, "summarize", analysis / "sweep")
    assert rc == 0 and f"run the same `bordersim {command}` command again to finish it" in err, err


def test_a_sweep_or_analysis_is_not_written_into_a_run_or_sweep_directory(tmp_path, capsys, finished_sweep,
                                                                           monkeypatch):
    """`sweep --out R/sub` in a run directory R, or in another sweep's directory, was accepted, and R could then
    not be replaced with --force ("holds what bordersim did not write", of a sweep bordersim had written; a
    probe); so was an analysis's --out there. Refused as a run's --out there is, from the command line and from
    Python, before anything is written."""
    import sim

    run_dir = tmp_path / "R"
    assert main(["run", str(TOY), "--out", str(run_dir), "--quiet", "--set", "population.size=300"]) == 0
    sweep_dir = tmp_path / "S"
    shutil.copytree(finished_sweep, sweep_dir)
    before = {d: sorted(p.relative_to(d) for p in d.rglob("*")) for d in (run_dir, sweep_dir)}
    spec = tiny(tmp_path)
    for outer, kind in ((run_dir, "run"), (sweep_dir, "sweep")):
        message = f"lies inside the {kind} directory {outer}, which bordersim made"
        for extra in ([], ["--dry-run"]):
            rc, _, err = cli(capsys, "sweep", spec, "--out", outer / "sub", "--quiet", *extra)
            assert rc == 2 and message in err and "Traceback" not in err, err
        with pytest.raises(UsageError, match=message):
            sim.sweep(spec, outer / "sub")
        for command in (["sensitivity", ROOT / "experiments" / "toy_sensitivity.yaml", "--method", "morris"],
                        ["effects", ROOT / "experiments" / "toy_effects.yaml"]):
            rc, _, err = cli(capsys, *command, "--out", outer / "sub", "--quiet")
            assert rc == 2 and message in err and "Traceback" not in err, (command, err)
    (run_dir / "notes").mkdir()  # a relative --out given from inside R is inside R too (found in review)
    monkeypatch.chdir(run_dir / "notes")
    for command in (["sensitivity", ROOT / "experiments" / "toy_sensitivity.yaml", "--method", "morris"],
                    ["sweep", spec], ["run", TOY]):
        rc, _, err = cli(capsys, *command, "--out", "sub", "--quiet")
        assert rc == 2 and f"lies inside the run directory {run_dir.resolve()}, which bordersim made" in err, err
    (run_dir / "notes").rmdir()
    assert {d: sorted(p.relative_to(d) for p in d.rglob("*")) for d in (run_dir, sweep_dir)} == before


def test_a_sweep_that_keeps_no_time_series_makes_no_timeseries_directory(tmp_path, capsys):
    """`outputs: {timeseries: false}` left an empty timeseries/ in the sweep directory (a probe); a sweep that
    keeps them has one part per run."""
    spec = tiny(tmp_path)  # timeseries: false
    rc, _, err = cli(capsys, "sweep", spec, "--out", tmp_path / "o", "--quiet")
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [".bordersim", ".lock", "runs", "runs.parquet",
                                                                  "scenario.resolved.yaml", "sweep.json"]
    spec.write_text(spec.read_text().replace("timeseries: false", "timeseries: true"))
    rc, _, err = cli(capsys, "sweep", spec, "--out", tmp_path / "kept", "--quiet")
    assert rc == 0, err
    runs = pd.read_parquet(tmp_path / "kept" / "runs.parquet")
    assert sorted(p.name for p in (tmp_path / "kept" / "timeseries").iterdir()) == [
        f"run_id={r}" for r in sorted(runs["run_id"])]


def test_summarize_says_a_stopped_sweep_is_unfinished_and_how_to_finish_it(tmp_path, capsys, finished_sweep):
    """A sweep stopped part-way (its runs.parquet holds the runs finished so far) was summarized as if complete,
    with advice to add replicates the spec already asks for (a probe). The finished sweep keeps its note."""
    rc, _, err = cli(capsys, "summarize", finished_sweep)
    assert rc == 0 and "not finished" not in err and "add replicates" in err, err  # one replicate per point
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    runs = pd.read_parquet(d / "runs.parquet")
    runs.iloc[:1].to_parquet(d / "runs.parquet", index=False)  # as a sweep stopped after its first run leaves it
    rc, out, err = cli(capsys, "summarize", d)
    assert rc == 0, err
    assert f"the sweep is not finished: 1 of its {len(runs)} runs are in {d}/runs.parquet" in err
    assert "run the same `bordersim sweep` command again to finish it" in err and "add replicates" not in err


@pytest.mark.parametrize("damage", ["runs.parquet garbage", "runs.parquet truncated", "sweep.json"])
def test_summarize_a_damaged_sweep_directory_names_the_file(tmp_path, capsys, finished_sweep, damage):
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    name = damage.split()[0]
    data = (d / name).read_bytes()
    (d / name).write_bytes(b"PAR1 not parquet" if damage.endswith("garbage") else data[: len(data) // 2])
    rc, _, err = cli(capsys, "summarize", d)
    assert rc == 2, err
    assert str(d / name) in err and "damaged" in err and "Traceback" not in err



DAMAGED = {"a seed of text": {"seed": "7"}, "a seed past 2^64": {"seed": 2**70}, "a negative seed": {"seed": -1},
           "another point": {"point": 7}, "a code of a list": {"code_sha256": [1]},
           "a parameter of a list": {"parameters": {"network.edges.dmz.controls.mines": [1]}}}


@pytest.mark.parametrize("record", ["[1, 2]", '{"run_id": "p00001-r0000", "status": "ok"}', "{not json",
                                    "another run's record", *DAMAGED])
def test_a_file_named_as_a_record_but_not_one_stops_the_sweep_and_is_never_written_over(tmp_path, capsys,
                                                                                         finished_sweep, record):
    """A run record that was a JSON list, or an object without 'point', made the sweep an internal failure (exit
    1, no file named; a probe), and a record cut short was silently made again, its file written over: it may be
    a file of the user's. Every such file now stops the sweep before any run (exit 2, named, left as it is);
    moved away, the run is made again and the sweep's files equal the intact sweep's."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    damaged = d / "runs" / "p00001-r0000.json"
    intact = json.loads(damaged.read_text())
    text = ((d / "runs" / "p00000-r0000.json").read_text() if record == "another run's record" else
            json.dumps({**intact, **DAMAGED[record]}) if record in DAMAGED else record)
    damaged.write_text(text)
    rc, _, err = cli(capsys, "sweep", tiny(tmp_path), "--out", d, "--quiet")
    assert rc == 2 and f"{d / 'runs'}: p00001-r0000.json bears the name of a run record" in err, err
    assert damaged.read_text() == text and "Traceback" not in err
    shutil.move(damaged, tmp_path / "moved.json")
    rc, _, err = cli(capsys, "sweep", tiny(tmp_path), "--out", d, "--quiet")
    assert rc == 0, err
    assert json.loads(damaged.read_text()) | {"wall_time": 0} == intact | {"wall_time": 0}
    ours = pd.read_parquet(d / "runs.parquet").drop(columns="wall_time")
    pd.testing.assert_frame_equal(ours, pd.read_parquet(finished_sweep / "runs.parquet").drop(columns="wall_time"))


@pytest.mark.parametrize("damage", ["cut short", "an empty object", "no fingerprint", "a null fingerprint"])
def test_a_damaged_manifest_is_named_with_advice_that_keeps_the_runs(tmp_path, capsys, finished_sweep, damage):
    """summarize said to rerun the command, which refused and pointed to --force, which discards every intact run
    record; an empty-object sweep.json was summarized without its parameters, exit 0, and the sweep called it "a
    different spec (None, ...)" and pointed to --force."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    text = (d / "sweep.json").read_text()
    manifest = {k: v for k, v in json.loads(text).items() if k != "fingerprint"}
    (d / "sweep.json").write_text({"cut short": text[:40], "an empty object": "{}",
                                   "no fingerprint": json.dumps(manifest),
                                   "a null fingerprint": json.dumps({**manifest, "fingerprint": None})}[damage])
    for command in (["summarize", d], ["plot", d, "--out", tmp_path / "figs"], ["report", d],
                    ["compare", f"{d}:0", f"{d}:1"]):  # plot, report and compare read a null fingerprint unseen
        rc, _, err = cli(capsys, *command)
        assert rc == 2 and str(d / "sweep.json") in err and "running the sweep again cannot rebuild it" in err, err
    spec = tiny(tmp_path)
    rc, _, err = cli(capsys, "sweep", spec, "--out", d, "--quiet")
    assert rc == 2 and "cannot tell which spec made the 2 run record(s)" in err and "restore sweep.json" in err
    assert "discarding them" in err and "None" not in err, err
    assert sorted(p.name for p in (d / "runs").iterdir()) == ["p00000-r0000.json", "p00001-r0000.json"]


def test_a_manifest_damaged_but_for_its_fingerprint_is_written_again_by_the_sweep(tmp_path, capsys,
                                                                                   finished_sweep):
    """Its message said running the sweep again could not rebuild it; the sweep (same spec: the fingerprint
    matches) does write it again."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    manifest = json.loads((d / "sweep.json").read_text())
    (d / "sweep.json").write_text(json.dumps({**manifest, "parameters": "not a list"}))
    rc, _, err = cli(capsys, "summarize", d)
    assert rc == 2 and "run the same sweep again: it writes sweep.json again" in err, err
    assert cli(capsys, "sweep", tiny(tmp_path), "--out", d, "--quiet")[0] == 0
    assert cli(capsys, "summarize", d)[0] == 0


@pytest.mark.parametrize("column", ["seed", "arrived", "a route's killed"])
def test_a_runs_table_that_lost_a_column_is_damaged_for_every_reader(tmp_path, capsys, finished_sweep, column):
    """A runs.parquet without 'arrived' was summarized, plotted and reported without it, unseen; one without
    'seed' made compare an internal failure."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    runs = pd.read_parquet(d / "runs.parquet")
    if column.startswith("a route"):  # this sweep kept only totals: a route's block, written whole, then cut
        for flow in ("set_out", "arrived", "caught", "killed", "repatriated", "returned", "in_transit"):
            runs[f"route.dmz.{flow}"] = runs[flow]
    drop = ["route.dmz.killed" if column.startswith("a route") else column]
    assert set(drop) <= set(runs.columns)
    runs.drop(columns=drop).to_parquet(d / "runs.parquet")
    for command in (["summarize", d], ["plot", d, "--out", tmp_path / "figs"], ["report", d],
                    ["compare", f"{d}:0", f"{d}:0"]):
        rc, out, err = cli(capsys, *command)
        assert rc == 2 and str(d / "runs.parquet") in err and drop[0] in err and "Traceback" not in err, (command, err)
    with pytest.raises(InputError, match=drop[0]):
        load_sweep(d)


@pytest.mark.parametrize("twice", ["run_id", "point and replicate"])
def test_a_runs_table_with_a_run_twice_is_damaged_for_every_reader(tmp_path, capsys, finished_sweep, twice):
    """A row given twice made compare an internal failure and was counted twice by summarize and report (n one
    more than the replicates, a mean moved; a probe)."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    runs = pd.read_parquet(d / "runs.parquet")
    extra = runs.iloc[[0]].copy()
    if twice != "run_id":
        extra["run_id"] = "p99999-r9999"  # another id, the same point and replicate
    pd.concat([runs, extra]).to_parquet(d / "runs.parquet")
    for command in (["summarize", d], ["plot", d, "--out", tmp_path / "figs"], ["report", d],
                    ["compare", f"{d}:0", f"{d}:1"]):
        rc, out, err = cli(capsys, *command)
        assert rc == 2 and str(d / "runs.parquet") in err and f"2 rows share their {twice}" in err, (command, err)
        assert "Traceback" not in err


@pytest.mark.parametrize("lost", ["a year's arrivals", "every route column"])
def test_a_runs_table_that_lost_a_year_or_its_routes_is_damaged(tmp_path, capsys, lost):
    """year.2002.arrived, or every route.* column, could go unseen: the 2002 row or the route block dropped out of
    summarize, plot, report and compare (a spec that kept by_year and by_route)."""
    spec = write_spec(tmp_path / "kept.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n")
    spec.write_text(spec.read_text().replace("keep: [totals]", "keep: [totals, by_route, by_year]"))
    d = tmp_path / "sweep"
    assert cli(capsys, "sweep", spec, "--out", d, "--quiet")[0] == 0
    runs = pd.read_parquet(d / "runs.parquet")
    drop = (["year.2002.arrived"] if lost.startswith("a year") else [c for c in runs.columns if c.startswith("route.")])
    runs.drop(columns=drop).to_parquet(d / "runs.parquet")
    for command in (["summarize", d], ["compare", f"{d}:0", f"{d}:1"]):
        rc, _, err = cli(capsys, *command)
        said = "year.2002.arrived" if lost.startswith("a year") else "no route columns"
        assert rc == 2 and str(d / "runs.parquet") in err and said in err, (command, err)

def test_a_sweep_that_kept_only_its_years_is_plotted_without_the_response_figure(tmp_path, capsys):
    """plot and report of a sweep with `outputs: {keep: [by_year]}` were an internal ValueError (a response
    figure of no outcomes)."""
    spec = write_spec(tmp_path / "years.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n")
    spec.write_text(spec.read_text().replace("keep: [totals]", "keep: [by_year]"))
    d = tmp_path / "sweep"
    assert cli(capsys, "sweep", spec, "--out", d, "--quiet")[0] == 0
    rc, _, err = cli(capsys, "plot", d, "--out", tmp_path / "figs")
    assert rc == 0 and "skipped response: the sweep kept none of set_out, arrived, killed" in err, err
    assert cli(capsys, "report", d)[0] == 0

def test_a_directory_where_a_table_should_be_is_named_not_read_as_an_empty_table(tmp_path, capsys, finished_sweep):
    """pyarrow reads a directory as an empty dataset: plot and report drew an empty sweep with exit 0, and a run's
    timeseries.parquet as a directory was 'a time series with no rows'."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    (d / "runs.parquet").unlink()
    (d / "runs.parquet").mkdir()
    for command in (["summarize", d], ["plot", d, "--out", tmp_path / "figs"], ["report", d]):
        rc, _, err = cli(capsys, *command)
        assert rc == 2 and f"{d / 'runs.parquet'}: a directory" in err, (command, err)
    assert not (tmp_path / "figs").exists() and not (d / "report.html").exists()
    rc, _, _ = cli(capsys, "run", TOY, "--out", tmp_path / "run", "--set", "population.size=500", "--quiet")
    assert rc == 0
    (tmp_path / "run" / "timeseries.parquet").unlink()
    (tmp_path / "run" / "timeseries.parquet").mkdir()
    rc, _, err = cli(capsys, "plot", tmp_path / "run")
    assert rc == 2 and "timeseries.parquet: a directory" in err, err


def test_summarize_says_why_a_row_has_no_interval(tmp_path, capsys, finished_sweep):
    """It said 'add replicates with --replicates' (summarize has no such option) also when every point had enough
    replicates and an outcome was undefined in some runs (a female share in a year nobody arrived)."""
    rc, _, err = cli(capsys, "summarize", finished_sweep)
    assert rc == 0 and "needs at least 3 replicates" in err and "bordersim sweep SPEC --replicates R" in err, err
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    runs = pd.read_parquet(d / "runs.parquet")
    three = pd.concat([runs.assign(replicate=k, seed=runs["seed"] + k,
                                   run_id=runs["run_id"].str.replace("r0000", f"r{k:04d}")) for k in range(3)])
    three["female_share_2001"] = [0.5, float("nan")] * 3  # undefined in one point's runs
    three.to_parquet(d / "runs.parquet", index=False)
    rc, _, err = cli(capsys, "summarize", d, "--outcome", "arrived", "--outcome", "female_share_2001")
    assert rc == 0 and "female_share_2001 is undefined in some runs" in err and "replicates" not in err, err


def test_summarize_keeps_a_point_whose_runs_all_failed_and_says_runs_failed(tmp_path, capsys, finished_sweep):
    """A point none of whose runs succeeded vanished from the table (exit 0, nothing said), and against it as the
    baseline every row was n 0 with a note blaming an outcome undefined in some runs."""
    d = tmp_path / "sweep"
    shutil.copytree(finished_sweep, d)
    runs = pd.read_parquet(d / "runs.parquet")
    three = pd.concat([runs.assign(replicate=k, seed=runs["seed"] + k,
                                   run_id=runs["run_id"].str.replace("r0000", f"r{k:04d}")) for k in range(3)])
    lost = three["point"] == 1
    three.loc[lost, "status"] = "failed"
    three.loc[lost, "arrived"] = float("nan")
    three.to_parquet(d / "runs.parquet", index=False)
    rc, out, err = cli(capsys, "summarize", d, "--outcome", "arrived", "--format", "csv")
    table = pd.read_csv(io.StringIO(out)).set_index("point")
    assert rc == 0 and list(table.index) == [0, 1], out
    assert table.loc[0, "n"] == 3 and table.loc[1, "n"] == 0 and np.isnan(table.loc[1, "mean"])
    assert table.loc[0, "mean"] == runs.loc[runs["point"] == 0, "arrived"].iloc[0]  # the three copies' mean
    assert "note: 3 of 6 runs failed (point(s) 1)" in err and "again to retry them" in err, err
    rc, out, err = cli(capsys, "summarize", d, "--outcome", "arrived", "--baseline", "1", "--format", "csv")
    table = pd.read_csv(io.StringIO(out)).set_index("point")
    assert rc == 0 and list(table.index) == [0, 1] and (table["n"] == 0).all(), out
    assert "runs failed" in err and "undefined in some runs" not in err and "add replicates" not in err, err


def test_an_analysis_sweeps_manifest_is_the_same_wherever_its_directory_lies(tmp_path, capsys):
    """An analysis writes OUT/experiment.yaml and runs it into OUT/sweep: sweep.json recorded the spec's path as
    --out was typed (r1/experiment.yaml, deep/a/b/r2/experiment.yaml), so the same analysis gave different files,
    and a refusal in a copied directory named the directory it was copied from."""
    manifests = []
    for out in (tmp_path / "r1", tmp_path / "deep" / "a" / "b" / "r2"):
        out.mkdir(parents=True)
        spec = tiny(out, "experiment")
        assert cli(capsys, "sweep", spec, "--out", out / "sweep", "--quiet")[0] == 0
        manifests.append((out / "sweep" / "sweep.json").read_text())
    assert manifests[0] == manifests[1] and '"spec_path": "../experiment.yaml"' in manifests[0]
    (tmp_path / "link").symlink_to(tmp_path / "r1")  # the spec named through a link: still beside the sweep
    assert cli(capsys, "sweep", tmp_path / "link" / "experiment.yaml", "--out", tmp_path / "r1" / "sweep",
               "--quiet")[0] == 0
    assert (tmp_path / "r1" / "sweep" / "sweep.json").read_text() == manifests[0]
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "r1", copy)
    spec = tiny(copy, "experiment", seed=8)  # another design
    rc, _, err = cli(capsys, "sweep", spec, "--out", copy / "sweep", "--quiet")
    assert rc == 2 and f"different spec ({copy / 'experiment.yaml'}," in err, err

@pytest.mark.parametrize("marker", [True, False], ids=["marker", "older layout"])
@pytest.mark.parametrize("kind, files, results", [
    ("sensitivity", ["experiment.yaml", "indices.csv", "ranking.txt"], "indices.csv"),
    ("calibration", ["base.yaml", "calibration.json", "posterior_table.md"], "posterior_table.md"),
])
def test_summarize_on_a_sensitivity_or_calibration_directory_says_what_it_is(tmp_path, capsys, finished_sweep,
                                                                            kind, files, results, marker):
    d = tmp_path / "analysis"
    d.mkdir()
    for f in files:
        (d / f).write_text("x\n")
    shutil.copytree(finished_sweep, d / "sweep")
    if marker:
        write_marker(d, kind)
    rc, _, err = cli(capsys, "summarize", d)
    assert rc == 2, err
    assert f"is a {kind} directory" in err and results in err and f"bordersim summarize {d / 'sweep'}" in err
    assert "run `bordersim sweep` first" not in err
    assert cli(capsys, "summarize", d / "sweep")[0] == 0


@pytest.mark.parametrize("kind, results", [("effects", "effects.csv"), ("discovery", "box.csv")])
def test_summarize_on_an_effects_or_discovery_directory_says_what_it_is(tmp_path, capsys, finished_sweep, kind,
                                                                        results):
    """It used to call them sweep directories without runs.parquet, to be finished by `bordersim sweep`; and
    one that had not finished was said to hold results it did not have (a probe)."""
    d = tmp_path / "analysis"
    d.mkdir()
    shutil.copytree(finished_sweep, d / "sweep")
    write_marker(d, kind)
    command = {"effects": "effects", "discovery": "discover"}[kind]
    rc, _, err = cli(capsys, "summarize", d)
    assert rc == 2 and f"is {with_article(kind)} directory, not a sweep directory" in err, err
    assert "is an effects" in err or kind != "effects"  # it said "is a effects directory"
    assert f"bordersim summarize {d / 'sweep'}" in err and "without runs.parquet" not in err
    assert "it has not finished" in err and f"`bordersim {command}`" in err and results not in err, err
    for name in {"effects": ("effects.csv", "effects.json"), "discovery": ("box.csv", "summary.txt")}[kind]:
        (d / name).write_text("x\n")
    rc, _, err = cli(capsys, "summarize", d)
    assert rc == 2 and f"its results are {d / results}" in err and "not finished" not in err, err
    (tmp_path / "a_file").write_text("x")
    rc, _, err = cli(capsys, "summarize", tmp_path / "a_file")
    assert rc == 2 and "a_file: is a file, not a directory" in err, err


# ----------------------------------------------------------------------------- item 11: Ctrl-C at start


def test_ctrl_c_while_workers_start_prints_one_line_and_exits_130(tmp_path):
    # 60 runs, so that the sweep is still running at the last delay (12 runs of 20,000 persons sharing one cached
    # home population could all end within a second, exit 0); it is interrupted, so the extra runs cost nothing.
    # A Ctrl-C once runs are under way: tests/test_sweep.py::test_ctrl_c_stops_cleanly_keeps_finished_runs_...
    spec, out = slow(tmp_path, 60), tmp_path / "o"
    for delay in (0.05, 0.3):
        shutil.rmtree(out, ignore_errors=True)
        sweep = subprocess.Popen([sys.executable, "-m", "sim", "sweep", spec, "--out", out, "--workers", "2",
                                  "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True, preexec_fn=as_from_a_terminal)
        try:
            wait_for(lambda p=sweep: out.exists() or p.poll() is not None, "the sweep directory")
            time.sleep(delay)
            os.killpg(sweep.pid, signal.SIGINT)  # as Ctrl-C on a terminal: the whole process group
            _, err = sweep.communicate(timeout=HUNG)
        finally:
            sweep.kill()
        assert sweep.returncode == 130, (delay, err)
        assert len(err.strip().splitlines()) == 1 and "interrupted" in err, (delay, err)


def test_summaries_give_no_t_interval_from_fewer_than_three_replicates():
    """With 2 replicates t_{0.975,1} = 12.7: the interval would describe the t distribution, not the outcome."""
    import pandas as pd

    from sim.experiments.summarize import paired_differences, summarize

    df = pd.DataFrame({"point": [0, 0, 1, 1, 1], "replicate": [0, 1, 0, 1, 2], "status": ["ok"] * 5,
                       "x": [1.0, 2.0, 3.0, 5.0, 4.0]})
    table = summarize(df, [], ["x"]).set_index("point")
    assert table.loc[0, "n"] == 2 and table.loc[0, "mean"] == 1.5 and pd.isna(table.loc[0, "ci_low"])
    assert table.loc[1, "n"] == 3 and table.loc[1, "ci_low"] < 4.0 < table.loc[1, "ci_high"]
    diff = paired_differences(df, [], 0, ["x"]).set_index("point")
    assert pd.isna(diff.loc[1, "ci_low"])  # only 2 replicates are paired


def test_a_ctrl_c_held_back_during_a_pool_start_is_raised_after_it_unless_sigint_is_ignored():
    """`SignalsDeferred` holds a Ctrl-C while a pool starts workers and raises it after; a process started with
    SIGINT ignored (nohup, `&` in a script) keeps ignoring it there too, as everywhere else."""
    from sim.interrupts import SignalsDeferred

    before = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with pytest.raises(KeyboardInterrupt):
            with SignalsDeferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the signal is held: nothing is raised inside the block
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with SignalsDeferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
        except KeyboardInterrupt:
            pytest.fail("a SIGINT the process ignores was raised after a pool start")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_hold_inside_another_leaves_the_signal_to_the_outer_one():
    """Making a temporary directory holds Ctrl-C (sim.outputs.make_temp_dir), and it is made inside other holds
    (a sweep's swap of directories, a sweep's driver): the inner hold raised the signal at its own end, inside the
    step the outer one protects (found in review). It now leaves the signal to the outer hold, which raises it at
    its end, or hands it to the driver that looks (`check`)."""
    from sim.interrupts import SignalsDeferred, signals_deferred

    before = signal.getsignal(signal.SIGINT)
    steps = []
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with pytest.raises(KeyboardInterrupt):
            with signals_deferred():
                with signals_deferred():
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.05)
                steps.append("after the inner hold")
        assert steps == ["after the inner hold"]
        with SignalsDeferred() as driver:
            with signals_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
            with pytest.raises(KeyboardInterrupt):
                driver.check()
            driver.received = None
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_worker_killed_while_writing_its_result_leaves_no_thread_to_hang_the_exit():
    """The state a Ctrl-C could leave (once in about 100 interruptions under load): a worker terminated half-way
    through writing its result, the executor's thread waiting for the rest of the message. The interpreter joins
    that thread at exit, so the sweep printed "interrupted" and never ended. `_terminate` must end the thread."""
    import struct

    import sweep_helpers
    from sim.experiments.executors import _process_pool, _terminate

    executor = _process_pool(1)
    assert executor.submit(sweep_helpers.double, 21).result(timeout=HUNG) == 42  # the worker is up
    thread = executor._executor_manager_thread
    # Half a message, as the killed worker left it: a header announcing 1,000 bytes, then 10 of them.
    os.write(executor._result_queue._writer.fileno(), struct.pack("!i", 1000) + b"0123456789")
    time.sleep(0.3)  # the thread reads the header and waits for the rest
    assert thread.is_alive()
    _terminate(executor)
    thread.join(HUNG)
    assert not thread.is_alive(), "the executor's thread still waits for the rest of a message no one will write"


def test_a_ctrl_c_that_lands_in_a_weakref_callback_is_kept_until_the_driver_looks():
    """Raised where it landed, a Ctrl-C inside a weakref callback is printed as "Exception ignored" and dropped
    (a sweep interrupted so ran on to its end and exited 0). `drive` holds it as a flag and raises it at its own
    `check()`, after the results in hand are recorded."""
    import weakref

    from sim.interrupts import SignalsDeferred

    class Box:
        pass

    before = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with pytest.raises(KeyboardInterrupt):
            with SignalsDeferred() as ctrl_c:
                box = Box()
                weakref.finalize(box, os.kill, os.getpid(), signal.SIGINT)
                del box  # the callback sends the signal; the handler only records it
                time.sleep(0.05)
                assert ctrl_c.received
                ctrl_c.check()
                pytest.fail("check() did not raise the Ctrl-C it holds")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, before)


def _fresh(d: Path) -> Path:
    d.mkdir()
    return d


@pytest.mark.parametrize("swap", ["parameters", "packages"])
def test_a_spec_with_its_parameters_or_packages_reordered_is_another_spec(tmp_path, capsys, swap):
    """Reordered, the same parameters or packages make other points under the same run ids (the last parameter
    varies fastest, packages come first), but the fingerprint hashes the spec with its keys sorted: resumed with
    more replicates, point 1 held one setting's replicate 0 and another's replicate 1 (a probe)."""
    if swap == "parameters":
        first = ("  network.edges.dmz.controls.mines: [0.0, 1.0]\n"
                 "  network.edges.ford.controls.guards: [0.1, 0.9]\n")
        second = "\n".join(reversed(first.rstrip("\n").split("\n"))) + "\n"
        specs = [write_spec(_fresh(tmp_path / n) / "s.yaml", body) for n, body in (("a", first), ("b", second))]
    else:
        packages = ["    base: {}\n", "    closed: {policies.river_closed.enabled: false}\n"]
        specs = []
        for n, order in (("a", packages), ("b", packages[::-1])):
            path = write_spec(_fresh(tmp_path / n) / "s.yaml", "  network.edges.dmz.controls.mines: [0.0]\n")
            path.write_text(path.read_text() + "design:\n  type: policies\n  policies:\n" + "".join(order))
            specs.append(path)
    out = tmp_path / "o"
    assert cli(capsys, "sweep", specs[0], "--out", out, "--workers", "1", "--quiet")[0] == 0
    rc, _, err = cli(capsys, "sweep", specs[1], "--out", out, "--workers", "1", "--quiet", "--replicates", "2")
    assert rc == 2 and "holds results of a different spec" in err, err
    rc, out_text, err = cli(capsys, "sweep", specs[1], "--out", out, "--dry-run")
    assert rc == 2 and "different spec" in err
    assert cli(capsys, "sweep", specs[0], "--out", out, "--workers", "1", "--quiet", "--replicates", "2")[0] == 0


def test_a_sweep_resumed_with_more_replicates_records_them_like_one_run_at_once(tmp_path, capsys):
    """`--replicates 1` then the spec's 3 into the same directory: the same files as 3 at once (the manifest names
    the replicates the runs are of, not the first command's count)."""
    spec = write_spec(tmp_path / "spec.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n", replicates=3)
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli(capsys, "sweep", spec, "--out", a, "--workers", "1", "--quiet", "--replicates", "1")[0] == 0
    assert cli(capsys, "sweep", spec, "--out", a, "--workers", "1", "--quiet")[0] == 0
    assert cli(capsys, "sweep", spec, "--out", b, "--workers", "1", "--quiet")[0] == 0
    assert json.loads((a / "sweep.json").read_text())["spec"]["replicates"] == 3
    assert (a / "sweep.json").read_bytes() == (b / "sweep.json").read_bytes()
    runs = [pd.read_parquet(d / "runs.parquet").drop(columns="wall_time") for d in (a, b)]
    pd.testing.assert_frame_equal(*runs)


def test_reading_a_sweep_another_command_is_writing_says_so_rather_than_to_run_it_again(tmp_path, capsys):
    """While a process holds a sweep directory's lock (a sweep under way or resumed), summarize, plot, report and
    compare refuse it, naming the process, and write nothing into it: its runs.parquet is not its result. Without
    runs.parquet and no holder: run the same command again."""
    from sim.outputs import lock_dir, unlock_dir

    out = tmp_path / "o"
    assert cli(capsys, "sweep", tiny(tmp_path), "--out", out, "--workers", "1", "--quiet")[0] == 0
    fd = lock_dir(out, "sweep")  # a sweep resumed into it (with more replicates, say): runs.parquet is the old one
    try:
        before = snapshot(tmp_path)
        for command in (["summarize", out], ["plot", out], ["report", out], ["compare", out, out]):
            rc, _, err = cli(capsys, *command)
            assert rc == 2 and "a bordersim command is writing it" in err and f"pid {os.getpid()}" in err, err
        assert snapshot(tmp_path) == before  # no figures, no report written into it
        (out / "runs.parquet").unlink()  # a new sweep under way
        for command in ("summarize", "plot"):
            rc, _, err = cli(capsys, command, out)
            assert rc == 2 and "`bordersim sweep` is still writing it" in err and f"pid {os.getpid()}" in err, err
    finally:
        unlock_dir(fd)
    rc, _, err = cli(capsys, "summarize", out)
    assert rc == 2 and "run the same `bordersim sweep` command again to finish it" in err, err


def test_a_second_ctrl_c_while_an_interrupted_sweep_writes_runs_parquet_does_not_lose_it(tmp_path, monkeypatch):
    """After a Ctrl-C the sweep writes runs.parquet of the finished runs; a second Ctrl-C a moment later (here:
    during that write) is held, not raised, so the file and the 'interrupted: N of M' ending are kept."""
    from sim.experiments.store import SweepStore
    from sim.experiments.sweep import SweepInterrupted, plan, run_sweep

    spec = write_spec(tmp_path / "six.yaml", "  network.edges.dmz.controls.mines: {start: 0, stop: 1, num: 6}\n")
    out = tmp_path / "o"
    compile_ = SweepStore.compile

    def compile_during_a_second_ctrl_c(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return compile_(self, *args, **kwargs)

    def first_ctrl_c(done, total):  # after the first run is recorded (the bar is also drawn at 0 before the runs)
        if done:
            raise KeyboardInterrupt

    monkeypatch.setattr(SweepStore, "compile", compile_during_a_second_ctrl_c)
    with pytest.raises(SweepInterrupted, match="interrupted: 1 of 6 runs"):
        run_sweep(plan(spec), out, workers=1, progress=first_ctrl_c)
    assert len(pd.read_parquet(out / "runs.parquet")) == 1


def test_a_malformed_scheduler_is_refused_even_when_no_run_is_left(tmp_path, capsys):
    """A finished sweep (or analysis) run again with `--scheduler garbage` ended with exit 0: the address was
    checked only when runs were sent. Its form is checked first; nothing is written. The scheduler itself is
    contacted only when runs are left (docs/experiments.md; a probe found the doc promising more)."""
    import dask
    import distributed  # noqa: F401 - see test_a_scheduler_that_is_not_there_is_an_error_not_a_hang

    spec, out = tiny(tmp_path), tmp_path / "o"
    assert cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")[0] == 0
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--scheduler", "garbage", "--quiet")
    assert rc == 2 and "--scheduler 'garbage' is not a scheduler address" in err, err
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    with dask.config.set({"distributed.comm.timeouts.connect": "20s"}):  # contacting it would wait, then exit 2
        rc, printed, err = cli_guarded(capsys, "sweep", spec, "--out", out, "--scheduler",
                                       f"tcp://127.0.0.1:{free_port()}", "--quiet")
    assert rc == 0, err
    # it said "wrote OUT/runs.parquet" as if it had run something (a probe)
    assert printed == f"nothing to run: all 2 runs had finished in {out} ({out}/runs.parquet: 2 runs, 0 failed)\n"
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


@pytest.mark.parametrize("planted", ["runs", "runs.parquet", ".lock"])
def test_a_link_planted_in_a_sweep_directory_is_not_written_through_when_it_resumes(tmp_path, capsys, planted):
    """Resuming wrote run records into a directory of the user's that runs/ was linked to, replaced a linked
    runs.parquet with a file, and emptied the file a linked .lock pointed to (opened with O_CREAT and truncated; a
    probe). Refused now, with exit 2 and the user's file and link as they were."""
    out = tmp_path / "o"
    spec = tiny(tmp_path)
    assert cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")[0] == 0
    mine = tmp_path / "mine"
    if planted == "runs":
        mine.mkdir()
        (mine / "p00000-r0000.json").write_text("mine\n")
        shutil.rmtree(out / "runs")
    else:
        mine.write_text("precious\n")
        (out / planted).unlink()
    (out / planted).symlink_to(mine)
    before = snapshot(tmp_path)
    rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")
    assert rc == 2 and planted in err and "symbolic link" in err and "Traceback" not in err, err
    assert snapshot(tmp_path) == before


def test_a_link_planted_in_a_sweep_directory_killed_while_it_was_made_is_not_written_through(tmp_path, capsys):
    """A sweep directory killed while it was made (its marker, no sweep.json, no record) is made anew in place:
    a runs/ linked to a directory of the user's there got the new records (a review). Refused, exit 2."""
    out, mine = tmp_path / "o", tmp_path / "mine"
    out.mkdir()
    write_marker(out, "sweep")
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    (out / "runs").symlink_to(mine)
    spec = tiny(tmp_path)
    before = snapshot(tmp_path)
    rc, _, err = cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")
    assert rc == 2 and "runs is not what bordersim wrote there" in err, err
    assert snapshot(tmp_path) == before


def test_a_sweep_into_a_link_to_an_empty_directory_is_written_there_and_resumed(tmp_path, capsys):
    """The sweep took its lock through the link, then found a directory 'not made by bordersim' (its own lock in
    it) and refused, leaving the lock in the user's directory (a probe). The analyses write through such a link;
    so does a sweep now, and it resumes through it."""
    spec = write_spec(tmp_path / "linked.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n")
    mine, link = tmp_path / "mine", tmp_path / "link"
    mine.mkdir()
    link.symlink_to(mine)
    rc, _, err = cli(capsys, "sweep", spec, "--out", link, "--workers", "1", "--quiet")
    assert rc == 0, err
    assert link.is_symlink() and marker_kind(mine) == "sweep" and len(list((mine / "runs").glob("*.json"))) == 2
    rc, out, err = cli(capsys, "sweep", spec, "--out", link, "--workers", "1")
    assert rc == 0 and "nothing to run: all 2 runs had finished" in out + err, out + err


def test_a_sweep_resumed_into_a_runs_directory_it_may_not_write_is_refused_before_any_run(tmp_path, capsys):
    """A resumed sweep whose runs/ its owner may not write computed the runs still to do, then failed at the first
    record (an API probe): refused before any run, exit 2, nothing changed."""
    spec = write_spec(tmp_path / "ro.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n")
    out = tmp_path / "o"
    assert cli(capsys, "sweep", spec, "--out", out, "--workers", "1", "--quiet")[0] == 0
    more = write_spec(tmp_path / "ro.yaml", "  network.edges.dmz.controls.mines: [0.0, 1.0]\n", replicates=2)
    os.chmod(out / "runs", 0o555)
    try:
        rc, _, err = cli(capsys, "sweep", more, "--out", out, "--workers", "1", "--quiet")
        assert rc == 2 and f"{out / 'runs'}: its owner may not read, write and enter it (mode 0555)" in err, err
        assert len(list((out / "runs").glob("*.json"))) == 2
    finally:
        os.chmod(out / "runs", 0o755)
