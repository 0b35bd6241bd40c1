"""Composing YAML into node trees the way Flux reads it (go-yaml v3), with bounded work.

The fast path is libyaml's composer in C. A stream it refuses but go-yaml accepts (an anchor defined
a second time: an alias then refers to the latest definition before it) is composed again, here,
from libyaml's parse events. Every tree is then measured once: duplicate keys, aliases that contain
themselves, nesting depth and the number of nodes reached through aliases (a "billion laughs" is
refused before anything walks it). See docs/reading-yaml.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from gitops_bot.model.errors import ManifestError

try:  # libyaml: ~40x faster than the pure-Python composer, same marks
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

MAX_FILE_BYTES = 16 * 2**20  # largest YAML file read (~40x that in memory composed); CRD bundles reach a few MiB
MAX_DEPTH = 256  # nesting levels of one document (libyaml itself stops at 1,000)
MAX_ALIAS_NODES = 200_000  # nodes reached through aliases in one file, counted with repetition
NULL_TAG = "tag:yaml.org,2002:null"


def check_size(size: int, filename: str) -> None:
    if size > MAX_FILE_BYTES:
        raise ManifestError(f"{filename}:1: file is {size} bytes, over the limit of {MAX_FILE_BYTES} bytes "
                            f"for one YAML file; split it")


def compose_documents(text: str, filename: str) -> list[yaml.Node]:
    """All non-empty documents of `text` (BOM already removed); ManifestError with file:line."""
    try:
        docs = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.composer.ComposerError:  # a re-defined anchor (legal), or an alias to nothing
        docs = _compose_events(text, filename)
    except yaml.MarkedYAMLError as err:
        raise ManifestError(_syntax_message(text, filename, err)) from None
    except yaml.reader.ReaderError as err:  # a character YAML forbids (control characters)
        line = _offset_line(text, err.position)
        raise ManifestError(f"{filename}:{line}: invalid YAML: {err.reason}") from None
    except yaml.YAMLError as err:
        raise ManifestError(f"{filename}:1: invalid YAML: {err}") from None
    docs = [doc for doc in docs if not _is_empty(doc)]
    if "*" not in text:  # no alias: every node is reached once, only keys and depth to check
        for doc in docs:
            _check_tree(doc, filename)
        return docs
    budget = _Budget(filename)
    try:
        for doc in docs:
            budget.measure(doc)
    except _Cycle:  # libyaml composed an alias inside its own anchor: say which one
        _compose_events(text, filename)
        raise ManifestError(f"{filename}:1: invalid YAML: an alias refers to the node that contains it") from None
    return docs


def _is_empty(doc: yaml.Node | None) -> bool:
    """`---` followed by nothing (or only comments): go-yaml and kustomize skip such documents."""
    return doc is None or (isinstance(doc, yaml.ScalarNode) and doc.tag == NULL_TAG and doc.value == ""
                           and not doc.style)


def _syntax_message(text: str, filename: str, err: yaml.MarkedYAMLError) -> str:
    mark = err.problem_mark or err.context_mark
    problem = err.problem or err.context or "invalid YAML"
    if err.context_mark and mark and mark.index >= len(text):  # unterminated: where it began
        mark, problem = err.context_mark, f"{problem} {err.context}"
    line = mark.line + 1 if mark else 1
    near = ""
    if mark is not None:
        lines = text.splitlines()
        source = lines[mark.line][mark.column :].rstrip() if mark.line < len(lines) else ""
        if source:
            near = f" at {source[:40]!r}"
    return f"{filename}:{line}: invalid YAML: {problem}{near}"


def _offset_line(text: str, position: int) -> int:
    """The line of a reader error; libyaml counts its position in UTF-8 bytes, PyYAML in characters."""
    if _Loader is yaml.SafeLoader:
        return text.count("\n", 0, position) + 1
    return text.encode("utf-8").count(b"\n", 0, position) + 1


def _fail(filename: str, mark: yaml.Mark | None, message: str) -> ManifestError:
    line = mark.line + 1 if mark is not None else 1
    return ManifestError(f"{filename}:{line}: invalid YAML: {message}")


def _compose_events(text: str, filename: str) -> list[yaml.Node]:
    """Compose from parse events as go-yaml does: an anchor may be defined again (the latest
    definition before an alias wins); an alias must follow its anchor and not lie inside it."""
    resolver: Any = yaml.resolver.Resolver()
    docs: list[yaml.Node] = []
    anchors: dict[str, yaml.Node] = {}
    open_nodes: set[int] = set()
    stack: list[list[Any]] = []  # [node, pending mapping key]

    def attach(node: yaml.Node) -> None:
        if not stack:
            docs.append(node)
            return
        frame = stack[-1]
        parent = frame[0]
        if isinstance(parent, yaml.SequenceNode):
            parent.value.append(node)
        elif frame[1] is None:
            frame[1] = node
        else:
            parent.value.append((frame[1], node))
            frame[1] = None

    try:
        events: Iterable[Any] = yaml.parse(text, Loader=_Loader)
        for event in events:
            start: Any = event.start_mark
            end: Any = event.end_mark
            if isinstance(event, yaml.DocumentStartEvent):
                anchors = {}
            elif isinstance(event, yaml.AliasEvent):
                target = anchors.get(event.anchor or "")
                if target is None:
                    raise _fail(filename, start, f"alias *{event.anchor} refers to no anchor "
                                                            f"&{event.anchor} before it")
                if id(target) in open_nodes:
                    raise _fail(filename, start, f"alias *{event.anchor} lies inside the node "
                                                            f"anchored &{event.anchor}")
                attach(target)
            elif isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
                node: yaml.Node = yaml.ScalarNode(tag, event.value, start, end,
                                                  style=event.style or None)
                if event.anchor is not None:
                    anchors[event.anchor] = node
                attach(node)
            elif isinstance(event, yaml.CollectionStartEvent):
                kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolver.resolve(kind, None, event.implicit)
                node = kind(tag, [], start, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    anchors[event.anchor] = node
                open_nodes.add(id(node))
                stack.append([node, None])
                if len(stack) > MAX_DEPTH:
                    raise _fail(filename, start, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                node = stack.pop()[0]
                node.end_mark = end
                open_nodes.discard(id(node))
                attach(node)
    except yaml.MarkedYAMLError as err:
        raise ManifestError(_syntax_message(text, filename, err)) from None
    return docs


def _check_tree(root: yaml.Node, filename: str) -> None:
    """Duplicate keys and depth of a tree without aliases (a plain walk, each node once)."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            continue
        if depth > MAX_DEPTH:
            raise _fail(filename, node.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode):
            _check_keys(node, filename)
            stack.extend((v, depth + 1) for _k, v in node.value)
        else:
            stack.extend((v, depth + 1) for v in node.value)


