"""Writing a calibrated scenario: the base scenario's text with the calibrated values put in place (comments and
layout kept) and a provenance block at the top, checked by loading it back before it replaces anything."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import yaml

from sim.scenario import ScenarioError, dump_scenario, load_scenario, scenario_to_dict, set_path, validate_dict

PROVENANCE_START = "# --- calibration provenance (written by `bordersim calibrate`) ---"
PROVENANCE_END = "# --- end of calibration provenance ---"


def format_value(v) -> str:
    """A YAML scalar that reads back as the same number (YAML 1.1 needs a '.' in a float's mantissa)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    text = repr(float(v))
    if "e" in text and "." not in text.split("e")[0]:
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    return text


def _scalar_spans(text: str, paths: list[str]) -> dict[str, tuple[int, int]] | None:
    """Character span of the scalar at each dotted path in the YAML text (list items by id/name or index);
    None if any path is not written out in the text."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans = {}
    for path in paths:
        node = root
        for part in path.split("."):
            nxt = None
            if isinstance(node, yaml.MappingNode):
                # A push series key written as 'YYYY' is the month 'YYYY-01' in the resolved scenario.
                nxt = next((v for k, v in node.value if part in (str(k.value), f"{k.value}-01")), None)
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    ident = None
                    if isinstance(item, yaml.MappingNode):
                        ident = next((str(v.value) for k, v in item.value if k.value in ("id", "name")), None)
                    if ident == part or (ident is None and part == str(i)):
                        nxt = item
                        break
            node = nxt
            if node is None:
                return None
        if not isinstance(node, yaml.ScalarNode):
            return None
        spans[path] = (node.start_mark.index, node.end_mark.index)
    return spans


def scenario_text(base_path: Path, values: dict[str, float], provenance: list[str]) -> tuple[str, bool]:
    """The base scenario's text with the calibrated values written in place (comments and layout kept) and the
    provenance block at the top (replacing an earlier one). Falls back to the resolved scenario (comments lost)
    when a value is not written out in the file; the flag says whether the layout was kept."""
    text = base_path.read_text(encoding="utf-8")
    start, end = text.find(PROVENANCE_START), text.find(PROVENANCE_END)
    if start != -1 and end != -1:
        text = text[:start] + text[end + len(PROVENANCE_END):].lstrip("\n")
    assignments = {one.strip(): v for name, v in values.items() for one in name.split(",")}
    spans = _scalar_spans(text, list(assignments))
    block = "\n".join([PROVENANCE_START, *(f"# {line}" if line else "#" for line in provenance), PROVENANCE_END])
    if spans is not None:
        for path, (a, b) in sorted(spans.items(), key=lambda kv: -kv[1][0]):
            text = text[:a] + format_value(assignments[path]) + text[b:]
        return block + "\n" + text, True
    data = scenario_to_dict(load_scenario(base_path))
    for path, v in assignments.items():
        set_path(data, path, v, source=str(base_path))
    return block + "\n" + dump_scenario(validate_dict(data, path=str(base_path))), False


def write_scenario(path: Path, base_path: Path, values: dict[str, float], provenance: list[str]) -> bool:
    """Write the calibrated scenario atomically after checking that it loads and holds exactly `values`."""
    text, kept = scenario_text(base_path, values, provenance)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_file(path, text)
    try:
        full = scenario_to_dict(load_scenario(tmp))
        for name, v in values.items():
            for one in name.split(","):
                got = _get(full, one.strip())
                if not math.isclose(float(got), float(v), rel_tol=1e-12):
                    raise ScenarioError(f"written value of {one} reads back as {got}, expected {v}", path=str(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return kept


def _get(data: dict, path: str):
    node = data
    for part in path.split("."):
        node = (next(x for x in node if str(x.get("id", x.get("name"))) == part) if isinstance(node, list)
                else node[part])
    return node


def temporary_file(path: Path, text: str) -> str:
    """`text` in a temporary file next to `path`, with the usual permissions (mkstemp makes them 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp

