"""Key paths of YAML data: pydantic error locations as dotted keys ('network.edges[dmz].to'), the raw path
(('network', 'edges', 3, 'to')) for the line index, and the line a raw path starts on."""

from __future__ import annotations

import re
from typing import Any

_WRAPPERS = ("function-after", "function-before", "function-wrap", "function-plain", "literal", "union",
             "tagged-union")


def loc_to_key(loc: tuple, data: Any, missing: bool = False) -> tuple[str, tuple]:
    """Turn a pydantic error location into a readable dotted key and the raw path for line lookup.

    The location is walked together with the data, so the labels pydantic adds for union branches and
    validators ('Range', 'function-after[...]', 'float', a tag) are left out: an item is a key only if the data
    holds it at that place, or if it is the last item of a missing-key error (`missing`)."""
    key, raw, _ = loc_parts(loc, data, missing)
    return key, raw


def loc_parts(loc: tuple, data: Any, missing: bool = False) -> tuple[str, tuple, bool]:
    """`loc_to_key` plus whether the location passed through a union branch label."""
    parts: list[str] = []
    raw: list = []
    node = data
    branch = False
    for pos, item in enumerate(loc):
        last = pos == len(loc) - 1
        if isinstance(item, int) and isinstance(node, list):
            ident = None
            if 0 <= item < len(node) and isinstance(node[item], dict):
                ident = node[item].get("id", node[item].get("name"))
            named = isinstance(ident, str) and ident.strip() != ""  # an id read as true, 3 or blank: the index
            parts.append(f"[{ident}]" if named else f"[{item}]")
            raw.append(item)
            node = node[item] if 0 <= item < len(node) else None
        elif isinstance(node, dict) and (item in node or (last and missing)):
            parts.append(str(item))
            raw.append(item)
            node = node.get(item)
        elif isinstance(item, str) and (item.startswith(_WRAPPERS) or "[" in item or not isinstance(node, dict)
                                        or item not in node):
            branch = True  # a union branch or validator label, not a key
        else:
            parts.append(str(item))
            raw.append(item)
            node = None
    text = ""
    for p in parts:
        text += p if p.startswith("[") or not text else "." + p
    return text, tuple(raw), branch


def line_for(index: dict[tuple, int], raw: tuple) -> int | None:
    while raw:
        if raw in index:
            return index[raw]
        raw = raw[:-1]
    return None


def key_to_raw(key: str, data: dict) -> tuple:
    """Inverse of loc_to_key for check messages: 'network.edges[dmz].to' -> ('network','edges',3,'to')."""
    raw: list = []
    node: Any = data
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", key):
        if part.startswith("["):
            ident = part[1:-1]
            if isinstance(node, list):
                idx = next((i for i, x in enumerate(node) if isinstance(x, dict)
                            and str(x.get("id", x.get("name"))) == ident), None)
                if idx is None and ident.isascii() and ident.isdigit():
                    idx = int(ident)
                if idx is None or idx >= len(node):
                    break
                raw.append(idx)
                node = node[idx]
        else:
            raw.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(raw)
