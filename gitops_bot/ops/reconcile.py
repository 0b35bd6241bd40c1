"""`reconcile`: set each image that has a policy to the newest registry tag the policy allows.

Policies come from `policies:` of the configuration and from the environment's Flux
`ImagePolicy`/`ImageRepository` objects (a config policy wins for the same repository). Each
target's tags are listed from its registry, the policy picks one, and the result is bumped like
`bump` does: holds, delivery, `--dry-run`, JSON. A semver policy never moves an image to a lower
version than it has (unless `--allow-downgrade`); a policy that matches no tag is reported under
`skipped`. See docs/registry.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import compose, subject_for
from gitops_bot.delivery.push import planned
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.manifests.imagepolicies import tree_policies
from gitops_bot.manifests.scan import ImageRef, Manifest
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import Version, Wanted, canonical, matches
from gitops_bot.model.policy import Policy, PolicyFailed, is_downgrade
from gitops_bot.planning.holds import read_holds
from gitops_bot.planning.plan import Rules, Skip, environment_refs, make_plan
from gitops_bot.planning.proposal import Proposal
from gitops_bot.planning.valuesenv import refuse_shared
from gitops_bot.registry.checks import ImageChecks, LazyRegistry, Registry, checked, hits, pin_wanted


@dataclass(frozen=True)
class ReconcileRequest:
    env: str
    images: tuple[str, ...] = ()
    delivery: str | None = None
    allow_downgrade: bool = False
    force: bool = False
    pr: PullRequestOverrides | None = None
    verify: bool | None = None
    pin: bool | None = None
    allow_shared: bool = False  # edit a values file another environment of the branch reads too


@dataclass(frozen=True)
class Target:
    """One policy applied to one repository of the environment, and the names that select its refs."""

    policy: Policy
    repository: str
    names: tuple[str, ...]
    refs: tuple[ImageRef, ...]
    keys: tuple[str, ...]  # what `--image NAME` may say to select it


def find_targets(config_policies: Mapping[str, Policy], manifests: Sequence[Manifest],
                 aliases: Mapping[str, str]) -> tuple[list[Target], list[Skip]]:
    refs = environment_refs(manifests)
    targets: list[Target] = []
    skipped: list[Skip] = []
    for name, policy in config_policies.items():
        found = hits(name, refs, aliases)
        repos = sorted({r.repository for r in found if not r.policy_only})
        if not repos:
            skipped.append(Skip(name, f"policy {name}: no image reference in the environment"))
        elif len({canonical(r) for r in repos}) > 1:
            skipped.append(Skip(name, f"policy {name} selects several repositories ({', '.join(repos)}): "
                                      f"name the policy by the full repository"))
        else:
            targets.append(Target(policy, repos[0], (name,), tuple(found), (name,)))
    taken = {canonical(t.repository) for t in targets}
    for tp in tree_policies(manifests):
        if tp.policy is None or tp.policy.image is None:
            skipped.append(Skip(tp.key, f"ImagePolicy {tp.key} ({tp.where}): {tp.problem}"))
            continue
        image = tp.policy.image
        if canonical(image) in taken:
            continue  # the configuration's policy for this repository wins
        by_marker = [r for r in refs if r.policy == tp.name  # and, where markers carry it, the namespace
                     and getattr(r, "policy_namespace", None) in (None, "", tp.namespace)]
        by_repo = [r for r in hits(image, refs, {}) if r not in by_marker]
        names = ((tp.name,) if by_marker else ()) + ((image,) if by_repo else ())
        others = sorted({r.repository for r in hits(tp.name, refs, {}) if r not in by_marker
                         and not r.policy_only and canonical(r.repository) != canonical(image)})
        if by_marker and others:  # the policy's name would also select these: never move them
            skipped.append(Skip(tp.key, f"ImagePolicy {tp.key}: its name also selects {', '.join(others)}; "
                                        f"rename the policy or give its image a policies: entry"))
            continue
        if not names:
            skipped.append(Skip(tp.key, f"ImagePolicy {tp.key}: no image reference in the environment uses it"))
            continue
        targets.append(Target(tp.policy, image, names, tuple(by_marker + by_repo), (tp.key, tp.name, image)))
    return targets, skipped


def select(targets: list[Target], skipped: list[Skip], requested: Sequence[str],
           aliases: Mapping[str, str]) -> tuple[list[Target], list[Skip]]:
    """Only the targets `--image NAME…` names (by policy key or image); each NAME must name one."""
    if not requested:
        return targets, skipped
    chosen = []
    for name in requested:
        picked = [t for t in targets if name in t.keys or matches(name, t.repository, aliases)]
        if not picked:
            near = [s.reason for s in skipped if s.image == name]
            raise UsageError(near[0] if near else
                             f"image {name!r} has no policy: add one under policies: in the configuration "
                             f"or an ImagePolicy to the environment")
        chosen += [t for t in picked if t not in chosen]
    names = {t.policy.name for t in chosen}
    return chosen, [s for s in skipped if s.image in names]


def choose(target: Target, registry: Registry, holds: Mapping[str, str], force: bool,
           allow_downgrade: bool) -> tuple[str | None, Skip | None]:
    """The tag this target moves to, or why it does not move."""
    repo, policy = target.repository, target.policy
    held = next((reason for h, reason in holds.items() if matches(h, repo, {})), None)
    if held is not None and not force:
        return None, Skip(repo, f"held: {held}")
    try:
        tag = policy.latest(registry.tags(repo))
    except PolicyFailed as err:
        return None, Skip(repo, f"policy {policy.name} ({policy.describe()}) failed: {err}")
    if tag is None:
        return None, Skip(repo, f"policy {policy.name} ({policy.describe()}) matched no tag of {repo}")
    if policy.kind == "semver" and not allow_downgrade:
        newer = sorted({r.version.tag for r in target.refs if r.version.tag and is_downgrade(r.version.tag, tag)})
        if newer:
            return None, Skip(repo, f"policy {policy.name}: the newest tag it allows, {tag}, is older than "
                                    f"{newer[0]}: downgrade refused (--allow-downgrade)")
    return tag, None


def reconcile(session: Session, request: ReconcileRequest) -> WriteResult:
    env, head = session.environment(EnvRequest(request.env))
    checks = ImageChecks.of(session.config.registry, request.verify, request.pin)
    registry = LazyRegistry(session.credentials.token, session.context.registry_environ(), session.budget)
    aliases = session.config.images
    labels: dict[str, str] = {}  # change.image -> policy name, for the JSON result

    def build(base: str) -> Proposal:
        manifests = session.manifests(env, base)
        targets, skipped = find_targets(session.config.policies, manifests, aliases)
        targets, skipped = select(targets, skipped, request.images, aliases)
        if not targets and not skipped:
            raise UsageError(f"no image of {env.name} has a policy: add policies: to the configuration "
                             f"or ImagePolicy objects to the environment")
        holds = read_holds(session.ws, base)
        wanted: list[Wanted] = []
        for target in targets:
            tag, skip = choose(target, registry(), holds, request.force, request.allow_downgrade)
            if skip is not None:
                skipped.append(skip)
                continue
            assert tag is not None
            if not checks.pin and all(r.version.tag == tag for r in target.refs):
                continue  # already at the newest tag: leave it as it is (a digest pinned earlier stays)
            wanted += [Wanted(name, Version(tag)) for name in target.names]
            labels.update({r.repository: target.policy.name for r in target.refs})
        refs = environment_refs(manifests)
        if checks.pin:
            wanted = pin_wanted(wanted, refs, aliases, registry())
        rules = Rules(aliases=aliases, policy="any", allow_missing=True, holds=holds, force=request.force)
        plan = make_plan(manifests, wanted, rules)
        refuse_shared(session.ws, session.config, env, base, manifests, plan.files, request.allow_shared)
        plan = replace(plan, skipped=tuple(skipped) + plan.skipped)
        body = ["Newest tags the image policies allow.", ""]
        return Proposal(plan, compose(subject_for("deploy", env.name, plan.changes), env.name, plan.changes,
                                      body_lines=body, context=session.context))

    with registry:
        return deliver(session, "reconcile", env, head,
                       planned(session, checked(build, checks, registry, labels)), request.delivery, request.pr)
