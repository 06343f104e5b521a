"""`bordersim` end to end: the run directory's three files and their keys (one real subprocess run, shared),
refusing to overwrite, validate, schema, --help, and the console script (a real process); the rest in-process."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT, TOY, run_cli
from sweep_helpers import call_main

from sim.cli.main import main
from sim.outcomes import FLOWS
from sim.provenance import code_sha256
from sim.loading import load_scenario
from sim.scenario.dates import step_dates

@pytest.fixture
def cli(capsys, monkeypatch):
    """`bordersim ARGS` in this process, run from the repository root unless `cwd=` says otherwise."""
    def call(*args, cwd=None):
        monkeypatch.chdir(cwd or ROOT)
        return call_main(capsys, *args)

    return call


TOTAL_KEYS = {"set_out", "arrived", "caught", "killed", "repatriated", "returned", "in_transit"}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("cli") / "toy"
    proc = run_cli("run", TOY, "--out", out)
    return out, proc


def test_run_writes_three_files_and_the_ownership_marker(toy_run):
    out, proc = toy_run
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        ".bordersim",
        "scenario.resolved.yaml",
        "summary.json",
        "timeseries.parquet",
    ]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "temporary directory left behind"
    assert proc.stderr == "", "no progress bar when stderr is not a terminal"
    assert f"wrote {out}" in proc.stdout and "totals: " in proc.stdout


def test_summary_keys(toy_run):
    out, _ = toy_run
    summary = json.loads((out / "summary.json").read_text())
    sc = load_scenario(TOY)
    for key in ("totals", "by_route", "by_group", "arrivals_by_year", "female_share_by_year", "provenance"):
        assert key in summary, key
    totals = summary["totals"]
    assert set(totals) == TOTAL_KEYS
    assert all(isinstance(v, int) and v >= 0 for v in totals.values())
    assert totals["set_out"] == sum(totals[k] for k in TOTAL_KEYS - {"set_out"}) > 0
    assert set(summary["by_route"]) == {"river", "dmz", "sea", "abroad"}
    assert set(summary["by_group"]) == {g.name for g in sc.population.groups}
    for table in ("by_route", "by_group"):
        for name, row in summary[table].items():
            assert set(row) == TOTAL_KEYS, (table, name)
            assert row["set_out"] == sum(row[k] for k in TOTAL_KEYS - {"set_out"}), (table, name)
        for k in TOTAL_KEYS:
            assert sum(row[k] for row in summary[table].values()) == totals[k], (table, k)
    years = [str(y) for y in range(2000, 2005)]
    assert list(summary["arrivals_by_year"]) == years
    assert sum(summary["arrivals_by_year"].values()) == totals["arrived"]
    assert list(summary["female_share_by_year"]) == years
    for y, share in summary["female_share_by_year"].items():
        if summary["arrivals_by_year"][y] == 0:
            assert share is None
        else:
            assert 0.0 <= share <= 1.0


def test_provenance(toy_run):
    out, _ = toy_run
    prov = json.loads((out / "summary.json").read_text())["provenance"]
    resolved = (out / "scenario.resolved.yaml").read_bytes()
    assert prov["scenario"] == "toy"
    assert prov["seed"] == 1
    assert prov["scenario_sha256"] == hashlib.sha256(resolved).hexdigest()
    assert prov["version"] == version("bordersim")
    assert prov["code_sha256"] == code_sha256()


@pytest.mark.parametrize("argv, unknown", [(["run", "S", "--workers", "2"], "--workers 2"),
                                           (["validate", "--set", "x=1", "S"], "--set"),
                                           (["schema", "extra"], "extra")])
def test_an_argument_a_command_does_not_take_gets_that_commands_usage(argv, unknown, capsys):
    """It got the usage of `bordersim` itself (`bordersim [-h] [--debug] [--version] COMMAND ...`), which names
    none of the command's options (found by the CLI probe)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith(f"usage: bordersim {argv[0]} ")
    assert err.endswith(f"bordersim {argv[0]}: error: unrecognized arguments: {unknown}\n"), err
    with pytest.raises(SystemExit) as exc:  # given to `bordersim` itself, before the command: its usage
        main(["--bogus", *argv])
    err = capsys.readouterr().err
    # only --bogus: what the command does not take is its own error, told once --bogus is gone
    assert exc.value.code == 2 and err.startswith("usage: bordersim [-h]")
    assert err.endswith("bordersim: error: unrecognized arguments: --bogus\n"), err


