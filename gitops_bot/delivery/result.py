"""Results of commands, as rendered in JSON (docs/output.md) and text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitops_bot.planning.plan import Change, Skip

if TYPE_CHECKING:  # only --wait makes one: github.wait is imported by the commands that wait
    from gitops_bot.github.wait import WaitOutcome


@dataclass(frozen=True)
class PullRequestInfo:
    number: int
    url: str
    operation: str  # created | updated | none
    head_sha: str | None = None
    warnings: tuple[str, ...] = ()  # decorations (labels, reviewers, auto-merge) that failed

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"number": self.number, "url": self.url, "operation": self.operation,
                               "head_sha": self.head_sha}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


@dataclass(frozen=True)
class WriteResult:
    """The result of every write command (bump, revert, rollback, promote, canary, hold)."""

    command: str
    environment: str
    branch: str
    changes: tuple[Change, ...] = ()
    skipped: tuple[Skip, ...] = ()
    commit: str | None = None
    dry_run: bool = False
    pull_request: PullRequestInfo | None = None
    diff: str = ""
    changed: bool = False  # the GitOps repository changed (or, in a dry run, would)
    wait: WaitOutcome | None = None  # --wait: what Flux reported (docs/github.md)

    def to_json(self) -> dict[str, Any]:
        waited = {"wait": self.wait.to_json(), "health_status": self.wait.health_status} if self.wait else {}
        return {
            "command": self.command,
            "environment": self.environment,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "changes": [c.to_json() for c in self.changes],
            "skipped": [s.to_json() for s in self.skipped],
            "commit": self.commit,
            "branch": self.branch,
            "pull_request": self.pull_request.to_json() if self.pull_request else None,
            **waited,
        }
