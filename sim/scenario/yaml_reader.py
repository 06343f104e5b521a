"""YAML reading with line numbers, shared by scenario and every spec file (docs/scenario.md, "Reading rules and
limits"): regular files of at most MAX_FILE_BYTES, nesting of at most MAX_DEPTH, aliases adding at most
MAX_ALIAS_NODES values; duplicate keys, base-60 numbers and true/false for numbers are errors."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from sim.errors import ScenarioError, raise_problems, shown
from sim.scenario.keys import loc_to_key

MAX_FILE_BYTES = 10 * 1024 * 1024  # scenario and spec files larger than this are refused before reading
MAX_DEPTH = 64  # deepest nesting of mappings and lists, counting through aliases
MAX_ALIAS_NODES = 100_000  # values that expanding aliases (*name) may add to a document

_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
# PyYAML's YAML 1.1 number patterns without the base-60 forms (1:20 would otherwise be read as 80), and with the
# YAML 1.2 exponent forms 1e-4, 1e20, 2.5E3 read as numbers (YAML 1.1 reads them as text)
_INT_RE = re.compile(r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X)
_FLOAT_RE = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)
_OCTAL_RE = re.compile(r"^[-+]?0[0-7_]+$")  # 0100 would be read as 64
SEXAGESIMAL_RE = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


class _Refused(yaml.YAMLError):
    """A document we will not read: too deep, a bad value (with the mark of the node)."""

    def __init__(self, message: str, mark=None):
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Rules:
    """The reading rules as changes to PyYAML's safe loader: no base-60 numbers (`1:20` stays the text '1:20'),
    nesting deeper than MAX_DEPTH is refused while composing (no RecursionError), values Python cannot hold (a
    date such as 2000-02-30, an integer of thousands of digits) are refused with their position instead of a
    ValueError, and so is a key YAML 1.1 reads as true or false (`on`, `no`, ...), which no key of ours is.
    Mixed into a loader whose composer is PyYAML's Python one (`compose_node` below is called for every node)."""

    yaml_implicit_resolvers = {
        first: [(tag, _INT_RE if tag == _INT else _FLOAT_RE if tag == _FLOAT else rx) for tag, rx in entries]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def _start_rules(self) -> None:
        self._depth = 0
        self.alias_lines: dict[tuple[int, Any], int] = {}  # (id(parent node), key node id or index) -> line

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            if parent is not None and self.check_event(yaml.AliasEvent):
                where = index if isinstance(index, int) else id(index)
                self.alias_lines[(id(parent), where)] = self.peek_event().start_mark.line + 1
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):
        """A node that cannot be read as its tag says (`!!float abc`, `!!bool maybe`, `!!timestamp 2000-01`) is
        refused at its line, not an internal failure."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
            what = str(node.tag).rsplit(":", 1)[-1]
            value = node.value if isinstance(node, yaml.ScalarNode) else "this node"
            raise _Refused(f"cannot read {shown(value)} as {what}", node.start_mark) from None

    def flatten_mapping(self, node):
        """Resolve merge keys as the YAML merge-key spec says, whatever PyYAML's version: the pairs of the mapping
        `<<` names, or of each mapping of a list it names, come before the node's own, the first mapping listed
        last, so that (later pairs replacing earlier ones) a key given in the node wins over a merged one, and
        among merged ones the first mapping's wins. (PyYAML 6.0.4 keeps the first mapping's value of a key of
        one character and the last one's of longer keys, yaml/pyyaml#953.) Two `<<` in one mapping are merged in
        order here and refused as a duplicate key (`_index_and_duplicates`)."""
        own, sources, merges = [], [], False
        for key_node, value_node in node.value:
            merges = merges or key_node.tag == _MERGE
            if key_node.tag != _MERGE:
                if key_node.tag == "tag:yaml.org,2002:value":  # `=` as a key, as PyYAML reads it
                    key_node.tag = _STR
                own.append((key_node, value_node))
            elif isinstance(value_node, yaml.MappingNode):
                sources.append(value_node)
            elif isinstance(value_node, yaml.SequenceNode) and all(isinstance(n, yaml.MappingNode)
                                                                    for n in value_node.value):
                sources.extend(value_node.value)
            else:
                found = next((n for n in getattr(value_node, "value", ()) if not isinstance(n, yaml.MappingNode)),
                             value_node) if isinstance(value_node, yaml.SequenceNode) else value_node
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"expected a mapping or list of mappings for merging, but found {found.id}", found.start_mark)
        if not merges:
            return
        merged = []  # (`<<: []` merges nothing)
        for source in reversed(sources):
            self.flatten_mapping(source)
            merged.extend(source.value)
        node.value = merged + own

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # keys a merge (`<<: {on: 1}`) brings in are checked too
        for key, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if isinstance(key, yaml.ScalarNode) and key.tag == _BOOL:  # `on:` is the key True in YAML 1.1
                raise _Refused(f"the key {key.value} is read by YAML 1.1 as {self.construct_object(key)}, not as a "
                               f"name; quote it ('{key.value}') if it is one", key.start_mark)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node):
        if not isinstance(node, yaml.ScalarNode):  # `!!int {x: 1}`: PyYAML's own error names what it found
            return super().construct_yaml_int(node)
        if _OCTAL_RE.match(str(node.value)):
            raise _Refused(f"{node.value} has a leading zero, which YAML 1.1 reads as an octal number; write it "
                           "without the leading zero (or quote it if it is text)", node.start_mark)
        _refuse_base60(node)
        limit = sys.get_int_max_str_digits()
        try:
            value = super().construct_yaml_int(node)
        except ValueError as exc:
            why = f"it has more than {limit:,} digits" if "Exceeds the limit" in str(exc) else str(exc)
            raise _Refused(f"cannot read {shown(node.value)} as an integer: {why}", node.start_mark) from None
        if limit and value.bit_length() > 3.32 * limit:  # 0x... of 4,000 digits: read, but never printable
            raise _Refused(f"cannot read {shown(node.value)} as an integer: it has more than {limit:,} digits",
                           node.start_mark)
        return value

    def construct_yaml_float(self, node):
        if isinstance(node, yaml.ScalarNode):
            _refuse_base60(node)
        return super().construct_yaml_float(node)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise _Refused(f"{node.value} is not a valid date: {exc}", node.start_mark) from None


def _refuse_base60(node: yaml.ScalarNode) -> None:
    """YAML 1.1 reads `1:20` as 80 (an int or float tagged explicitly): refused."""
    if ":" in str(node.value):
        raise _Refused(f"base-60 numbers such as {node.value} are not read; write the number in decimal "
                       "(or quote it if it is text)", node.start_mark)


class _Loader(_Rules, yaml.SafeLoader):
    """The rules on PyYAML's Python scanner and parser (where PyYAML was built without libyaml)."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._start_rules()


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CLoader(_Rules, Composer, CParser, SafeConstructor, Resolver):
        """The rules on libyaml's scanner and parser (C, 7x faster than PyYAML's Python ones: 38 ms -> 5 ms for
        scenarios/korea.yaml), with PyYAML's Python composer, constructor and resolver, so that every node still
        passes `_Rules`. The text is first checked by PyYAML's Python reader (`yaml.reader.Reader`), which
        refuses the characters YAML does not allow with the same error on either parser."""

        def __init__(self, stream: str) -> None:
            yaml.reader.Reader(stream)  # raises ReaderError for a character YAML does not allow
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._start_rules()


