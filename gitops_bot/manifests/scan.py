"""Finding the image references of an environment's manifests (docs/image-references.md).

Pure functions over text: no git, no file writes. A `Site` is one scalar's span in the text; an
`ImageRef` is one image reference made of one or two sites.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from gitops_bot.manifests.markers import MARKER, marker_refs
from gitops_bot.manifests.nodes import Path, dig, get, scalar
from gitops_bot.manifests.sites import BOM, ImageRef, Manifest, Site
from gitops_bot.model.filenames import is_kustomization
from gitops_bot.model.images import ImageString, Version

__all__ = ["BOM", "MARKER", "ImageRef", "Manifest", "Site", "find_refs"]
_WORKLOAD_LISTS = ("containers", "initContainers", "ephemeralContainers")


def find_refs(manifest: Manifest) -> list[ImageRef]:
    """Every image reference of a file, each scalar counted once."""
    refs: list[ImageRef] = []
    kustomization = is_kustomization(manifest.path)
    for index, doc in enumerate(manifest.docs):
        if manifest.values_for is not None:  # a Helm values file: the whole document is values
            kind, name = manifest.values_for
            _values_refs(_Ctx(manifest.path, kind, name, index, manifest.text), doc, (), refs)
            continue
        api = scalar(get(doc, "apiVersion")) or ""
        kind = scalar(get(doc, "kind")) or ""
        name = scalar(dig(doc, "metadata", "name")) or ""
        ctx = _Ctx(manifest.path, kind, name, index, manifest.text)
        if api.startswith("helm.toolkit.fluxcd.io/") and kind == "HelmRelease":
            values = dig(doc, "spec", "values")
            if values is not None:
                _values_refs(ctx, values, ("spec", "values"), refs)
        elif api.startswith("kustomize.config.k8s.io/") or (not kind and kustomization):
            _kustomize_refs(ctx._replace_kind("Kustomization"), get(doc, "images"), ("images",), refs)
        elif api.startswith("kustomize.toolkit.fluxcd.io/") and kind == "Kustomization":
            _kustomize_refs(ctx, dig(doc, "spec", "images"), ("spec", "images"), refs)
        else:
            _workload_refs(ctx, doc, (), refs)
    if MARKER in manifest.text:
        refs = marker_refs(manifest, refs)
    return refs


@dataclass(frozen=True)
class _Ctx:
    file: str
    kind: str
    name: str
    doc: int
    text: str

    def _replace_kind(self, kind: str) -> _Ctx:
        return _Ctx(self.file, self.kind or kind, self.name, self.doc, self.text)

    def site(self, node: yaml.Node | None, path: Path) -> Site | None:
        if isinstance(node, yaml.ScalarNode):
            return Site.from_node(node, path, self.doc, self.text)
        return None


def _string_ref(ctx: _Ctx, node: yaml.Node, path: Path) -> ImageRef | None:
    text = scalar(node)
    parsed = ImageString.parse(text) if text else None
    if parsed is None:
        return None
    return ImageRef(
        file=ctx.file, kind=ctx.kind, name=ctx.name, repository=parsed.repository,
        version=parsed.version, form="string", string_site=ctx.site(node, path),
    )


def _values_refs(ctx: _Ctx, node: yaml.Node, path: Path, out: list[ImageRef]) -> None:
    """HelmRelease values: {repository, tag[, registry, digest]} mappings and `image: repo:tag` strings."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _values_refs(ctx, item, (*path, i), out)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    # A key the mapping sets overrides a merge key (`<<: *defaults` then `tag: x`): it is edited in
    # place; a key only merged in is the anchor's scalar, shared with every mapping that merges it.
    repo_node, tag_node = merged_get(node, "repository"), merged_get(node, "tag")
    repository = scalar(repo_node)
    if repository and isinstance(tag_node, yaml.ScalarNode) and "://" not in repository:
        registry = scalar(merged_get(node, "registry"))
        digest_node = merged_get(node, "digest")
        full = f"{registry.rstrip('/')}/{repository}" if registry else repository
        version = Version.from_tag_text(str(tag_node.value), scalar(digest_node) or None)
        inline = version.digest is not None and version.digest != (scalar(digest_node) or None)
        out.append(ImageRef(
            file=ctx.file, kind=ctx.kind, name=ctx.name, repository=full,
            version=version, form="values", inline_digest=inline,
            tag_site=ctx.site(tag_node, (*path, "tag")),
            digest_site=None if inline else ctx.site(digest_node, (*path, "digest")),
        ))
        return
    for key_node, value in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key == "image" and isinstance(value, yaml.ScalarNode):
            ref = _string_ref(ctx, value, (*path, "image"))
            if ref:
                out.append(ref)
        elif isinstance(key, str):
            _values_refs(ctx, value, (*path, key), out)


