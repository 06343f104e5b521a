"""A calibration may fit any path `--set` takes, a dotted policy target (`scale.brokers.capacity`) included."""

from pathlib import Path

import yaml

from sim.analysis.calibration.rounds import base_scenario
from sim.analysis.calibration.spec import load_calibration

ROOT = Path(__file__).resolve().parents[1]


def test_the_base_of_a_calibration_sets_a_dotted_policy_target_at_its_prior_median(tmp_path):
    data = yaml.safe_load((ROOT / "experiments" / "korea_calibration.yaml").read_text())
    data["scenario"] = str((ROOT / "experiments" / data["scenario"]).resolve())
    name = "policies.broker_scarcity_2023.scale.brokers.capacity"
    assert data["parameters"][name] == {"dist": "loguniform", "low": 0.1, "high": 1}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    base = base_scenario(load_calibration(tmp_path / "c.yaml"), 1000)
    policy = next(p for p in base.policies if p.name == "broker_scarcity_2023")
    assert policy.scale["brokers.capacity"] == 0.316  # the loguniform prior's median sqrt(0.1), to 3 digits


def test_a_count_is_sampled_as_integers_and_a_loguniform_prior_on_it_is_refused(tmp_path):
    """initial_stock.0.size holds an int: the round's sweep gets the `integer` kind over ceil(low)..floor(high),
    listed values are rounded, other paths are left as they are; a loguniform prior on a count is bad input."""
    import pytest

    from sim.analysis.calibration.rounds import integer_parameters
    from sim.errors import ScenarioError
    from sim.loading import load_scenario
    from sim.scenario.overrides import scenario_to_dict

    data = scenario_to_dict(load_scenario(ROOT / "scenarios" / "korea.yaml"))
    rate = "population.groups.ordinary.departure_rate"
    priors = {"initial_stock.0.size": {"dist": "uniform", "low": 2999.5, "high": 30000.7},
              rate: {"dist": "loguniform", "low": 0.001, "high": 0.01}}
    assert integer_parameters(data, priors, "c.yaml") == {
        "initial_stock.0.size": {"dist": "integer", "low": 3000, "high": 30000}, rate: priors[rate]}
    points = {"initial_stock.0.size": [3000.4, 12345.6], rate: [0.0021, 0.0033]}
    assert integer_parameters(data, points, "c.yaml") == {"initial_stock.0.size": [3000, 12346], rate: points[rate]}
    with pytest.raises(ScenarioError, match=r"c\.yaml, key 'parameters\.initial_stock\.0\.size'.*uniform prior"):
        integer_parameters(data, {"initial_stock.0.size": {"dist": "loguniform", "low": 3000, "high": 30000}},
                           "c.yaml")


def test_a_calibrated_dotted_policy_target_is_written_and_read_back(tmp_path):
    """write_scenario checks every written value by reading the file back; a dotted policy target
    (`scale.brokers.capacity`) is read back with the same path rule as `--set` (it raised KeyError 'brokers')."""
    from sim.analysis.calibration.scenario_file import write_scenario
    from sim.loading import load_scenario

    korea = ROOT / "scenarios" / "korea.yaml"
    name = "policies.broker_scarcity_2023.scale.brokers.capacity"
    out = tmp_path / "calibrated.yaml"
    write_scenario(out, korea, {name: 0.35, "initial_stock.0.size": 7978}, ["# test provenance"])
    written = load_scenario(out)
    policy = next(p for p in written.policies if p.name == "broker_scarcity_2023")
    assert policy.scale["brokers.capacity"] == 0.35 and written.initial_stock[0].size == 7978
