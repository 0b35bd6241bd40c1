"""A planned edit on top of a commit and the message to commit it with (what a command's `build` returns)."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_bot.planning.plan import Plan


@dataclass(frozen=True)
class Proposal:
    """A planned edit on top of a commit, and its commit message."""

    plan: Plan
    message: str
