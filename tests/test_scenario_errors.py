"""Bad input gets one clear message (file, key path, line where known, what is allowed), exit code 2, no
traceback and no output directory; `--debug` shows the traceback.

Each bad fixture in tests/fixtures/ is tests/fixtures/minimal.yaml with one defect."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, build, edge, group, node, run_cli, scenario_dict
from sweep_helpers import call_main

from sim.errors import ScenarioError
from sim.loading import load_scenario


@pytest.fixture
def cli(capsys):
    """`bordersim ARGS` in this process (an escaping exception fails the test, as a traceback would)."""
    return lambda *args: call_main(capsys, *args)


@dataclass
class Case:
    fixture: str
    key: str | None  # dotted key path the message must name (None: the parser cannot know one)
    line_at: tuple[str, ...]  # the reported line must hold one of these texts (empty: no line expected)
    says: tuple[str, ...] = field(default_factory=tuple)  # what was found / what is allowed


CASES = [
    Case("syntax_error.yaml", None, ("origins: {home: 1.0}",), ("YAML syntax error",)),
    Case("empty.yaml", None, (), ("empty",)),
    Case(
        "unknown_key.yaml",
        "network.edges[crossing].controls.gaurds",
        ("gaurds",),
        ("unknown key 'gaurds'", "guards, fence, mines, surveillance, patrol"),
    ),
    Case("wrong_type.yaml", "population.size", ("size: lots",), ("integer", "'lots'")),
    Case(
        "out_of_range.yaml",
        "network.edges[crossing].controls.guards",
        ("guards: 1.5",),
        ("less than or equal to 1", "1.5"),
    ),
    Case(
        "nan_value.yaml",
        "population.groups[everyone].departure_rate",
        ("departure_rate: .nan",),
        ("finite", "nan"),
    ),
    Case(
        "unknown_node.yaml",
        "network.edges[crossing].to",
        ("to: nowhere",),
        ("unknown node 'nowhere'", "home, away"),
    ),
    Case(
        "no_route.yaml",
        "population.origins.island",
        ("origins: {home: 1.0, island: 1.0}",),
        ("'island'", "no destination"),
    ),
    Case("empty_selector.yaml", "policies[more_guards].select", ("select: {}",), ("selects none",)),
    Case(
        "policy_end_before_start.yaml",
        "policies[more_guards]",
        ("- name: more_guards", "end: 2000-02"),
        ("end (2000-02)", "after start (2000-03)"),
    ),
    Case("unsafe_tag.yaml", "name", ("!!python/object/apply:os.system",), ("unsafe",)),
]
IDS = [c.fixture.removesuffix(".yaml") for c in CASES]


def lines_holding(path: Path, texts: tuple[str, ...]) -> set[int]:
    return {
        i for i, line in enumerate(path.read_text().splitlines(), start=1) if any(t in line for t in texts)
    }


def check_message(text: str, case: Case, path: Path) -> None:
    assert str(path) in text, f"message does not name the file: {text}"
    if case.key is not None:
        assert f"'{case.key}'" in text, f"message does not name key {case.key}: {text}"
    if case.line_at:
        wanted = lines_holding(path, case.line_at)
        assert wanted, f"fixture {path.name} lost its marker {case.line_at}"
        assert any(f"{path}:{n}" in text for n in wanted), f"message lacks line {sorted(wanted)}: {text}"
    for s in case.says:
        assert s in text, f"message lacks {s!r}: {text}"


def test_minimal_fixture_is_valid():
    """The fixtures differ from minimal.yaml by one defect each, so minimal.yaml itself must load."""
    sc = load_scenario(FIXTURES / "minimal.yaml")
    assert sc.name == "minimal" and sc.population.size == 500


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_load_scenario_error(case: Case):
    path = FIXTURES / case.fixture
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    exc = info.value
    assert exc.path == str(path)
    assert exc.key == case.key
    if case.line_at:
        assert exc.line in lines_holding(path, case.line_at)
    check_message(str(exc), case, path)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_run_bad_input(case: Case, tmp_path: Path, cli):
    path = FIXTURES / case.fixture
    out = tmp_path / "run"
    proc = cli("run", path, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, (
        f"not one message: {proc.stderr}"
    )
    check_message(proc.stderr, case, path)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "a temporary run directory was left behind"


def test_unsafe_tag_is_not_executed(cli):
    proc = cli("validate", FIXTURES / "unsafe_tag.yaml")
    assert proc.returncode == 2
    assert "pwned" not in proc.stdout


def test_unsafe_tag_names_the_key():
    with pytest.raises(ScenarioError) as info:
        load_scenario(FIXTURES / "unsafe_tag.yaml")
    assert info.value.key == "name"


def test_missing_file(tmp_path: Path, cli):
    path = tmp_path / "no_such_scenario.yaml"
    with pytest.raises(ScenarioError, match="not found") as info:
        load_scenario(path)
    assert info.value.path == str(path)
    out = tmp_path / "run"
    proc = cli("run", path, "--out", out)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(path) in proc.stderr and "not found" in proc.stderr
    assert not out.exists()


def test_validate_reports_every_bad_file_and_passes_good_ones(cli):
    paths = [FIXTURES / "minimal.yaml"] + [FIXTURES / c.fixture for c in CASES]
    proc = cli("validate", *paths)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"ok: {paths[0]}" in proc.stdout
    errors = proc.stderr.splitlines()
    assert len(errors) == len(CASES)
    for case, line in zip(CASES, errors):
        check_message(line, case, FIXTURES / case.fixture)


def test_validate_ok(toy_path: Path, cli):
    proc = cli("validate", toy_path, FIXTURES / "minimal.yaml")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok: ") == 2
    assert proc.stderr == ""


def test_debug_shows_traceback(tmp_path: Path):
    out = tmp_path / "run"
    proc = run_cli("--debug", "run", FIXTURES / "unknown_key.yaml", "--out", out)
    assert proc.returncode == 2  # still bad input: --debug only adds the traceback
    assert "Traceback" in proc.stderr and "ScenarioError" in proc.stderr
    assert "gaurds" in proc.stderr
    assert not out.exists()


# -------------------------------------------------------------------- more schema rules, on dicts in-process


def _minimal() -> dict:
    return scenario_dict(
        nodes=[node("o", "origin"), node("d", "destination")],
        edges=[edge("e", "o", "d")],
        size=100,
        start="2000-01",
        end="2000-06",
    )


def _broken(change) -> dict:
    data = copy.deepcopy(_minimal())
    change(data)
    return data


@pytest.mark.parametrize(
    "change, key, says",
    [
        (lambda d: d["time"].update(start="2001-01"), "time", "before time.start"),
        (lambda d: d["time"].update(start="2000-13"), "time.start", "01..12"),
        (lambda d: d["population"]["groups"][0].update(share=0.7), "population", "sum to 1"),
        (
            lambda d: d["population"]["groups"][0].update(modes=["car"]),
            "population.groups[everyone].modes[0]",
            "'land', 'river', 'dmz', 'sea' or 'air'",
        ),
        (
            lambda d: d["population"]["groups"][0].update(risk_tolerance={"dist": "beta", "a": 2}),
            "population.groups[everyone].risk_tolerance",
            "needs a, b",
        ),
        (
            lambda d: d["population"]["groups"][0].update(
                risk_tolerance={"dist": "uniform", "low": 0, "high": 2}
            ),
            "population.groups[everyone].risk_tolerance",
            "[0, 1]",
        ),
        (
            lambda d: d["network"]["edges"][0].update(duration=0),
            "network.edges[e].duration",
            "greater than 0",
        ),
        (lambda d: d["network"]["edges"][0].update(cost=float("inf")), "network.edges[e].cost", "finite"),
        (lambda d: d["network"]["edges"].append(edge("e", "o", "d")), "network.edges", "unique"),
        (lambda d: d["network"]["nodes"][0].update(arrest_hazard=0.1), "network.nodes[o]", "transit"),
        (
            lambda d: d["policies"].append(
                {
                    "name": "late",
                    "start": "2001-01",
                    "select": {"edges": ["e"]},
                    "set": {"controls.guards": 1.0},
                }
            ),
            "policies[late].start",
            "time horizon",
        ),
        (
            lambda d: d["policies"].append(
                {"name": "odd", "start": "2000-02", "select": {"edges": ["e"]}, "set": {"walls": 1.0}}
            ),
            "policies[odd]",
            "unknown set target 'walls'",
        ),
        (
            lambda d: d["policies"].append(
                {"name": "ghost", "start": "2000-02", "select": {"edges": ["x"]}, "set": {"open": False}}
            ),
            "policies[ghost].select.edges",
            "unknown edge 'x'",
        ),
        (
            lambda d: d["population"]["groups"][0].update(modes=["sea"]),
            "population.groups[everyone].modes",
            "can reach no destination",
        ),
    ],
    ids=[
        "end-before-start",
        "bad-month",
        "shares",
        "unknown-mode",
        "dist-params",
        "risk-range",
        "duration-0",
        "inf",
        "duplicate-edge",
        "hazard-off-transit",
        "policy-outside-horizon",
        "unknown-target",
        "unknown-edge-selected",
        "group-without-route",
    ],
)
def test_schema_rules(change, key, says):
    build(_minimal())  # the unbroken base is valid
    with pytest.raises(ScenarioError) as info:
        build(_broken(change))
    assert info.value.key == key, str(info.value)
    assert says in str(info.value)


@pytest.mark.parametrize("value, key", [(0, "dwell_scale"), ({"female": 0, "male": 1}, "dwell_scale.female")])
def test_a_dwell_scale_of_0_is_refused_by_validation_and_by_the_printed_schema(value, key):
    """`bordersim schema` allowed 0 (>= 0 of every by-sex value) where validation refused it (found by the model
    probe): the printed schema and validation now say the same, > 0."""
    from sim.scenario.schema import json_schema

    data = _minimal()
    data["population"]["groups"][0]["transit"] = {"dwell_scale": value}
    with pytest.raises(ScenarioError) as info:
        build(data)
    assert info.value.key == f"population.groups[everyone].transit.{key}" and "greater than 0" in str(info.value)
    schema = json_schema()  # what `bordersim schema` prints
    dwell = schema["$defs"]["GroupTransit"]["properties"]["dwell_scale"]
    number, mapping = schema["$defs"][dwell["$ref"].rsplit("/", 1)[1]]["anyOf"]
    assert all(mapping["properties"][s].get("exclusiveMinimum") == 0 for s in ("female", "male")), mapping
    # the single number docs/scenario.md allows (`dwell_scale: 1.5`): the schema had the mapping only (review)
    assert number == {"type": "number", "exclusiveMinimum": 0, "maximum": 600}, number  # bounded as each sex
    assert all(mapping["properties"][s].get("maximum") == 600 for s in ("female", "male")), mapping


def test_edge_group_mode_rule_applies_per_group():
    """A second group restricted to a mode with no edge is reported by name even though the first group is
    fine."""
    data = _minimal()
    data["population"]["groups"] = [
        group("walkers", share=0.5, modes=["land"]),
        group("sailors", share=0.5, modes=["sea"]),
    ]
    with pytest.raises(ScenarioError) as info:
        build(data)
    assert info.value.key == "population.groups[sailors].modes"


def test_a_value_where_a_section_belongs_is_named_without_class_names(tmp_path):
    """`perception: 3` said "Input should be a valid dictionary or instance of Perception": a name from the
    code, not from the file or docs/scenario.md."""
    from conftest import TOY

    import yaml

    data = yaml.safe_load(TOY.read_text())
    data["route_choice"]["perception"] = 3
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = info.value.format()
    assert "'route_choice.perception'" in text and "should be a section" in text and "found 3" in text, text
    assert "Perception" not in text and "instance" not in text, text
    data["route_choice"].pop("perception")
    data["population"]["origins"] = 1.0  # a plain mapping, not a model: "a valid dictionary" before
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "'population.origins'" in info.value.format() and "should be a section" in info.value.format()


def test_a_policys_unit_string_out_of_bounds_names_its_target(tmp_path):
    """Reported at the policy's `set` (the unit strings are read for the whole mapping), the message did not say
    which of its targets was wrong."""
    import yaml
    from conftest import TOY

    data = yaml.safe_load(TOY.read_text())
    data["policies"][0]["set"] = {"dwell": "-3 days"}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "dwell: must not be negative, found '-3 days'" in info.value.format(), info.value.format()


def test_a_repeated_node_id_is_the_one_problem_named(tmp_path):
    """A second node `north` (kind transit) also gave "'north' is not an origin node; origin nodes: abroad" on
    the line of population.origins: the later checks look nodes up by id, and the second one hid the first."""
    import yaml
    from conftest import TOY

    data = yaml.safe_load(TOY.read_text())
    north = next(n for n in data["network"]["nodes"] if n["id"] == "north")
    data["network"]["nodes"].append({**north, "kind": "transit"})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = info.value.format()
    assert "node ids must be unique; repeated: north" in text and "not an origin" not in text, text


@pytest.mark.parametrize("where, value", [("edge", 1), ("edge", "yes"), ("policy", "false"), ("enabled", 0)])
def test_true_false_keys_take_only_true_or_false(tmp_path, where, value):
    """`shoot_on_sight: 1` or `"yes"` was read as true and a policy's `set: {open: "false"}` as false, while
    `set: {open: 1}` was refused (and the JSON Schema refused them all): true/false is written true or false."""
    import yaml
    from conftest import TOY

    data = yaml.safe_load(TOY.read_text())
    if where == "edge":
        data["network"]["edges"][0]["shoot_on_sight"] = value
        key = f"network.edges[{data['network']['edges'][0]['id']}].shoot_on_sight"
    elif where == "policy":
        data["policies"][0]["set"] = {"open": value}
        key = f"policies[{data['policies'][0]['name']}].set.open"
    else:
        data["policies"][0]["enabled"] = value
        key = f"policies[{data['policies'][0]['name']}].enabled"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = info.value.format()
    assert f"'{key}'" in text and "boolean" in text, text


@pytest.mark.parametrize("engine", ["agents", "arrays"])
def test_means_past_what_32_bit_storage_holds_are_refused(tmp_path, capsys, engine):
    """Means are stored as 32-bit floats: 1e39 became inf, passages were sold at an infinite price and the buyers'
    means became NaN (inf - inf), exit 0. A parameter past the largest float32 is refused by the schema; a
    lognormal whose tail reaches it stops the run with bad-input exit 2 before anything is written."""
    import yaml
    from conftest import TOY
    from sim.cli import main

    data = yaml.safe_load(TOY.read_text())
    data["population"]["groups"][0]["means"] = {"dist": "fixed", "value": 1e39}
    path = tmp_path / "fixed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "32-bit floats" in info.value.format() and "means" in info.value.format()
    data["population"]["groups"][0]["means"] = {"dist": "lognormal", "median": 1e37, "sigma": 3.0}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    load_scenario(path)  # valid: only the draws pass the limit
    out = tmp_path / "run"
    assert main(["run", str(path), "--engine", engine, "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}, key 'population.groups[ordinary].means'") and "32-bit" in err, err


@pytest.mark.parametrize("command, spec", [("sweep", "toy_sweep.yaml"), ("calibrate", "korea_calibration.yaml"),
                                           ("sensitivity", "toy_sensitivity.yaml"), ("effects", "toy_effects.yaml"),
                                           ("discover", "toy_discover.yaml")])
def test_a_base_scenario_that_cannot_be_read_is_the_specs_error_at_its_key(command, spec, tmp_path, capsys):
    """A spec naming a missing file or a directory as its base scenario was reported on that path alone, without
    the spec's file, key and line."""
    from sim.cli.main import main

    text = (ROOT / "experiments" / spec).read_text()
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("scenario:"))
    (tmp_path / "a_directory").mkdir()
    for base, why in (("nosuch.yaml", f"the base scenario {tmp_path / 'nosuch.yaml'}: file not found"),
                      ("a_directory", f"the base scenario {tmp_path / 'a_directory'}: is a directory"),
                      # refused whether or not such a path exists beside the spec (a directory named '~' made by
                      # an earlier version would have been read)
                      ("~/nosuch.yaml", "'~/nosuch.yaml' starts with '~', which is not expanded in a spec")):
        path = tmp_path / spec
        path.write_text(text.replace(text.splitlines()[line - 1], f"scenario: {base}"))
        extra = ["--method", "morris"] if command == "sensitivity" else []
        assert main([command, str(path), *extra, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert not (tmp_path / "out").exists()
        assert f"error: {path}:{line}, key 'scenario': {why}" in err, err
    path.write_text(text.replace(text.splitlines()[line - 1], "scenario: ''"))  # it said 'is a directory'
    assert main([command, str(path), *extra, "--out", str(tmp_path / "out")]) == 2
    assert f"{path}:{line}, key 'scenario': empty: name the base scenario's file" in capsys.readouterr().err


def test_a_policy_ending_too_late_is_told_the_latest_end(tmp_path, capsys):
    """It said the end lay after the horizon, naming the last month but not the latest end allowed (the month
    after it), which the docs allow (found by the calendar probe)."""
    import yaml

    from sim.cli.main import main

    data = yaml.safe_load((ROOT / "scenarios" / "toy.yaml").read_text())
    data["time"]["end"] = "2002-12"
    data["policies"] = [p | {"end": "2003-02"} if p["name"] == "river_closed" else p for p in data["policies"]
                        if p["name"] == "river_closed"]
    path = tmp_path / "late.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["validate", str(path)]) == 2
    assert "end 2003-02 lies after the time horizon (last month 2002-12: the latest end is 2003-01, the month " \
           "after it" in capsys.readouterr().err
    data["policies"][0]["end"] = "2003-01"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["validate", str(path)]) == 0


@pytest.mark.parametrize("key, value", [("start", "٢٠٠٠-٠١"), ("start", "２０００-01"), ("end", "2004-１2")])
def test_months_and_unit_strings_take_ascii_digits_only(key, value):
    """Other scripts' digits passed the month and unit patterns (`\\d` is any Unicode digit) and Python's int()
    read them: `start: ٢٠٠٠-٠١` ran as 2000-01 (a probe)."""
    import yaml

    data = yaml.safe_load((ROOT / "scenarios" / "toy.yaml").read_text())
    data["time"][key] = value
    with pytest.raises(ScenarioError, match="expected a month as 'YYYY-MM'"):
        build(data)
    data = yaml.safe_load((ROOT / "scenarios" / "toy.yaml").read_text())
    next(n for n in data["network"]["nodes"] if "dwell" in n)["dwell"] = "٦ months"
    with pytest.raises(ScenarioError, match="found '٦ months'"):
        build(data)


def test_a_number_with_a_leading_zero_is_refused_where_a_number_is_wanted_and_text_elsewhere_stays_text(tmp_path):
    """`size: 08000` (text to YAML 1.1) ran with 8,000 persons; refusing it in the reader refused names such as
    '089' too, which bordersim writes unquoted into scenario.resolved.yaml (two probes)."""
    import re

    import yaml

    from sim.cli import main
    from sim.engine.mesa.model import run
    from sim.engine.ledger import write_run

    data = yaml.safe_load((ROOT / "scenarios" / "toy.yaml").read_text())
    for size in ("08000", "+08000"):
        data["population"]["size"] = size
        with pytest.raises(ScenarioError, match=re.escape(f"key 'population.size': {size} has a leading zero")):
            build(data)
    data = yaml.safe_load((ROOT / "scenarios" / "toy.yaml").read_text())
    data["name"], data["population"]["size"] = "089", 300
    out = write_run(run(build(data)), tmp_path / "run")
    assert "name: 089\n" in (out / "scenario.resolved.yaml").read_text()  # written unquoted
    assert main(["validate", str(out / "scenario.resolved.yaml")]) == 0  # and read back


def test_a_relative_path_not_found_names_the_working_directory(tmp_path, monkeypatch):
    """`cd /tmp && bordersim run scenarios/toy.yaml` said only 'file not found' (a probe): a relative path is looked
    for from the working directory, which the message now names. An absolute path needs no such note."""
    from sim.loading import load_scenario

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario("scenarios/toy.yaml")
    assert str(info.value) == ("scenarios/toy.yaml: file not found (a relative path: looked for from the working "
                               f"directory {tmp_path})")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "toy.yaml")
    assert str(info.value) == f"{tmp_path / 'toy.yaml'}: file not found"

    def gone():
        raise FileNotFoundError(2, "No such file or directory")  # the working directory deleted under the process

    monkeypatch.setattr(os, "getcwd", gone)
    with pytest.raises(ScenarioError) as info:  # it was an internal failure, exit 1 (found in review)
        load_scenario("scenarios/toy.yaml")
    assert str(info.value) == "scenarios/toy.yaml: file not found"


