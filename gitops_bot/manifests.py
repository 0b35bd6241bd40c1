"""Finding the image references of an environment's manifests (CONTRACT §3).

Pure functions over text: no git, no file writes. A `Site` is one scalar's span in the text; an
`ImageRef` is one image reference made of one or two sites.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import yaml

from gitops_bot.errors import ManifestError
from gitops_bot.images import ImageString, Version
from gitops_bot.yamlnodes import Path, compose_all, dig, get, scalar, walk_scalars

BOM = "\ufeff"
MARKER = "$imagepolicy"
_MARKER_RE = re.compile(r"#\s*(\{\s*\"\$imagepolicy\"\s*:\s*\"[^\"]*\"\s*\})")
_KUSTOMIZE_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_WORKLOAD_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class Site:
    """One scalar of a file: where it is in the (BOM-less) text, how it is quoted, what it says."""

    path: Path
    doc: int
    start: int
    end: int
    line: int
    style: str | None  # None (plain), "'" or '"'
    value: str

    @classmethod
    def from_node(cls, node: yaml.ScalarNode, path: Path, doc: int) -> Site:
        return cls(
            path=path,
            doc=doc,
            start=node.start_mark.index,
            end=node.end_mark.index,
            line=node.start_mark.line + 1,
            style=node.style,
            value=str(node.value),
        )


@dataclass(frozen=True)
class ImageRef:
    """An image reference found in a manifest.

    form: "values" (a {repository, tag} mapping), "string" (a whole `repo:tag` scalar),
    "kustomize" (an images: entry) or "marker-tag" (a `$imagepolicy …:tag` setter).
    """

    file: str
    kind: str
    name: str
    repository: str
    version: Version
    form: str
    string_site: Site | None = None
    tag_site: Site | None = None
    digest_site: Site | None = None
    policy: str | None = None
    policy_only: bool = False  # a bare `:tag` marker: its repository is unknown
    alt_repository: str | None = None  # kustomize: the `name` an entry rewrites

    @property
    def key(self) -> tuple[str, str, str, Path]:
        """Identifies the reference across commits: file, object and the path of its scalar."""
        site = self.string_site or self.tag_site or self.digest_site
        assert site is not None
        return (self.file, self.kind, self.name, site.path)

    @property
    def line(self) -> int:
        site = self.string_site or self.tag_site or self.digest_site
        assert site is not None
        return site.line


@dataclass(frozen=True)
class Manifest:
    """One YAML file: its decoded text (BOM removed), how to encode it back, and its documents."""

    path: str
    text: str
    bom: bool
    docs: tuple[yaml.Node, ...]

    @classmethod
    def parse(cls, path: str, data: bytes) -> Manifest:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise ManifestError(f"{path}:{line}: not UTF-8 text") from None
        bom = text.startswith(BOM)
        if bom:
            text = text[1:]
        return cls(path, text, bom, tuple(compose_all(text, path)))

    def encode(self, text: str) -> bytes:
        return ((BOM if self.bom else "") + text).encode("utf-8")


def find_refs(manifest: Manifest) -> list[ImageRef]:
    """Every image reference of a file, each scalar counted once."""
    refs: list[ImageRef] = []
    basename = PurePosixPath(manifest.path).name
    for index, doc in enumerate(manifest.docs):
        api = scalar(get(doc, "apiVersion")) or ""
        kind = scalar(get(doc, "kind")) or ""
        name = scalar(dig(doc, "metadata", "name")) or ""
        ctx = _Ctx(manifest.path, kind, name, index)
        if api.startswith("helm.toolkit.fluxcd.io/") and kind == "HelmRelease":
            values = dig(doc, "spec", "values")
            if values is not None:
                _values_refs(ctx, values, ("spec", "values"), refs)
        elif api.startswith("kustomize.config.k8s.io/") or (not kind and basename in _KUSTOMIZE_FILES):
            _kustomize_refs(ctx._replace_kind("Kustomization"), get(doc, "images"), ("images",), refs)
        elif api.startswith("kustomize.toolkit.fluxcd.io/") and kind == "Kustomization":
            _kustomize_refs(ctx, dig(doc, "spec", "images"), ("spec", "images"), refs)
        else:
            _workload_refs(ctx, doc, (), refs)
    if MARKER in manifest.text:
        refs = _marker_refs(manifest, refs)
    return refs


@dataclass(frozen=True)
class _Ctx:
    file: str
    kind: str
    name: str
    doc: int

    def _replace_kind(self, kind: str) -> _Ctx:
        return _Ctx(self.file, self.kind or kind, self.name, self.doc)

    def site(self, node: yaml.Node | None, path: Path) -> Site | None:
        if isinstance(node, yaml.ScalarNode):
            return Site.from_node(node, path, self.doc)
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
    merged = get(node, "<<")
    image_keys = ("repository", "tag", "registry", "digest")
    if merged is not None and any(get(node, k) is not None for k in image_keys) and any(
        get(m, k) is not None for m in _merge_sources(merged) for k in image_keys
    ):  # a merged image mapping with an override: editing the anchor would not change what Helm gets
        line = node.start_mark.line + 1
        raise ManifestError(f"{ctx.file}:{line}: image values that override a merge key (<<) are not "
                            f"edited: write the mapping out")
    repo_node, tag_node = get(node, "repository"), get(node, "tag")
    repository = scalar(repo_node)
    if repository and isinstance(tag_node, yaml.ScalarNode) and "://" not in repository:
        registry = scalar(get(node, "registry"))
        digest_node = get(node, "digest")
        full = f"{registry.rstrip('/')}/{repository}" if registry else repository
        out.append(ImageRef(
            file=ctx.file, kind=ctx.kind, name=ctx.name, repository=full,
            version=Version(str(tag_node.value) or None, scalar(digest_node) or None), form="values",
            tag_site=ctx.site(tag_node, (*path, "tag")),
            digest_site=ctx.site(digest_node, (*path, "digest")),
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


def _kustomize_refs(ctx: _Ctx, images: yaml.Node | None, path: Path, out: list[ImageRef]) -> None:
    if not isinstance(images, yaml.SequenceNode):
        return
    for i, entry in enumerate(images.value):
        name = scalar(get(entry, "name"))
        if not name:
            continue
        new_name = scalar(get(entry, "newName"))
        tag_node, digest_node = get(entry, "newTag"), get(entry, "digest")
        if not isinstance(tag_node, yaml.ScalarNode) and not isinstance(digest_node, yaml.ScalarNode):
            continue  # a rename only: no tag or digest here to set
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
        ))


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


def _marker_refs(manifest: Manifest, refs: list[ImageRef]) -> list[ImageRef]:
    """Flux setter markers: `# {"$imagepolicy": "NS:POLICY[:tag|:name]"}` after a scalar on its line."""
    markers: dict[int, tuple[int, str, str]] = {}  # line -> (column of '#', policy, field)
    for lineno, line in enumerate(manifest.text.splitlines(), start=1):
        if MARKER not in line:
            continue
        m = _MARKER_RE.search(line)
        if not m:
            continue
        try:
            setter = json.loads(m.group(1))[MARKER].split(":")
        except (ValueError, KeyError, AttributeError):
            continue
        if len(setter) < 2 or (len(setter) == 3 and setter[2] not in ("tag", "name")) or len(setter) > 3:
            raise ManifestError(f"{manifest.path}:{lineno}: malformed $imagepolicy marker {m.group(1)}")
        markers[lineno] = (m.start(), setter[1], setter[2] if len(setter) == 3 else "")
    if not markers:
        return refs
    by_start = {site.start: ref for ref in refs for site in _sites(ref)}
    consumed: set[int] = set()
    marked: list[ImageRef] = []
    names: dict[tuple[int, Path], str] = {}  # the `:name` marker of a mapping gives the repository
    tags: list[tuple[Site, str, yaml.Node]] = []
    for end_line, (index, path, node) in _marked_scalars(manifest, markers):
        _, policy, field = markers[end_line]
        site = Site.from_node(node, path, index)
        if field == "name":
            names[(index, path[:-1])] = site.value
        elif field == "tag":
            tags.append((site, policy, node))
        else:
            existing = by_start.get(site.start)
            if existing is not None:
                consumed.add(id(existing))
            parsed = ImageString.parse(site.value)
            if parsed is None:
                raise ManifestError(
                    f"{manifest.path}:{site.line}: $imagepolicy marker on a value that is "
                    f"not an image reference: {site.value!r}"
                )
            kind, name = _doc_identity(manifest, index, existing)
            marked.append(ImageRef(
                file=manifest.path, kind=kind, name=name, repository=parsed.repository,
                version=parsed.version, form="string", string_site=site, policy=policy,
            ))
    for site, policy, _node in tags:
        existing = by_start.get(site.start)
        if existing is not None:
            consumed.add(id(existing))
            if existing.form in ("values", "kustomize"):
                marked.append(replace(existing, policy=policy))
                continue
        kind, name = _doc_identity(manifest, site.doc, existing)
        marked.append(ImageRef(
            file=manifest.path, kind=kind, name=name,
            repository=names.get((site.doc, site.path[:-1]), policy),
            version=Version(site.value or None), form="marker-tag", tag_site=site, policy=policy,
            policy_only=(site.doc, site.path[:-1]) not in names,
        ))
    remaining = [r for r in refs if id(r) not in consumed]
    return sorted(remaining + marked, key=lambda r: r.line)


def _marked_scalars(
    manifest: Manifest, markers: dict[int, tuple[int, str, str]]
) -> list[tuple[int, tuple[int, Path, yaml.ScalarNode]]]:
    """The one single-line scalar that each marker line holds before its `#`."""
    found: dict[int, dict[int, tuple[int, Path, yaml.ScalarNode]]] = {}  # line -> start -> scalar
    for index, doc in enumerate(manifest.docs):
        for path, node in walk_scalars(doc):
            end_line = node.end_mark.line + 1
            if end_line not in markers or node.end_mark.column > markers[end_line][0]:
                continue
            if node.start_mark.line != node.end_mark.line:
                continue
            found.setdefault(end_line, {}).setdefault(node.start_mark.index, (index, path, node))
    for line, scalars in found.items():
        if len(scalars) > 1:  # `{repository: x, tag: y} # marker`: which one is meant?
            raise ManifestError(
                f"{manifest.path}:{line}: $imagepolicy marker on a line with several values; "
                f"put the marked value on a line of its own"
            )
    return [(line, next(iter(scalars.values()))) for line, scalars in sorted(found.items())]


def _doc_identity(manifest: Manifest, index: int, existing: ImageRef | None) -> tuple[str, str]:
    if existing is not None:
        return existing.kind, existing.name
    doc = manifest.docs[index]
    return scalar(get(doc, "kind")) or "", scalar(dig(doc, "metadata", "name")) or ""


def _sites(ref: ImageRef) -> list[Site]:
    return [s for s in (ref.string_site, ref.tag_site, ref.digest_site) if s is not None]
