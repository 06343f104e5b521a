"""`--set dotted.path=value` reaches any scalar of the resolved scenario, defaults included; bad paths and
values are errors (exit 2) that name the path and list nearby valid ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, TOY
from sweep_helpers import call_main

from sim.errors import ScenarioError
from sim.scenario.overrides import apply_override, scalar_paths, scenario_to_dict
from sim.loading import load_scenario


def test_toy_leaves_the_tested_defaults_unwritten():
    """The paths below are defaults, not written in toy.yaml: the override must reach into the resolved
    dict."""
    raw = yaml.safe_load(TOY.read_text())
    dmz = next(e for e in raw["network"]["edges"] if e["id"] == "dmz")
    boat = next(e for e in raw["network"]["edges"] if e["id"] == "boat")
    assert "patrol" not in dmz["controls"] and "mines" not in boat["controls"]
    assert "shoot_on_sight" not in boat and "max_path_edges" not in raw["network"]


@pytest.mark.parametrize(
    "item, getter, value",
    [
        ("population.size=2000000", lambda s: s.population.size, 2_000_000),
        ("hazards.shot_kill_probability=0.9", lambda s: s.hazards.shot_kill_probability, 0.9),
        ("hazards.detect.mines=0.25", lambda s: s.hazards.detect.mines, 0.25),
        ("network.edges.dmz.controls.mines=0.9", lambda s: _edge(s, "dmz").controls.mines, 0.9),
        ("network.edges.dmz.controls.patrol=0.4", lambda s: _edge(s, "dmz").controls.patrol, 0.4),
        ("network.edges.boat.controls.mines=0.1", lambda s: _edge(s, "boat").controls.mines, 0.1),
        ("network.edges.boat.shoot_on_sight=true", lambda s: _edge(s, "boat").shoot_on_sight, True),
        ("network.edges.ford.open=false", lambda s: _edge(s, "ford").open, False),
        ("network.max_path_edges=5", lambda s: s.network.max_path_edges, 5),
        ("network.nodes.thirdland.dwell=2", lambda s: _node(s, "thirdland").dwell, 2.0),
        (
            "population.groups.soldier.departure_rate=0.01",
            lambda s: _group(s, "soldier").departure_rate,
            0.01,
        ),
        (
            "population.groups.soldier.risk_tolerance.high=0.8",
            lambda s: _group(s, "soldier").risk_tolerance.high,
            0.8,
        ),
        ("route_choice.time_weight=0.5", lambda s: s.route_choice.time_weight, 0.5),
        ("push.hardship.values.2003-01=2.5", lambda s: s.push["hardship"].values["2003-01"], 2.5),
        ("time.end=2005-06", lambda s: s.time.end, "2005-06"),
        ("seed=42", lambda s: s.seed, 42),
        ("policies.river_closed.enabled=false", lambda s: s.policies[0].enabled, False),
        (
            "policies.transit_crackdown.scale.arrest_hazard=2",
            lambda s: s.policies[1].scale["arrest_hazard"],
            2.0,
        ),
        ("name=renamed", lambda s: s.name, "renamed"),
    ],
)
def test_set_any_scalar(item, getter, value):
    base = load_scenario(TOY)
    sc = load_scenario(TOY, overrides=[item])
    assert getter(sc) == value
    assert getter(base) != value
    # nothing else changed
    changed = _diff(scenario_to_dict(base), scenario_to_dict(sc))
    assert changed == [item.split("=")[0]]


def test_group_shares_can_be_moved_together():
    sc = load_scenario(
        TOY, overrides=["population.groups.soldier.share=0.05", "population.groups.ordinary.share=0.92"]
    )
    assert [g.share for g in sc.population.groups] == [0.92, 0.05, 0.03]


def test_shares_must_still_sum_to_one():
    with pytest.raises(ScenarioError, match="sum to 1"):
        load_scenario(TOY, overrides=["population.groups.soldier.share=0.05"])


def test_override_is_validated():
    with pytest.raises(ScenarioError) as info:
        load_scenario(TOY, overrides=["network.edges.dmz.controls.mines=1.5"])
    assert info.value.key == "network.edges[dmz].controls.mines"
    with pytest.raises(ScenarioError) as info:
        load_scenario(TOY, overrides=["network.nodes.thirdland.arrest_hazard=.nan"])
    assert info.value.key == "network.nodes[thirdland].arrest_hazard"


@pytest.mark.parametrize(
    "item, near",
    [
        ("hazards.shot_kill_probabilty=0.3", "hazards.shot_kill_probability"),
        ("network.edges.dmz.controls.mine=0.9", "network.edges.dmz.controls.mines"),
        ("population.groups.soldiers.share=0.1", "population.groups.soldier.share"),
        ("population.sise=10", "population.size"),
    ],
)
def test_unknown_path_lists_nearby_paths(item, near):
    key = item.split("=")[0]
    with pytest.raises(ScenarioError) as info:
        load_scenario(TOY, overrides=[item])
    assert info.value.key == key
    assert info.value.path == f"{TOY} (--set)"  # the --set value is at fault, not the file (it named the file alone)
    text = str(info.value)
    assert f"unknown path '{key}'" in text
    assert near in text.split("nearby valid paths:", 1)[1]


@pytest.mark.parametrize(
    "item, says",
    [
        ("nonexistent.key=1", "a path starts with one of: name, description, sources, time"),
        ("initial_stock.0.size=5", "'initial_stock' has no items in this scenario: add one in the file"),
    ],
)
def test_an_unknown_path_with_nothing_near_says_where_paths_start(item, says):
    """docs/scenario.md: an unknown path lists nearby valid paths; with none near, it gave no help at all."""
    with pytest.raises(ScenarioError, match=f"unknown path '{item.split('=')[0]}'; {says}"):
        load_scenario(TOY, overrides=[item])


@pytest.mark.parametrize("item, says", [
    ("population.groups.0.modes=1", "e.g. population.groups.0.modes.0, population.groups.0.modes.1"),
    ("network.edges.0.controls=1", "e.g. network.edges.0.controls.guards"),
    ("initial_stock=1", "it is empty in this scenario: add items in the file"),
])
def test_a_section_reached_by_index_or_empty_gets_examples_or_says_it_is_empty(item, says):
    """The examples were the paths by id or name that start with the key: none for a key by index, so the message
    ended in 'e.g. ' (a probe)."""
    with pytest.raises(ScenarioError, match=f"is a section, not a scalar; {says}"):
        load_scenario(TOY, overrides=[item])


@pytest.mark.parametrize("index", ["01", "1.0", "\u0661", "-1", "99"])
def test_a_list_index_is_a_plain_decimal_within_the_list(index):
    """`network.edges.01.cost` set edge 1, although a leading zero is refused everywhere else (and so was any
    digit of another script that int() reads)."""
    with pytest.raises(ScenarioError, match="unknown path"):
        load_scenario(TOY, overrides=[f"network.edges.{index}.cost=5"])
    assert load_scenario(TOY, overrides=["network.edges.1.cost=5"]).network.edges[1].cost == 5


@pytest.mark.parametrize(
    "item, says",
    [
        ("population.size", "dotted.path=value"),
        ("network=1", "is a section"),
        ("network.edges.dmz.controls={guards: 1}", "scalar value"),
    ],
)
def test_malformed_overrides(item, says):
    with pytest.raises(ScenarioError, match=says):
        load_scenario(TOY, overrides=[item])


def test_every_scalar_path_is_settable():
    """Each path listed by scalar_paths can be set to its own current value, leaving the scenario unchanged;
    and to another value, changing exactly that path."""
    data = scenario_to_dict(load_scenario(TOY))
    paths = scalar_paths(data)
    assert len(paths) > 100
    for p in paths:
        same = copy.deepcopy(data)
        apply_override(same, f"{p}={json.dumps(_get(data, p))}")
        assert same == data, p
        other = copy.deepcopy(data)
        apply_override(other, f"{p}=__changed__")
        assert _diff(data, other) == [p], p  # items are named by their original id/name


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """`bordersim ARGS` in this process, from the repository root (same parser and exit codes as the command)."""
    monkeypatch.chdir(ROOT)
    return lambda *args: call_main(capsys, *args)


def test_cli_set_changes_the_run(tmp_path: Path, run_cli):
    """Closing the DMZ edge by --set: nobody sets out on that route; the resolved scenario records the
    change."""
    out = tmp_path / "run"
    proc = run_cli(
        "run",
        TOY,
        "--out",
        out,
        "--quiet",
        "--set",
        "network.edges.dmz.open=false",
        "--set",
        "population.size=5000",
        "--seed",
        "11",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["by_route"]["dmz"]["set_out"] == 0
    assert summary["totals"]["set_out"] > 0
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["population"]["size"] == 5000 and resolved["seed"] == 11
    assert next(e for e in resolved["network"]["edges"] if e["id"] == "dmz")["open"] is False
    assert summary["provenance"]["seed"] == 11


@pytest.mark.parametrize(
    "item, says",
    [
        ("hazards.shot_kill_probabilty=0.3", "hazards.shot_kill_probability"),
        ("population.groups.soldier.share=0.05", "sum to 1"),
        ("population.size=abc", "population.size"),
    ],
)
def test_cli_bad_set(item, says, tmp_path: Path, run_cli):
    out = tmp_path / "run"
    proc = run_cli("run", TOY, "--out", out, "--set", item)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(TOY) in proc.stderr and says in proc.stderr
    assert not out.exists()


# ------------------------------------------------------------------------------------------------ helpers


def _edge(sc, eid):
    return next(e for e in sc.network.edges if e.id == eid)


def _node(sc, nid):
    return next(n for n in sc.network.nodes if n.id == nid)


def _group(sc, name):
    return next(g for g in sc.population.groups if g.name == name)


def _get(data, dotted):
    node = data
    for part in dotted.split("."):
        if isinstance(node, list):
            node = (
                next(
                    (x for x in node if isinstance(x, dict) and str(x.get("id", x.get("name"))) == part), None
                )
                or node[int(part)]
            )
        else:
            node = node[part]
    return node


def _diff(a, b, prefix=""):
    """Dotted paths (items by id/name) where two resolved scenario dicts differ."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        return [p for k in a for p in _diff(a[k], b[k], f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            ident = x.get("id", x.get("name")) if isinstance(x, dict) else i
            out += _diff(x, y, f"{prefix}.{ident}")
        return out
    return [] if a == b else [prefix]


