"""Canary releases through the HelmRelease `canary:` values (docs/commands.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import CANARY_TRAILER, compose, subject_for
from gitops_bot.delivery.push import planned
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.manifests.edit import Edit
from gitops_bot.manifests.nodes import dig
from gitops_bot.manifests.scan import ImageRef, Manifest, Site, find_refs
from gitops_bot.model.errors import ManifestError, UsageError
from gitops_bot.model.images import Version, Wanted, matches
from gitops_bot.planning.plan import Change, Plan, _ref_edits, apply_edits, environment_refs
from gitops_bot.planning.proposal import Proposal
from gitops_bot.planning.valuesenv import refuse_shared
from gitops_bot.registry.checks import ImageChecks, LazyRegistry, checked, pin_wanted

STABLE_TAG = ("spec", "values", "image", "tag")
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"


@dataclass(frozen=True)
class CanaryRequest:
    env: str
    action: str  # start | promote | abort
    images: tuple[str, ...] = ()
    weight: int | None = None
    delivery: str | None = None
    pr: PullRequestOverrides | None = None
    verify: bool | None = None  # start: --verify-image / registry.verify
    allow_shared: bool = False
    pin: bool | None = None  # start: --pin-digest / registry.pin-digest (canary.image.tag TAG@sha256:…)


@dataclass(frozen=True)
class _Block:
    """A HelmRelease's stable image reference and the scalars of its canary block."""

    ref: ImageRef
    enabled: Site
    weight: Site | None
    tag: Site


def _site(doc: yaml.Node, index: int, path: tuple[str, ...], where: str) -> Site:
    node = dig(doc, *path)
    if not isinstance(node, yaml.ScalarNode):
        raise ManifestError(f"{where}: HelmRelease has no {'.'.join(path)} value")
    return Site.from_node(node, path, index)


def canary_blocks(manifest: Manifest) -> list[_Block]:
    out = []
    # a Helm values file is the values themselves: its stable image is image.tag at its root
    values: tuple[str, ...] = () if manifest.values_for is not None else ("spec", "values")
    for ref in find_refs(manifest):
        site = ref.tag_site
        # one block per HelmRelease: the chart's stable image is spec.values.image (docs/commands.md)
        if ref.form != "values" or site is None or site.path != (*values, "image", "tag") or (
                values and ref.kind != "HelmRelease"):
            continue
        doc = manifest.docs[site.doc]
        if dig(doc, *values, "canary") is None:
            continue
        where = f"{manifest.path}:{ref.line}"
        base = (*values, "canary")
        weight = dig(doc, *base, "weight")
        out.append(_Block(
            ref=ref,
            enabled=_site(doc, site.doc, (*base, "enabled"), where),
            weight=Site.from_node(weight, (*base, "weight"), site.doc)
            if isinstance(weight, yaml.ScalarNode) else None,
            tag=_site(doc, site.doc, (*base, "image", "tag"), where),
        ))
    return out


