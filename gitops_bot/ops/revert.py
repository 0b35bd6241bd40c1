"""`revert`: undo commits of an environment's branch as new forward commits (docs/commands.md)."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import REVERTS_TRAILER, compose
from gitops_bot.delivery.push import Applied
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.model.errors import RevertConflict, UsageError
from gitops_bot.ops.history import History
from gitops_bot.planning.plan import environment_refs
from gitops_bot.planning.states import diff_refs


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
                              [(REVERTS_TRAILER, sha)], [f"This reverts commit {sha}.", ""],
                              context=session.context)
            made = ws.commit_tree(merged.tree, [current], message, session.config.author)
            all_changes.extend(changes)
        return Applied(made, tuple(all_changes))

    return deliver(session, "revert", env, head, apply, request.delivery, request.pr)