@pytest.mark.parametrize("change, key, says", [
    (lambda d: d["network"]["edges"][0].update(id="e.1"), "network.edges[e.1].id", "'e.1' holds '.'"),
    (lambda d: d["network"]["edges"][0].update(route="a>b"), "network.edges[e].route", "'a>b' holds '>'"),
    (lambda d: d["population"]["groups"][0].update(name="a,b="), "population.groups[a,b=].name",
     "'a,b=' holds ',' and '='"),
    (lambda d: d["population"]["groups"][0].update(name=" "), "population.groups[0].name", "empty: give a name"),
    # an outcome expression joins routes with + inside (): arrived(sea+boat) could not name a route 'sea+boat'
    (lambda d: d["network"]["edges"][0].update(route="sea+boat"), "network.edges[e].route", "'sea+boat' holds '+'"),
    # a push series named 'hard=ship' validated, and --set push.hard=ship.values.2003=2 could not reach it
    (lambda d: d.update(push={"hard=ship": {"values": {"2000": 1}}}), "push.hard=ship", "'hard=ship' holds '='"),
], ids=["dot-in-edge-id", "gt-in-route", "comma-and-equals-in-group", "empty-group-name", "plus-in-route",
        "equals-in-push-series"])
def test_ids_and_names_that_a_set_path_or_route_name_cannot_hold_are_refused(change, key, says):
    """An edge id 'e.1' was accepted but no --set path could reach it (the error suggested the very path it
    refused), and an edge id 'a>b' merged two routes in the outputs, a route's name being its edge ids joined by
    '>' (a probe)."""
    with pytest.raises(ScenarioError) as info:
        build(_broken(change))
    text = str(info.value)
    assert info.value.key == key and says in text, text
    assert ("may not hold . , = > + ( or )" in text) == (says != "empty: give a name"), text


