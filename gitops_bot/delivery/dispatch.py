"""Which way a command's change is written: pushed to the environment's branch or proposed as a PR.

The two ways live in gitops_bot.delivery.push and gitops_bot.delivery.pull_request; this module only
chooses between them, so that neither has to import the other.
"""

from __future__ import annotations

from gitops_bot.config.settings import Environment, PullRequestOverrides
from gitops_bot.delivery.push import Applier, deliver_push
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import Session
from gitops_bot.model.errors import UsageError


def deliver(session: Session, command: str, env: Environment, commit: str, apply: Applier,
            delivery: str | None = None, pr: PullRequestOverrides | None = None) -> WriteResult:
    """Apply on `commit`, then write it the environment's way (or as `delivery` overrides)."""
    if (delivery or env.delivery) == "pull-request" and session.push_only:
        raise UsageError(f"{session.push_only} needs push delivery, and {env.name} delivers by pull request "
                         f"(the deploy happens when the PR is merged): drop it, or give --delivery push")
    if (delivery or env.delivery) == "pull-request":
        from gitops_bot.delivery.pull_request import deliver_pull_request

        return deliver_pull_request(session, command, env, commit, apply,
                                    (pr or PullRequestOverrides()).over(session.config.pull_request))
    return deliver_push(session, command, env, commit, apply)
