"""Validation of raw YAML data against a schema model, with every problem named by file, key path, line and what
is allowed (up to MAX_PROBLEMS), typos answered with a suggestion, and a file of another kind recognised."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError, by_line, raise_problems, with_article
from sim.scenario.keys import line_for, loc_parts
from sim.scenario.yaml_reader import SEXAGESIMAL_RE, read_yaml


def _found(value: Any) -> str:
    text = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else repr(value)  # not datetime.date(...)
    return text if len(text) <= 80 else text[:77] + "..."


def _written(data: Any, raw: tuple) -> Any:
    """The value the file wrote at path `raw` (keys and list indices), or None where there is none."""
    node = data
    for part in raw:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _schema_problems(model: type[BaseModel], exc: ValidationError, data: Any,
                     lines: dict[tuple, int]) -> list[tuple[str | None, int | None, str]]:
    """(key, line, message) for every error of a failed validation, in file order. Errors pydantic reports once
    per branch of a union at the same key become one problem; a missing key and an unknown key next to it that is
    its near miss (a typo) become one problem, the unknown key with the suggestion."""
    entries: list[list[Any]] = []  # [raw, key, msg, branch, err]
    for details in exc.errors(include_url=False):
        err: dict[str, Any] = dict(details)
        missing = err["type"] == "missing"
        key, raw, branch = loc_parts(tuple(err["loc"]), data, missing)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("model_type", "dict_type"):  # "a valid dictionary or instance of Perception"
            msg = "Input should be a section (a mapping of keys to values)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(raw[:-1], model, data)
            near = difflib.get_close_matches(str(raw[-1]), allowed, n=1, cutoff=0.6)
            msg = (f"unknown key '{raw[-1]}'" + (f" (did you mean '{near[0]}'?)" if near else "")
                   + (f"; allowed here: {', '.join(allowed)}" if allowed else ""))
            err = {**err, "near": near[0] if near else None}
        elif missing:
            msg = "required key is missing"
        elif "input" in err and err["type"] not in ("value_error",):
            msg = f"{msg}, found {_found(err['input'])}"
            written = _written(data, raw)
            if isinstance(written, str) and isinstance(err["input"], float):  # a unit string, converted
                msg = f"{msg} (read from {written!r})"
            if isinstance(err["input"], str) and SEXAGESIMAL_RE.match(err["input"]):
                msg += " (base-60 numbers such as 1:20 are not read as numbers)"
            if err["type"] == "string_type" and isinstance(err["input"], bool):
                msg += " (YAML reads on, off, yes, no, true and false without quotes as true or false: quote the text)"
        entries.append([raw, key, msg, branch, err])
    typos = {e[0][:-1] + (e[4]["near"],) for e in entries if e[4].get("near")}
    entries = [e for e in entries if not (e[4]["type"] == "missing" and e[0] in typos)]
    merged: dict[tuple, list] = {}
    for e in entries:
        slot = (e[0], "union") if e[3] and e[4]["type"] != "extra_forbidden" else (e[0], len(merged))
        merged.setdefault(slot, []).append(e)
    problems = []
    for group in merged.values():
        raw, key = group[0][0], group[0][1]
        msgs = list(dict.fromkeys(e[2] for e in group))
        if len(msgs) > 1:
            msgs = [_union_message(group)]
        problems.append((key or None, line_for(lines, raw), msgs[0]))
    return by_line(problems)


def _union_message(group: list) -> str:
    """One message for the errors of the branches of a union at one key: 'Input should be a valid number or a
    valid boolean, found 'x''."""
    wants, found = [], None
    for _, _, _, _, err in group:
        m = err["msg"].removeprefix("Value error, ")
        wants.append(m.removeprefix("Input should be ").split(",")[0] if m.startswith("Input should be ") else m)
        if "input" in err and not isinstance(err["input"], dict):
            found = err["input"]
    wants = list(dict.fromkeys(wants))
    if len(wants) > 1 and all(w.startswith("a valid ") for w in wants):
        wants = [wants[0]] + [w.removeprefix("a valid ") for w in wants[1:]]
    text = "Input should be " + ", ".join(wants[:-1]) + " or " + wants[-1]
    return text + (f", found {_found(found)}" if found is not None else "")