def _merge_sources(node: yaml.Node) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


def merged_get(node: yaml.Node, key: str, depth: int = 0) -> yaml.Node | None:
    """`key` of a mapping as YAML's merge key (<<) makes it: its own first, then each merged mapping."""
    own = get(node, key)
    if own is not None or depth > 32:
        return own
    merged = get(node, "<<")
    for source in _merge_sources(merged) if merged is not None else []:
        found = merged_get(source, key, depth + 1)
        if found is not None:
            return found
    return None


def _kustomize_refs(ctx: _Ctx, images: yaml.Node | None, path: Path, out: list[ImageRef]) -> None:
    if not isinstance(images, yaml.SequenceNode):
        return
    for i, entry in enumerate(images.value):
        name = scalar(get(entry, "name"))
        if not name:
            continue
        new_name = scalar(get(entry, "newName"))
        tag_node, digest_node = get(entry, "newTag"), get(entry, "digest")
        insert_at, prefix = _insertion_point(ctx, entry, (*path, i))
        out.append(ImageRef(
            file=ctx.file, kind=ctx.kind, name=ctx.name, repository=new_name or name,
            version=Version(
                str(tag_node.value) if isinstance(tag_node, yaml.ScalarNode) else None,
                scalar(digest_node) or None,
            ),
            form="kustomize",
            tag_site=ctx.site(tag_node, (*path, i, "newTag")),
            digest_site=ctx.site(digest_node, (*path, i, "digest")),
            alt_repository=name if new_name else None,
            insert_at=insert_at, insert_prefix=prefix,
        ))


def _insertion_point(ctx: _Ctx, entry: yaml.Node, path: Path) -> tuple[Site | None, str]:
    """Where a key missing from a kustomize `images:` entry is inserted, in the entry's own style:
    a new line at its keys' indentation after its last line (after any comment), or `, key: value`
    before the `}` of a flow mapping. None for an entry whose last value spans lines."""
    if not isinstance(entry, yaml.MappingNode) or not entry.value:
        return None, ""
    text = ctx.text
    last_value = entry.value[-1][1]
    if not isinstance(last_value, yaml.ScalarNode) or last_value.start_mark.line != last_value.end_mark.line:
        return None, ""
    if entry.flow_style:
        point = text.rindex("}", 0, entry.end_mark.index)
        prefix = ", "
    else:
        end = text.find("\n", last_value.end_mark.index)
        point = len(text) if end < 0 else end - (1 if text[end - 1 : end] == "\r" else 0)
        newline = "\r\n" if text[point : point + 2] == "\r\n" else "\n"
        prefix = newline + " " * entry.value[0][0].start_mark.column
    site = Site(path=path, doc=ctx.doc, start=point, end=point, line=last_value.end_mark.line + 1,
                style=None, value="")
    return site, prefix


def _workload_refs(ctx: _Ctx, node: yaml.Node, path: Path, out: list[ImageRef]) -> None:
    """`image:` strings of containers/initContainers lists, anywhere in a workload object."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _workload_refs(ctx, item, (*path, i), out)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            continue
        if key in _WORKLOAD_LISTS and isinstance(value, yaml.SequenceNode):
            for i, container in enumerate(value.value):
                image = get(container, "image")
                ref = _string_ref(ctx, image, (*path, key, i, "image")) if image is not None else None
                if ref:
                    out.append(ref)
        else:
            _workload_refs(ctx, value, (*path, key), out)
