"""Planning: which scalars change, from what to what (pure; no files, no git)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from gitops_bot.manifests.anchored import strip_anchor, unanchor
from gitops_bot.manifests.edit import Edit, render, splice
from gitops_bot.manifests.markers import IMAGE_API, link_policies, policy_images
from gitops_bot.manifests.mergekeys import check_merged, scalar_readers
from gitops_bot.manifests.nodes import STR_TAG
from gitops_bot.manifests.scan import MARKER, ImageRef, Manifest, find_refs
from gitops_bot.model.errors import ManifestError, PolicyError, UsageError
from gitops_bot.model.images import (
    EXACT,
    ImageString,
    Version,
    Wanted,
    display_name,
    match_kind,
    matches,
    refuse_ambiguous,
)

if TYPE_CHECKING:
    import semver


@dataclass(frozen=True)
class Change:
    file: str
    line: int
    kind: str
    name: str
    image: str
    old: str
    new: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "line": self.line, "kind": self.kind, "name": self.name,
            "image": self.image, "from": self.old, "to": self.new,
        }


@dataclass(frozen=True)
class Skip:
    image: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"image": self.image, "reason": self.reason}


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    skipped: tuple[Skip, ...] = ()
    files: Mapping[str, bytes] = field(default_factory=dict)  # path -> new content

    @property
    def changed(self) -> bool:
        return bool(self.files)


@dataclass(frozen=True)
class Rules:
    """How a plan treats policy, holds and images that match nothing."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    policy: str = "any"
    allow_downgrade: bool = False
    allow_missing: bool = False
    holds: Mapping[str, str] = field(default_factory=dict)  # image repository -> reason
    force: bool = False


def needles(wanted: Iterable[Wanted], aliases: Mapping[str, str]) -> tuple[bytes, ...]:
    """Byte strings one of which every file holding a matching reference must contain.

    A match by repository, last segment or alias implies the last path segment of the name (or of
    its alias) in the text; a match by marker implies a marker. See `_ref_matches`.
    """
    out = {MARKER.encode(), IMAGE_API.encode()}
    for want in wanted:
        for name in (want.name, aliases.get(want.name)):
            if name:
                out.add(name.rsplit("/", 1)[-1].encode())
    return tuple(sorted(out))


def environment_refs(manifests: Iterable[Manifest]) -> list[ImageRef]:
    """Every image reference of the files; a setter marker of a policy the files define also
    names that policy's image."""
    manifests = list(manifests)
    refs = [ref for m in manifests for ref in find_refs(m)]
    images = policy_images(manifests)
    return link_policies(refs, images) if images else refs


def make_plan(manifests: Sequence[Manifest], wanted: Sequence[Wanted], rules: Rules) -> Plan:
    """Match each wanted image against the references and produce the edits of every file."""
    refs = environment_refs(manifests)
    by_file, readers = {m.path: m for m in manifests}, scalar_readers(refs)
    edits: dict[str, dict[Hashable, Edit]] = {}
    changes: list[Change] = []
    skipped: list[Skip] = []
    claimed: dict[tuple[str, int], Wanted] = {}  # (file, scalar offset): a YAML alias repeats a node
    for want in wanted:
        hits = select(want.name, refs, rules.aliases)
        # A Flux image policy moves all its setters together: no half-updated policy.
        policies = {(r.policy_namespace, r.policy) for r in hits if r.policy}
        hits += [r for r in refs if r.policy and (r.policy_namespace, r.policy) in policies and r not in hits]
        if not hits:
            if not rules.allow_missing:
                raise UsageError(f"image {want.name!r} matches no image reference in the environment")
            skipped.append(Skip(want.name, "no matching image reference in the environment"))
            continue
        held = {r.repository for r in hits if _held(r, rules)}
        if held and not rules.force:
            for repo in sorted(held):
                skipped.append(Skip(repo, f"held: {_held(_first(hits, repo), rules)}"))
            hits = [r for r in hits if r.repository not in held]
        for ref in hits:
            site = ref.first_site
            other = claimed.get((ref.file, site.start))
            claimed[(ref.file, site.start)] = want
            if other is not None:
                if other.version != want.version:
                    raise UsageError(
                        f"images {other.name!r} and {want.name!r} both select {ref.repository} "
                        f"with different tags"
                    )
                continue  # already planned (another name, or the same node through an alias): listed once
            new_version, ref_edits = _ref_edits(ref, want.version)
            if new_version == ref.version or not ref_edits:
                continue
            ref_edits = [unanchor(e, by_file[ref.file], refs) for e in ref_edits]
            check_merged(ref, ref_edits, readers, by_file)
            _check_policy(ref, new_version, rules)
            for edit in ref_edits:
                edits.setdefault(ref.file, {})[(edit.site.start, edit.site.path)] = edit
            line = min(e.site.line for e in ref_edits)  # where the change is (a digest may be below its tag)
            changes.append(Change(
                ref.file, line, ref.kind, ref.name, ref.repository, str(ref.version), str(new_version)
            ))
    return Plan(tuple(changes), tuple(skipped), apply_edits(manifests, edits))


