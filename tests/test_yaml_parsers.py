"""The reading rules hold on both parsers bordersim may read YAML with (sim.scenario.yaml_reader): libyaml's C
parser, used where PyYAML carries it (its wheels do), and PyYAML's Python parser, the fallback. Both must give
the same data, the same line index and the same refusal for every file the repository ships and for each rule
of docs/scenario.md, "Reading rules and limits"; they may word a syntax error differently."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

from sim.errors import ScenarioError
from sim.scenario import yaml_reader

SHIPPED = sorted(p for d in ("scenarios", "experiments", "tests/fixtures", "sim/data")
                 for p in (ROOT / d).rglob("*.y*ml"))

# one document per reading rule, and the values a scenario holds (unicode, merge keys, aliases, block text)
RULES = [
    "a: 1:20\n", "a: 1:20.5\n", "a: 0100\n", "a: 1e-4\n", "a: 1_000\nb: 0x1F\nc: .inf\n", "on: 1\n", "'on': 1\n",
    "a: 2000-02-30\n", "a: 2000-02-03\n", "a: !!python/object:os.system x\n", "a: !foo x\n", "a: 1\nb: 2\na: 3\n",
    "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", "a: &x [1, 2]\nb: *x\nc: [*x, *x]\n", "a: *undefined\n",
    "a: &a [*a]\n", "a: \x07\n", "a: \ufffe\n", "a: 'ü'\nb: 日本\n", "a: |\n  text\n  more\n", "- a\n- b\n", "",
    "# a comment only\n", "a: " + "9" * 5000 + "\n", "a: 123456789012345678901234567890\n", "x: [1, 2\n",
    "a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(70)) + "  " * 71 + "v\n",
    "a: " + "[" * 100_000 + "]" * 100_000 + "\n", "a: 08000\n", "a: '08000'\n", "a: !!float abc\n",
    "a: !!bool maybe\n", "a: !!timestamp 2000-01\n", "!!bool foo: 1\n", "a: 0x" + "F" * 4000 + "\n",
    "a: {<<: {on: 0.9}, guards: 0.3}\n", "a: !!float {x: 1}\n", "a: !!str [1]\n",
    "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                                                  for p, c in zip("abcdefgh", "bcdefghi")),
]


def read_with(loader: type, text: str) -> tuple[str, object]:
    """('ok', (data, lines)) or ('error', message) from `parse_yaml` with the given loader class."""
    saved = yaml_reader._LOADER
    yaml_reader._LOADER = loader
    try:
        return "ok", yaml_reader.parse_yaml(text, path="f.yaml")
    except ScenarioError as exc:
        return "error", str(exc)
    finally:
        yaml_reader._LOADER = saved


def test_bordersim_reads_with_libyaml():
    assert yaml.__with_libyaml__, "this PyYAML has no libyaml: scenario files are read 4-8x slower"
    assert yaml_reader._LOADER is yaml_reader._CLoader


@pytest.mark.parametrize("text", [p.read_text(encoding="utf-8") for p in SHIPPED] + RULES,
                         ids=[str(p.relative_to(ROOT)) for p in SHIPPED] + [f"rule{i}" for i in range(len(RULES))])
def test_both_parsers_read_the_same(text):
    c, python = read_with(yaml_reader._CLoader, text), read_with(yaml_reader._Loader, text)
    if c[0] == python[0] == "error" and "YAML syntax error" in str(c[1]):  # libyaml words syntax errors its own way
        where = str(c[1]).split(": YAML")[0]  # file and line
        assert "YAML syntax error" in str(python[1]) and str(python[1]).split(": YAML")[0] == where
    else:
        assert c == python


def test_the_shipped_files_and_rules_cover_what_they_claim():
    assert len(SHIPPED) >= 25 and any(p.name == "korea.yaml" for p in SHIPPED)
    outcomes = [read_with(yaml_reader._CLoader, t)[0] for t in RULES]
    assert outcomes.count("error") >= 12 and outcomes.count("ok") >= 8


@pytest.mark.parametrize("loader", ["_CLoader", "_Loader"])
def test_a_tab_in_the_indentation_is_named_by_either_parser(loader):
    """libyaml's message did not name the character ('found character that cannot start any token'), and a tab in
    the indentation is the most common mistake in a YAML file (a probe)."""
    kind, message = read_with(getattr(yaml_reader, loader), "a:\n\tb: 1\n")
    assert kind == "error" and message == ("f.yaml:2: YAML syntax error: found a tab where YAML allows none "
                                           "(indentation is written with spaces only)")
    kind, message = read_with(getattr(yaml_reader, loader), "a: " + "9" * 5000 + "\n")
    assert message.endswith("as an integer: it has more than 4,300 digits")  # not Python's advice to programmers


@pytest.mark.parametrize("text, says", [
    ("a: !!float abc\n", "f.yaml:1, key 'a': cannot read 'abc' as float"),  # these were internal failures (exit 1)
    ("a: !!bool maybe\n", "f.yaml:1, key 'a': cannot read 'maybe' as bool"),
    ("a: !!timestamp 2000-01\n", "f.yaml:1, key 'a': cannot read '2000-01' as timestamp"),
    ("x: 1\n!!bool foo: 1\n", "f.yaml:2"),
    ("a: 0x" + "F" * 4000 + "\n", "as an integer: it has more than"),  # read, but no str() could show it
    ("a: {<<: {on: 0.9}, guards: 0.3}\n", "the key on is read by YAML 1.1 as True"),  # merged: was key 'a.1'
    ("a: !!float {x: 1}\n", "expected a scalar node, but found mapping"),  # printed PyYAML's node objects
])
def test_values_yaml_reads_another_way_or_cannot_read_are_refused_at_their_line(text, says):
    """A probe: a tagged value that cannot be read (or a hexadecimal number too long to print) ended as "internal
    failure" without file, line or key."""
    for loader in (yaml_reader._CLoader, yaml_reader._Loader):
        kind, message = read_with(loader, text)
        assert kind == "error" and says in str(message), (loader, message)
    # 08000 is text to YAML 1.1, quoted or not: the reader keeps it so (bordersim writes names such as '089'
    # unquoted); a number field refuses it (test_scenario_errors)
    for text in ("a: '08000'\n", "a: 08000\n", "a: !!str 08000\n"):
        assert read_with(yaml_reader._CLoader, text)[1][0] == {"a": "08000"}