def validate_model[M: BaseModel](model: type[M], data: Any, *, path: str | None = None,
                                 lines: dict[tuple, int] | None = None) -> M:
    """Validate raw data against a schema model; on failure raise ScenarioError naming the file and, for every
    problem (up to MAX_PROBLEMS, in file order), the key path, the line and what is allowed. When the data has
    the shape of another kind of file (a sweep spec given to `run`), say so and which command reads it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        hint = _other_kind(model, data, path)
        if hint:
            raise ScenarioError(hint, path=path) from exc
        problems = _schema_problems(model, exc, data, lines or {})
        try:
            raise_problems(problems, path=path)
        except ScenarioError as err:
            raise err from exc


# kinds of bordersim file: the model each is validated as, keys only that kind has, the command that reads it
# ({} stands for the file)
_FILE_KINDS = {  # in the order they are tried: an effects spec has outcomes and fixed like a sensitivity spec
    "discovery spec": ("DiscoverySpec", ("condition", "prim", "outcome"), "discover {}"),
    "effects spec": ("EffectsSpec", ("policies", "posterior", "horizon", "baseline", "draws"), "effects {}"),
    "calibration spec": ("CalibrationSpec", ("targets", "sampling", "accept", "refine", "population_size", "point",
                                             "check"), "calibrate {}"),
    "sensitivity spec": ("SensitivitySpec", ("outcomes", "morris", "sobol", "fixed", "seed_bootstrap"),
                         "sensitivity {} --method morris"),
    "sweep spec": ("ExperimentSpec", ("design", "outputs"), "sweep {}"),
    "scenario": ("Scenario", ("network", "population", "time"), "run {}"),
}


def _looks_like(data: Any, model: type[BaseModel]) -> tuple[str, str] | None:
    """(kind, telling key) when data has the shape of a kind of bordersim file: a spec has a `scenario:` key and
    a key only its kind has; a scenario has network and population and no `scenario:`. Reading a scenario, a
    file with `scenario:` and `parameters` or `replicates` is taken for a sweep spec."""
    if not isinstance(data, dict):
        return None
    if "scenario" not in data:
        return ("scenario", "network") if {"network", "population"} <= set(data) else None
    for kind, (_, keys, _) in _FILE_KINDS.items():
        if kind != "scenario":
            has = [k for k in keys if k in data]
            if has:
                return kind, has[0]
    if model.__name__ == "Scenario":
        has = [k for k in ("parameters", "replicates") if k in data]
        if has:
            return "sweep spec", has[0]
    return None


def _other_kind(model: type[BaseModel], data: Any, path: str | None) -> str | None:
    """The hint for data that failed to validate as `model` but looks like another kind of file, else None."""
    found = _looks_like(data, model)
    if found is None or _FILE_KINDS[found[0]][0] == model.__name__:
        return None
    kind, key = found
    what = next((k for k, (name, _, _) in _FILE_KINDS.items() if name == model.__name__), "this kind of file")
    what = with_article(what) if what != "this kind of file" else what
    if kind == "scenario":
        return (f"this looks like a scenario, not {what} (it has 'network' and 'population' and no 'scenario'): "
                f"use `bordersim run {path or 'FILE'}`; a spec names its base scenario under 'scenario:'")
    return (f"this looks like {with_article(kind)}, not {what} (it has 'scenario' and '{key}'): "
            f"use `bordersim {_FILE_KINDS[kind][2].format(path or 'FILE')}`"
            + (" (or `--method sobol`)" if kind == "sensitivity spec" else ""))


def read_model_file[M: BaseModel](model: type[M], path: str | Path) -> tuple[M, dict, dict[tuple, int]]:
    """Read a YAML file and validate it against a schema model: (validated model, raw data, line index)."""
    what = next((k for k, (name, _, _) in _FILE_KINDS.items() if name == model.__name__), "scenario")
    data, lines = read_yaml(path, what)
    return validate_model(model, data, path=str(path), lines=lines), data, lines



def _shapes(annotation: Any) -> list[Any]:
    """The alternatives of a type: Annotated and Optional stripped, unions opened."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _shapes(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [s for a in typing.get_args(annotation) for s in _shapes(a)]
    return [] if annotation is type(None) else [annotation]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _inner_model(annotation: Any):
    """The first model class inside a type, looking through Annotated, unions and containers (None if none)."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _field_by_name(model: Any, name: Any):
    for n, f in model.model_fields.items():
        if (f.alias or n) == name:
            return f
    return None


def _best_model(candidates: list[Any], node: Any) -> Any:
    """Of several models a value may be, the one sharing most keys with the value (the first on a tie)."""
    keys = set(node) if isinstance(node, dict) else set()
    return max(candidates, key=lambda m: len(keys & {f.alias or n for n, f in m.model_fields.items()}))


def _allowed_keys(parent: tuple, root: Any, data: Any = None) -> list[str]:
    """Field names allowed at a raw path, found by walking the schema from the model `root` together
    with the data (which of several models in a union a value is meant to be is judged by its keys)."""
    import typing

    tp: Any = root
    node = data
    for item in parent:
        shapes = _shapes(tp)
        models = [s for s in shapes if _is_model(s)]
        containers = {typing.get_origin(s): s for s in shapes if typing.get_origin(s) in (list, tuple, dict)}
        with_field = [m for m in models if _field_by_name(m, item) is not None]
        if with_field:
            tp = _field_by_name(_best_model(with_field, node), item).annotation
        elif isinstance(item, int) and (list in containers or tuple in containers):
            tp = typing.get_args(containers.get(list) or containers[tuple])[0]
        elif dict in containers:
            tp = typing.get_args(containers[dict])[1]
        else:
            return []
        node = (node.get(item) if isinstance(node, dict)
                else node[item] if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)
                else None)
    models = [s for s in _shapes(tp) if _is_model(s)]
    if not models:
        return []
    return [f.alias or n for n, f in _best_model(models, node).model_fields.items()]

