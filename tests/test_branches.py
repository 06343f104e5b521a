"""Runs that differ only in their policies share their first steps (`sim.engine.branches`, `ArrayModel.fork`):
every run gives the files a separate run gives, byte for byte, and sweeps hand such runs to a worker together."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from conftest import ROOT, TOY, build
from test_docking import _everything, _plain, _weekly, files
from test_equivalence import busy_toy

from sim.engine.arrays import ArrayModel
from sim.engine.arrays import run as arrays_run
from sim.engine.branches import run_branches
from sim.experiments.spec import load_spec
from sim.experiments.sweep import groups, plan, run_sweep
from sim.experiments.task import execute, point_scenario
from sim.loading import load_scenario
from sim.rules.policies import divergence_step
from sim.scenario.dates import step_dates
from sim.scenario.overrides import scenario_to_dict

KOREA = ROOT / "scenarios" / "korea.yaml"


def variants(base, changes: list[list[tuple[str, object]]]):
    data = scenario_to_dict(base)
    return [point_scenario(data, pairs) for pairs in changes]


def assert_branches_are_separate_runs(scenarios, seed, tmp_path):
    results, seconds = run_branches(scenarios, seed, "arrays")
    assert len(results) == len(seconds) == len(scenarios)
    for i, (s, r) in enumerate(zip(scenarios, results)):
        alone = arrays_run(s, seed=seed)
        assert r.resolved_yaml == alone.resolved_yaml
        assert files(r, tmp_path / f"b{i}") == files(alone, tmp_path / f"a{i}")
    return results


def test_the_korea_packages_give_the_files_of_separate_runs(tmp_path):
    """The effects packages of experiments/korea_effects.yaml (each from January 2026: the end of a policy in force
    since 2020 or 2023, a counterfactual policy switched on) on a smaller Korea with every mechanism it has."""
    base = load_scenario(KOREA, overrides=["population.size=10000", "initial_stock.0.size=1000",
                                           "time.end=2026-12"])
    scenarios = variants(base, [
        [],
        [("policies.pandemic_buffer_zone.end", "2026-01")],
        [("policies.forced_returns_2023.end", "2026-01")],
        [("policies.cf_dmz_more_mines_2026.enabled", True)],
    ])
    dates = step_dates(base.time)
    assert [divergence_step(scenarios[0], s) for s in scenarios] == [len(dates)] + [dates.index(date(2026, 1, 1))] * 3
    results = assert_branches_are_separate_runs(scenarios, 11, tmp_path)
    assert results[1].totals() != results[0].totals()  # a package does something


@pytest.mark.parametrize("change", [_plain, _weekly, _everything], ids=["plain", "weekly", "everything"])
def test_every_mechanism_forks_exactly(change, tmp_path):
    """The busy toy of the docking tests, plain, with a weekly step, and with every mechanism at once (brokers,
    closures on the way, initial stock, repeat attempts, perception, chain migration, nesting, transit by sex:
    the state each keeps is copied at the fork); the river closure ends early, the crackdown comes
    later, a switched-off policy acts otherwise (the same dynamics, another scenario text), and a change outside
    the policies (a run of its own from step 0)."""
    d = copy.deepcopy(busy_toy())
    change(d)
    d["policies"].append({"name": "off", "start": "2000-03", "enabled": False, "select": {"nodes": ["thirdland"]},
                          "scale": {"arrest_hazard": 2.0}})
    base = build(d)
    scenarios = variants(base, [[], [("policies.river_closed.end", "2000-09")],
                                [("policies.transit_crackdown.start", "2001-05")],
                                [("policies.off.scale.arrest_hazard", 4.0)], [("network.edges.walk.cost", 250.0)]])
    steps = len(step_dates(base.time))
    assert 0 < divergence_step(scenarios[0], scenarios[1]) < divergence_step(scenarios[0], scenarios[2]) < steps
    assert divergence_step(scenarios[0], scenarios[3]) == steps and divergence_step(scenarios[0], scenarios[4]) == 0
    assert_branches_are_separate_runs(scenarios, 5, tmp_path)


def test_divergence_is_the_first_step_whose_policies_in_force_differ():
    base = load_scenario(TOY)
    dates = step_dates(base.time)
    same, later, other, seed = variants(base, [[], [("policies.transit_crackdown.start", "2004-01")],
                                               [("network.edges.walk.cost", 123.0)], [("seed", 99)]])
    assert divergence_step(base, same) == len(dates)
    assert divergence_step(base, later) == dates.index(date(2003, 6, 1))  # the old start
    assert divergence_step(base, other) == 0
    assert divergence_step(base, seed) == len(dates)  # the seed of a run is given to run_branches
    extra = scenario_to_dict(base)
    extra["policies"].append({"name": "new", "start": "2004-01", "select": {"edges": ["walk"]},
                              "scale": {"cost": 2.0}})
    assert divergence_step(base, build(extra)) == dates.index(date(2004, 1, 1))


def test_a_fork_after_the_scenarios_differ_is_refused():
    base = load_scenario(TOY, overrides=["population.size=2000"])
    _same, later = variants(base, [[], [("policies.river_closed.start", "2001-01")]])
    model = ArrayModel(base, rng=3)
    t = divergence_step(base, later)
    for s in range(t + 1):
        model.step(s)
    with pytest.raises(ValueError, match="differ before"):
        model.fork(later, t + 1)


SPEC = """
name: packages
scenario: {toy}
design: {{type: policies, policies: {{none: {{}}, early_end: {{policies.river_closed.end: 2002-06}},
          crackdown_later: {{policies.transit_crackdown.start: 2004-01}}}}}}
