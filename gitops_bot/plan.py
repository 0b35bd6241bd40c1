"""Planning: which scalars change, from what to what (pure; no files, no git)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import semver

from gitops_bot.errors import ManifestError, PolicyError, UsageError
from gitops_bot.images import ImageString, Version, Wanted, matches
from gitops_bot.manifests import MARKER, ImageRef, Manifest, find_refs
from gitops_bot.yamledit import Edit, splice


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
    out = {MARKER.encode()}
    for want in wanted:
        for name in (want.name, aliases.get(want.name)):
            if name:
                out.add(name.rsplit("/", 1)[-1].encode())
    return tuple(sorted(out))


def environment_refs(manifests: Iterable[Manifest]) -> list[ImageRef]:
    return [ref for m in manifests for ref in find_refs(m)]


def make_plan(manifests: Sequence[Manifest], wanted: Sequence[Wanted], rules: Rules) -> Plan:
    """Match each wanted image against the references and produce the edits of every file."""
    {m.path: m for m in manifests}
    refs = environment_refs(manifests)
    edits: dict[str, dict[int, Edit]] = {}
    changes: list[Change] = []
    skipped: list[Skip] = []
    claimed: dict[tuple[str, int], Wanted] = {}  # (file, scalar offset): a YAML alias repeats a node
    for want in wanted:
        hits = [r for r in refs if _ref_matches(want.name, r, rules.aliases)]
        # A Flux image policy moves all its setters together: no half-updated policy.
        policies = {r.policy for r in hits if r.policy}
        hits += [r for r in refs if r.policy in policies and r not in hits]
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
            site = ref.string_site or ref.tag_site or ref.digest_site
            assert site is not None
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
            _check_policy(ref, new_version, rules)
            for edit in ref_edits:
                edits.setdefault(ref.file, {})[edit.site.start] = edit
            line = min(e.site.line for e in ref_edits)  # where the change is (a digest may be below its tag)
            changes.append(Change(
                ref.file, line, ref.kind, ref.name, ref.repository, str(ref.version), str(new_version)
            ))
    return Plan(tuple(changes), tuple(skipped), apply_edits(manifests, edits))


def _ref_matches(name: str, ref: ImageRef, aliases: Mapping[str, str]) -> bool:
    """CONTRACT §3: markers by POLICY; other references by repository, last segment or alias."""
    if ref.policy is not None and ref.policy == name:
        return True
    if ref.policy_only:
        return False
    if matches(name, ref.repository, aliases):
        return True
    return ref.alt_repository is not None and matches(name, ref.alt_repository, aliases)


def _held(ref: ImageRef, rules: Rules) -> str | None:
    for repo, reason in rules.holds.items():
        if matches(repo, ref.repository, {}):
            return reason
    return None


def _first(refs: list[ImageRef], repository: str) -> ImageRef:
    return next(r for r in refs if r.repository == repository)


def _ref_edits(ref: ImageRef, wanted: Version) -> tuple[Version, list[Edit]]:
    """The version this reference ends at, and the scalar edits that get it there."""
    where = f"{ref.file}:{ref.line}"
    if ref.form == "string":
        assert ref.string_site is not None
        # a digest alone pins the image and keeps the tag for readers, as in a values mapping
        new = wanted if wanted.tag is not None else Version(ref.version.tag, wanted.digest)
        text = ImageString(ref.repository, new).with_version(new)
        return new, [Edit(ref.string_site, text)] if text != ref.string_site.value else []
    out: list[Edit] = []
    tag = ref.version.tag
    if wanted.tag is not None:
        if ref.tag_site is None:
            raise ManifestError(f"{where}: {ref.repository} has no tag field to set")
        tag = wanted.tag
        if ref.tag_site.value != tag:
            out.append(Edit(ref.tag_site, tag))
    digest = wanted.digest
    if ref.digest_site is not None:
        if (ref.digest_site.value or None) != digest:
            out.append(Edit(ref.digest_site, digest or ""))
    elif digest is not None:
        raise ManifestError(f"{where}: {ref.repository} has no digest field to pin {digest}")
    return Version(tag, digest), out


def _semver(tag: str | None) -> semver.Version | None:
    if not tag:
        return None
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


def make_restore_plan(manifests: Sequence[Manifest], target: Sequence[ImageRef]) -> Plan:
    """Set every current reference to the version it has in `target` (another commit's references).

    References are paired by where they live (file, object, path); one that moved is paired by its
    image repository when that repository had a single version in `target`.
    """
    {m.path: m for m in manifests}
    by_key = {ref.key: ref for ref in target}
    by_repo: dict[str, set[Version]] = {}
    for ref in target:
        by_repo.setdefault(ref.repository, set()).add(ref.version)
    edits: dict[str, dict[int, Edit]] = {}
    changes: list[Change] = []
    for ref in environment_refs(manifests):
        old = by_key.get(ref.key)
        if old is not None and old.repository == ref.repository:
            version = old.version
        elif len(by_repo.get(ref.repository, ())) == 1:
            version = next(iter(by_repo[ref.repository]))
        else:
            continue
        new_version, ref_edits = _ref_edits(ref, version)
        if new_version == ref.version or not ref_edits:
            continue
        for edit in ref_edits:
            edits.setdefault(ref.file, {})[edit.site.start] = edit
        changes.append(Change(ref.file, min(e.site.line for e in ref_edits), ref.kind, ref.name,
                              ref.repository, str(ref.version), str(new_version)))
    return Plan(tuple(changes), (), apply_edits(manifests, edits))


def apply_edits(manifests: Sequence[Manifest], edits: Mapping[str, Mapping[int, Edit]]) -> dict[str, bytes]:
    """The new bytes of every file with edits (each splice verified by re-parsing)."""
    by_file = {m.path: m for m in manifests}
    return {path: by_file[path].encode(splice(by_file[path], list(e.values()))) for path, e in edits.items() if e}
