"""Waiting until Flux has applied a commit: `wait` and `--wait` (docs/github.md).

Polls the commit's statuses and check runs until every context matching `wait.contexts` succeeded
(success), one failed (failure: health degraded, exit 3) or the timeout passed (timeout, exit 1).
A newer head of the branch that contains the commit counts too, since Flux reports on the head it
applied: for each context the newest commit's report wins. A pattern without `*` must appear;
a pattern with `*` must match at least one context. Polling backs off from 5 s to 30 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitops_bot.config.github import context_pattern
from gitops_bot.github.statuses import Report
from gitops_bot.model.errors import ExitCode

FIRST_DELAY = 5.0
MAX_DELAY = 30.0
GROWTH = 1.5


class Reader(Protocol):
    def reports(self, sha: str) -> list[Report]: ...

    def contains(self, base: str, head: str) -> bool: ...


@dataclass(frozen=True)
class Clock:
    """Time as the wait sees it; tests give one that advances without sleeping."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class WaitRequest:
    commit: str
    contexts: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class WaitOutcome:
    state: str  # success | failure | timeout
    commit: str
    contexts: tuple[Report, ...] = ()
    applied: str | None = None  # the commit whose reports decided (ours, or a newer head)
    missing: tuple[str, ...] = field(default=())  # patterns nothing matched yet

    @property
    def health_status(self) -> str:
        return {"success": "healthy", "failure": "degraded"}.get(self.state, "unknown")

    @property
    def failures(self) -> tuple[Report, ...]:
        return tuple(r for r in self.contexts if r.state == "failure")

    @property
    def exit_code(self) -> ExitCode:
        """A Flux failure is a degraded rollout (3); a timeout a run-time failure (1)."""
        return {"failure": ExitCode.DEGRADED, "timeout": ExitCode.FAILED}.get(self.state, ExitCode.OK)

    def error(self, environment: str) -> str:
        """The error line for a non-zero exit code ("" for success)."""
        if self.state == "failure":
            return f"{environment}: {self.summary()}"
        if self.state == "timeout":
            return f"{environment}: {self.summary()} (raise the timeout, or check Flux's notification Provider)"
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "contexts": [r.to_json() for r in self.contexts]}

    def summary(self) -> str:
        where = self.commit[:12] + (f" (via newer head {self.applied[:12]})"
                                    if self.applied and self.applied != self.commit else "")
        if self.state == "success":
            return f"Flux applied {where}: {', '.join(r.context for r in self.contexts)} succeeded"
        if self.state == "failure":
            failed = "; ".join(f"{r.context}: {r.description or 'failed'}" for r in self.failures)
            return f"Flux failed to apply {where}: {failed}"
        pending = [f"{r.context} {r.state}" for r in self.contexts if r.state != "success"]
        pending += [f"nothing matching {p!r}" for p in self.missing]
        return f"timed out waiting for Flux on {where}: {', '.join(pending) or 'no status reported'}"


def judge(reports: Sequence[Report], patterns: Sequence[str]) -> tuple[str, tuple[Report, ...], tuple[str, ...]]:
    """The verdict on the reports of the contexts that match `patterns`, those reports, and unmatched patterns."""
    compiled = [(p, context_pattern(p)) for p in patterns]
    matching = tuple(sorted((r for r in reports if any(rx.fullmatch(r.context) for _, rx in compiled)),
                            key=lambda r: r.context))
    missing = tuple(p for p, rx in compiled if not any(rx.fullmatch(r.context) for r in matching))
    if any(r.state == "failure" for r in matching):
        return "failure", matching, missing
    if not missing and all(r.state == "success" for r in matching):
        return "success", matching, missing
    return "pending", matching, missing


def wait_for(reader: Reader, request: WaitRequest, branch_head: Callable[[], str | None],
             progress: Callable[[str], None], clock: Clock | None = None) -> WaitOutcome:
    """Poll until the verdict on `request.commit` (or a newer head containing it) is final, or time is up."""
    clock = clock or Clock()
    deadline = clock.now() + request.timeout
    delay = FIRST_DELAY
    ours = request.commit
    while True:
        head = branch_head()
        newer = head if head and not head.startswith(ours) and reader.contains(ours, head) else None
        merged: dict[str, Report] = {r.context: r for r in reader.reports(ours)}
        if newer:
            merged.update({r.context: r for r in reader.reports(newer)})  # the newest report wins
        verdict, matching, missing = judge(list(merged.values()), request.contexts)
        applied = newer if newer and any(r.commit == newer for r in matching) else ours
        if verdict != "pending":
            return WaitOutcome(verdict, ours, matching, applied, missing)
        left = deadline - clock.now()
        if left <= 0:
            return WaitOutcome("timeout", ours, matching, applied, missing)
        pause = min(delay, left)
        waiting = [f"{r.context} {r.state}" for r in matching if r.state != "success"]
        waiting += [f"nothing matching {p!r} yet" for p in missing]
        progress(f"waiting for Flux on {ours[:12]}: {', '.join(waiting)}; next check in {pause:.0f} s "
                 f"({left:.0f} s left)")
        clock.sleep(pause)
        delay = min(delay * GROWTH, MAX_DELAY)