@pytest.mark.parametrize("argv", [
    ["run", "S", "--out", ""], ["sweep", "S", "--out", " "], ["compare", "A", "B", "--out", ""],
    ["plot", "D", "--out", ""], ["report", "D", "--out", ""], ["sensitivity", "S", "--method", "morris", "--out", ""],
    ["effects", "S", "--out", ""], ["discover", "S", "--out", ""], ["calibrate", "S", "--out", ""],
    ["calibrate", "S", "--write-scenario", ""]])
def test_an_empty_path_option_is_bad_input_for_every_command(argv, capsys, tmp_path, monkeypatch):
    """`--out ""` (a shell variable that was not set) wrote to the default place for run and sweep, was dropped by
    compare and was refused in the Python API's words (`out: ...`) by the others."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    option = "--write-scenario" if "--write-scenario" in argv else "--out"
    assert exc.value.code == 2
    assert f"error: argument {option}: give a path, not an empty or blank string" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    argv = [x if x.strip() else "~/results" for x in argv]  # a quoted ~, which no shell expanded
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "'~/results' starts with '~', which the shell did not expand" in \
        capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    if argv[0] == "run":  # '~notes' too ('rm -rf ~notes' would be user notes' home); ./~notes is a name here
        with pytest.raises(SystemExit):
            main(["run", "S", "--out", "~notes"])
        assert "'~notes' starts with '~'" in capsys.readouterr().err
        assert main(["run", "S", "--out", "./~notes"]) == 2  # S does not exist: past the argument check
        assert "file not found" in capsys.readouterr().err


def test_resolved_scenario_reloads_to_the_same_scenario(toy_run):
    out, _ = toy_run
    assert load_scenario(out / "scenario.resolved.yaml") == load_scenario(TOY)


def test_timeseries_is_tidy(toy_run):
    out, _ = toy_run
    ts = pd.read_parquet(out / "timeseries.parquet")
    summary = json.loads((out / "summary.json").read_text())
    sc = load_scenario(TOY)
    dates = pd.to_datetime(step_dates(sc.time))
    routes, groups = list(summary["by_route"]), list(summary["by_group"])
    assert {"date", "route", "group", *FLOWS, "in_transit"} <= set(ts.columns)
    assert pd.api.types.is_datetime64_any_dtype(ts["date"])
    assert len(ts) == len(dates) * len(routes) * len(groups)
    assert not ts.duplicated(["date", "route", "group"]).any()
    assert sorted(ts["date"].unique()) == list(dates)
    assert set(ts["route"].astype(str)) == set(routes) and set(ts["group"].astype(str)) == set(groups)
    for k in FLOWS:
        assert int(ts[k].sum()) == summary["totals"][k], k
        by_route = ts.groupby(ts["route"].astype(str))[k].sum()
        assert {r: int(v) for r, v in by_route.items()} == {
            r: row[k] for r, row in summary["by_route"].items()
        }
    last = ts[ts["date"] == dates[-1]]
    assert int(last["in_transit"].sum()) == summary["totals"]["in_transit"]
    arrivals = ts.groupby(ts["date"].dt.year)["arrived"].sum()
    assert {str(y): int(v) for y, v in arrivals.items()} == summary["arrivals_by_year"]
    # the identity at every step, per route and group
    ts = ts.sort_values("date")
    cum = ts.groupby(["route", "group"], observed=True)[list(FLOWS)].cumsum()
    assert (cum["set_out"] == cum[list(FLOWS[1:])].sum(axis=1) + ts["in_transit"]).all()


def test_existing_run_dir_refused_then_replaced_with_force(tmp_path: Path, cli):
    out = tmp_path / "run"
    first = cli("run", TOY, "--out", out, "--set", "population.size=1000", "--quiet")
    assert first.returncode == 0, first.stderr
    proc = cli("run", TOY, "--out", out, "--set", "population.size=2000")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--force" in proc.stderr and str(out) in proc.stderr
    assert yaml.safe_load((out / "scenario.resolved.yaml").read_text())["population"]["size"] == 1000
    proc = cli("run", TOY, "--out", out, "--set", "population.size=2000", "--force", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert sorted(p.name for p in out.iterdir()) == [
        ".bordersim",
        "scenario.resolved.yaml",
        "summary.json",
        "timeseries.parquet",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert yaml.safe_load((out / "scenario.resolved.yaml").read_text())["population"]["size"] == 2000


def test_a_directory_bordersim_did_not_make_is_refused_even_with_force(tmp_path: Path, cli):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "ch1.tex").write_text("mine")
    for extra in ([], ["--force"]):
        proc = cli("run", TOY, "--out", out, "--set", "population.size=1000", *extra)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "not made by bordersim" in proc.stderr
        assert sorted(p.name for p in out.iterdir()) == ["ch1.tex"]
        assert (out / "ch1.tex").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_default_out_dir_is_under_results(tmp_path: Path, cli):
    proc = cli("run", TOY, "--set", "population.size=2000", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runs = list((tmp_path / "results").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("toy-")
    assert (runs[0] / "summary.json").is_file()


def test_seed_option(tmp_path: Path, cli):
    out = tmp_path / "run"
    proc = cli("run", TOY, "--out", out, "--seed", "123", "--set", "population.size=2000", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["provenance"]["seed"] == 123
    assert yaml.safe_load((out / "scenario.resolved.yaml").read_text())["seed"] == 123


def test_schema_prints_json_schema(cli):
    proc = cli("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["type"] == "object"
    assert {"name", "time", "seed", "population", "push", "network", "hazards", "policies"} <= set(
        schema["properties"]
    )
    assert {"name", "time", "population", "network"} <= set(schema["required"])
    assert schema.get("additionalProperties") is False
    edge = schema["$defs"]["Edge"]
    assert "from" in edge["properties"] and "from_" not in edge["properties"]
    assert set(edge["properties"]["mode"]["enum"]) == {"land", "river", "dmz", "sea", "air"}
    # every key that may be left out shows its default, those pydantic makes with a factory too (a probe found
    # initial_stock's `waited` without one, which docs/scenario.md gives as 0)
    optional = [(where, key, prop) for where, model in [("", schema), *schema["$defs"].items()]
                for key, prop in model.get("properties", {}).items() if key not in model.get("required", [])]
    assert len(optional) > 80 and [f"{where}.{key}" for where, key, prop in optional if "default" not in prop] == []
    assert schema["$defs"]["InitialStock"]["properties"]["waited"]["default"] == {"dist": "fixed", "value": 0.0}
    assert schema["properties"]["policies"]["default"] == []



class FullDisk:
    """Standard output on a full disk: every write fails as it does on /dev/full."""

    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self):
        pass


def test_output_the_system_refuses_is_said_plainly_not_as_an_internal_failure(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", FullDisk())
    assert main(["schema"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No space left on device") and "internal failure" not in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for argv in (["--help"], ["--version"], ["run", "--help"]):  # argparse ignored the failure: exit 0, nothing said
        assert main(argv) == 1, argv
        assert capsys.readouterr().err == "error: No space left on device\n"


@pytest.mark.parametrize("argv", [["run", "TOY", "--set", "population.size=-1", "--out", "OUT"],
                                  ["validate", "nonexistent.yaml"], ["validate", "--bogus"], ["bogus"],
                                  ["sensitivity", "nonexistent.yaml"]])
def test_bad_input_keeps_exit_2_when_nobody_reads_standard_error(tmp_path, argv):
    """`bordersim run ... 2>&1 | head -0`: the message met a closed pipe, and its BrokenPipeError ended the command
    with exit 1 (run), or 0 (validate's own error lines, argparse's usage errors), depending on which process was
    faster; 2 says bad input."""
    out = tmp_path / "r"
    argv = [str(TOY) if a == "TOY" else str(out) if a == "OUT" else a for a in argv]
    read, write = os.pipe()
    os.close(read)  # every write to the child's standard error fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "sim", *argv], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=write, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 2
    assert not out.exists()


def test_validate_checks_every_file_and_says_2_when_nobody_reads_standard_output(tmp_path):
    """`bordersim validate good.yaml bad.yaml | head -0` in a CI script: the first "ok" line met the closed pipe,
    its BrokenPipeError ended the command with 0, and bad.yaml was never checked. Every file is checked, its error
    told on standard error, and the exit code is 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(TOY.read_text().replace("departure_rate: ", "departure_rate: -", 1))
    read, write = os.pipe()
    os.close(read)  # every write to the child's standard output fails with EPIPE
    try:
        # unbuffered, so that the first line meets the closed pipe (buffered, a long list of files does too)
        done = subprocess.run([sys.executable, "-m", "sim", "validate", str(TOY), str(TOY), str(bad)], cwd=tmp_path,
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        os.close(write)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {bad}") and "departure_rate" in done.stderr, done.stderr


def test_a_usage_error_with_standard_error_closed_is_still_exit_2(tmp_path):
    """`bordersim --bogus 2>&-`: Python makes sys.stderr None and argparse's message to it raised AttributeError,
    exit 1."""
    for argv in ("--bogus", "validate nonexistent.yaml"):
        done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m sim {argv} 2>&-'], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (argv, done)


def test_a_closed_standard_output_is_refused_before_any_work(tmp_path):
    """Python sets sys.stdout to None when descriptor 1 is closed (`>&-`): every print vanished and a run wrote
    its files and exited 0 with nothing said. It is the system refusing output: exit 1 and a line on stderr."""
    out = tmp_path / "run"
    done = subprocess.run(["bash", "-c", f'"{sys.executable}" -m sim run "{TOY}" --out "{out}" >&-'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done
    assert done.stderr == "error: standard output is closed; redirect it (e.g. > /dev/null) instead\n"
    assert not out.exists()

def _as_json(value):
    """A YAML document as an editor validates it: JSON, so every mapping key is a string."""
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def test_the_schema_accepts_every_shipped_scenario_and_the_documented_unit_strings(tmp_path, capsys):
    """Fields that take a number or a unit string ('45 days', '0.1 per year') were numbers only in the schema,
    so an editor flagged valid files: the shipped scenarios and the toy with every unit form (valid for
    `bordersim validate`) must pass the schema, and a wrong type must still fail it."""
    import jsonschema

    assert main(["schema"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    toy = yaml.safe_load(TOY.read_text())
    toy["population"]["groups"][0]["departure_rate"] = "0.03 per year"
    toy["network"]["nodes"][3].update(dwell="13 weeks", arrest_hazard="0.1 per year",
                                      brokers={"capacity": "1200 per year", "fee": 1000})
    toy["network"]["edges"][0]["duration"] = "45 days"
    toy["route_choice"]["perception"] = {"memory": "1 year", "lag": "3 months"}
    toy["repeat"] = {"after": {"repatriated": "1 year", "caught": "6 months", "returned": "2 weeks"}}
    toy["initial_stock"] = [{"node": "thirdland", "size": 10, "waited": "2 years", "groups": {"ordinary": 1.0}}]
    toy["policies"][1]["set"] = {"dwell": "6 weeks"}
    toy["population"]["groups"][1]["transit"] = {"dwell_scale": 1.5, "savings": 100}  # one number for both sexes
    units = tmp_path / "units.yaml"
    units.write_text(yaml.safe_dump(toy, sort_keys=False))
    assert main(["validate", str(units)]) == 0, capsys.readouterr().err
    for path in [*sorted((ROOT / "scenarios").glob("*.yaml")), units]:
        doc = _as_json(yaml.safe_load(path.read_text()))
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert not errors, (path.name, errors)
    toy["network"]["edges"][0]["duration"] = [1]
    assert [e.message for e in validator.iter_errors(_as_json(toy))]


@pytest.mark.parametrize(
    "argv, says",
    [
        ([], "run"),
        (["run"], "--set"),
        (["validate"], "SCENARIO"),
        (["schema"], "schema"),
    ],
)
def test_help(argv, says, cli):
    proc = cli(*argv, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:") and says in proc.stdout


def test_no_command_is_a_usage_error(cli):
    proc = cli()
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "Traceback" not in proc.stderr


def test_console_script(tmp_path: Path):
    exe = shutil.which("bordersim", path=str(Path(sys.executable).parent)) or shutil.which("bordersim")
    assert exe, "the bordersim console script is not installed"
    proc = subprocess.run(
        [exe, "validate", str(TOY)], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"ok: {TOY}")


def test_plot_and_report_through_the_cli(toy_run, tmp_path: Path, cli):
    out_dir, _ = toy_run
    # The figures and the report themselves are tested in test_plots.py (every run figure, the report's images,
    # provenance and totals); here only that the CLI of a `run` directory reaches them and names what it wrote.
    figs = tmp_path / "figs"
    proc = cli("plot", out_dir, "--out", figs, "--format", "svg", "--only", "route_map")
    assert proc.returncode == 0, proc.stderr
    written = [Path(line) for line in proc.stdout.split()]
    assert written == [figs / "route_map.svg"] and "<svg" in written[0].read_text()[:2000]
    proc = cli("plot", tmp_path / "nowhere")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_ctrl_c_while_the_parser_is_built_is_one_line_and_exit_130(monkeypatch, capsys):
    """A Ctrl-C in the first moments of a command (seen once in 105 random interruptions of `bordersim sweep`)
    fell outside main's handlers and printed a traceback."""
    import importlib

    cli_main = importlib.import_module("sim.cli.main")  # the module (sim.cli's `main` is its function)

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "build_parser", interrupted)
    assert cli_main.main(["validate", "scenarios/toy.yaml"]) == 130
    err = capsys.readouterr().err
    assert err == "interrupted\n"


INTERRUPT_ON_IMPORT = """
import sys
class Interrupt:  # a Ctrl-C that lands while the command modules are imported
    def find_spec(self, name, path=None, target=None):
        if name == "sim.cli.sweep":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
{start}
"""


@pytest.mark.parametrize("start", ["from sim.entry import main; sys.exit(main())", "import runpy; "
                                   "runpy.run_module('sim', run_name='__main__')"], ids=["console script", "-m sim"])
def test_a_ctrl_c_while_the_command_line_is_imported_is_one_line_and_exit_130(start):
    """The console script imported sim.cli (every command module) before any handler: a Ctrl-C in that half second
    printed a traceback (seen 4 of 4 times by a probe sending SIGINT 0.2-0.4 s after the start)."""
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["bordersim"] == "sim.entry:main"
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_ON_IMPORT.format(start=start), "--version"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 130 and proc.stderr == "interrupted\n", proc.stderr


INTERRUPT_AT_EXIT = """
import atexit, os, signal, sys
import sim.entry

class Late:
    def __del__(self):  # while Python tears the modules down, after the exit functions
        os.kill(os.getpid(), signal.SIGINT)

def command():
    global late
    if sys.argv[1] == "teardown":
        late = Late()
    else:  # an exit function registered by the command (a pool's, a thread's) runs before the entry's
        atexit.register(os.kill, os.getpid(), signal.SIG{signal})
    print("done")
    return 3

import sim.cli.main  # noqa: E402
sys.modules["sim.cli.main"].main = command
sys.exit(sim.entry.main())
"""


@pytest.mark.parametrize("when, signal", [("teardown", "INT"), ("exit function", "INT"), ("exit function", "TERM")])
def test_a_signal_after_the_command_has_ended_keeps_its_exit_code(when, signal):
    """A Ctrl-C in the moment after a command had finished (and said so) ended the process by SIGINT, silently,
    or printed "Exception ignored in atexit callback": a finished sweep or calibration read as interrupted (exit
    130; a probe, 6 of 40 signals sent in the second the command took to end)."""
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_AT_EXIT.replace("{signal}", signal), when],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "done\n", "")


@pytest.mark.parametrize("value", ["yesterday", "", "-5", "1.5", "99999999999999999999", "\u00b2"])
def test_a_source_date_epoch_that_is_not_seconds_is_bad_input(capsys, monkeypatch, value, tmp_path):
    """numpy (f2py, imported by the figures) and matplotlib read SOURCE_DATE_EPOCH with int(): any other value
    ended plot and report as an internal failure."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert main(["schema"]) == 2
    err = capsys.readouterr().err
    assert "SOURCE_DATE_EPOCH" in err and "whole number of seconds" in err and "internal failure" not in err, err
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert main(["schema"]) == 0


@pytest.fixture
def one_second(tmp_path, monkeypatch):
    """The run command's clock stopped at 2026-12-07 10:00:00, in tmp_path: every run starts in one second."""
    import datetime as dt

    import sim.cli.run as run_cli

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 7, 10, 0, 0)

    monkeypatch.setattr(run_cli.dt, "datetime", Frozen)
    monkeypatch.chdir(tmp_path)
    return run_cli


def test_runs_started_within_one_second_each_get_their_own_default_directory(one_second):
    """A loop over seeds ran the second run to its end and then refused it for the first's directory, suggesting
    --force, which would have replaced the first (a probe)."""
    run_cli = one_second
    names = []
    for _ in range(3):
        path = run_cli.default_run_dir("toy")
        assert path.is_dir() and not any(path.iterdir())  # taken at once: a run started beside it looks further
        names.append(path.name)
    assert names == ["toy-20261207-100000", "toy-20261207-100000-2", "toy-20261207-100000-3"]


def test_two_runs_side_by_side_in_one_second_each_keep_their_run_and_a_failed_one_leaves_nothing(one_second, tmp_path,
                                                                                               capsys, monkeypatch):
    """Two runs started together without --out both took results/<name>-<stamp>, and the second to end replaced
    the first's run without a word (a probe). Run A starts and, while it runs, run B starts and ends: each writes
    its own directory. A run that fails leaves neither its directory nor results/ behind."""
    import sim.engine.engines as engines

    toy = str(ROOT / "scenarios" / "toy.yaml")
    real_run = engines.run

    def boom(*args, **kwargs):
        raise RuntimeError("the run failed")

    monkeypatch.setattr(engines, "run", boom)
    assert main(["run", toy, "--quiet"]) == 1
    assert "the run failed" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()

    def run_with_b_beside(*args, **kwargs):  # A's run: B starts and ends while it runs
        monkeypatch.setattr(engines, "run", real_run)
        assert main(["run", toy, "--quiet", "--seed", "2"]) == 0
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engines, "run", run_with_b_beside)
    assert main(["run", toy, "--quiet", "--seed", "1"]) == 0
    seeds = {p.name: json.loads((p / "summary.json").read_text())["provenance"]["seed"]
             for p in (tmp_path / "results").iterdir()}
    assert seeds == {"toy-20261207-100000": 1, "toy-20261207-100000-2": 2}


def test_the_command_line_starts_without_the_numerical_libraries():
    """`bordersim --help` (and the parser every command builds first) imported the sensitivity spec, and with it
    numpy, pandas and pydantic, for the names of its two methods: about 0.25 s of CPU before any command, in every
    process the tests and a user's scripts start."""
    code = ("import sys; from sim.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'pandas', 'pydantic', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("seed, says", [("-1", "a seed is 0 to 9,223,372,036,854,775,807 (2^63 - 1), found -1"),
                                        ("9223372036854775808", "found 9223372036854775808"),
                                        ("1.5", "expected a whole number, found '1.5'")])
def test_a_seed_out_of_range_is_named_as_the_option(seed, says, capsys, tmp_path):
    """`--seed -1` was refused in the Python API's words ('seed: must be at least 0 ...'), not as the option (a
    probe)."""
    with pytest.raises(SystemExit) as exc:
        main(["run", str(TOY), "--seed", seed, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "error: argument --seed: " in err and says in err, err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("results", ["a dangling link", "a file"])
def test_a_results_that_is_not_a_directory_is_named_as_such(one_second, tmp_path, capsys, results):
    """A dangling link `results` was reported as 'results/toy-...: cannot create the run directory (File exists)',
    naming the run directory that was never there (the review)."""
    if results == "a file":
        (tmp_path / "results").write_text("mine")
    else:
        (tmp_path / "results").symlink_to(tmp_path / "nowhere")
    assert main(["run", str(TOY), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"results(: exists and)? is not a directory", err) and "run directory" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