for _cls in (_Loader, *((_CLoader,) if yaml.__with_libyaml__ else ())):
    _cls.add_constructor(_INT, _cls.construct_yaml_int)
    _cls.add_constructor(_FLOAT, _cls.construct_yaml_float)
    _cls.add_constructor("tag:yaml.org,2002:timestamp", _cls.construct_yaml_timestamp)
_LOADER: type = _CLoader if yaml.__with_libyaml__ else _Loader


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node) -> None:
    """Refuse a node graph that aliases make too large, too deep or circular.

    PyYAML gives an alias (*name) the very node of its anchor, so a document is a graph whose expansion (what
    the constructed data and every walk over it hold) can be exponentially larger than the text: nine levels of
    nine aliases in 342 bytes expand to 9^9 values. Sizes and depths are computed once per distinct node; the
    expanded size may exceed the distinct nodes by at most MAX_ALIAS_NODES, the expanded depth is at most
    MAX_DEPTH, and a node that contains itself is refused."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(node: yaml.Node, level: int) -> None:
        key = id(node)
        on_path.add(key)
        total, deepest = 1, 1
        for child in _children(node):
            ck = id(child)
            if ck in on_path:
                raise _Refused("an alias refers to a value that contains it (a circular alias)", child.start_mark)
            if ck not in size:
                if level + 1 > MAX_DEPTH:
                    raise _Refused(f"nested more than {MAX_DEPTH} levels deep (counting aliases)", child.start_mark)
                visit(child, level + 1)
            if level + depth[ck] > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep (counting aliases)", child.start_mark)
            total += size[ck]
            deepest = max(deepest, depth[ck] + 1)
        size[key], depth[key] = total, deepest
        on_path.discard(key)

    visit(root, 1)
    added = size[id(root)] - len(size)
    if added > MAX_ALIAS_NODES:
        widest = max(_children(root), key=lambda n: size[id(n)], default=root)  # where most of it comes from
        raise _Refused(f"aliases expand too far: expanding the aliases (*name) adds {added:,} values to the "
                       f"{len(size):,} written, more than the {MAX_ALIAS_NODES:,} allowed; write the values out "
                       "or use fewer aliases", widest.start_mark)


def _index_and_duplicates(root: yaml.Node, loader: Any) -> tuple[dict[tuple, int], list[tuple[tuple, int, int]]]:
    """Map each key path (tuple of keys / list indices) to its 1-based line, walking every node once: a value
    given by an alias gets the line of the alias (the loader notes it while composing) and is not walked again,
    so the values inside it have no line of their own (a lookup falls back to the alias). Also collect duplicate
    keys of a mapping as (path of the key, first line, second line), a merge key (<<) given twice among them."""
    index: dict[tuple, int] = {}
    duplicates: list[tuple[tuple, int, int]] = []
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple, alias_line: int | None = None) -> None:
        index[path] = alias_line or node.start_mark.line + 1
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, int] = {}
            for k, v in node.value:
                line = k.start_mark.line + 1
                if not isinstance(k, yaml.ScalarNode):  # a list or mapping as a key: the constructor refuses it
                    continue
                if k.tag == _MERGE:  # `<<` given twice in one mapping is a duplicate key too
                    if _MERGE in first:
                        duplicates.append((path + ("<<",), first[_MERGE], line))
                    first.setdefault(_MERGE, line)
                    walk(v, path + ("<<",))
                    continue
                key = loader.construct_object(k, deep=True)
                if key in first:
                    duplicates.append((path + (key,), first[key], line))
                else:
                    first[key] = line
                index[path + (key,)] = line
                walk(v, path + (key,), loader.alias_lines.get((id(node), id(k))))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, path + (i,), loader.alias_lines.get((id(node), i)))

    walk(root, ())
    return index, duplicates


def _looked_from(p: Path) -> str:
    """Where a relative path was looked for: ' (a relative path: looked for from the working directory D)'; '' for
    an absolute path, or when the working directory is gone (deleted under the process)."""
    if p.is_absolute():
        return ""
    try:
        return f" (a relative path: looked for from the working directory {os.getcwd()})"
    except OSError:
        return ""


def _read_text(p: Path) -> str:
    """The text of a regular file of at most MAX_FILE_BYTES, UTF-8. The file is opened without blocking and
    checked on the open descriptor, so a FIFO, a device such as /dev/zero, or a huge file is refused before any
    byte is read (and cannot be swapped in between the check and the read)."""
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ScenarioError(f"file not found{_looked_from(p)}", path=str(p)) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, expected a YAML file", path=str(p)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from None
    st = os.fstat(fd)  # before fdopen, which refuses a directory with an IsADirectoryError of its own
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):  # Linux opens a directory read-only without complaint
            raise ScenarioError("is a directory, expected a YAML file", path=str(p))
        raise ScenarioError("is not a regular file (a device, pipe or socket); expected a YAML file", path=str(p))
    with os.fdopen(fd, "rb") as f:
        limit = f"scenario and spec files may be at most {MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // 2**20} MiB)"
        if st.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"file is too large ({st.st_size:,} bytes); {limit}", path=str(p))
        try:
            raw = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ScenarioError(f"cannot read file: {exc.strerror or exc}", path=str(p)) from None
    if len(raw) > MAX_FILE_BYTES:  # it grew after the check
        raise ScenarioError(f"file is too large; {limit}", path=str(p))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start].decode("utf-8")  # whole characters: the first bad byte is at exc.start
        raise ScenarioError(f"cannot read file: not UTF-8 text ({exc.reason} at byte {exc.start})",
                            path=str(p), line=_line_at(before, len(before))) from None


def parse_yaml(text: str, *, path: str | None = None) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML text into (data, line index) under the reading rules: safe tags only, no base-60 numbers, no
    duplicate keys, nesting at most MAX_DEPTH, aliases adding at most MAX_ALIAS_NODES values. Every problem is
    a ScenarioError naming `path` and, where known, the line and key."""
    try:
        loader = _LOADER(text)  # PyYAML's reader checks every character here
    except yaml.reader.ReaderError as exc:
        at_line = _line_at(text, exc.position)
        raise ScenarioError(f"cannot read YAML: character {exc.character:#06x} is not allowed (YAML text holds no "
                            "control characters but tab and line ends, nor U+FFFE or U+FFFF)", path=path,
                            line=at_line) from None
    root = None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        _check_aliases(root)
        lines, duplicates = _index_and_duplicates(root, loader)
        data = loader.construct_document(root)
    except _Refused as exc:
        line = exc.mark.line + 1 if exc.mark else None
        raise ScenarioError(exc.message, path=path, key=_key_at(root, exc.mark), line=line) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        problem = (f"unsupported or unsafe YAML tag ({exc.problem}); only plain YAML data is allowed"
                   if "tag" in str(exc.problem) else f"cannot read YAML: {exc.problem}")
        raise ScenarioError(problem, path=path, key=_key_at(root, mark), line=line) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        if problem == "exceeded maximum nesting depth":  # libyaml's own limit (1,000), met before ours
            raise ScenarioError(f"nested more than {MAX_DEPTH} levels deep", path=path, line=line) from None
        if "cannot start any token" in problem and mark is not None:
            problem = _token_problem(text, mark.line, mark.column)
        raise ScenarioError(f"YAML syntax error: {problem}", path=path, line=line) from exc
    except RecursionError:  # a safety net: MAX_DEPTH keeps every walk far from the interpreter's limit
        raise ScenarioError(f"nested too deeply (at most {MAX_DEPTH} levels)", path=path) from None
    finally:
        loader.dispose()
    if duplicates:
        raise_problems([(loc_to_key(key_path, data)[0] or None, second,
                          f"duplicate key '{key_path[-1]}' (lines {first} and {second}); a key may appear only "
                          "once in a mapping") for key_path, first, second in duplicates], path=path)
    return data, lines


