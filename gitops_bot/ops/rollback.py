"""`rollback` and `revert`: undo deploys as new forward commits (CONTRACT §5, §6)."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.push import Applied, Proposal, deliver, planned
from gitops_bot.model.errors import RevertConflict, UsageError
from gitops_bot.ops.history import History
from gitops_bot.planning.holds import HOLDS_FILE, Hold, render_holds
from gitops_bot.model.images import display_name
from gitops_bot.delivery.message import REVERTS_TRAILER, ROLLBACK_TRAILER, compose, subject_for
from gitops_bot.planning.plan import environment_refs, make_restore_plan
from gitops_bot.registry.checks import ImageChecks, LazyRegistry, checked, pin_refs
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.planning.states import diff_refs
from gitops_bot.planning.valuesenv import refuse_shared


def actor() -> str:
    """Who is acting, for holds: the GitHub actor in Actions, else the local user."""
    return os.environ.get("GITHUB_ACTOR") or getpass.getuser()


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
    registry = LazyRegistry(session.credentials.token, budget=session.budget)

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
            old = session.ws.read_file(base, HOLDS_FILE)
            when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            holds = {c.image: Hold(f"rolled back to {target[:12]}", actor(), when) for c in plan.changes}
            plan = replace(plan, files={**plan.files, HOLDS_FILE: render_holds(old, holds, set())})
        subject = subject_for("rollback", env.name, plan.changes)
        extra = [(ROLLBACK_TRAILER, target)]
        return Proposal(plan, compose(subject, env.name, plan.changes, extra,
                                      [f"Restores the image references of {target}.", ""]))

    with registry:
        return deliver(session, "rollback", env, head, planned(session, checked(build, checks, registry)),
                       request.delivery, request.pr)


@dataclass(frozen=True)
class RevertRequest:
    env: str
    commits: tuple[str, ...]
    delivery: str | None = None
    pr: PullRequestOverrides | None = None


def revert(session: Session, request: RevertRequest) -> WriteResult:
    if not request.commits:
        raise UsageError("give at least one commit to revert")
    env, head = session.environment(EnvRequest(request.env))
    history = History(session, env, head)
    shas = history.resolve(request.commits)
    ws = session.ws

    def apply(base: str) -> Applied:
        all_changes = []
        made = None
        for sha in shas:
            current = made or base
            before = environment_refs(session.manifests(env, current))
            merged = ws.revert_tree(sha, current, session.config.author)  # merge commits: against parent 1
            if merged.conflicts:
                raise RevertConflict(f"reverting {sha[:12]} conflicts with later changes in "
                                     f"{', '.join(merged.conflicts)}; nothing was pushed")
            if merged.tree == ws.tree_of(current):
                continue  # already reverted: nothing to commit
            changes = diff_refs(before, environment_refs(session.manifests(env, merged.tree)))
            original = ws.subjects("-1", sha)[0]
            message = compose(f"revert({env.name}): {original}", env.name, changes,
                              [(REVERTS_TRAILER, sha)], [f"This reverts commit {sha}.", ""])
            made = ws.commit_tree(merged.tree, [current], message, session.config.author)
            all_changes.extend(changes)
        return Applied(made, tuple(all_changes))

    return deliver(session, "revert", env, head, apply, request.delivery, request.pr)
