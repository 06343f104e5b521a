"""Reading input files within limits (docs/scenario.md, "Reading rules and limits"): alias bombs, deep nesting,
devices, pipes and huge files are refused with a message (exit 2) before they can exhaust memory or hang;
duplicate keys, base-60 numbers, true/false for numbers and a month given twice are errors, not silent
coercions; a failed validation lists every problem (up to a limit) with its key and line, suggests the key a typo
meant, and names the command for a file of another kind."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT, TOY

from sim.cli import main
from sim.experiments.spec import ExperimentSpec
from sim.scenario.yaml_reader import MAX_ALIAS_NODES, MAX_DEPTH, MAX_FILE_BYTES, _read_text, parse_yaml, read_yaml
from sim.errors import MAX_PROBLEMS
from sim.scenario.validation import read_model_file
from sim.errors import ScenarioError
from sim.loading import load_scenario

MINIMAL = FIXTURES / "minimal.yaml"
MEMORY_LIMIT = 1536 * 2**20  # 1.5 GB of address space for the subprocesses that read hostile files
GUARD = 60  # seconds: a guard against a hang, not a timed assertion

# "billion laughs": nine levels of nine aliases, 342 bytes, 9^9 values when expanded
BOMB = "".join(
    f"{name}: &{name} [{','.join([f'*{prev}' if prev else '"lol"'] * 9)}]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi")
)


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def minimal_with(tmp_path: Path, old: str, new: str, name: str = "s.yaml") -> Path:
    text = MINIMAL.read_text()
    assert old in text, f"minimal.yaml lost {old!r}"
    return write(tmp_path, text.replace(old, new, 1), name)


def line_of(path: Path, text: str, nth: int = 1) -> int:
    lines = [i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line]
    assert len(lines) >= nth, f"{text!r} not found {nth} times in {path}"
    return lines[nth - 1]


def cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def limited_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m sim ARGS` under a 1.5 GB address-space limit, with a timeout as a guard against hangs."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=GUARD,
    )


def assert_refused(proc: subprocess.CompletedProcess, path: Path | str, says: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal failure" not in proc.stderr, proc.stderr
    assert f"error: {path}" in proc.stderr and says in proc.stderr, proc.stderr


# ------------------------------------------------------------------------------------------ item 6: aliases


def test_alias_bomb_is_refused_within_a_memory_limit(tmp_path: Path):
    assert (
        len(BOMB) == 342 and BOMB.startswith('a: &a ["lol",') and BOMB.endswith("i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n")
    )
    bomb = write(tmp_path, BOMB, "bomb.yaml")
    proc = limited_cli("validate", bomb.name, cwd=tmp_path)
    assert_refused(proc, bomb.name, "aliases expand too far")
    assert f"{MAX_ALIAS_NODES:,}" in proc.stderr


def test_aliases_just_over_the_budget_are_refused_and_just_under_are_read(tmp_path: Path):
    """One list of n values reused by k aliases adds k * n values."""
    n = 1000
    per = MAX_ALIAS_NODES // n

    def doc(k: int) -> str:
        return f"base: &v [{', '.join(['1'] * n)}]\nuses: [{', '.join(['*v'] * k)}]\n"

    data, _ = read_yaml(write(tmp_path, doc(per - 1), "under.yaml"))
    assert len(data["uses"]) == per - 1 and data["uses"][0] is data["base"]
    with pytest.raises(ScenarioError, match="aliases expand too far"):
        read_yaml(write(tmp_path, doc(per + 1), "over.yaml"))
    # the message names the line of the key whose value expands most (it named no line: a probe)
    with pytest.raises(ScenarioError, match=r"over.yaml:2, key 'uses': aliases expand too far"):
        read_yaml(write(tmp_path, doc(per + 1), "over.yaml"))


def test_circular_alias_is_refused(tmp_path: Path):
    path = write(tmp_path, "name: x\nloop: &a [1, *a]\n")
    with pytest.raises(ScenarioError, match="circular alias") as info:
        read_yaml(path)
    assert info.value.path == str(path) and info.value.line == 2


ALIASED = """\
name: aliases
time: {start: 2000-01, end: 2000-06}
population:
  size: 500
  origins: {home: 1.0}
  groups:
    - &first
      name: a
      share: 0.5
      female_share: 0.5
      departure_rate: 0.05
      risk_tolerance: &rt {dist: uniform, low: 0.2, high: 0.9}
      means: {dist: fixed, value: 100}
      modes: [land]
    - <<: *first
      name: b
      risk_tolerance: *rt
      means: {dist: fixed, value: 200}
