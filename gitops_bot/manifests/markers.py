"""Flux image-automation setter markers: `# {"$imagepolicy": "NAMESPACE:POLICY[:tag|:name|:digest]"}`
after a scalar on its line (docs/image-references.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace

import yaml

from gitops_bot.manifests.nodes import Path, dig, get, scalar, walk_scalars
from gitops_bot.manifests.sites import ImageRef, Manifest, Site
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import ImageString, Version

MARKER = "$imagepolicy"
IMAGE_API = "image.toolkit.fluxcd.io"
_MARKER_RE = re.compile(r"#\s*(\{\s*\"\$imagepolicy\"\s*:\s*\"[^\"]*\"\s*\})")


_FIELDS = ("tag", "name", "digest")


def _parse_markers(manifest: Manifest) -> dict[int, tuple[int, str, str, str]]:
    """line -> (column of '#', NAMESPACE, POLICY, field: "" for the whole reference)."""
    markers: dict[int, tuple[int, str, str, str]] = {}
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
        if not 2 <= len(setter) <= 3 or not all(setter[:2]) or (len(setter) == 3 and setter[2] not in _FIELDS):
            raise ManifestError(f"{manifest.path}:{lineno}: malformed $imagepolicy marker {m.group(1)}: "
                                f"expected NAMESPACE:POLICY, optionally with :tag, :name or :digest")
        markers[lineno] = (m.start(), setter[0], setter[1], setter[2] if len(setter) == 3 else "")
    return markers


def marker_refs(manifest: Manifest, refs: list[ImageRef]) -> list[ImageRef]:
    """The references with the markers of the file applied: a marked reference knows its policy;
    a marked scalar that no other rule found becomes a reference of its own."""
    markers = _parse_markers(manifest)
    if not markers:
        return refs
    by_start = {site.start: ref for ref in refs for site in _sites(ref)}
    consumed: set[int] = set()
    marked: list[ImageRef] = []
    names: dict[tuple[int, Path], str] = {}  # the `:name` marker of a mapping gives the repository
    parts: list[tuple[Site, str, str, str]] = []  # `:tag` and `:digest` setters
    for end_line, (index, path, node) in _marked_scalars(manifest, markers):
        _, namespace, policy, field = markers[end_line]
        site = Site.from_node(node, path, index, manifest.text)
        if field == "name":
            names[(index, path[:-1])] = site.value
        elif field:
            parts.append((site, namespace, policy, field))
        else:
            existing = by_start.get(site.start)
            if existing is not None:
                consumed.add(id(existing))
            parsed = ImageString.parse(site.value, bare=True)  # a whole reference may lack a tag
            if parsed is None:
                raise ManifestError(
                    f"{manifest.path}:{site.line}: $imagepolicy marker on a value that is "
                    f"not an image reference: {site.value!r}"
                )
            kind, name = _doc_identity(manifest, index, existing)
            marked.append(ImageRef(
                file=manifest.path, kind=kind, name=name, repository=parsed.repository,
                version=parsed.version, form="string", string_site=site, policy=policy,
                policy_namespace=namespace,
            ))
    own: dict[tuple[int, Path, str, str], int] = {}  # (doc, mapping, ns, policy) -> index in marked
    for site, namespace, policy, field in sorted(parts, key=lambda p: p[1] != "tag"):
        existing = by_start.get(site.start)
        if existing is not None:
            consumed.add(id(existing))
            if existing.form in ("values", "kustomize"):
                if id(existing) not in {id(r) for r in marked}:
                    marked.append(replace(existing, policy=policy, policy_namespace=namespace))
                continue
        parent = (site.doc, site.path[:-1], namespace, policy)
        if parent in own:  # the `:digest` setter beside a `:tag` setter of the same mapping
            ref = marked[own[parent]]
            marked[own[parent]] = replace(ref, digest_site=site, version=Version(ref.version.tag, site.value))
            continue
        kind, name = _doc_identity(manifest, site.doc, existing)
        tag_site, digest_site = (site, None) if field == "tag" else (None, site)
        version = Version(site.value or None) if field == "tag" else Version(None, site.value or None)
        own[parent] = len(marked)
        marked.append(ImageRef(
            file=manifest.path, kind=kind, name=name,
            repository=names.get((site.doc, site.path[:-1]), policy),
            version=version, form="marker-tag", tag_site=tag_site, digest_site=digest_site,
            policy=policy, policy_namespace=namespace,
            policy_only=(site.doc, site.path[:-1]) not in names,
        ))
    remaining = [r for r in refs if id(r) not in consumed]
    return sorted(remaining + marked, key=lambda r: r.line)


def _marked_scalars(
    manifest: Manifest, markers: dict[int, tuple[int, str, str, str]]
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


def policy_images(manifests: Iterable[Manifest]) -> dict[tuple[str, str], str]:
    """(NAMESPACE, POLICY) -> image, for the Flux ImagePolicies the files define whose
    `spec.imageRepositoryRef` names an ImageRepository they define too (its `spec.image`)."""
    repositories: dict[tuple[str, str], str] = {}
    policies: dict[tuple[str, str], tuple[str, str]] = {}
    for manifest in manifests:
        if IMAGE_API not in manifest.text:
            continue
        for doc in manifest.docs:
            if not (scalar(get(doc, "apiVersion")) or "").startswith(IMAGE_API + "/"):
                continue
            kind = scalar(get(doc, "kind"))
            name = scalar(dig(doc, "metadata", "name")) or ""
            namespace = scalar(dig(doc, "metadata", "namespace")) or "flux-system"
            if kind == "ImageRepository" and scalar(dig(doc, "spec", "image")):
                repositories[(namespace, name)] = scalar(dig(doc, "spec", "image")) or ""
            elif kind == "ImagePolicy":
                ref = dig(doc, "spec", "imageRepositoryRef")
                policies[(namespace, name)] = (scalar(get(ref, "namespace")) or namespace,
                                               scalar(get(ref, "name")) or "")
    return {key: repositories[target] for key, target in policies.items() if target in repositories}


def link_policies(refs: list[ImageRef], images: dict[tuple[str, str], str]) -> list[ImageRef]:
    """A marker whose policy the tree defines also names that policy's image (docs/image-references.md)."""
    out = []
    for ref in refs:
        image = images.get((ref.policy_namespace or "", ref.policy or "")) if ref.policy else None
        if image is not None and ref.policy_only:
            ref = replace(ref, repository=image, policy_only=False)
        elif image is not None and image != ref.repository:
            ref = replace(ref, alt_repository=ref.alt_repository or image)
        out.append(ref)
    return out