def _check_keys(node: yaml.MappingNode, filename: str) -> None:
    """YAML requires unique keys; go-yaml refuses duplicates, and parsers disagree on which wins."""
    keys: set[str] = set()
    for k, _v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value != "<<":
            if k.value in keys:
                raise _fail(filename, k.start_mark, f"duplicate key {k.value!r}")
            keys.add(k.value)


class _Cycle(Exception):
    """An alias inside the node it refers to (a tree that never ends)."""


class _Budget:
    """One pass over a file's trees (iterative, each node once): duplicate keys, self-containing
    aliases, depth, and the nodes that aliases make a reader visit again."""

    def __init__(self, filename: str):
        self.filename = filename
        self.size: dict[int, int] = {}  # node -> nodes under it, aliases expanded (0 while open)
        self.height: dict[int, int] = {}
        self.expanded = 0  # nodes of the documents measured so far, aliases expanded

    def measure(self, root: yaml.Node) -> None:
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            nid = id(node)
            if isinstance(node, yaml.ScalarNode):
                self.size[nid], self.height[nid] = 1, 0
                continue
            children = _children(node)
            if done:
                self._close(node, children)
                continue
            if nid in self.size:
                if self.size[nid] == 0:
                    raise _Cycle
                continue  # reached again through an alias: measured already
            if isinstance(node, yaml.MappingNode):
                _check_keys(node, self.filename)
            self.size[nid] = 0
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
        self.expanded += self.size[id(root)]
        if self.expanded - len(self.size) > MAX_ALIAS_NODES:
            raise self._bomb(root)

    def _close(self, node: yaml.Node, children: list[yaml.Node]) -> None:
        nid = id(node)
        self.size[nid] = 1 + sum(self.size[id(c)] for c in children)
        self.height[nid] = 1 + max((self.height[id(c)] for c in children), default=0)
        if self.height[nid] > MAX_DEPTH:
            raise _fail(self.filename, node.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        if self.expanded + self.size[nid] - len(self.size) > MAX_ALIAS_NODES:
            raise self._bomb(node)

    def _bomb(self, node: yaml.Node) -> ManifestError:
        return ManifestError(f"{self.filename}:{node.start_mark.line + 1}: YAML aliases expand to more "
                             f"than {MAX_ALIAS_NODES} nodes (an alias bomb?); refusing to read the file")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
