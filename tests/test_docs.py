"""The docs name every scenario key and every policy target the code accepts."""

from pathlib import Path

from pydantic import BaseModel

from sim.scenario import schema as sc
from sim.scenario.validation import _inner_model

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _fields(model: type[BaseModel], seen: set) -> set[str]:
    names = set()
    if model in seen:
        return names
    seen.add(model)
    for name, field in model.model_fields.items():
        names.add(field.alias or name)
        inner = _inner_model(field.annotation)
        if inner is not None:
            names |= _fields(inner, seen)
    return names


def test_every_scenario_key_is_documented():
    text = (DOCS / "scenario.md").read_text()
    missing = sorted(k for k in _fields(sc.Scenario, set()) if f"`{k}`" not in text)
    assert not missing, f"keys missing from docs/scenario.md: {missing}"


def test_every_policy_target_is_documented():
    scen = (DOCS / "scenario.md").read_text()
    model = (DOCS / "model.md").read_text()
    for target in sorted(sc.EDGE_TARGETS | sc.NODE_TARGETS | sc.GROUP_TARGETS):
        assert f"`{target}`" in scen, target
        assert target.split(".")[-1] in model, target
