"""The docs name every scenario key and every policy target the code accepts, and their links lead somewhere."""

import re
from pathlib import Path

from pydantic import BaseModel

from sim.scenario import schema as sc
from sim.scenario.validation import _inner_model

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


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


def _anchors(path: Path) -> set[str]:
    """The fragments GitHub gives the headings of a Markdown file: the text lower-cased, every character but
    letters, digits, '_', '-' and spaces dropped, spaces made '-'; a repeated heading gets -1, -2, ..."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return found


def test_every_link_of_the_docs_leads_to_a_file_and_heading_that_exist():
    """A relative link [..](file#fragment) of README.md, docs/*.md or sim/data/*.md names a file of the repository
    and, with a fragment, a heading of that file (headings that name code files change their anchor when the
    file moves)."""
    broken = []
    for doc in [ROOT / "README.md", *sorted(DOCS.glob("*.md")), *sorted((ROOT / "sim" / "data").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file, _, fragment = target.partition("#")
            dest = doc.parent / file if file else doc
            if not dest.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