network:
  nodes:
    - {id: home, kind: origin}
    - {id: away, kind: destination}
  edges:
    - {id: one, from: home, to: away, mode: land, controls: &guarded {guards: 0.3}}
    - {id: two, from: home, to: away, mode: land, controls: *guarded}
"""


def test_small_aliases_and_merge_keys_keep_working(tmp_path: Path):
    sc = load_scenario(write(tmp_path, ALIASED))
    a, b = sc.population.groups
    assert (a.name, b.name) == ("a", "b")
    assert b.risk_tolerance == a.risk_tolerance and b.risk_tolerance.high == 0.9
    assert (a.means.value, b.means.value) == (100, 200)  # a merged key overridden is not a duplicate
    assert [e.controls.guards for e in sc.network.edges] == [0.3, 0.3]


def test_an_error_inside_an_alias_names_each_use_at_its_line(tmp_path: Path):
    path = write(tmp_path, ALIASED.replace("guards: 0.3", "guards: 3"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert f"{path}:{line_of(path, 'id: one')}, key 'network.edges[one].controls.guards'" in text
    assert f"{path}:{line_of(path, 'id: two')}, key 'network.edges[two].controls.guards'" in text


# ------------------------------------------------------------------- item 11: a message, never a crash or hang


def test_deep_nesting_is_refused(tmp_path: Path, capsys):
    path = write(tmp_path, "name: x\ndeep: " + "[" * 100_000 + "]" * 100_000 + "\n")
    rc, _, err = cli(capsys, "validate", path)
    assert rc == 2, err
    assert f"error: {path}:2" in err and f"nested more than {MAX_DEPTH} levels" in err


def test_deep_nesting_through_aliases_is_refused(tmp_path: Path):
    chain = "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 3 * MAX_DEPTH))
    with pytest.raises(ScenarioError, match="nested more than"):
        read_yaml(write(tmp_path, "l0: &l0 [x]\n" + chain))


def test_reasonable_nesting_is_read(tmp_path: Path):
    depth = MAX_DEPTH - 2
    data, _ = read_yaml(write(tmp_path, "deep: " + "[" * depth + "1" + "]" * depth + "\n"))
    node = data["deep"]
    for _ in range(depth - 1):
        node = node[0]
    assert node == [1]


@pytest.mark.parametrize("start", ["0000-01", "0000-12"])
def test_year_outside_the_calendar_is_refused_by_validate(tmp_path: Path, capsys, start):
    path = minimal_with(tmp_path, "start: 2000-01,", f"start: {start},")
    rc, out, err = cli(capsys, "validate", path)
    assert rc == 2, out
    assert f"{path}:{line_of(path, 'time:')}, key 'time.start'" in err and "0001..9999" in err


def test_invalid_yaml_dates_are_messages(tmp_path: Path):
    for value in ("0000-01-01", "2000-02-30"):
        path = minimal_with(tmp_path, "start: 2000-01,", f"start: {value},")
        with pytest.raises(ScenarioError, match="not a valid date") as info:
            read_yaml(path)
        assert info.value.line == line_of(path, "time:")



@pytest.mark.parametrize("where, path, old, new", [
    ("time.start", "time.start", "start: 2000-01,", "2000-01-31"),
    ("policies[more_guards].start", "policies.more_guards.start", "start: 2000-03", "2000-03-20"),
    ("policies[more_guards].end", "policies.more_guards.end", "end: 2000-05", "2000-05-01")])
def test_a_date_with_a_day_is_refused_not_cut_to_its_month(tmp_path: Path, capsys, where, path, old, new):
    """2000-03-20 used to become 2000-03: a policy then began up to four weeks before the date written."""
    file = minimal_with(tmp_path, old, old.replace(old.split()[1].strip(","), new))
    rc, _, err = cli(capsys, "validate", file)
    assert rc == 2 and f"key '{where}'" in err and "is a day; months are written 'YYYY-MM'" in err, err
    rc, _, err = cli(capsys, "run", MINIMAL, "--out", tmp_path / "o", "--set", f"{path}={new}")
    assert rc == 2 and f"key '{where}'" in err and "is a day" in err and not (tmp_path / "o").exists(), err


@pytest.mark.parametrize("key", ["on", "no", "Yes", "off"])
def test_a_key_yaml_reads_as_true_or_false_is_named_and_a_quoted_one_is_a_name(tmp_path: Path, key):
    path = write(tmp_path, f"push:\n  {key}: {{values: {{2000: 1}}}}\n")
    with pytest.raises(ScenarioError, match=f"the key {key} is read by YAML 1.1 as (True|False).*quote it") as info:
        read_yaml(path)
    assert info.value.line == 2
    assert read_yaml(write(tmp_path, f"push:\n  '{key}': {{values: {{2000: 1}}}}\n", "q.yaml"))[0] == {
        "push": {key: {"values": {2000: 1}}}}


def test_seeds_beyond_63_bits_are_refused_everywhere_not_wrapped(tmp_path: Path, capsys):
    """A scenario's seed of 2**64 + 3 ran as seed 3; --seed already stopped at 2**63 - 1."""
    big = 2**64 + 3
    rc, _, err = cli(capsys, "validate", minimal_with(tmp_path, "seed: 3", f"seed: {big}"))
    assert rc == 2 and "key 'seed'" in err and "9223372036854775807" in err, err
    rc, _, err = cli(capsys, "run", MINIMAL, "--out", tmp_path / "o", "--set", f"seed={2**63}")
    assert rc == 2 and "key 'seed'" in err and not (tmp_path / "o").exists(), err
    assert load_scenario(minimal_with(tmp_path, "seed: 3", f"seed: {2**63 - 1}", "max.yaml")).seed == 2**63 - 1
    spec = write(tmp_path, f"name: s\nscenario: {MINIMAL}\nseed: {big}\n", "spec.yaml")
    rc, _, err = cli(capsys, "sweep", spec, "--dry-run")
    assert rc == 2 and "seed" in err and "9223372036854775807" in err, err