def plan_canary(manifests: Sequence[Manifest], request: CanaryRequest, wanted: list[Wanted],
                aliases: dict[str, str]) -> Plan:
    """start: enable the canary of each wanted image at its tag; promote/abort: every enabled canary
    (or only those of `request.images`)."""
    names = [w.name for w in wanted] if wanted else list(request.images)
    edits: dict[str, list[Edit]] = {}
    changes: list[Change] = []
    found: set[str] = set()
    by_file = {m.path: m for m in manifests}
    for manifest in manifests:
        for block in canary_blocks(manifest):
            ref = block.ref
            file_edits = edits.setdefault(manifest.path, [])

            def change(old: str, new: str, line: int, ref: ImageRef = ref) -> None:
                changes.append(Change(ref.file, line, ref.kind, ref.name, ref.repository, old, new))

            if request.action == "start":
                want = next((w for w in wanted if matches(w.name, ref.repository, aliases)), None)
                if want is None or want.version.tag is None:
                    continue
                found.add(want.name)
                file_edits.append(Edit(block.enabled, "true", BOOL))
                file_edits.append(Edit(block.tag, str(want.version)))  # TAG or TAG@sha256:… (pinned)
                if request.weight is not None:
                    if block.weight is None:
                        raise ManifestError(f"{ref.file}:{ref.line}: canary block has no weight")
                    file_edits.append(Edit(block.weight, str(request.weight), INT))
                change(block.tag.value, str(want.version), block.tag.line)
                continue
            if names and not any(matches(n, ref.repository, aliases) for n in names):
                continue
            found.update(n for n in names if matches(n, ref.repository, aliases))
            if block.enabled.value not in ("true", "True", "TRUE"):
                continue
            file_edits.append(Edit(block.enabled, "false", BOOL))
            if request.action == "promote":
                if not block.tag.value:
                    raise ManifestError(f"{ref.file}:{ref.line}: canary is enabled but has no image tag")
                # a pinned TAG@sha256:… goes to image.tag and image.digest when there is one
                new, stable = _ref_edits(ref, Version.from_tag_text(block.tag.value))
                file_edits.extend(stable)
                file_edits.append(Edit(block.tag, ""))
                change(str(ref.version), str(new), ref.line)
            else:  # abort: traffic goes back to the stable tag
                change(block.tag.value, str(ref.version), block.enabled.line)
    missing = [n for n in names if n not in found]
    if missing:
        raise UsageError(f"image {missing[0]!r} has no HelmRelease with a canary block in {request.env}")
    files = apply_edits(manifests, {path: {e.site.start: e for e in es} for path, es in edits.items()})
    changed = {p: b for p, b in files.items() if b != by_file[p].encode(by_file[p].text)}
    return Plan(tuple(changes) if changed else (), (), changed)


def canary(session: Session, request: CanaryRequest) -> WriteResult:
    if request.action == "start" and not request.images:
        raise UsageError("canary start needs --image NAME=TAG")
    wanted = []
    if request.action == "start":
        for spec in request.images:
            if "=" not in spec:
                raise UsageError(f"canary start --image {spec!r}: write NAME=TAG (the canary's tag)")
            want = Wanted.parse(spec, None)
            if want.version.tag is None:
                raise UsageError(f"canary start --image {spec!r}: canary.image.tag needs a tag: "
                                 f"write NAME=TAG or NAME=TAG@sha256:…")
            wanted.append(want)
    env, head = session.environment(EnvRequest(request.env))
    start = request.action == "start"
    checks = ImageChecks.of(session.config.registry, request.verify if start else False,
                            request.pin if start else False)
    registry = LazyRegistry(session.credentials.token, session.context.registry_environ(), session.budget)

    def build(base: str) -> Proposal:
        manifests = session.manifests(env, base)
        aliases = dict(session.config.images)
        want = pin_wanted(wanted, environment_refs(manifests), aliases, registry()) if checks.pin else wanted
        plan = plan_canary(manifests, request, want, aliases)
        refuse_shared(session.ws, session.config, env, base, manifests, plan.files, request.allow_shared)
        subject = subject_for(f"canary-{request.action}", env.name, plan.changes)
        body = [f"Canary weight: {request.weight}%", ""] if request.weight is not None else []
        weight = f" weight {request.weight}" if request.weight is not None else ""
        extra = [(CANARY_TRAILER, f"{request.action} {c.image} "
                                  f"{c.new if request.action != 'abort' else c.old}{weight}")
                 for c in plan.changes]
        # Only promote moves a stable tag: start and abort switch traffic, they are not deploys.
        message = compose(subject, env.name, plan.changes, extra, body,
                          deploy=request.action == "promote", context=session.context)
        return Proposal(plan, message)

    with registry:
        return deliver(session, f"canary {request.action}", env, head,
                       planned(session, checked(build, checks, registry)), request.delivery, request.pr)