def test_set_reaches_policy_targets_whose_names_hold_dots():
    """`controls.guards` and `brokers.fee` are single keys of a policy's set/scale: the dotted path finds them."""
    from sim.loading import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "korea.yaml",
                       overrides=["policies.border_tightening_2012.scale.controls.guards=2",
                                  "policies.broker_crackdown.scale.brokers.fee=3"])
    by_name = {p.name: p for p in sc.policies}
    assert by_name["border_tightening_2012"].scale["controls.guards"] == 2.0
    assert by_name["broker_crackdown"].scale["brokers.fee"] == 3.0


def test_a_number_set_at_a_distributions_path_is_that_fixed_value():
    """`waited: 4` is a fixed distribution in a file; `--set ...waited=10` does the same (it was refused as 'a
    section'); a parameter of a distribution is still set by its own path."""
    from sim.loading import load_scenario

    korea = ROOT / "scenarios" / "korea.yaml"
    sc = load_scenario(korea, overrides=["initial_stock.0.waited=10", "population.groups.ordinary.means.median=9000"])
    assert sc.initial_stock[0].waited.dist == "fixed" and sc.initial_stock[0].waited.value == 10
    assert sc.population.groups[0].means.dist == "lognormal" and sc.population.groups[0].means.median == 9000
    # a unit string too, as a file may write it (it was 'a section, not a scalar')
    sc = load_scenario(korea, overrides=["initial_stock.0.waited=2 years"])
    assert sc.initial_stock[0].waited.dist == "fixed" and sc.initial_stock[0].waited.value == 24
    with pytest.raises(ScenarioError, match="is a section, not a scalar"):
        load_scenario(korea, overrides=["initial_stock.0.waited=true"])


