"""Dotted-path overrides (`--set network.edges.dmz.controls.mines=0.9`) and the canonical dict/YAML of a scenario."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterator
from typing import Any

import yaml

from sim.errors import ScenarioError, shown
from sim.scenario.schema import OMIT_WHEN_DEFAULT, Scenario
from sim.scenario.yaml_reader import parse_yaml


def scenario_to_dict(scenario: Scenario) -> dict:
    """Plain dict of every key, defaults included, with YAML-friendly aliases (edges use 'from')."""
    return scenario.model_dump(mode="json", by_alias=True)


def dump_scenario(scenario: Scenario) -> str:
    """Canonical YAML text of a scenario (the resolved scenario written next to each run). The keys of
    `OMIT_WHEN_DEFAULT` are left out while at their defaults (mechanisms that are off)."""
    data = scenario_to_dict(scenario)
    for key in OMIT_WHEN_DEFAULT:
        _omit_default(data, scenario, key.split("."))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def copy_tree(node: Any) -> Any:
    """A copy of a scenario dict as YAML or `scenario_to_dict` gives it: dicts, lists and tuples copied, every
    other value (str, int, float, bool, None) shared, being immutable. The same result as copy.deepcopy on such
    data, several times faster (a sweep copies its base scenario once per point it checks or runs)."""
    if isinstance(node, dict):
        return {k: copy_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [copy_tree(v) for v in node]
    if isinstance(node, tuple):
        return tuple(copy_tree(v) for v in node)
    return node


def without_mechanisms(data: dict) -> dict:
    """A full scenario dict with every key of `OMIT_WHEN_DEFAULT` removed: each mechanism of docs/model.md §9-14
    back at its default (off). (Policies that target those mechanisms are the caller's to drop.)"""
    for key in OMIT_WHEN_DEFAULT:
        _omit_default(data, None, key.split("."))
    return data


def _omit_default(data: Any, model: Any, parts: list[str]) -> None:
    """Delete data[parts...] where the model's value there equals its field's default, or wherever it is when
    model is None ("*": each list item)."""
    head, rest = parts[0], parts[1:]
    if head == "*":
        for i, item_data in enumerate(data):
            _omit_default(item_data, None if model is None else model[i], rest)
        return
    if not isinstance(data, dict) or head not in data:
        return
    if rest:
        _omit_default(data[head], None if model is None else getattr(model, head), rest)
    elif model is None or getattr(model, head) == type(model).model_fields[head].get_default(call_default_factory=True):
        del data[head]


def scenario_sha256(scenario: Scenario) -> str:
    return hashlib.sha256(dump_scenario(scenario).encode()).hexdigest()


def _scalar_paths(node: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if v is None and "dist" in node:  # a key of another family of distributions (`high` of `fixed`)
                continue
            out += _scalar_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            ident = v.get("id", v.get("name")) if isinstance(v, dict) else None
            out += _scalar_paths(v, f"{prefix}.{ident if ident is not None else i}")
    else:
        out.append(prefix)
    return out


def scalar_paths(data: dict) -> list[str]:
    """Every dotted path to a scalar that may be set; list items are addressed by their id/name (or index). The
    keys a distribution's family does not take (null in the full dict) are left out."""
    return _scalar_paths(data)


def _step_into(node: Any, part: str) -> tuple[Any, Any]:
    """Return (container, key) for one dotted-path part, or raise KeyError."""
    if isinstance(node, dict):
        if part in node:
            return node, part
        raise KeyError(part)
    if isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("id", item.get("name")) if isinstance(item, dict) else None
            if label is not None and str(label) == part:  # an item with neither is found by its index only
                return node, i
        if re.fullmatch(r"0|[1-9][0-9]*", part) and int(part) < len(node):  # not 01, nor other scripts' digits
            return node, int(part)
        raise KeyError(part)
    raise KeyError(part)


def apply_override(data: dict, item: str, *, source: str = "--set") -> None:
    """Set one scalar in a full scenario dict from 'dotted.path=value' (value parsed as YAML by the rules of
    `parse_yaml`: 1:20 is text, not 80)."""
    if "=" not in item:
        raise ScenarioError(f"--set expects dotted.path=value, found {item!r}", path=source)
    key, _, text = item.partition("=")
    key = key.strip()
    try:
        value = parse_yaml(text, path=source)[0] if text.strip() else None
    except ScenarioError as exc:
        raise ScenarioError(f"cannot parse value {shown(text)}: {exc.message}", path=source, key=key) from None
    set_path(data, key, value, source=source)


def _walk(node: Any, parts: list[str]) -> tuple[Any, Any]:
    """(container, key) of the dotted path `parts` in node, or KeyError. A mapping key may itself hold dots (the
    policy targets `controls.guards`, `brokers.fee`): at a mapping, the longest run of parts that is one of its keys
    is taken first."""
    for n in range(len(parts), 1, -1):
        joined = ".".join(parts[:n])
        if isinstance(node, dict) and joined in node:
            return (node, joined) if n == len(parts) else _walk(node[joined], parts[n:])
    container, k = _step_into(node, parts[0])
    return (container, k) if len(parts) == 1 else _walk(container[k], parts[1:])


def _parts(key: str) -> list[str]:
    """The parts of dotted path `key`; a push point's bare year means its January, as in a file
    (docs/scenario.md): push.S.values.2003 is push.S.values.2003-01."""
    parts = key.split(".")
    if len(parts) > 2 and parts[0] == "push" and parts[-2] == "values" and re.fullmatch(r"[0-9]{4}", parts[-1]):
        parts[-1] += "-01"
    return parts


def get_path(data: dict, key: str) -> Any:
    """The value at dotted path `key` (the paths of `set_path`, dotted policy targets included); KeyError if none."""
    container, k = _walk(data, _parts(key))
    return container[k]


def _places(data: dict, names) -> Iterator[tuple[tuple[int, Any], str, str]]:
    """(place, name, dotted path) for each dotted path of each of `names` (dotted paths joined by commas) that
    reaches a value of `data`: the place is the same however the path spells it (`network.edges.4` and
    `network.edges.boat`, `values.2003` and `values.2003-01`). Paths that reach nothing are left out."""
    for name in names:
        for dotted in (q.strip() for q in str(name).split(",")):
            try:
                container, k = _walk(data, _parts(dotted))
            except KeyError:
                continue
            yield (id(container), k), str(name), dotted


def refuse_repeated_places(data: dict, names, *, path: str, line: int | None, key: str = "parameters") -> None:
    """ScenarioError (file `path`, `key`) when two of `names` (parameter or setting names: dotted paths joined by
    commas) reach the same value of `data`, however each spells it (`_places`): the second would overwrite the
    first at every point. Paths that reach nothing are left to the caller's own check."""
    seen: dict[tuple[int, Any], str] = {}
    for where, name, dotted in _places(data, names):
        if where in seen and seen[where] != name:
            raise ScenarioError(f"'{seen[where]}' and '{name}' set the same value ({dotted}): the second would "
                                "overwrite the first at every point; give each path once", path=path,
                                key=key, line=line)
        seen[where] = name


def refuse_shared_places(data: dict, first, second, *, path: str, line: int | None, key: str, why: str) -> None:
    """ScenarioError (file `path`, `key`) when a name of `second` reaches a value of `data` that a name of `first`
    reaches, however each spells it (`_places`); `why` says what would happen then."""
    places = {where: name for where, name, _ in _places(data, first)}
    for where, name, dotted in _places(data, second):
        if where in places:
            raise ScenarioError(f"'{name}' sets the value of the parameter '{places[where]}' ({dotted}): {why}; vary "
                                "it in one place only", path=path, key=key, line=line)


def set_path(data: dict, key: str, value: Any, *, source: str = "--set") -> None:
    """Set the scalar at dotted path `key` (list items by id/name or index) in a full scenario dict. A number (or
    a unit string, '2 years') at the path of a distribution replaces it, as a file may write it (the schema, run
    after, accepts it only where a file may write one: a stock's `waited`); so does a number at a value by sex
    (`transit.dwell_scale`: the same for women and men)."""
    if isinstance(value, (dict, list)):
        raise ScenarioError("--set takes a scalar value (number, string, true/false)", path=source, key=key)
    node: Any = data
    parts = _parts(key)
    try:
        container, k = _walk(node, parts)
    except KeyError:
        valid = scalar_paths(data)
        near = difflib.get_close_matches(key, valid, n=5, cutoff=0.5)
        if not near:
            near = [p for p in valid if p.startswith(parts[0] + ".")][:5]
        hint = f"; nearby valid paths: {', '.join(near)}" if near else ""
        if isinstance(data.get(parts[0]), list) and not data[parts[0]]:  # before paths that merely look alike
            hint = f"; '{parts[0]}' has no items in this scenario: add one in the file to set its values"
        elif not near:
            hint = f"; a path starts with one of: {', '.join(map(str, data))} (`bordersim schema` lists every key)"
        raise ScenarioError(f"unknown path '{key}'{hint}", path=source, key=key) from None
    if isinstance(container[k], dict) and "dist" in container[k] and isinstance(value, (int, float, str)) \
            and not isinstance(value, bool):
        container[k] = value  # a distribution given as one value, as a file may write it (validated after)
        return
    if isinstance(container[k], dict) and container[k].keys() == {"female", "male"} \
            and isinstance(value, (int, float)) and not isinstance(value, bool):
        container[k] = value  # a value by sex (a group's transit) given as one number for both, as a file may
        return
    if isinstance(container[k], (dict, list)):
        sub = _scalar_paths(container[k], key)[:5]  # under the key as given (by index, id or name)
        example = f"e.g. {', '.join(sub)}" if sub else "it is empty in this scenario: add items in the file"
        raise ScenarioError(f"'{key}' is a section, not a scalar; {example}", path=source, key=key)
    container[k] = value


# ---------------------------------------------------------------------------------------------------- calendar