MERGES = "a: &a {h: 1, home: 1, x1: a}\nb: &b {h: 3, home: 3, x2: b}\n"


@pytest.mark.parametrize("loader", ["_CLoader", "_Loader"])
@pytest.mark.parametrize("text, read", [
    (MERGES + "c: {<<: [*a, *b]}\n", {"h": 1, "home": 1, "x1": "a", "x2": "b"}),  # the first mapping listed wins
    (MERGES + "c: {<<: [*b, *a]}\n", {"h": 3, "home": 3, "x1": "a", "x2": "b"}),
    (MERGES + "c: {<<: [*a, *b], home: 5}\n", {"h": 1, "home": 5, "x1": "a", "x2": "b"}),  # the node's own wins
    (MERGES + "c: {home: 5, <<: *b}\n", {"h": 3, "home": 5, "x2": "b"}),
    (MERGES + "d: &d {<<: *a, h: 9}\nc: {<<: [*d, *b]}\n", {"h": 9, "home": 1, "x1": "a", "x2": "b"}),
    (MERGES + "c: {<<: [], x: 1}\n", {"x": 1}),  # merges nothing
])
def test_merge_keys_follow_the_yaml_spec_on_every_key(loader, text, read):
    """With PyYAML 6.0.4, `<<: [*a, *b]` gave a key of one character the first mapping's value and a longer key
    the last one's ({h: 1, home: 3}: yaml/pyyaml#953), a silent change of value (a probe). The merge-key spec:
    the node's own keys win, then the mappings in the order listed."""
    kind, (data, _) = read_with(getattr(yaml_reader, loader), text)
    assert kind == "ok" and data["c"] == read


@pytest.mark.parametrize("loader", ["_CLoader", "_Loader"])
def test_a_merge_key_given_twice_in_a_mapping_is_a_duplicate_key(loader):
    """`<<: *e` then `<<: *f` in one mapping was read silently, the second merge's values winning (a probe), while
    docs/scenario.md says a key given twice in one mapping is an error naming both lines."""
    kind, message = read_with(getattr(yaml_reader, loader), MERGES + "c:\n  <<: *a\n  x: 1\n  <<: *b\n")
    assert kind == "error" and message == ("f.yaml:6, key 'c': duplicate key '<<' (lines 4 and 6); a key may "
                                           "appear only once in a mapping")
