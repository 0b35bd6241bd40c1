"""A tag merged into several image mappings (`<<: *defaults`, docs/image-references.md): the merged
scalar is the anchor's own, so editing it moves every mapping that merges it. That is right only
when all of them are the same image; otherwise the run is refused, naming the mapping of the other
image. (Anchored scalars and their aliases: gitops_bot/manifests/anchored.py.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import yaml

from gitops_bot.manifests.edit import Edit
from gitops_bot.manifests.nodes import Path
from gitops_bot.manifests.sites import ImageRef, Manifest
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import display_name

Readers = Mapping[tuple[str, int, int], list[ImageRef]]  # (file, doc, scalar end) -> refs reading it


def scalar_readers(refs: Sequence[ImageRef]) -> dict[tuple[str, int, int], list[ImageRef]]:
    """Which references read each scalar (one shared through a merge key is read by several)."""
    out: dict[tuple[str, int, int], list[ImageRef]] = {}
    for ref in refs:
        for site in (ref.string_site, ref.tag_site, ref.digest_site):
            if site is not None:
                readers = out.setdefault((ref.file, site.doc, site.end), [])
                if ref not in readers:
                    readers.append(ref)
    return out


def check_merged(ref: ImageRef, edits: Sequence[Edit], readers: Readers, manifests: Mapping[str, Manifest]) -> None:
    """ManifestError (exit 2) when an edited scalar is also the tag or digest of another image."""
    image = display_name(ref.repository)
    for edit in edits:
        if edit.insert:
            continue
        site = edit.site
        for other in readers.get((ref.file, site.doc, site.end), []):
            if display_name(other.repository) == image:
                continue
            place = next(s for s in (other.string_site, other.tag_site, other.digest_site)
                         if s is not None and s.end == site.end)
            line = _line_of(manifests[ref.file].docs[site.doc], place.path)
            field = "digest" if place is other.digest_site else "tag"
            raise ManifestError(
                f"{other.file}:{line}: the scalar at line {site.line} is also the {field} of "
                f"{other.repository} (merged with <<), not only of {ref.repository}: give that mapping "
                f"its own {field}")


def _line_of(doc: yaml.Node, path: Path) -> int:
    """The line where `path` is written: the line of its last mapping key found (or of its item)."""
    node: yaml.Node = doc
    line = doc.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == step:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line