def select(name: str, refs: Sequence[ImageRef], aliases: Mapping[str, str]) -> list[ImageRef]:
    """The references an image NAME designates (docs/image-references.md), or UsageError when it is ambiguous.

    `NAMESPACE:POLICY` selects the setter markers of that policy; a bare POLICY naming policies of
    two namespaces is refused. Otherwise a full name or an alias selects exactly what it names; a
    last path segment selects its repository, unless it names two different ones.
    """
    namespace, sep, policy = name.partition(":") if "/" not in name else ("", "", "")
    if sep:
        return [r for r in refs if r.policy == policy and r.policy_namespace == namespace]
    namespaces = sorted({r.policy_namespace or "" for r in refs if r.policy == name})
    if len(namespaces) > 1:
        raise UsageError(f"image {name!r} is ambiguous: policies {', '.join(f'{n}:{name}' for n in namespaces)} "
                         f"have that name; give NAMESPACE:POLICY")
    by_policy = [r for r in refs if r.policy is not None and r.policy == name]
    matched = [(r, *found) for r in refs if not r.policy_only and (found := _match(name, r, aliases))]
    exact = any(kind == EXACT for _r, kind, _repo in matched)
    if not exact:  # one repository per reference: a kustomize rename is one image
        refuse_ambiguous(name, {repo for _r, _kind, repo in matched}, aliases)
    hits = [r for r, kind, _repo in matched if kind == EXACT or not exact]
    return hits + [r for r in by_policy if r not in hits]


def _match(name: str, ref: ImageRef, aliases: Mapping[str, str]) -> tuple[str, str] | None:
    """How NAME designates the reference (its repository, or the name a kustomize entry rewrites)."""
    found = None
    for repo in (ref.repository, ref.alt_repository):
        kind = match_kind(name, repo, aliases) if repo else None
        if kind == EXACT:
            return kind, repo  # type: ignore[return-value]
        if kind is not None and found is None:
            found = (kind, repo)
    return found  # type: ignore[return-value]


def _held(ref: ImageRef, rules: Rules) -> str | None:
    for repo, reason in rules.holds.items():
        if matches(repo, ref.repository, {}):
            return reason
    return None


def _first(refs: list[ImageRef], repository: str) -> ImageRef:
    return next(r for r in refs if r.repository == repository)


def _ref_edits(ref: ImageRef, wanted: Version, exact: bool = False) -> tuple[Version, list[Edit]]:
    """The version this reference ends at, and the scalar edits that get it there; `exact` (a
    restore) writes a whole reference as `wanted` even when that has no tag."""
    where = f"{ref.file}:{ref.line}"
    if ref.form != "string" and ref.tag_site is not None and (
        ref.inline_digest or (ref.digest_site is None and ref.insert_at is None and wanted.digest is not None)
    ):  # the digest is (or is to be) written inline: `tag: TAG@sha256:D` (docs/editing.md)
        tag = wanted.tag if wanted.tag is not None else ref.version.tag
        if not tag:
            raise ManifestError(f"{where}: {ref.repository} has no tag to pin {wanted.digest} to")
        new = Version(tag, wanted.digest)
        return new, [Edit(ref.tag_site, str(new))] if str(new) != ref.tag_site.value else []
    if ref.form == "string":
        assert ref.string_site is not None
        # a digest alone pins the image and keeps the tag for readers, as in a values mapping
        new = wanted if wanted.tag is not None or exact else Version(ref.version.tag, wanted.digest)
        text = ImageString(ref.repository, new).with_version(new)
        return new, [Edit(ref.string_site, text)] if text != ref.string_site.value else []
    out: list[Edit] = []
    tag = ref.version.tag
    if wanted.tag is not None:
        tag = wanted.tag
        if ref.tag_site is not None:
            if ref.tag_site.value != tag:
                out.append(Edit(ref.tag_site, tag))
        elif ref.insert_at is not None:
            out.append(_insertion(ref, "newTag", tag))
        else:
            raise ManifestError(f"{where}: {ref.repository} has no tag field to set")
    digest = wanted.digest
    if ref.digest_site is not None:
        if (ref.digest_site.value or None) != digest:
            out.append(Edit(ref.digest_site, digest or ""))
    elif digest is not None and ref.insert_at is not None:
        out.append(_insertion(ref, "digest", digest))
    elif digest is not None:
        raise ManifestError(f"{where}: {ref.repository} has no digest field to pin {digest}")
    return Version(tag, digest), out


