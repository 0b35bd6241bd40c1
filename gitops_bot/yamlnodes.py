"""Composing YAML into node trees with character marks (libyaml when available)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from gitops_bot.errors import ManifestError

try:  # libyaml: ~40x faster than the pure-Python composer, same marks
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

STR_TAG = "tag:yaml.org,2002:str"
Path = tuple[str | int, ...]


def compose_all(text: str, filename: str) -> list[yaml.Node]:
    """All documents of `text` (BOM already removed) as node trees; ManifestError with file:line."""
    try:
        docs = [doc for doc in yaml.compose_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        if err.context_mark and mark and mark.index >= len(text):  # unterminated: where it began
            mark, problem = err.context_mark, f"{problem} {err.context}"
        line = mark.line + 1 if mark else 1
        raise ManifestError(f"{filename}:{line}: invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as err:  # a character YAML forbids (control characters)
        line = _offset_line(text, err.position)
        raise ManifestError(f"{filename}:{line}: invalid YAML: {err.reason}") from None
    except yaml.YAMLError as err:
        raise ManifestError(f"{filename}:1: invalid YAML: {err}") from None
    for doc in docs:
        _check_unique_keys(doc, filename)
    return docs


def _check_unique_keys(root: yaml.Node, filename: str) -> None:
    """YAML requires unique keys; parsers disagree on which duplicate wins, so refuse them."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            if id(node) in seen:
                continue
            seen.add(id(node))
            keys: set[str] = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value != "<<":
                    if k.value in keys:
                        raise ManifestError(f"{filename}:{k.start_mark.line + 1}: invalid YAML: "
                                            f"duplicate key {k.value!r}")
                    keys.add(k.value)
                stack.append(v)
        elif isinstance(node, yaml.SequenceNode):
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(node.value)


def check_syntax(data: bytes, filename: str) -> None:
    """Well-formedness only (libyaml's parser in C, no Python objects): ~10x cheaper than composing.

    For files a command only has to prove valid, not read. Without libyaml, compose instead.
    """
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        compose_all(data.decode("utf-8", "replace"), filename)
        return
    try:
        CParser(data).raw_parse()
    except yaml.YAMLError:  # the slow path words the error with file:line
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise ManifestError(f"{filename}:{line}: not UTF-8 text") from None
        compose_all(text.removeprefix("\ufeff"), filename)
        raise ManifestError(f"{filename}:1: invalid YAML") from None


def _offset_line(text: str, position: int) -> int:
    """The line of a reader error; libyaml counts its position in UTF-8 bytes, PyYAML in characters."""
    if _Loader is yaml.SafeLoader:
        return text.count("\n", 0, position) + 1
    return text.encode("utf-8").count(b"\n", 0, position) + 1


def get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value node under `key` of a mapping node, or None."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v  # type: ignore[no-any-return]
    return None


def scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG:
        return str(node.value)
    return None


def dig(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    for key in keys:
        node = get(node, key)
    return node


def walk_scalars(node: yaml.Node, path: Path = ()) -> Iterator[tuple[Path, yaml.ScalarNode]]:
    """Every scalar value of a tree with its path (mapping keys by value, sequence items by index).

    In document order, so that a node repeated through an alias is reported at its anchor, where
    the locator finds it first.
    """
    stack: list[tuple[Path, yaml.Node]] = [(path, node)]
    seen: set[int] = set()
    while stack:
        here, cur = stack.pop()
        if isinstance(cur, yaml.ScalarNode):
            yield here, cur
        elif id(cur) in seen:  # an alias: its nodes were walked already
            continue
        elif isinstance(cur, yaml.MappingNode):
            seen.add(id(cur))
            for i, (k, v) in reversed(list(enumerate(cur.value))):
                key = k.value if isinstance(k, yaml.ScalarNode) else f"<key {i}>"
                stack.append(((*here, key), v))
        elif isinstance(cur, yaml.SequenceNode):
            seen.add(id(cur))
            for i, v in reversed(list(enumerate(cur.value))):
                stack.append(((*here, i), v))
