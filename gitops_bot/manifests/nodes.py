"""YAML node trees with character marks: reading them (gitops_bot.manifests.compose) and walking them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from gitops_bot.manifests.compose import check_size, compose_documents
from gitops_bot.model.errors import ManifestError

STR_TAG = "tag:yaml.org,2002:str"
Path = tuple[str | int, ...]


def compose_all(text: str, filename: str) -> list[yaml.Node]:
    """All non-empty documents of `text` (BOM already removed) as node trees, read as Flux reads
    them; ManifestError with file:line. Bounded: see gitops_bot.manifests.compose."""
    check_size(len(text), filename)
    return compose_documents(text, filename)


# What an alias looks like in YAML text (`*name` after a space, a line start, `[`, `{` or `,`).
# libyaml's parser does not resolve aliases; a file that may hold one is composed in full, so that
# an undefined alias or an alias bomb is caught even where the file is only checked.
_ALIAS = re.compile(rb"(?:^|[\s\[{,])\*[^\s\[\]{},]", re.MULTILINE)


def check_syntax(data: bytes, filename: str) -> None:
    """Well-formedness only (libyaml's parser in C, no Python objects): ~10x cheaper than composing.

    For files a command only has to prove valid, not read. Without libyaml, compose instead.
    """
    check_size(len(data), filename)
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        compose_all(data.decode("utf-8", "replace"), filename)
        return
    try:
        CParser(data).raw_parse()
        if b"*" in data and _ALIAS.search(data):  # memchr first: the regex has no literal prefix
            compose_all(data.decode("utf-8").removeprefix("\ufeff"), filename)
    except (yaml.YAMLError, UnicodeDecodeError):  # the slow path words the error with file:line
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise ManifestError(f"{filename}:{line}: not UTF-8 text") from None
        compose_all(text.removeprefix("\ufeff"), filename)
        raise ManifestError(f"{filename}:1: invalid YAML") from None


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