def _insertion(ref: ImageRef, key: str, value: str) -> Edit:
    """A key missing from a kustomize `images:` entry, in the entry's indentation and style."""
    assert ref.insert_at is not None
    site = replace(ref.insert_at, path=(*ref.insert_at.path, key))
    return Edit(site, value, raw=f"{ref.insert_prefix}{key}: {render(value, None)}", insert=True)


def _semver(tag: str | None) -> semver.Version | None:
    if not tag:
        return None
    import semver  # only for policy semver: the package loads argparse and its CLI (8 ms of each bump)

    try:
        return semver.Version.parse(tag[1:] if tag[:1] in "vV" else tag)
    except ValueError:
        return None


def _check_policy(ref: ImageRef, new: Version, rules: Rules) -> None:
    if rules.policy != "semver" or new.tag is None or new.tag == ref.version.tag:
        return
    new_v = _semver(new.tag)
    if new_v is None:
        raise PolicyError(f"policy semver: tag {new.tag!r} for {ref.repository} is not a semantic version")
    old_v = _semver(ref.version.tag)
    if old_v is not None and new_v < old_v and not rules.allow_downgrade:
        raise PolicyError(
            f"policy semver: {ref.repository} {ref.version.tag} -> {new.tag} is a downgrade "
            f"(use --allow-downgrade)"
        )


def make_restore_plan(manifests: Sequence[Manifest], target: Sequence[ImageRef],
                      target_name: str = "the target commit") -> Plan:
    """Set every current reference to the version it has in `target` (another commit's references),
    restoring the old scalar's exact text where it can (`tag: 16` comes back as `tag: 16`).

    References are paired by where they live (file, object, path); one that moved is paired by its
    image repository when that repository had a single version in `target`. An image that `target`
    does not have is left alone and reported as skipped.
    """
    by_key = {ref.key: ref for ref in target}
    by_repo: dict[str, dict[Version, ImageRef]] = {}
    for ref in target:
        by_repo.setdefault(display_name(ref.repository), {}).setdefault(ref.version, ref)
    edits: dict[str, dict[Hashable, Edit]] = {}
    changes: list[Change] = []
    skipped: dict[str, Skip] = {}
    by_file = {m.path: m for m in manifests}
    current = environment_refs(manifests)
    seen: set[tuple[str, int]] = set()  # a node repeated through an alias is restored once
    for ref in current:
        if (ref.file, ref.first_site.start) in seen:
            continue
        seen.add((ref.file, ref.first_site.start))
        old = by_key.get(ref.key)
        versions = by_repo.get(display_name(ref.repository), {})
        if old is None or display_name(old.repository) != display_name(ref.repository):
            if len(versions) != 1:
                if not versions:
                    name = display_name(ref.repository)
                    skipped.setdefault(name, Skip(name, f"not in the environment at {target_name}: "
                                                        f"left at {ref.version}"))
                continue
            old = next(iter(versions.values()))
        new_version, ref_edits = _ref_edits(ref, old.version, exact=True)
        if new_version == ref.version or not ref_edits:
            continue
        for edit in ref_edits:
            edit = unanchor(_as_written(edit, old), by_file[ref.file], current)
            edits.setdefault(ref.file, {})[(edit.site.start, edit.site.path)] = edit
        changes.append(Change(ref.file, min(e.site.line for e in ref_edits), ref.kind, ref.name,
                              ref.repository, str(ref.version), str(new_version)))
    return Plan(tuple(changes), tuple(skipped.values()), apply_edits(manifests, edits))


def _as_written(edit: Edit, old: ImageRef) -> Edit:
    """The edit that writes back the old scalar's own text, when it held the value being restored."""
    if edit.insert:
        return edit
    for site in (old.string_site, old.tag_site, old.digest_site):
        if site is not None and site.value == edit.value and site.source and "\n" not in site.source:
            return replace(edit, raw=strip_anchor(site.source), tag=site.yaml_tag)
    return edit


def apply_edits(manifests: Sequence[Manifest], edits: Mapping[str, Mapping[Any, Edit]]) -> dict[str, bytes]:
    """The new bytes of every file with edits (each splice verified by re-parsing).

    An old scalar's text that would not read back as the value here (a plain `1.10` that must stay
    a string in this place) is written as a new value instead, quoted as needed.
    """
    by_file = {m.path: m for m in manifests}
    out: dict[str, bytes] = {}
    for path, file_edits in edits.items():
        if not file_edits:
            continue
        try:
            text = splice(by_file[path], list(file_edits.values()))
        except ManifestError:
            if not any(e.raw is not None for e in file_edits.values()):
                raise
            text = splice(by_file[path], [e if e.insert else replace(e, raw=None, tag=STR_TAG)
                                          for e in file_edits.values()])
        out[path] = by_file[path].encode(text)
    return out
