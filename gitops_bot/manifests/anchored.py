"""Editing an anchored scalar (`tag: &tag 1.0` with `tag: *tag` elsewhere), docs/editing.md.

An anchored scalar is edited when every alias of it is an image field of the same image (then
every place that repeats it moves together, as Helm sees it); otherwise the run is refused naming
the aliases. Only the value after `&name ` is replaced; the anchor and the aliases stay.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import yaml

from gitops_bot.manifests.edit import Edit
from gitops_bot.manifests.sites import ImageRef, Manifest
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import display_name

_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)[ \t]+")

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def strip_anchor(source: str) -> str:
    """A scalar's text without its `&name ` prefix."""
    m = _ANCHOR.match(source)
    return source[m.end() :] if m else source


def unanchor(edit: Edit, manifest: Manifest, refs: Sequence[ImageRef]) -> Edit:
    """The edit of an anchored scalar's value, or ManifestError naming the aliases that are not
    image fields of the same image. Other edits are returned as they are."""
    site = edit.site
    source = manifest.text[site.start : site.end]
    m = _ANCHOR.match(source)
    if m is None or source[m.end() :].startswith("!"):
        return edit  # not anchored (or tagged too): the editor's own checks apply
    name = m.group(1)
    aliases = _alias_lines(manifest.text, site.start, name)
    sharing = [r for r in refs if r.file == manifest.path
               and any(s is not None and s.start == site.start for s in (r.string_site, r.tag_site, r.digest_site))]
    paths = {s.path for r in sharing for s in (r.string_site, r.tag_site, r.digest_site)
             if s is not None and s.start == site.start}
    images = sorted({display_name(r.repository) for r in sharing})
    if len(paths) != 1 + len(aliases) or len(images) != 1:
        lines = ", ".join(str(n) for n in aliases)
        raise ManifestError(
            f"{manifest.path}:{site.line}: the anchored value &{name} is also used by *{name} "
            f"(line {lines}), which is not an image field of {images[0] if images else 'this image'}; "
            f"write the value out instead of the alias"
        )
    value_site = replace(site, start=site.start + m.end(), source=source[m.end() :])
    return replace(edit, site=value_site, also=tuple(sorted(paths - {site.path}, key=str)))


def _alias_lines(text: str, anchor_start: int, name: str) -> list[int]:
    """Lines of the aliases that refer to the anchor at `anchor_start` (until it is defined again)."""
    lines: list[int] = []
    found = False
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, yaml.AnchorToken) and token.value == name:
            if found:
                break  # defined again: later aliases refer to the new definition
            found = token.start_mark.index == anchor_start
        elif isinstance(token, yaml.DocumentStartToken) and found:
            break
        elif found and isinstance(token, yaml.AliasToken) and token.value == name:
            lines.append(token.start_mark.line + 1)
    return lines
