"""Writing a calibrated scenario: the base scenario's text with the calibrated values put in place (comments and
layout kept) and a provenance block at the top, checked by loading it back before it replaces anything."""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path

import yaml

from sim.errors import UsageError
from sim.outputs import atomic_path
from sim.errors import ScenarioError
from sim.scenario.overrides import dump_scenario, get_path, scenario_to_dict, set_path
from sim.loading import read_scenario, validate_dict

PROVENANCE_START = "# --- calibration provenance (written by `bordersim calibrate`) ---"
PROVENANCE_END = "# --- end of calibration provenance ---"
DIGEST_LINE = "# sha256 of the text below this block: "  # the block's last line: the file is as calibrate wrote it
_DIGEST = re.compile("^" + re.escape(DIGEST_LINE) + "([0-9a-f]{64})$", re.MULTILINE)


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
    """Character span of the scalar at each dotted path in the YAML text (list items by id/name or index; a mapping
    key may itself hold dots, as policies' `scale: {brokers.capacity: 0.2}`, and is matched to several parts of
    the path, the longest first); None if any path is not written out in the text."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans = {}
    for path in paths:
        node = _find(root, path.split("."))
        if not isinstance(node, yaml.ScalarNode):
            return None
        spans[path] = (node.start_mark.index, node.end_mark.index)
    return spans


def _find(node, parts: list[str]):
    """The node at `parts` below `node`, or None."""
    if not parts:
        return node
    if isinstance(node, yaml.MappingNode):
        for j in range(len(parts), 0, -1):  # a key of j parts ("brokers.capacity"), the longest first
            key = ".".join(parts[:j])
            # A push series key written as 'YYYY' is the month 'YYYY-01' in the resolved scenario.
            value = next((v for k, v in node.value if key in (str(k.value), f"{k.value}-01")), None)
            found = _find(value, parts[j:]) if value is not None else None
            if found is not None:
                return found
        return None
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            ident = None
            if isinstance(item, yaml.MappingNode):
                ident = next((str(v.value) for k, v in item.value if k.value in ("id", "name")), None)
            if ident == parts[0] or (ident is None and parts[0] == str(i)):
                return _find(item, parts[1:])
    return None


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
    if spans is not None:
        for path, (a, b) in sorted(spans.items(), key=lambda kv: -kv[1][0]):
            text = text[:a] + format_value(assignments[path]) + text[b:]
        return _with_block(text, provenance), True
    data = scenario_to_dict(read_scenario(base_path))
    for path, v in assignments.items():
        set_path(data, path, v, source=str(base_path))
    return _with_block(dump_scenario(validate_dict(data, path=str(base_path))), provenance), False


def _with_block(body: str, provenance: list[str]) -> str:
    """The provenance block, ending with the sha256 of `body` (`DIGEST_LINE`), a newline, then `body`."""
    lines = [PROVENANCE_START, *(f"# {line}" if line else "#" for line in provenance),
             DIGEST_LINE + hashlib.sha256(body.encode("utf-8")).hexdigest(), PROVENANCE_END]
    return "\n".join(lines) + "\n" + body


def check_scenario_target(path: str | Path, base_path: Path) -> Path:
    """Where `--write-scenario PATH` may write, checked before any run (UsageError otherwise): not a directory; its
    directory exists and is writable; an existing file only if calibrate may update it - the base scenario itself
    (its values are put in place, comments kept) or a scenario an earlier calibration wrote and nobody changed
    since (`_written_by_calibrate`) - and it is writable. Returns the path to write (a symbolic link is followed)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{p}: --write-scenario names a directory; give the path of a scenario file, e.g. "
                         f"{p / 'calibrated.yaml'}")
    if p.exists():
        if not p.is_file():
            raise UsageError(f"{p}: exists and is not a regular file; choose another --write-scenario")
        p = p.resolve()
        state = _written_by_calibrate(p)
        if p != Path(base_path).resolve() and state != "unchanged":
            why = {"changed": "it was written by `bordersim calibrate` but has been changed since (its provenance "
                              "block's digest no longer matches)",
                   "no digest": "its provenance block is of an earlier version of bordersim, which recorded no "
                                "digest, so whether it was changed since cannot be told"}.get(
                state or "", "it is neither the base scenario nor a scenario `bordersim calibrate` wrote")
            raise UsageError(f"{p}: exists, and {why}; bordersim does not overwrite it: choose a new file for "
                             f"--write-scenario (or delete this one first)")
        if not os.access(p, os.W_OK) or not p.stat().st_mode & 0o222:  # the mode too: root may write anything
            raise UsageError(f"{p}: is read-only; choose another --write-scenario")
    elif p.is_symlink():
        raise UsageError(f"{p}: is a broken symbolic link; choose another --write-scenario")
    parent = p.parent
    if not parent.is_dir():
        raise UsageError(f"{p}: the directory {parent} does not exist; create it or choose another "
                         "--write-scenario")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{p}: cannot write in the directory {parent} (permission denied); choose another "
                         "--write-scenario")
    return p


def _written_by_calibrate(path: Path) -> str | None:
    """"unchanged" when the file is a scenario `write_scenario` wrote and nobody has changed since: it starts with
    the provenance block, whose digest line holds the sha256 of the text below the block as it is now; "changed"
    when that digest no longer matches (notes added, values changed), "no digest" for a block of an earlier
    version, None for anything else. Only "unchanged" may be replaced: the others may be someone's work (a probe:
    an edited copy of korea.yaml, which carries a block, was replaced by the toy scenario)."""
    try:
        if path.stat().st_size > 16 * 2**20:  # a scenario is at most 10 MiB (sim.scenario.yaml_reader)
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    end = text.find(PROVENANCE_END)
    if not text.startswith(PROVENANCE_START) or end == -1 or text[end + len(PROVENANCE_END):][:1] != "\n":
        return None
    digest = _DIGEST.search(text, 0, end)
    if digest is None:
        return "no digest"
    body = text[end + len(PROVENANCE_END) + 1:]
    return "unchanged" if digest.group(1) == hashlib.sha256(body.encode("utf-8")).hexdigest() else "changed"


def write_scenario(path: Path, base_path: Path, values: dict[str, float], provenance: list[str]) -> bool:
    """Write the calibrated scenario atomically (sim.outputs.atomic_path) after checking that it loads and holds
    exactly `values`; the caller checks the target first (`check_scenario_target`)."""
    text, kept = scenario_text(base_path, values, provenance)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        full = scenario_to_dict(read_scenario(tmp))
        for name, v in values.items():
            for one in name.split(","):
                got = get_path(full, one.strip())
                if not math.isclose(float(got), float(v), rel_tol=1e-12):
                    raise ScenarioError(f"written value of {one} reads back as {got}, expected {v}", path=str(path))
    return kept
