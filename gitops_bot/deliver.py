"""Delivering a wanted state: commit and push with reconcile-on-race (CONTRACT §6)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from gitops_bot.config import Environment
from gitops_bot.errors import GitError
from gitops_bot.plan import Plan
from gitops_bot.result import PullRequestInfo, WriteResult, unified_diff
from gitops_bot.session import Session
from gitops_bot.workspace import PushOutcome

log = logging.getLogger("gitops_bot.deliver")

BACKOFF_BASE = 0.2
BACKOFF_CAP = 5.0


@dataclass(frozen=True)
class Proposal:
    """What a command wants on top of a given commit: the plan and the commit message."""

    plan: Plan
    message: str


# A builder re-plans the same wanted state from scratch on top of a commit.
Builder = Callable[[str], Proposal]


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential back-off: uniform in [0, min(cap, base * 2**attempt)]."""
    return (rng or random).uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def deliver(session: Session, command: str, env: Environment, commit: str, build: Builder,
            delivery: str | None = None) -> WriteResult:
    """Plan on `commit`, then write it the environment's way (or as `delivery` overrides)."""
    mode = delivery or env.delivery
    if mode == "pull-request":
        from gitops_bot.pullrequest import deliver_pull_request

        return deliver_pull_request(session, command, env, commit, build)
    return _deliver_push(session, command, env, commit, build)


def _result(session: Session, command: str, env: Environment, proposal: Proposal,
            commit: str | None, pr: PullRequestInfo | None = None, branch: str | None = None) -> WriteResult:
    plan = proposal.plan
    return WriteResult(
        command=command, environment=env.name, branch=branch or env.branch, changes=plan.changes,
        skipped=plan.skipped, commit=commit, dry_run=session.options.dry_run, pull_request=pr,
        diff=unified_diff(plan.before, plan.files), changed_files=plan.changed,
    )


def _deliver_push(session: Session, command: str, env: Environment, commit: str,
                  build: Builder) -> WriteResult:
    ws = session.ws
    retries = session.options.retries
    for attempt in range(retries + 1):
        proposal = build(commit)
        if not proposal.plan.changed or session.options.dry_run:
            return _result(session, command, env, proposal, None)
        session.checkout(env, commit)
        ws.write(proposal.plan.files)
        sha = ws.commit(proposal.message, session.config.author, proposal.plan.files)
        if ws.push(env.branch) is PushOutcome.PUSHED:
            log.info("pushed %s to %s", sha[:12], env.branch)
            return _result(session, command, env, proposal, sha)
        if attempt == retries:
            break
        delay = backoff(attempt)
        log.info("someone pushed to %s first; re-planning in %.2fs (attempt %d of %d)",
                 env.branch, delay, attempt + 2, retries + 1)
        time.sleep(delay)
        commit = ws.fetch(env.branch)
    raise GitError(f"push to {env.branch!r} kept losing races with other pushers after "
                   f"{retries + 1} attempts; nothing was written (raise --retries)")