def test_integer_too_long_for_python_is_a_message(tmp_path: Path):
    path = minimal_with(tmp_path, "size: 500", "size: " + "1" * 5000)
    with pytest.raises(ScenarioError, match="as an integer") as info:
        read_yaml(path)
    assert info.value.line == line_of(path, "size:")


def test_dev_zero_is_refused_within_a_memory_limit(tmp_path: Path):
    proc = limited_cli("validate", "/dev/zero", cwd=tmp_path)
    assert_refused(proc, "/dev/zero", "not a regular file")


def test_fifo_is_refused_without_hanging(tmp_path: Path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    proc = limited_cli("run", fifo.name, "--out", "out", cwd=tmp_path)
    assert_refused(proc, fifo.name, "not a regular file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]


@pytest.mark.parametrize("command", [("validate", "{d}"), ("run", "{d}", "--out", "{t}/out"),
                                     ("sweep", "{t}/spec.yaml", "--dry-run"),
                                     ("sensitivity", "{d}", "--method", "morris", "--dry-run")])
def test_a_directory_named_as_a_scenario_or_spec_is_bad_input(tmp_path: Path, capsys, command):
    """Linux opens a directory read-only without an error; it was then refused by `os.fdopen` with an
    IsADirectoryError that surfaced as an internal failure (exit 1). Directly and as a spec's `scenario:`."""
    d = tmp_path / "specdir"
    d.mkdir()
    (tmp_path / "spec.yaml").write_text(f"name: x\nscenario: {d}\nparameters:\n"
                                        "  network.edges.dmz.controls.mines: [0.0, 1.0]\n")
    rc, _, err = cli(capsys, *[c.format(d=d, t=tmp_path) for c in command])
    assert rc == 2, err
    assert f"{d}: is a directory, expected a YAML file" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml", "specdir"]


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path, capsys):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: no disk space used
        f.truncate(MAX_FILE_BYTES + 1)
    rc, _, err = cli(capsys, "validate", path)
    assert rc == 2
    assert f"error: {path}: file is too large" in err and "at most 10,485,760 bytes (10 MiB)" in err


def test_file_at_the_size_limit_is_read(tmp_path: Path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES)
    assert len(_read_text(path)) == MAX_FILE_BYTES


# ----------------------------------------------------------------------------- item 14: no silent coercion


def test_duplicate_key_names_both_lines(tmp_path: Path):
    path = minimal_with(tmp_path, "      to: away\n", "      to: away\n      to: home\n")
    with pytest.raises(ScenarioError) as info:
        read_yaml(path)
    first, second = line_of(path, "to: away"), line_of(path, "to: home")
    assert info.value.key == "network.edges[crossing].to" and info.value.line == second
    assert f"duplicate key 'to' (lines {first} and {second})" in str(info.value)


def test_every_duplicate_key_is_listed(tmp_path: Path):
    path = write(tmp_path, MINIMAL.read_text() + "seed: 4\nname: again\n")
    with pytest.raises(ScenarioError) as info:
        read_yaml(path)
    text = str(info.value)
    assert f"duplicate key 'seed' (lines {line_of(path, 'seed: 3')} and {line_of(path, 'seed: 4')})" in text
    assert f"duplicate key 'name' (lines {line_of(path, 'name: minimal')} and {line_of(path, 'name: again')})" in text


def test_push_year_and_its_january_are_one_month(tmp_path: Path):
    path = write(tmp_path, MINIMAL.read_text() + "push:\n  hardship:\n    values: {2000: 1.0, 2000-01: 2.0}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == "push.hardship.values"
    assert "'2000' and '2000-01' are the same month (2000-01)" in str(info.value)


NUMBER_FIELDS = [
    ("size: 500", "size: true", "population.size"),
    ("seed: 3", "seed: false", "seed"),
    ("share: 1.0", "share: true", "population.groups[everyone].share"),
    ("departure_rate: 0.05", "departure_rate: true", "population.groups[everyone].departure_rate"),
    ("value: 100", "value: true", "population.groups[everyone].means.value"),
    ("origins: {home: 1.0}", "origins: {home: true}", "population.origins"),
    ("guards: 0.3", "guards: true", "network.edges[crossing].controls.guards"),
    ("      mode: land\n", "      mode: land\n      duration: true\n", "network.edges[crossing].duration"),
    ("      mode: land\n", "      mode: land\n      cost: false\n", "network.edges[crossing].cost"),
    ("  edges:\n", "  max_path_edges: true\n  edges:\n", "network.max_path_edges"),
    ("set: {controls.guards: 0.6}", "scale: {cost: true}", "policies[more_guards].scale"),
]


@pytest.mark.parametrize("old, new, key", NUMBER_FIELDS, ids=[k for _, _, k in NUMBER_FIELDS])
def test_true_or_false_is_not_a_number(tmp_path: Path, old, new, key):
    path = minimal_with(tmp_path, old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == key, str(info.value)
    assert "expected a number, found " in str(info.value) and "true/false is not a number" in str(info.value)


def test_true_or_false_still_work_where_allowed(tmp_path: Path):
    path = minimal_with(tmp_path, "set: {controls.guards: 0.6}", "set: {open: false}\n    enabled: true")
    path.write_text(path.read_text().replace("      mode: land\n", "      mode: land\n      shoot_on_sight: true\n"))
    sc = load_scenario(path)
    assert sc.network.edges[0].shoot_on_sight is True
    assert sc.policies[0].set_to == {"open": False} and sc.policies[0].enabled is True


def test_true_is_not_a_number_in_overrides_or_specs(tmp_path: Path):
    with pytest.raises(ScenarioError, match="true/false is not a number"):
        load_scenario(MINIMAL, overrides=["population.size=true"])
    spec = write(tmp_path, "name: s\nscenario: x.yaml\nreplicates: true\n", "spec.yaml")
    with pytest.raises(ScenarioError, match="true/false is not a number") as info:
        read_model_file(ExperimentSpec, spec)
    assert info.value.key == "replicates"


def test_base_60_numbers_are_not_read(tmp_path: Path):
    path = minimal_with(tmp_path, "size: 500", "size: 1:20")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == "population.size" and info.value.line == line_of(path, "size:")
    assert "'1:20'" in str(info.value) and "base-60" in str(info.value)
    path = minimal_with(tmp_path, "      mode: land\n", "      mode: land\n      cost: 1:20.5\n")
    with pytest.raises(ScenarioError, match="base-60") as info:
        load_scenario(path)
    assert info.value.key == "network.edges[crossing].cost" and "'1:20.5'" in str(info.value)
    path = minimal_with(tmp_path, "departure_rate: 0.05", "departure_rate: 1:20.5")
    with pytest.raises(ScenarioError) as info:  # not 80.5
        load_scenario(path)
    assert info.value.key == "population.groups[everyone].departure_rate" and "'1:20.5'" in str(info.value)


def test_exponent_numbers_without_a_dot_are_numbers(tmp_path: Path):
    """YAML 1.1 reads 1e-4 as the text '1e-4'; bordersim reads it as the number, as YAML 1.2 does."""
    sc = load_scenario(minimal_with(tmp_path, "departure_rate: 0.05", "departure_rate: 5e-2"))
    assert sc.population.groups[0].departure_rate == 0.05


def test_a_leading_zero_is_not_read_as_octal(tmp_path: Path):
    path = minimal_with(tmp_path, "size: 500", "size: 0100")
    with pytest.raises(ScenarioError) as info:  # not 64
        load_scenario(path)
    assert info.value.key == "population.size" and "leading zero" in str(info.value)


@pytest.mark.parametrize("old, new, key", [
    ("value: 100", "value: 0100", "population.groups[everyone].means.value"),  # a list item named by its name
    ("controls: {guards: 0.3}", "controls: {guards: 0.3}\n      cost: 0100", "network.edges[crossing].cost"),  # id
    ("name: minimal", "name: minimal\nsources: [a, 0100]", "sources[1]"),  # no name: its index
])
def test_an_error_the_reader_finds_in_a_list_item_names_it_as_the_schema_does(tmp_path: Path, old, new, key):
    """The reader's refusals named list items by index ('network.edges.0.cost') where the schema's errors name
    them by id ('network.edges[crossing].cost'): one file, two spellings of its keys (noted by a probe)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(minimal_with(tmp_path, old, new))
    assert info.value.key == key and "leading zero" in str(info.value), info.value.format()


def test_base_60_looking_text_stays_text(tmp_path: Path):
    path = minimal_with(tmp_path, "name: minimal", "name: minimal\ndescription: 1:20")
    assert load_scenario(path).description == "1:20"
    with pytest.raises(ScenarioError, match="base-60"):
        load_scenario(MINIMAL, overrides=["population.size=1:20"])
    for tagged in ("!!int 1:20", "!!float 1:20.0"):
        with pytest.raises(ScenarioError, match="base-60"):
            read_yaml(write(tmp_path, f"x: {tagged}\n", "tagged.yaml"))


def test_ordinary_numbers_are_read_as_before():
    text = "a: 1\nb: -2\nc: 0.5\nd: 1.0e+3\ne: .inf\nf: 0x1F\ng: 1_000\nh: 2000-01\ni: 2000-01-02\n"
    assert parse_yaml(text)[0] == yaml.safe_load(text)


# ------------------------------------------------------------------------------------------- item 19: messages


def test_typo_is_one_problem_with_a_suggestion(tmp_path: Path):
    path = minimal_with(tmp_path, "departure_rate: 0.05", "departure_rat: 0.05")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert info.value.key == "population.groups[everyone].departure_rat"
    assert info.value.line == line_of(path, "departure_rat")
    assert "unknown key 'departure_rat' (did you mean 'departure_rate'?)" in text
    assert "missing" not in text and "more problem" not in text and "\n" not in text


def test_every_problem_is_listed_with_key_and_line(tmp_path: Path, capsys):
    text = MINIMAL.read_text()
    for old, new in [
        ("size: 500", "size: lots"),
        ("female_share: 0.5", "female_share: 2"),
        ("departure_rate: 0.05", "departure_rat: 0.05"),
        ("guards: 0.3", "gaurds: 0.3"),
    ]:
        text = text.replace(old, new)
    path = write(tmp_path, text)
    rc, _, err = cli(capsys, "validate", path)
    assert rc == 2
    lines = err.splitlines()
    expected = [
        (line_of(path, "size: lots"), "population.size", "'lots'"),
        (line_of(path, "female_share: 2"), "population.groups[everyone].female_share", "less than or equal to 1"),
        (line_of(path, "departure_rat"), "population.groups[everyone].departure_rat", "did you mean 'departure_rate'"),
        (line_of(path, "gaurds"), "network.edges[crossing].controls.gaurds", "did you mean 'guards'"),
    ]
    assert len(lines) == len(expected), err
    for (line, key, says), got in zip(expected, lines):
        assert f"{path}:{line}, key '{key}': " in got and says in got, got
    assert lines[0].startswith("error: ") and all(g.startswith("  ") for g in lines[1:])


def test_problems_beyond_the_limit_are_counted(tmp_path: Path):
    extra = "".join(f"    - {{id: n{i}, kind: wrong}}\n" for i in range(MAX_PROBLEMS + 3))
    path = minimal_with(
        tmp_path, "    - {id: away, kind: destination}\n", "    - {id: away, kind: destination}\n" + extra
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1] == "  and 3 more problems"
    assert f"{path}:{line_of(path, 'id: n1,')}, key 'network.nodes[n1].kind'" in lines[1]


def test_graph_check_problems_are_all_listed(tmp_path: Path):
    path = minimal_with(tmp_path, "      to: away\n", "      to: nowhere\n")
    path.write_text(path.read_text().replace("from: home", "from: elsewhere"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    assert "unknown node 'elsewhere'" in text and "unknown node 'nowhere'" in text
    assert "more problem" not in text


@pytest.mark.parametrize(
    "spec, kind, command",
    [
        (ROOT / "experiments" / "toy_sweep.yaml", "sweep spec", "sweep"),
        (ROOT / "experiments" / "korea_calibration.yaml", "calibration spec", "calibrate"),
        (ROOT / "experiments" / "toy_sensitivity.yaml", "sensitivity spec", "sensitivity"),  # + its --method
        (ROOT / "experiments" / "toy_effects.yaml", "effects spec", "effects"),  # it said "a effects spec"
    ],
)
def test_run_on_a_spec_names_the_command(tmp_path: Path, capsys, spec, kind, command):
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "run", spec, "--out", out)
    assert rc == 2
    article = "an" if kind[0] in "aeiou" else "a"
    assert (
        err == f"error: {spec}: this looks like {article} {kind}, not a scenario (it has 'scenario' and "
        f"'{_telling_key(spec)}'): use `bordersim {command} {spec}"
        f"{' --method morris` (or `--method sobol`)' if command == 'sensitivity' else '`'}\n"
    )
    assert not out.exists()


def _telling_key(spec: Path) -> str:
    keys = yaml.safe_load(spec.read_text())
    return next(k for k in ("policies", "targets", "outcomes", "design") if k in keys)


def test_minimal_sweep_spec_given_to_run_is_recognised(tmp_path: Path, capsys):
    spec = write(tmp_path, f"name: s\nscenario: {TOY}\nparameters:\n  population.size: [100, 200]\n", "spec.yaml")
    rc, _, err = cli(capsys, "validate", spec)
    assert rc == 2 and "this looks like a sweep spec" in err and f"bordersim sweep {spec}" in err


def test_spec_commands_on_other_files_name_the_right_command(tmp_path: Path, capsys):
    sweep = ROOT / "experiments" / "toy_sweep.yaml"
    rc, _, err = cli(capsys, "sweep", TOY, "--dry-run")
    assert rc == 2 and "this looks like a scenario, not a sweep spec" in err and f"bordersim run {TOY}" in err
    rc, _, err = cli(capsys, "calibrate", sweep, "--out", tmp_path / "c")
    assert rc == 2 and "this looks like a sweep spec, not a calibration spec" in err
    assert f"bordersim sweep {sweep}" in err
    assert not (tmp_path / "c").exists()
    # the command it names runs: a sensitivity spec needs its method (the hint without it was refused by argparse)
    sensitivity = ROOT / "experiments" / "toy_sensitivity.yaml"
    rc, _, err = cli(capsys, "sweep", sensitivity, "--dry-run")
    assert rc == 2 and f"use `bordersim sensitivity {sensitivity} --method morris` (or `--method sobol`)" in err, err
    # an empty spec is a spec, not a scenario
    empty = write(tmp_path, "", "empty.yaml")
    for command, kind in (("sweep", "sweep spec"), ("discover", "discovery spec"), ("run", "scenario")):
        rc, _, err = cli(capsys, command, empty, "--out", tmp_path / "e")
        assert rc == 2 and f"file is empty; expected a mapping of {kind} keys" in err, err


def spec_text(parameters: str) -> str:
    return f"name: s\nscenario: {TOY}\nparameters:\n{parameters}"


@pytest.mark.parametrize(
    "param, key, says",
    [
        (
            "{start: 1, stop: 2, num: 0}",
            "parameters.route_choice.risk_weight.num",
            "greater than or equal to 1, found 0",
        ),
        ("{dist: loguniform, low: 0, high: 2}", "parameters.route_choice.risk_weight", "loguniform needs low > 0"),
        ("{dist: normal, low: 0, high: 2}", "parameters.route_choice.risk_weight.dist",
         "'uniform', 'loguniform', 'integer', 'categorical' or 'fixed'"),
        ("{start: 1, stop: 2, nmu: 3}", "parameters.route_choice.risk_weight.nmu", "did you mean 'num'?"),
        ("3", "parameters.route_choice.risk_weight", "a list of values, a range {start, stop, num} or a distribution"),
        ("[1, [2]]", "parameters.route_choice.risk_weight[1]", "Input should be a valid number, integer, boolean or"),
    ],
)
def test_spec_parameter_errors_speak_of_the_form_meant(tmp_path: Path, param, key, says):
    path = write(tmp_path, spec_text(f"  route_choice.risk_weight: {param}\n"), "spec.yaml")
    with pytest.raises(ScenarioError) as info:
        read_model_file(ExperimentSpec, path)
    text = str(info.value)
    assert info.value.key == key and info.value.line == 4, text
    assert says in text, text
    assert "valid list" not in text and "more problem" not in text and "\n" not in text, text


def test_spec_problems_are_all_listed(tmp_path: Path, capsys):
    path = write(
        tmp_path,
        spec_text(
            "  route_choice.risk_weight: {start: 1, stop: 2, num: 0}\n"
            "  route_choice.cost_weight: {dist: loguniform, low: 0, high: 2}\n"
            "replicats: 2\n"
        ),
        "spec.yaml",
    )
    rc, _, err = cli(capsys, "sweep", path, "--dry-run")
    assert rc == 2
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert f"{path}:4, key 'parameters.route_choice.risk_weight.num'" in lines[0]
    assert f"{path}:5, key 'parameters.route_choice.cost_weight': loguniform needs low > 0" in lines[1]
    assert f"{path}:6, key 'replicats': unknown key 'replicats' (did you mean 'replicates'?)" in lines[2]


def test_calibration_and_sensitivity_specs_list_every_problem(tmp_path: Path, capsys):
    cal = (ROOT / "experiments" / "korea_calibration.yaml").read_text()
    cal = cal.replace("scenario: ../scenarios/korea.yaml", f"scenario: {ROOT / 'scenarios' / 'korea.yaml'}")
    cal = cal.replace("accept: {quantile: 0.05}", "accept: {quantile: 0}").replace("point: best", "pont: best")
    path = write(tmp_path, cal, "cal.yaml")
    rc, _, err = cli(capsys, "calibrate", path, "--out", tmp_path / "c")
    assert rc == 2
    assert f"{path}:{line_of(path, 'accept:')}, key 'accept.quantile'" in err
    assert f"{path}:{line_of(path, 'pont:')}, key 'pont': unknown key 'pont' (did you mean 'point'?)" in err
    sens = (ROOT / "experiments" / "toy_sensitivity.yaml").read_text()
    sens = sens.replace("scenario: ../scenarios/toy.yaml", f"scenario: {TOY}")
    sens = sens.replace("replicates: 2", "replicates: 0").replace("seed: 2024", "sed: 2024")
    path = write(tmp_path, sens, "sens.yaml")
    rc, _, err = cli(capsys, "sensitivity", path, "--method", "morris", "--dry-run")
    assert rc == 2
    assert f"{path}:{line_of(path, 'replicates:')}, key 'replicates'" in err
    assert f"{path}:{line_of(path, 'sed:')}, key 'sed': unknown key 'sed' (did you mean 'seed'?)" in err


@pytest.mark.parametrize(("text", "line", "code"), [("name: toy\x00\n", 1, "0x0000"),
                                                    ("name: toy\ndescription: a\x07b\n", 2, "0x0007"),
                                                    ("\ufffe", 1, "0xfffe"),
                                                    # CR-only line ends (old Mac files) count as lines: it said 1
                                                    ("name: toy\rseed: 1\rdescription: a\x00b\r", 3, "0x0000")])
def test_a_character_yaml_does_not_allow_is_bad_input_naming_the_line(tmp_path: Path, capsys, text, line, code):
    """PyYAML checks the characters when its reader is made, which was outside the error handling (exit 1)."""
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    rc, _, err = cli(capsys, "validate", path)
    assert rc == 2 and f"{path}:{line}: cannot read YAML: character {code} is not allowed" in err, err


def test_a_control_character_in_a_set_value_is_bad_input(tmp_path: Path, capsys):
    rc, _, err = cli(capsys, "run", TOY, "--out", tmp_path / "o", "--set", "description=a\x07b")
    assert rc == 2 and "key 'description'" in err and "character 0x0007 is not allowed" in err, err
    assert not (tmp_path / "o").exists()


def test_a_huge_value_is_shown_cut_in_its_error(tmp_path, capsys):
    """A name of 2,000,000 characters made an error message of 2 MB; a unit string of 5,000 digits and a --set
    value likewise echoed every character (a probe)."""
    from sim.cli import main

    text = (ROOT / "scenarios" / "toy.yaml").read_text()
    bad = tmp_path / "s.yaml"
    bad.write_text(text.replace("name: toy", "name: " + "x/" * 200_000, 1))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err) < 1000 and "(400,000 characters)" in err, err[:300]
    assert main(["run", str(ROOT / "scenarios" / "toy.yaml"), "--set", "seed=" + "[" * 3000, "--out",
                 str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err) < 1000 and "(3,000 characters)" in err, err[:300]


def test_a_file_that_is_not_utf8_is_named_with_the_line_of_the_first_bad_byte(tmp_path: Path):
    """It gave the byte offset only (a probe)."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\nseed: 1\ndescription: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin1.yaml:3: cannot read file: not UTF-8 text \(.* at byte 32\)"):
        read_yaml(path)
    path.write_bytes("name: x\rseed: 1\rdescription: caf\u00e9\r".encode("latin-1"))  # CR-only line ends
    with pytest.raises(ScenarioError, match=r"latin1.yaml:3: cannot read file: not UTF-8 text"):
        read_yaml(path)


@pytest.mark.parametrize("old, new, key, kind", [
    ("female_share: 0.5", 'female_share: "0.5"', "population.groups[everyone].female_share", "a number"),
    ("size: 500", "size: ' 1_000 '", "population.size", "an integer"),
    ("seed: 3", "seed: '7'", "seed", "an integer"),
    ("{guards: 0.3}", "{guards: '0.3'}", "network.edges[crossing].controls.guards", "a number"),
    ("origins: {home: 1.0}", "origins: {home: '1.0'}", "population.origins", "a number"),  # a share by origin
])
def test_a_quoted_number_is_text_where_only_a_number_belongs(tmp_path: Path, old, new, key, kind):
    """`female_share: "0.5"` was read as 0.5 (pydantic's lax mode) while `departure_rate: "0.05"` was refused and
    `bordersim schema` declares both numbers (a probe): text where only a number belongs is refused at its key."""
    path = minimal_with(tmp_path, old, new)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.key == key and f"expected {kind}, found the text" in str(info.value), str(info.value)
    dotted = key.replace('[everyone]', '.everyone').replace('[crossing]', '.crossing')
    if key.endswith("origins"):
        dotted += ".home"
    with pytest.raises(ScenarioError, match=f"expected {kind}, found the text"):
        load_scenario(MINIMAL, overrides=[f"{dotted}='\"1\"'"])


def test_more_groups_or_nodes_than_a_person_can_name_are_refused_when_validating():
    """A person's group is one byte and origin two: 257 groups, or an origin past the 65,536th node, validated
    and then failed every run with 'internal failure: OverflowError' (a probe). Refused at the key."""
    from conftest import build, edge, group, node, scenario_dict

    from sim.errors import ScenarioError

    data = scenario_dict(nodes=[node("o", "origin"), node("d", "destination")], edges=[edge("e", "o", "d")],
                         groups=[group(f"g{k}", share=1 / 257) for k in range(257)])
    with pytest.raises(ScenarioError, match="at most 256") as exc:
        build(data)
    assert exc.value.key == "population.groups"
    data["population"]["groups"] = data["population"]["groups"][:256]
    for g in data["population"]["groups"]:
        g["share"] = 1 / 256
    build(data)  # 256 are fine
    data["network"]["nodes"] += [node(f"n{k}", "border") for k in range(65_535)]
    with pytest.raises(ScenarioError, match="at most 65536") as exc:
        build(data)
    assert exc.value.key == "network.nodes"