_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # YAML's line breaks, as PyYAML counts them in its marks


def _line_at(text: str, position: int) -> int:
    """The line (from 1) holding the character at `position`, counting line breaks as PyYAML's marks do (a file
    with CR-only line ends had every such error on line 1)."""
    return len(_LINE_BREAK.findall(text, 0, position)) + 1


def _token_problem(text: str, line: int, column: int) -> str:
    """'found character X that cannot start any token', naming X (libyaml's message does not), with the usual
    cause of a tab: indentation, which YAML writes with spaces only."""
    try:
        char = text.splitlines()[line][column]
    except IndexError:
        return "found a character that cannot start any token"
    if char == "\t":
        return "found a tab where YAML allows none (indentation is written with spaces only)"
    return f"found character {char!r} that cannot start any token"


def read_yaml(path: str | Path, what: str = "scenario") -> tuple[Any, dict[tuple, int]]:
    """Read a YAML file by the rules of `parse_yaml` after `_read_text`'s checks; return (data, line index), the
    data a mapping. Raise ScenarioError on any problem (an empty file: 'expected a mapping of `what` keys')."""
    p = Path(path)
    data, lines = parse_yaml(_read_text(p), path=str(p))
    if data is None:
        raise ScenarioError(f"file is empty; expected a mapping of {what} keys", path=str(p))
    if not isinstance(data, dict):
        raise ScenarioError(f"expected a mapping of keys at the top level, found {type(data).__name__}", path=str(p))
    return data, lines


