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
