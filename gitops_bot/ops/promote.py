"""`promote`: copy image tags from one environment to another."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import PROMOTED_TRAILER, compose, subject_for
from gitops_bot.delivery.push import planned
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import Version, Wanted, display_name, select_repositories
from gitops_bot.planning.holds import read_holds
from gitops_bot.planning.plan import Rules, Skip, environment_refs, make_plan, needles
from gitops_bot.planning.proposal import Proposal
from gitops_bot.planning.valuesenv import refuse_shared
from gitops_bot.registry.checks import ImageChecks, LazyRegistry, checked, pin_wanted


@dataclass(frozen=True)
class PromoteRequest:
    source: str
    target: str
    images: tuple[str, ...] = ()
    delivery: str | None = None
    allow_downgrade: bool = False
    force: bool = False
    pr: PullRequestOverrides | None = None
    verify: bool | None = None  # --verify-image / registry.verify
    pin: bool | None = None  # --pin-digest / registry.pin-digest
    allow_shared: bool = False


def promote(session: Session, request: PromoteRequest) -> WriteResult:
    if request.source == request.target:
        raise UsageError("--from and --to name the same environment")
    env, head = session.environment(EnvRequest(request.target))
    source, source_head = session.other_environment(request.source)
    source_refs = environment_refs(session.manifests(source, source_head))
    target_repos = {display_name(r.repository) for r in environment_refs(session.manifests(env, head))}
    by_repo: dict[str, set[Version]] = {}  # one key per image, however it is spelled
    for ref in source_refs:
        by_repo.setdefault(display_name(ref.repository), set()).add(ref.version)
    aliases = dict(session.config.images)
    selected = [repo for repo in by_repo if repo in target_repos]
    chosen: set[str] = set()
    for name in request.images:
        named = select_repositories(name, by_repo, aliases)
        if not named:
            raise UsageError(f"image {name!r} matches no image reference in {source.name}")
        chosen.update(named)
    if request.images:
        selected = [r for r in selected if r in chosen]
    ambiguous = [Skip(r, f"several versions in {source.name}: "
                      f"{', '.join(sorted(str(v) for v in by_repo[r]))}")
                 for r in selected if len(by_repo[r]) > 1]
    wanted = [Wanted(repo, next(iter(by_repo[repo]))) for repo in selected if len(by_repo[repo]) == 1]
    if not wanted and not ambiguous:
        raise UsageError(f"no image of {source.name} is present in {env.name}")
    checks = ImageChecks.of(session.config.registry, request.verify, request.pin)
    registry = LazyRegistry(session.credentials.token, session.context.registry_environ(), session.budget)

    def build(base: str) -> Proposal:
        rules = Rules(aliases={}, policy=session.config.policy, allow_downgrade=request.allow_downgrade,
                      holds=read_holds(session.ws, base), force=request.force)
        manifests = session.manifests(env, base, needles(wanted, {}))
        want = pin_wanted(wanted, environment_refs(manifests), {}, registry()) if checks.pin else wanted
        plan = make_plan(manifests, want, rules)
        refuse_shared(session.ws, session.config, env, base, manifests, plan.files, request.allow_shared)
        plan = replace(plan, skipped=plan.skipped + tuple(ambiguous))
        subject = subject_for(f"promote({source.name}->{env.name})", env.name, plan.changes)
        subject = subject.replace(f"({env.name}):", ":", 1)
        extra = [(PROMOTED_TRAILER, f"{source.name}@{source_head}")]
        return Proposal(plan, compose(subject, env.name, plan.changes, extra, context=session.context))

    with registry:
        return deliver(session, "promote", env, head, planned(session, checked(build, checks, registry)),
                       request.delivery, request.pr)