def _key_at(root: yaml.Node | None, mark) -> str | None:
    """Dotted key of the value node that starts at a parser mark (None if not found), written as the schema's
    errors write it (`sim.scenario.keys.loc_to_key`): a list item by its id or name where it has one
    ('network.edges[ford].cost'), else by its index ('sources[2]'). Each node is visited once and no deeper than
    MAX_DEPTH, so a graph of aliases cannot make the search explode."""
    if root is None or mark is None:
        return None
    seen: set[int] = set()

    def walk(node: yaml.Node, path: list[str]) -> str | None:
        if (node.start_mark.line, node.start_mark.column) == (mark.line, mark.column) and path:
            return "".join(p if p.startswith("[") or i == 0 else "." + p for i, p in enumerate(path))
        if id(node) in seen or len(path) > MAX_DEPTH:
            return None
        seen.add(id(node))
        children = []
        if isinstance(node, yaml.MappingNode):
            children = [(v, path + [str(k.value)]) for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = [(v, path + [f"[{_item_name(v, i)}]"]) for i, v in enumerate(node.value)]
        for child, child_path in children:
            found = walk(child, child_path)
            if found:
                return found
        return None

    return walk(root, [])


def _item_name(node: yaml.Node, index: int) -> str:
    """A list item's name in a key: its `id`, else its `name`, where that is text (a string scalar of a mapping
    item: ids and names are text), else its index."""
    if isinstance(node, yaml.MappingNode):
        texts = {k.value: v.value for k, v in node.value
                 if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode) and v.tag == _STR}
        for field in ("id", "name"):
            if field in texts:
                return str(texts[field])
    return str(index)