def test_a_number_where_a_file_may_not_write_one_is_refused_by_the_schema():
    from sim.loading import load_scenario

    with pytest.raises(ScenarioError, match="means"):
        load_scenario(TOY, overrides=["population.groups.ordinary.means=5000"])
    with pytest.raises(ScenarioError, match="means"):
        load_scenario(TOY, overrides=["population.groups.ordinary.means=2 years"])


def test_a_push_point_written_as_a_year_is_set_by_its_year_or_its_january():
    """toy.yaml writes `values: {2000: 1.0, 2003: 1.5, ...}`; `--set push.hardship.values.2003=...` was an unknown
    path (the points are stored by month)."""
    by_year = load_scenario(TOY, overrides=["push.hardship.values.2003=2"])
    by_month = load_scenario(TOY, overrides=["push.hardship.values.2003-01=2"])
    assert by_year.push["hardship"].values["2003-01"] == 2.0 == by_month.push["hardship"].values["2003-01"]
    assert by_year == by_month
    with pytest.raises(ScenarioError, match="unknown path 'push.hardship.values.2001'"):
        load_scenario(TOY, overrides=["push.hardship.values.2001=2"])


def test_a_push_point_by_its_year_is_read_as_it_is_set():
    """A calibration prior on push.hardship.values.2003 ended in an internal KeyError: get_path, which the
    calibration reads a path's current value with, lacked set_path's year alias."""
    from sim.scenario.overrides import get_path

    data = scenario_to_dict(load_scenario(TOY))
    assert get_path(data, "push.hardship.values.2003") == get_path(data, "push.hardship.values.2003-01") == 1.5