@pytest.mark.parametrize("change, key, says", [
    # a dwell scale of 1e308 passed validation, then the Mesa engine crashed (OverflowError: cannot convert float
    # infinity to integer) and the array engine printed numpy's overflow warning (a probe)
    (lambda d: d["population"]["groups"][0].update(transit={"dwell_scale": 1e308}),
     "population.groups[everyone].transit.dwell_scale", "less than or equal to 600"),
    # savings of 1e308 overflowed the buyers' means into NaN: nobody could buy a passage, with numpy's warnings
    (lambda d: d["population"]["groups"][0].update(transit={"savings": {"female": 1e308, "male": 0}}),
     "population.groups[everyone].transit.savings.female", "at most 3.403e+38 USD"),
    # a group's own origins all zero was blamed on its modes ('can reach no destination')
    (lambda d: d["population"]["groups"][0].update(origins={"o": 0}),
     "population.groups[everyone].origins", "group 'everyone': origins weights must not all be zero"),
], ids=["dwell-scale-huge", "savings-huge", "group-origins-zero"])
def test_transit_values_are_bounded_and_a_groups_zero_origins_are_named(change, key, says):
    with pytest.raises(ScenarioError) as info:
        build(_broken(change))
    assert info.value.key == key and says in str(info.value), str(info.value)


def test_an_id_yaml_reads_as_true_is_named_by_its_index_with_how_to_quote_it(tmp_path):
    """`id: on` is true in YAML 1.1: the key was shown as 'network.edges[True].id' and the message did not say
    why a word was not text (a probe)."""
    text = (ROOT / "scenarios" / "toy.yaml").read_text()
    assert "{id: walk," in text
    path = tmp_path / "on.yaml"
    path.write_text(text.replace("{id: walk,", "{id: on,"))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert exc.value.key == "network.edges[0].id", exc.value
    assert "found True" in str(exc.value) and "without quotes as true or false: quote the text" in str(exc.value)
