"""Loading a scenario file: YAML -> schema -> `--set` overrides -> the graph and policy checks of the rules
(`sim.rules.checks`). Sits above the rules so that the schema never imports them."""

from __future__ import annotations

import warnings
from pathlib import Path

from sim.api_checks import overrides_argument, path_argument, seed_argument, tilde_name_hint
from sim.errors import ScenarioError, ScenarioWarning, by_line, raise_problems
from sim.rules.checks import check_scenario, scenario_warnings
from sim.scenario.keys import key_to_raw, line_for
from sim.scenario.overrides import apply_override, scenario_to_dict
from sim.scenario.schema import Scenario
from sim.scenario.validation import validate_model
from sim.scenario.yaml_reader import read_yaml


def validate_dict(data: dict, *, path: str | None = None, lines: dict[tuple, int] | None = None) -> Scenario:
    """Validate a raw dict into a Scenario and run the graph sanity checks; every problem of the first of these
    that fails is reported (see `validate_model`)."""
    scenario = validate_model(Scenario, data, path=path, lines=lines)
    problems = check_scenario(scenario)
    if problems:
        raise_problems(by_line([(key, line_for(lines or {}, key_to_raw(key, data)), msg)
                                  for key, msg in problems]), path=path)
    return scenario


# How a Scenario that did not come from `validate_dict` is named in the errors of `checked_scenario`.
GIVEN = "the scenario given (validated again from its values)"


def checked_scenario(scenario: Scenario) -> Scenario:
    """`scenario` validated again from its values as a file would be (schema and graph checks), the object the
    engines run. pydantic's `model_copy(update=...)` and `model_construct` make a Scenario without validating it:
    values the schema refuses (group shares summing to 5, a negative size or seed, true as a size, a key the
    schema does not have) are then a ScenarioError naming the key, not a run of them or a failure deep inside one.
    About 6 ms for the Korea scenario."""
    _refuse_unknown_keys(scenario, [])
    try:  # the values as they are (the JSON form would write true as 1), validated as a file's
        with warnings.catch_warnings():  # pydantic warns of values of the wrong type: validation names them
            warnings.simplefilter("ignore")
            data = scenario.model_dump(mode="python", by_alias=True)
    except Exception as exc:  # a value the schema cannot even write out (model_copy sets anything)
        raise ScenarioError(f"cannot be read back as a scenario ({type(exc).__name__}: {exc}); build it with "
                            "sim.load_scenario(PATH, overrides=[...])", path=GIVEN) from None
    return validate_dict(data, path=GIVEN)


def _refuse_unknown_keys(model: object, at: list[str]) -> None:
    """ScenarioError for an attribute of a section that is none of its keys (`model_copy(update={"bogus": 1})`
    sets it, and writing the scenario out leaves it out: a misspelt key would be ignored)."""
    from pydantic import BaseModel

    if isinstance(model, BaseModel):
        fields = type(model).model_fields
        unknown = sorted(set(vars(model)) - set(fields))
        if unknown:
            raise ScenarioError(f"unknown key '{unknown[0]}' (set with model_copy?); allowed: {', '.join(fields)}",
                                path=GIVEN, key=".".join([*at, unknown[0]]))
        for name in fields:
            _refuse_unknown_keys(getattr(model, name, None), [*at, name])
    elif isinstance(model, (list, tuple)):
        for i, item in enumerate(model):
            _refuse_unknown_keys(item, [*at, str(i)])
    elif isinstance(model, dict):
        for k, item in model.items():
            _refuse_unknown_keys(item, [*at, str(k)])


def load_scenario(path: str | Path, overrides: list[str] | None = None, seed: int | None = None) -> Scenario:
    """Load, override (`dotted.path=value`: a list of such strings), validate and sanity-check a scenario file;
    `seed` (an integer >= 0) replaces the file's. A valid scenario that probably does not do what was meant is
    a ScenarioWarning '<path>: <what>' for each such thing (`scenario_warnings`)."""
    scenario = read_scenario(path, overrides, seed)
    for message in scenario_warnings(scenario):
        warnings.warn(f"{path}: {message}", ScenarioWarning, stacklevel=2)
    return scenario


def read_scenario(path: str | Path, overrides: list[str] | None = None, seed: int | None = None) -> Scenario:
    """`load_scenario` without its warnings: for a scenario whose warnings were given when it was first loaded."""
    path_argument(path, "path")
    overrides, seed = overrides_argument(overrides), seed_argument(seed)
    data, lines = read_yaml(path)
    if overrides or seed is not None:
        base = validate_dict(data, path=str(path), lines=lines)
        full = scenario_to_dict(base)
        for item in overrides or []:
            apply_override(full, item, source=f"{path} (--set)")
        if seed is not None:
            full["seed"] = seed
        return validate_dict(full, path=f"{path} (after --set)")
    return validate_dict(data, path=str(path), lines=lines)


# ------------------------------------------------------------------------------------------------ overrides


def refuse_tilde(name: str, spec_path: Path, key: str, lines: dict[tuple, int]) -> None:
    """ScenarioError at `key` when a path a spec gives (relative to the spec) starts with '~': it is not expanded
    here, so '~/x.yaml' meant in the home directory would be read from a directory named '~' beside the spec."""
    if name.startswith("~"):
        raise ScenarioError(f"{name!r} starts with '~', which is not expanded in a spec: give the path relative to "
                            f"this spec, or in full{tilde_name_hint(name)}", path=str(spec_path),
                            key=key, line=line_for(lines, (key,)))


def load_base_scenario(spec_path: Path, name: str, lines: dict[tuple, int]) -> tuple[Path, Scenario]:
    """The base scenario a spec names under `scenario:` (`name`, relative to the spec file): (its resolved path, the
    loaded scenario). A file that cannot be read as a scenario at all (missing, a directory, unreadable, empty) is
    the spec's error, at its key and line, naming the path it resolved to; errors inside the scenario name the
    scenario's own file, key and line."""
    line = line_for(lines, ("scenario",))
    refuse_tilde(name, spec_path, "scenario", lines)
    if not name.strip():
        raise ScenarioError("empty: name the base scenario's file, relative to this spec", path=str(spec_path),
                            key="scenario", line=line)
    path = (spec_path.parent / name).resolve()
    try:
        return path, load_scenario(path)
    except ScenarioError as exc:
        if exc.path != str(path) or exc.key is not None or exc.line is not None:
            raise
        raise ScenarioError(f"the base scenario {path}: {exc.message}", path=str(spec_path), key="scenario",
                            line=line) from None
