"""Edits the other image updaters make too (docs/image-references.md): a kustomize `images:` entry
without `newTag`/`digest` gets the key inserted, and a scalar read in several places (an anchored
scalar and its aliases, a key merged in with `<<`) is edited only when every place is an image field
of the same image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import yaml

from gitops_bot.errors import ManifestError
from gitops_bot.images import Version, display_name
from gitops_bot.sites import ImageRef, Manifest, Site
from gitops_bot.yamledit import Edit, render
from gitops_bot.yamlnodes import Path, walk_scalars

Users = Mapping[tuple[str, int, int], list[ImageRef]]  # (file, doc, end of a scalar) -> refs reading it


def insert_missing(ref: ImageRef, wanted: Version) -> tuple[Version, list[Edit]] | None:
    """A kustomize entry that lacks the key the wanted version sets: the key is inserted (in the
    entry's own indentation and style), the other one edited as usual. None: nothing to insert."""
    assert ref.slot is not None
    pairs: list[tuple[str, str]] = []
    edits: list[Edit] = []
    tag, digest = ref.version.tag, ref.version.digest
    if wanted.tag is not None:
        tag = wanted.tag
        if ref.tag_site is None:
            pairs.append(("newTag", wanted.tag))
        elif ref.tag_site.value != wanted.tag:
            edits.append(Edit(ref.tag_site, wanted.tag))
    if wanted.digest is not None or ref.digest_site is not None:
        digest = wanted.digest
        if ref.digest_site is None:
            assert wanted.digest is not None
            pairs.append(("digest", wanted.digest))
        elif (ref.digest_site.value or None) != wanted.digest:
            edits.append(Edit(ref.digest_site, wanted.digest or ""))
    if not pairs:
        return None
    slot = ref.slot
    paths = [((*slot.path, key), value) for key, value in pairs]
    site = Site(path=paths[0][0], doc=slot.doc, start=slot.offset, end=slot.offset, line=slot.line,
                style=None, value=pairs[0][1])
    text = slot.text([(key, render(value, None)) for key, value in pairs])
    edits.append(Edit(site, pairs[0][1], raw=text, adds=tuple(paths)))
    return Version(tag, digest), edits


def scalar_users(refs: Sequence[ImageRef]) -> dict[tuple[str, int, int], list[ImageRef]]:
    """Which references read each scalar (a scalar shared through an anchor or a merge key is
    read by several)."""
    out: dict[tuple[str, int, int], list[ImageRef]] = {}
    for ref in refs:
        for site in (ref.string_site, ref.tag_site, ref.digest_site):
            if site is not None:
                users = out.setdefault((ref.file, site.doc, site.end), [])
                if ref not in users:
                    users.append(ref)
    return out


def check_shared_scalars(ref: ImageRef, edits: Sequence[Edit], users: Users,
                         manifests: Mapping[str, Manifest]) -> None:
    """Refuse (exit 2, naming the place) to edit a scalar that is also read somewhere that is not
    an image field of the same image: editing it would change that place too."""
    image = display_name(ref.repository)
    for edit in edits:
        if edit.adds:
            continue
        site = edit.site
        readers = users.get((ref.file, site.doc, site.end), [])
        doc = manifests[ref.file].docs[site.doc]
        for other in readers:
            if display_name(other.repository) != image:
                place = next(s.path for s in (other.string_site, other.tag_site, other.digest_site)
                             if s is not None and s.end == site.end)
                raise ManifestError(
                    f"{other.file}:{_line_of(doc, place)}: the scalar at line {site.line} is also the "
                    f"{_field(other, site)} of {other.repository}, not only of {ref.repository}: "
                    f"give each image its own value")
        if not site.anchored:
            continue
        fields = {s.path for r in readers for s in (r.string_site, r.tag_site, r.digest_site)
                  if s is not None and s.end == site.end and s.doc == site.doc}
        for path, node in walk_scalars(doc):
            if node.end_mark.index == site.end and path not in fields:
                line = _line_of(doc, path)
                raise ManifestError(
                    f"{ref.file}:{line}: {'.'.join(map(str, path))} reads the anchored scalar of line "
                    f"{site.line} (the {_field(ref, site)} of {ref.repository}) and is not an image "
                    f"field of that image: give it its own value, or drop the anchor")


def _field(ref: ImageRef, site: Site) -> str:
    if site is ref.digest_site or (ref.digest_site is not None and site.end == ref.digest_site.end):
        return "digest"
    return "image" if ref.form == "string" else "tag"


def _line_of(doc: yaml.Node, path: Path) -> int:
    """The line where `path` is written: the line of its last mapping key (or of its item)."""
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
