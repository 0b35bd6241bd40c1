"""`hold` and `unhold`: pin images so that automated bumps and promotions leave them alone."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import compose
from gitops_bot.delivery.push import planned
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import matches
from gitops_bot.planning.holds import HOLDS_FILE, Hold, parse_holds, render_holds
from gitops_bot.planning.plan import Plan, Skip, environment_refs
from gitops_bot.planning.proposal import Proposal


def actor(context: RunContext) -> str:
    """Who is acting, for holds: the GitHub actor in Actions, else the local user."""
    return context.actor or getpass.getuser()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def held_files(session: Session, base: str, repos: Iterable[str], reason: str) -> dict[str, bytes]:
    """The holds file at `base` with `repos` held for `reason` (rollback holds what it moved back)."""
    old = session.ws.read_file(base, HOLDS_FILE)
    by, when = actor(session.context), _now()
    return {HOLDS_FILE: render_holds(old, {r: Hold(reason, by, when) for r in repos}, set())}


@dataclass(frozen=True)
class HoldRequest:
    env: str
    images: tuple[str, ...]
    reason: str | None = None  # None: release (unhold)
    delivery: str | None = None


def hold(session: Session, request: HoldRequest) -> WriteResult:
    if not request.images:
        raise UsageError("give at least one --image")
    if request.reason is not None and not request.reason.strip():
        raise UsageError("--reason must not be empty")
    env, head = session.environment(EnvRequest(request.env))
    verb = "hold" if request.reason is not None else "unhold"

    def build(base: str) -> Proposal:
        refs = environment_refs(session.manifests(env, base))
        old = session.ws.read_file(base, HOLDS_FILE)
        current = parse_holds(old)
        repos: list[str] = []
        not_held: list[Skip] = []
        for name in request.images:
            hits = sorted({r.repository for r in refs if matches(name, r.repository, session.config.images)})
            held = [repo for repo in current if matches(name, repo, session.config.images)]
            if request.reason is not None and not hits:
                raise UsageError(f"image {name!r} matches no image reference in {env.name}")
            if request.reason is None and not held:  # unhold is idempotent, like hold
                not_held.append(Skip(name, f"not held in {env.name} "
                                           f"(held: {', '.join(sorted(current)) or 'none'})"))
            repos += hits if request.reason is not None else held
        if request.reason is not None:
            when = _now()
            add = {r: Hold(request.reason, actor(session.context), when) for r in repos if r not in current}
            new = render_holds(old, add, set()) if add else None
        else:
            gone = {r for r in repos if r in current}
            new = render_holds(old, {}, gone) if gone else None
        files = {HOLDS_FILE: new} if new is not None else {}
        subject = f"{verb}({env.name}): {', '.join(sorted(set(repos))) or 'nothing'}"
        body = [f"Reason: {request.reason}", ""] if request.reason else []
        plan = Plan(files=files, skipped=tuple(not_held))
        return Proposal(plan, compose(subject, env.name, (), (), body, context=session.context))

    return deliver(session, verb, env, head, planned(session, build), request.delivery)
