"""Delivering a wanted state: commit, then push with reconcile-on-race, or open/update a PR (docs/commands.md).

A command hands over an `Applier`: a function that, on a base commit, applies the command's wanted
state from scratch and commits it locally, as git objects (there is no work tree). When a push loses a
race, the new head is fetched and the same applier runs again on it, so no update is lost, duplicated
or rebased blindly.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from gitops_bot.config.settings import Environment
from gitops_bot.delivery.result import PullRequestInfo, WriteResult
from gitops_bot.delivery.session import Session
from gitops_bot.model.errors import GitError
from gitops_bot.planning.plan import Change, Skip
from gitops_bot.planning.proposal import Proposal

log = logging.getLogger("gitops_bot.deliver")
progress = logging.getLogger("gitops_bot.progress.deliver")  # shown without -v: one line per retry

BACKOFF_BASE = 0.05  # seconds: the shortest round counted, about a re-plan and push alone on file://
BACKOFF_ROUND_MAX = 1.0  # and the longest: rounds slowed by a crowd starting at once do not last
BACKOFF_GROWTH = 3
BACKOFF_CAP_ROUNDS = 16  # the window's widest, in rounds (16 s at most)


@dataclass(frozen=True)
class Applied:
    """What an applier did on top of a base commit: the local commit it made (None: nothing to do)."""

    head: str | None
    changes: tuple[Change, ...] = ()
    skipped: tuple[Skip, ...] = ()


Applier = Callable[[str], Applied]


def planned(session: Session, build: Callable[[str], Proposal]) -> Applier:
    """An applier for commands that plan file edits (bump, rollback, promote, canary, hold)."""

    def apply(base: str) -> Applied:
        proposal = build(base)
        plan = proposal.plan
        if not plan.changed:
            return Applied(None, plan.changes, plan.skipped)
        head = session.ws.commit_files(base, plan.files, proposal.message, session.config.author)
        return Applied(head, plan.changes, plan.skipped)

    return apply


def backoff(attempt: int, rng: random.Random | None = None, *, slot: float) -> float:
    """The pause before re-planning after rejection number `attempt + 1`: full jitter, uniform in
    [0, window], the window counted in rounds of the contention seen.

    `slot` is how long the lost fetch-apply-push round took: the time in which another pusher beat
    us, counted between 0.05 and 1 s. The window is 3 rounds after the first rejection and triples
    with each one after it, up to 16 rounds: a crowd of pushers that met once spreads out over three
    times as many rounds at each meeting. The cap is what keeps the branch busy: the writers that
    are left once most of the crowd has landed are few, and with windows of 64 rounds (the cap
    before) they slept through rounds nobody used, so 64 writers took 2.4x as long as 64 bumps one
    after another. The shortest round counted decides the same for the last few: their rounds are
    short (a re-plan and push alone take about 0.05 s), and counted as at least 0.2 s (before), their
    16-round windows of 3.2 s left the branch idle for 1-6 s at the end of a 15 s run of 64 writers.
    Counted as they are, 64 writers take 1.14-1.38x as long as 64 bumps one after another over
    file://, against 1.29-1.61x in the same runs (bench/README.md gives the runs and
    bench/backoff_sim.py the simulation).
    """
    step = min(BACKOFF_ROUND_MAX, max(BACKOFF_BASE, slot))
    window = step * min(BACKOFF_CAP_ROUNDS, BACKOFF_GROWTH ** (attempt + 1))
    return (rng or random).uniform(0, window)


def apply_on(session: Session, env: Environment, base: str, apply: Applier) -> Applied:
    return apply(base)  # no checkout: the applier reads and writes git objects


def result_for(session: Session, command: str, env: Environment, base: str, applied: Applied,
               pushed: bool, pr: PullRequestInfo | None = None, branch: str | None = None) -> WriteResult:
    diff = ""
    if applied.head and session.options.dry_run:
        diff = session.ws.diff(base, applied.head)
    return WriteResult(
        command=command, environment=env.name, branch=branch or env.branch, changes=applied.changes,
        skipped=applied.skipped, commit=applied.head if pushed else None,
        dry_run=session.options.dry_run, pull_request=pr, diff=diff, changed=applied.head is not None,
    )


def deliver_push(session: Session, command: str, env: Environment, commit: str,
                  apply: Applier) -> WriteResult:
    ws = session.ws
    retries = session.options.retries
    started = time.monotonic()
    for attempt in range(retries + 1):
        applied = apply_on(session, env, commit, apply)
        if applied.head is None or session.options.dry_run:
            return result_for(session, command, env, commit, applied, pushed=False)
        from gitops_bot.delivery.api_commit import publish  # GraphQL commits only for commit.sign: github

        # git push leased on the base (docs/commands.md), or GitHub's API (commit.sign: github)
        pushed = publish(session, env.branch, commit, applied.head, lease=commit)
        if pushed is not None:
            log.info("pushed %s to %s", pushed[:12], env.branch)
            return result_for(session, command, env, commit, replace(applied, head=pushed), pushed=True)
        if attempt == retries:
            break
        delay = backoff(attempt, slot=time.monotonic() - started)
        progress.info("someone pushed to %s first; re-planning in %.2fs (attempt %d of %d)",
                      env.branch, delay, attempt + 2, retries + 1)
        session.budget.sleep(delay)  # --timeout bounds the back-off too
        started = time.monotonic()
        commit = ws.fetch(env.branch, with_new_blobs=True)  # and the files the winners changed
    raise GitError(f"push to {env.branch!r} kept losing races with other pushers after "
                   f"{retries + 1} attempt(s); nothing was written (raise --retries)")
