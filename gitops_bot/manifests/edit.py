"""The byte-exact editor: splice new scalar values into the original text (docs/editing.md).

No load/dump round-trip: each edited scalar is located by its parse marks, only its characters are
replaced, and the result is parsed again to prove that nothing but the intended values changed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from gitops_bot.manifests.nodes import STR_TAG, Path, compose_all, walk_scalars
from gitops_bot.manifests.scan import Manifest, Site
from gitops_bot.model.errors import ManifestError

# Plain scalars that YAML 1.1 (PyYAML, go-yaml v2) or the YAML 1.2 core schema read as non-strings.
_NON_STRING = re.compile(
    r"""(?x)
    ~ | null | Null | NULL
    | [yY] | yes | Yes | YES | [nN] | no | No | NO
    | true | True | TRUE | false | False | FALSE | on | On | ON | off | Off | OFF
    | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])*                 # ints, YAML 1.1 underscores and sexagesimal
    | [-+]?0b[01_]+ | [-+]?0o?[0-7_]+ | [-+]?0x[0-9a-fA-F_]+
    | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?  # floats
    | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+       # 1e3 (YAML 1.2)
    | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    | = | <<
    """
)
# What go-yaml (Helm, kustomize) resolves after dropping underscores: any-case radix prefixes,
# numbers, and timestamps such as 2024-1-1.
_GO_NUMBER = re.compile(
    r"""(?x)
    [-+]?0[xX][0-9a-fA-F]+ | [-+]?0[oO][0-7]+ | [-+]?0[bB][01]+
    | [-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?
    """
)
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?")


@dataclass(frozen=True)
class Edit:
    """Set one scalar. `tag` other than str (bool, int) writes a plain YAML literal of that type;
    `raw` is the exact source text to write (a restored old scalar), which must read as `value`."""

    site: Site
    value: str
    tag: str = STR_TAG
    raw: str | None = None
    insert: bool = False  # `raw` is a new key and value, inserted at the (empty) site
    also: tuple[Path, ...] = ()  # other paths that show this scalar (the aliases of an anchored one)


def needs_quotes(value: str) -> bool:
    """Would a plain scalar with this text reach Helm as something other than a string?"""
    if value == "" or _NON_STRING.fullmatch(value) or _TIMESTAMP.fullmatch(value):
        return True
    if value[0] in "0123456789+-." and _GO_NUMBER.fullmatch(value.replace("_", "")):
        return True  # go-yaml tries numbers only for plain scalars that start like one
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError:
        return True
    return not isinstance(loaded, str) or loaded != value


def render(value: str, style: str | None) -> str:
    """The scalar's new source text, in the old quoting style (plain becomes quoted if it must)."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or needs_quotes(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def _check_spliceable(manifest: Manifest, site: Site) -> None:
    source = manifest.text[site.start : site.end]
    where = f"{manifest.path}:{site.line}"
    if site.style in ("|", ">"):
        raise ManifestError(f"{where}: refusing to edit a block scalar ({source[:1]}) image value")
    if source[:1] in ("&", "!"):
        raise ManifestError(f"{where}: refusing to edit an anchored or tagged scalar {source.split()[0]!r}")
    if "\n" in source or "\r" in source:
        raise ManifestError(f"{where}: refusing to edit a scalar that spans several lines")
    if site.style is None and source != site.value:
        raise ManifestError(f"{where}: scalar text {source!r} does not match its value")


def splice(manifest: Manifest, edits: Sequence[Edit]) -> str:
    """Apply edits to the text and verify the result; return the new text (without BOM)."""
    text = manifest.text
    ordered = sorted(edits, key=lambda e: e.site.start, reverse=True)
    for prev, cur in itertools.pairwise(ordered):
        if cur.site.end > prev.site.start:
            raise ManifestError(f"{manifest.path}:{cur.site.line}: overlapping edits")
    for edit in ordered:
        if edit.insert:
            assert edit.raw is not None
            text = text[: edit.site.start] + edit.raw + text[edit.site.end :]
            continue
        _check_spliceable(manifest, edit.site)
        if edit.raw is not None:
            new = edit.raw
        else:
            new = render(edit.value, edit.site.style) if edit.tag == STR_TAG else edit.value
        start, end = edit.site.start, edit.site.end
        if start == end:  # an empty value (`tag:`): its mark sits right after the `:`
            if text[start : start + 1] in (" ", "\t"):
                start = end = start + 1
            elif text[start - 1 : start] not in (" ", "\t", ""):
                new = " " + new
            if text[end : end + 1] == "#":
                new += " "
        text = text[:start] + new + text[end:]
    verify(manifest, text, edits)
    return text


def _scalars(docs: Sequence[yaml.Node]) -> dict[tuple[int, Path], tuple[str, str]]:
    return {
        (i, path): (node.tag, str(node.value))
        for i, doc in enumerate(docs)
        for path, node in walk_scalars(doc)
    }


def verify(manifest: Manifest, new_text: str, edits: Sequence[Edit]) -> None:
    """Parse the edited text: only the edited scalars may differ, and each must now be the new string."""
    try:
        after_docs = compose_all(new_text, manifest.path)
    except ManifestError as err:
        raise ManifestError(f"edit would break the file: {err}") from None
    before, after = _scalars(manifest.docs), _scalars(after_docs)
    expected = dict(before)
    for edit in edits:
        for path in (edit.site.path, *edit.also):
            expected[(edit.site.doc, path)] = (edit.tag, edit.value)
    if after != expected:
        bad = sorted(
            {k for k in expected.keys() | after.keys() if expected.get(k) != after.get(k)}, key=str
        )
        raise ManifestError(f"{manifest.path}: edit would change more than the image value at {bad[:3]}")
