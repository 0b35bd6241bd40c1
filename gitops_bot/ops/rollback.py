"""`rollback`: restore an environment's image references as one new forward commit (docs/commands.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import ROLLBACK_TRAILER, compose, subject_for
from gitops_bot.delivery.push import planned
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import display_name
from gitops_bot.ops.history import History
from gitops_bot.ops.hold import held_files
from gitops_bot.planning.plan import environment_refs, make_restore_plan
from gitops_bot.planning.proposal import Proposal
from gitops_bot.planning.valuesenv import refuse_shared
from gitops_bot.registry.checks import ImageChecks, LazyRegistry, checked, pin_refs


@dataclass(frozen=True)
class RollbackRequest:
    env: str
    steps: int | None = None
    to: str | None = None
    hold: bool = True
    delivery: str | None = None
    pr: PullRequestOverrides | None = None
    verify: bool | None = None  # --verify-image / registry.verify: the old tags must still exist
    allow_shared: bool = False
    pin: bool | None = None  # --pin-digest / registry.pin-digest: restored tags get their digest


def rollback(session: Session, request: RollbackRequest) -> WriteResult:
    if (request.steps is None) == (request.to is None):
        raise UsageError("give exactly one of --steps N or --to SHA")
    if request.steps is not None and request.steps < 1:
        raise UsageError("--steps must be 1 or more")
    env, head = session.environment(EnvRequest(request.env))
    history = History(session, env, head)
    if request.to is not None:
        target = history.resolve([request.to])[0]
    else:
        assert request.steps is not None
        # Rollbacks are not counted: running the same rollback again changes nothing, instead of
        # undoing the first one and redeploying the release being rolled back from.
        deploys = history.deploys(request.steps, rollbacks=False)
        if len(deploys) < request.steps:
            raise UsageError(f"{env.name} has only {len(deploys)} deploys; cannot go back {request.steps}")
        oldest = deploys[-1].commit
        if not oldest.parents:
            raise UsageError(f"cannot go back {request.steps} deploys: {oldest.sha[:12]} has no parent")
        target = oldest.parents[0]

    checks = ImageChecks.of(session.config.registry, request.verify, request.pin)
    registry = LazyRegistry(session.credentials.token, session.context.registry_environ(), session.budget)

    def build(base: str) -> Proposal:
        manifests = session.manifests(env, base)
        target_refs = history.refs_like(target, base, environment_refs(manifests))
        plan = make_restore_plan(manifests, target_refs, target[:12])
        if checks.pin and plan.changes:  # pin only what the rollback restores (docs/registry.md)
            moved = {display_name(c.image) for c in plan.changes}
            repos = {r.repository for r in target_refs if display_name(r.repository) in moved}
            plan = make_restore_plan(manifests, pin_refs(target_refs, repos, registry()), target[:12])
        refuse_shared(session.ws, session.config, env, base, manifests, plan.files, request.allow_shared)
        if plan.changed and request.hold:
            holds = held_files(session, base, [c.image for c in plan.changes], f"rolled back to {target[:12]}")
            plan = replace(plan, files={**plan.files, **holds})
        subject = subject_for("rollback", env.name, plan.changes)
        extra = [(ROLLBACK_TRAILER, target)]
        return Proposal(plan, compose(subject, env.name, plan.changes, extra,
                                      [f"Restores the image references of {target}.", ""],
                                      context=session.context))

    with registry:
        return deliver(session, "rollback", env, head, planned(session, checked(build, checks, registry)),
                       request.delivery, request.pr)