parameters:
  population.size: [3000]
  network.edges.walk.controls.guards: [0.1, 0.3]
replicates: 2
seed: 5
outputs: {{keep: [totals, by_route], timeseries: true}}
"""


def test_a_policies_sweep_runs_each_points_packages_together_with_the_results_of_separate_runs(tmp_path):
    spec = tmp_path / "packages.yaml"
    spec.write_text(SPEC.format(toy=TOY))
    p = plan(spec)
    tasks = groups(p.runs)
    assert len(tasks) == 2 * 2 and all(len(t) == 3 for t in tasks)  # (guards x replicate), the three packages
    for t in tasks:
        assert len({(r.replicate, r.point.values["network.edges.walk.controls.guards"]) for r in t}) == 1
        assert [r.point.package for r in t] == ["none", "early_end", "crackdown_later"]
    df = run_sweep(p, tmp_path / "out", workers=1).set_index("run_id")
    ls = load_spec(spec)
    for r in p.runs:
        alone = execute(r.run_id, ls.base_dict, r.point.overrides(ls.spec), r.seed, ["totals", "by_route"], True)
        got = df.loc[r.run_id]
        for k, v in alone.outcomes.items():
            assert got[k] == v, (r.run_id, k)
        stored = tmp_path / "out" / "timeseries" / f"run_id={r.run_id}" / "part-0.parquet"
        alone.timeseries.drop(columns=["run_id"]).to_parquet(tmp_path / "alone.parquet", index=False)
        assert stored.read_bytes() == (tmp_path / "alone.parquet").read_bytes()


def test_designs_without_packages_are_one_run_per_task(tmp_path):
    spec = tmp_path / "grid.yaml"
    spec.write_text(f"name: grid\nscenario: {TOY}\nparameters:\n  network.edges.walk.controls.guards: [0.1, 0.3]\n"
                    "replicates: 3\nseed: 1\n")
    p = plan(spec)
    tasks = groups(p.runs)
    assert [len(t) for t in tasks] == [1] * 6
    assert [(t[0].replicate, t[0].point.index) for t in tasks] == [(k, i) for k in range(3) for i in range(2)]


def test_the_dry_run_of_a_policies_sweep_says_its_estimate_is_an_upper_bound(tmp_path, capsys):
    from sim.cli.main import main

    spec = tmp_path / "packages.yaml"
    spec.write_text(SPEC.format(toy=TOY))
    assert main(["sweep", str(spec), "--dry-run", "--workers", "1"]) == 0
    assert "at most: the runs of a point's packages share their steps" in capsys.readouterr().out
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"name: grid\nscenario: {TOY}\nparameters:\n  population.size: [2000]\nseed: 1\n")
    assert main(["sweep", str(grid), "--dry-run", "--workers", "1"]) == 0
    assert "at most" not in capsys.readouterr().out


def test_a_group_whose_shared_run_fails_is_made_run_by_run(tmp_path, monkeypatch):
    """Should the shared run raise, each run is made on its own, so that a failure is recorded with its run."""
    import sim.engine.branches
    from sim.experiments.task import execute_group

    spec = tmp_path / "packages.yaml"
    spec.write_text(SPEC.format(toy=TOY))
    ls, group = load_spec(spec), groups(plan(spec).runs)[0]
    args = ([r.run_id for r in group], ls.base_dict, [r.point.overrides(ls.spec) for r in group], group[0].seed,
            ["totals"], False)
    shared = execute_group(*args)

    calls = []

    def broken(*_a, **_k):
        calls.append(1)
        raise RuntimeError("shared run failed")

    monkeypatch.setattr(sim.engine.branches, "run_branches", broken)
    alone = execute_group(*args)
    assert calls == [1] and [o.status for o in alone] == ["ok"] * len(group)
    assert [o.outcomes for o in alone] == [o.outcomes for o in shared]