def test_one_number_set_at_a_value_by_sex_is_both_sexes_value():
    """A group's transit values may be one number in a file; `--set ...transit.arrest_scale=2` on a file that
    gives a mapping was refused as 'a section, not a scalar' (a probe). One sex by its own path; a boolean or text
    is still refused."""
    korea = ROOT / "scenarios" / "korea.yaml"
    path = "population.groups.ordinary.transit"
    sc = load_scenario(korea, overrides=[f"{path}.arrest_scale=2", f"{path}.savings.female=75"])
    transit = sc.population.groups[0].transit
    assert (transit.arrest_scale.female, transit.arrest_scale.male) == (2.0, 2.0)
    assert (transit.savings.female, transit.savings.male) == (75.0, 30.0)
    with pytest.raises(ScenarioError, match="is a section, not a scalar"):
        load_scenario(korea, overrides=[f"{path}.arrest_scale=true"])


def test_a_list_item_without_id_or_name_is_reached_by_its_index_only():
    """`initial_stock.None.size` set the first entry of the stock: an item with neither id nor name was found by
    the text 'None' (a probe)."""
    korea = ROOT / "scenarios" / "korea.yaml"
    for part in ("None", "none", "null"):
        with pytest.raises(ScenarioError, match="unknown path"):
            load_scenario(korea, overrides=[f"initial_stock.{part}.size=9"])
    assert load_scenario(korea, overrides=["initial_stock.0.size=9"]).initial_stock[0].size == 9


def test_a_path_into_a_list_the_scenario_leaves_empty_says_so_before_paths_that_look_alike(tmp_path):
    """`policies.0.start` on a scenario without policies suggested time.start, a path that only looks alike,
    instead of saying that the scenario has no policies (a probe)."""
    import yaml

    data = yaml.safe_load(TOY.read_text())
    data.pop("policies")
    scenario = tmp_path / "no_policies.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError, match="unknown path 'policies.0.start'; 'policies' has no items in this "
                                            "scenario: add one in the file"):
        load_scenario(scenario, overrides=["policies.0.start=2000-05"])


def test_suggested_paths_leave_out_keys_a_distributions_family_does_not_take():
    """The nearby valid paths offered `means.high`, `means.a` and `means.sigma` for a fixed distribution, each then
    refused ("distribution 'fixed' takes only value; remove high"; a probe)."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(TOY, overrides=["population.groups.soldier.means.valu=5"])
    near = str(info.value).split("nearby valid paths:", 1)[1]
    assert "population.groups.soldier.means.value" in near
    assert not any(f"soldier.means.{k}" in near for k in ("high", "low", "a", "b", "sigma", "median")), near
